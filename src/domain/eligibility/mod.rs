//! Eligibility engine (DESIGN.md §8): loi n° 2014-856 du 31 juillet 2014 (ESS), code du travail
//! L. 3332-17-1 (ESUS) and the rules of the call « Entreprendre autrement ».
//!
//! Pure: no I/O, no clock. The application body, the call's values and the filing date come in
//! as arguments; the report comes out. Every criterion ESS-1..9, ESUS-1..2, MEL-1..6 is always
//! present, in that order, so that a stored report can be read and compared without guessing.

pub mod age;
pub mod criteria;
pub mod rules;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::application::{
    ApplicationBody, EssCommitments, Organisation, Project, SocialUtility, Stage,
};

pub use age::whole_years;
pub use criteria::{CRITERION_DEFINITIONS, CriterionDefinition};
pub use rules::{DEFAULT_RULES_VERSION, ESUS_MIN_AGE_YEARS, RULE_SETS, RuleSet};

/// The call's own values, as stored on the call. A call may set a lower cap than its rule set's;
/// MEL-3 and MEL-4 use these values, MEL-5 and ESUS-1 the rule set's ages.
#[derive(Debug, Clone, Copy)]
pub struct CallRules<'a> {
    pub rule_set: &'a RuleSet,
    pub max_award_cents: i64,
    pub max_budget_share_pct: Option<u8>,
    /// INSEE codes of the communes where the activity must take place.
    pub territory: &'a [String],
}

impl<'a> CallRules<'a> {
    /// A call that takes every value from its rule set (the defaults of DESIGN.md §6).
    pub fn from_rule_set(rule_set: &'a RuleSet, territory: &'a [String]) -> Self {
        Self {
            rule_set,
            max_award_cents: rule_set.max_award_cap_cents,
            max_budget_share_pct: rule_set.default_budget_share_pct,
            territory,
        }
    }
}

/// The automatic outcome of one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// Staff must read a document (statutes, approval) before deciding.
    Review,
    /// The criterion does not concern this structure (a commercial company's criterion for an
    /// association): the pages say « Sans objet », never « Rempli ». Counts as a pass.
    #[serde(rename = "not_applicable")]
    NotApplicable,
}

/// Any `fail` -> `ineligible`; else any `review` -> `needs_review`; else `eligible`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Eligible,
    Ineligible,
    NeedsReview,
}

impl Verdict {
    /// The verdict of a list of outcomes (DESIGN.md §8).
    pub fn from_outcomes(outcomes: impl IntoIterator<Item = Outcome>) -> Self {
        let mut review = false;
        for o in outcomes {
            match o {
                Outcome::Fail => return Self::Ineligible,
                Outcome::Review => review = true,
                Outcome::Pass | Outcome::NotApplicable => {}
            }
        }
        if review {
            Self::NeedsReview
        } else {
            Self::Eligible
        }
    }
}

/// What a staff member concludes on a `review` criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AssessedOutcome {
    Pass,
    Fail,
}

impl From<AssessedOutcome> for Outcome {
    fn from(o: AssessedOutcome) -> Self {
        match o {
            AssessedOutcome::Pass => Outcome::Pass,
            AssessedOutcome::Fail => Outcome::Fail,
        }
    }
}

/// A staff reading of one `review` criterion, as sent with `start-review` or
/// `declare-ineligible` (`"assessments": {"ESS-2": {"outcome": "pass", "note": "…"}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Assessment {
    pub outcome: AssessedOutcome,
    /// Required: what the staff member read and concluded.
    pub note: String,
}

/// A staff reading recorded on a criterion of a stored report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffAssessment {
    pub outcome: AssessedOutcome,
    pub note: String,
    /// Id (or name) of the staff member.
    pub assessed_by: String,
    pub assessed_at: DateTime<Utc>,
}

/// One line of the eligibility report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Criterion {
    /// `ESS-1` … `ESS-9`, `ESUS-1`, `ESUS-2`, `MEL-1` … `MEL-6`.
    pub code: String,
    /// French label.
    pub label: String,
    /// Legal or regulatory basis, e.g. « Loi n° 2014-856, art. 1, I, 1° ».
    pub legal_basis: String,
    /// The automatic outcome; stays as computed when staff assess the criterion.
    pub outcome: Outcome,
    /// French explanation: what to change, or what the staff will check.
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_assessment: Option<StaffAssessment>,
}

impl Criterion {
    /// The outcome that counts: the staff's reading when a `review` criterion has one,
    /// the automatic outcome otherwise.
    pub fn effective_outcome(&self) -> Outcome {
        match (&self.staff_assessment, self.outcome) {
            (Some(a), Outcome::Review) => a.outcome.into(),
            (_, o) => o,
        }
    }
}

/// The eligibility report (without `checked_at` and `missing_documents`, which the caller adds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub rules_version: String,
    pub criteria: Vec<Criterion>,
}

impl Evaluation {
    /// The criterion with this code.
    pub fn criterion(&self, code: &str) -> Option<&Criterion> {
        self.criteria.iter().find(|c| c.code == code)
    }

    /// The verdict from the effective outcomes (staff readings replace `review`).
    pub fn recompute_verdict(&self) -> Verdict {
        Verdict::from_outcomes(self.criteria.iter().map(Criterion::effective_outcome))
    }
}

/// The criteria a structure's statutes (or its legal form) decide: for a structure in
/// creation they do not exist yet, so what it declares is « à vérifier » (§16).
const READ_IN_STATUTES: &[&str] = &[
    "ESS-1", "ESS-2", "ESS-3", "ESS-4", "ESS-5", "ESS-6", "ESS-7", "ESS-8", "ESS-9",
];

/// A criterion read in statutes that do not exist yet: a pass on what is declared becomes
/// `review`, its detail saying why; a fail stays a fail (what is declared already falls
/// short), as does « sans objet ».
fn unwritten_statutes(
    ctx: &criteria::Context,
    code: &str,
    check: criteria::Check,
) -> criteria::Check {
    if ctx.in_creation() && check.outcome == Outcome::Pass && READ_IN_STATUTES.contains(&code) {
        criteria::Check {
            outcome: Outcome::Review,
            detail: format!(
                "À vérifier : la structure est en création et ses statuts ne sont pas encore \
                 déposés ; le service instructeur les lira. Ce qui est déclaré : {}",
                check.detail
            ),
        }
    } else {
        check
    }
}

/// Evaluates every criterion of DESIGN.md §8 for `body`, under the call's values, on
/// `filing_date` (the day of submission, or today for a pre-check on a draft).
pub fn evaluate(body: &ApplicationBody, call: &CallRules, filing_date: NaiveDate) -> Evaluation {
    let ctx = criteria::Context::new(body, call, filing_date);
    // The call's rules are cited with the version this call follows, never another's.
    let call_rules = format!("{} ({})", criteria::CALL_RULES, call.rule_set.version);
    let criteria: Vec<Criterion> = criteria::CRITERIA
        .iter()
        .map(|(def, rule)| {
            let check = unwritten_statutes(&ctx, def.code, rule(&ctx));
            Criterion {
                code: def.code.to_owned(),
                label: def.label.to_owned(),
                legal_basis: def.legal_basis.replace(criteria::CALL_RULES, &call_rules),
                outcome: check.outcome,
                detail: check.detail,
                staff_assessment: None,
            }
        })
        .collect();
    Evaluation {
        verdict: Verdict::from_outcomes(criteria.iter().map(|c| c.outcome)),
        rules_version: call.rule_set.version.to_owned(),
        criteria,
    }
}

/// What the pre-check says of a criterion that needs an answer not given yet.
pub const NOT_YET_ANSWERED: &str =
    "À compléter : ce critère sera vérifié avec vos réponses aux étapes suivantes.";

/// The pre-check of an application being filled (DESIGN.md §8): from the organisation section
/// on, each criterion that the sections given already decide keeps its outcome; one that
/// depends on a section not given yet is `review`, with [`NOT_YET_ANSWERED`].
///
/// A criterion is taken as decided when it reads the same (outcome and detail) whatever the
/// missing sections hold: it is evaluated under two opposite guesses of them.
pub fn evaluate_partial(
    organisation: &Organisation,
    project: Option<&Project>,
    ess: Option<&EssCommitments>,
    call: &CallRules,
    filing_date: NaiveDate,
) -> Evaluation {
    let body = |favourable: bool| ApplicationBody {
        organisation: organisation.clone(),
        project: project
            .cloned()
            .unwrap_or_else(|| guessed_project(favourable, call)),
        ess: ess.cloned().unwrap_or_else(|| guessed_ess(favourable)),
    };
    let a = evaluate(&body(true), call, filing_date);
    let b = evaluate(&body(false), call, filing_date);
    let criteria: Vec<Criterion> = a
        .criteria
        .into_iter()
        .zip(b.criteria)
        .map(|(x, y)| {
            if x.outcome == y.outcome && x.detail == y.detail {
                x
            } else {
                Criterion {
                    outcome: Outcome::Review,
                    detail: NOT_YET_ANSWERED.to_owned(),
                    ..x
                }
            }
        })
        .collect();
    Evaluation {
        verdict: Verdict::from_outcomes(criteria.iter().map(|c| c.outcome)),
        rules_version: a.rules_version,
        criteria,
    }
}

fn guessed_project(favourable: bool, call: &CallRules) -> Project {
    Project {
        title: String::new(),
        summary: String::new(),
        stage: if favourable {
            Stage::Startup
        } else {
            Stage::Development
        },
        activity_communes: if favourable {
            call.territory.iter().take(1).cloned().collect()
        } else {
            vec!["75056".into()]
        },
        total_budget_cents: if favourable { 100_000_000 } else { 0 },
        requested_cents: if favourable { 100 } else { i64::MAX / 200 },
        starts_on: NaiveDate::MIN,
        jobs_created: 0,
    }
}

fn guessed_ess(favourable: bool) -> EssCommitments {
    EssCommitments {
        purpose_beyond_profit: favourable,
        democratic_governance: favourable,
        governance_description: String::new(),
        reinvested_profit_pct: favourable.then_some(100),
        development_fund_pct: favourable.then_some(20),
        retained_earnings_and_reserves_pct: favourable.then_some(80),
        impartible_reserves: favourable,
        no_capital_amortization: favourable,
        social_utility: if favourable {
            vec![SocialUtility::SocialLink]
        } else {
            Vec::new()
        },
        social_utility_statement: String::new(),
        top5_avg_pay_smic_ratio: Some(if favourable { 1.0 } else { 100.0 }),
        top_pay_smic_ratio: Some(if favourable { 1.0 } else { 100.0 }),
    }
}

/// The call's required document kinds not yet attached, in the order of `required` (each once).
/// Completeness is not eligibility: this does not change the verdict.
pub fn missing_documents(required: &[String], attached_kinds: &[String]) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for kind in required {
        if !attached_kinds.contains(kind) && !missing.contains(kind) {
            missing.push(kind.clone());
        }
    }
    missing
}

/// Why a set of staff assessments was refused. Each variant names the criterion code, so the
/// caller can key a 422 `errors` map by [`AssessmentError::field`] (`assessments.ESS-2`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssessmentError {
    #[error("Le critère {code} n'existe pas dans le rapport d'éligibilité.")]
    UnknownCriterion { code: String },
    #[error(
        "Le critère {code} n'est pas à vérifier par le service instructeur : seul un critère « à vérifier » (review) peut recevoir une appréciation."
    )]
    NotUnderReview { code: String },
    #[error("L'appréciation du critère {code} doit être motivée : la note est obligatoire.")]
    MissingNote { code: String },
}

impl AssessmentError {
    /// The criterion code concerned (`ESS-2`).
    pub fn code(&self) -> &str {
        match self {
            Self::UnknownCriterion { code }
            | Self::NotUnderReview { code }
            | Self::MissingNote { code } => code,
        }
    }

    /// The key for a 422 `errors` map: `assessments.ESS-2`.
    pub fn field(&self) -> String {
        format!("assessments.{}", self.code())
    }
}

/// Every problem with `assessments` against `ev`, in code order (empty when they can be applied).
/// Useful to build a 422 listing all of them; [`apply_assessments`] stops at the first.
pub fn validate_assessments(
    ev: &Evaluation,
    assessments: &BTreeMap<String, Assessment>,
) -> Vec<AssessmentError> {
    let mut errors = Vec::new();
    for (code, a) in assessments {
        match ev.criterion(code) {
            None => errors.push(AssessmentError::UnknownCriterion { code: code.clone() }),
            Some(c) if c.outcome != Outcome::Review => {
                errors.push(AssessmentError::NotUnderReview { code: code.clone() })
            }
            Some(_) if a.note.trim().is_empty() => {
                errors.push(AssessmentError::MissingNote { code: code.clone() })
            }
            Some(_) => {}
        }
    }
    errors
}

/// Records staff readings on `review` criteria: returns a copy of `ev` with `staff_assessment`
/// set on those criteria (an earlier reading of the same criterion is replaced, others are
/// kept) and the verdict recomputed with the staff outcome in place of `review`. The automatic
/// `outcome` is left as computed, so the stored report shows both.
pub fn apply_assessments(
    ev: &Evaluation,
    assessments: &BTreeMap<String, Assessment>,
    by: &str,
    at: DateTime<Utc>,
) -> Result<Evaluation, AssessmentError> {
    if let Some(e) = validate_assessments(ev, assessments).into_iter().next() {
        return Err(e);
    }
    let mut out = ev.clone();
    for c in &mut out.criteria {
        if let Some(a) = assessments.get(&c.code) {
            c.staff_assessment = Some(StaffAssessment {
                outcome: a.outcome,
                note: a.note.trim().to_owned(),
                assessed_by: by.to_owned(),
                assessed_at: at,
            });
        }
    }
    out.verdict = out.recompute_verdict();
    Ok(out)
}

/// Codes of the `review` criteria without a passing staff assessment, in report order.
/// `start-review` is refused while this is not empty.
pub fn unassessed_review_codes(ev: &Evaluation) -> Vec<String> {
    ev.criteria
        .iter()
        .filter(|c| c.outcome == Outcome::Review && c.effective_outcome() != Outcome::Pass)
        .map(|c| c.code.clone())
        .collect()
}
