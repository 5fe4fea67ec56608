//! The final report (compte rendu financier, DESIGN.md §15), in the structure of the Cerfa
//! n° 15059: the project's budget by the Cerfa's categories, each line planned and actual; an
//! explanation when an actual amount differs from the planned one by more than 15 %; a
//! narrative; and a few indicators. A draft may be incomplete; what a submission needs is
//! checked by [`ReportBody::check_complete`], every missing piece at once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::money::Cents;
use crate::domain::text::{self, Lines};

/// A gap above this share of the planned amount must be explained (the Cerfa's « écarts
/// significatifs », which the MEL reads as more than 15 %).
pub const GAP_PERCENT: i64 = 15;
pub const NARRATIVE_MAX: usize = 10_000;
pub const EXPLANATION_MAX: usize = 5_000;
/// An indicator's largest value (people reached by a small structure's project).
pub const INDICATOR_MAX: u32 = 10_000_000;
/// A budget line's largest amount: 100 M€, far above any project of the call.
pub const LINE_MAX_CENTS: i64 = 10_000_000_000;

/// The Cerfa n° 15059's budget categories (charges, then products), by account number.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BudgetCategory {
    Purchases,
    ExternalServices,
    OtherExternalServices,
    Taxes,
    StaffCosts,
    OtherCharges,
    FinancialCharges,
    ExceptionalCharges,
    Depreciation,
    InKindUses,
    Sales,
    ThisGrant,
    OtherGrants,
    OtherProducts,
    FinancialProducts,
    InKindContributions,
}

/// Whether a category is spent or received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Charges,
    Products,
}

impl BudgetCategory {
    pub const ALL: [BudgetCategory; 16] = [
        Self::Purchases,
        Self::ExternalServices,
        Self::OtherExternalServices,
        Self::Taxes,
        Self::StaffCosts,
        Self::OtherCharges,
        Self::FinancialCharges,
        Self::ExceptionalCharges,
        Self::Depreciation,
        Self::InKindUses,
        Self::Sales,
        Self::ThisGrant,
        Self::OtherGrants,
        Self::OtherProducts,
        Self::FinancialProducts,
        Self::InKindContributions,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Purchases => "purchases",
            Self::ExternalServices => "external_services",
            Self::OtherExternalServices => "other_external_services",
            Self::Taxes => "taxes",
            Self::StaffCosts => "staff_costs",
            Self::OtherCharges => "other_charges",
            Self::FinancialCharges => "financial_charges",
            Self::ExceptionalCharges => "exceptional_charges",
            Self::Depreciation => "depreciation",
            Self::InKindUses => "in_kind_uses",
            Self::Sales => "sales",
            Self::ThisGrant => "this_grant",
            Self::OtherGrants => "other_grants",
            Self::OtherProducts => "other_products",
            Self::FinancialProducts => "financial_products",
            Self::InKindContributions => "in_kind_contributions",
        }
    }

    /// The Cerfa's account number and wording.
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Purchases => "60 – Achats",
            Self::ExternalServices => "61 – Services extérieurs",
            Self::OtherExternalServices => "62 – Autres services extérieurs",
            Self::Taxes => "63 – Impôts et taxes",
            Self::StaffCosts => "64 – Charges de personnel",
            Self::OtherCharges => "65 – Autres charges de gestion courante",
            Self::FinancialCharges => "66 – Charges financières",
            Self::ExceptionalCharges => "67 – Charges exceptionnelles",
            Self::Depreciation => "68 – Dotations aux amortissements",
            Self::InKindUses => "86 – Emplois des contributions volontaires en nature",
            Self::Sales => "70 – Ventes de produits, prestations de services",
            Self::ThisGrant => "74 – Subvention de la Métropole (cette subvention)",
            Self::OtherGrants => "74 – Autres subventions (État, région, département, communes…)",
            Self::OtherProducts => "75 – Autres produits de gestion courante",
            Self::FinancialProducts => "76 – Produits financiers",
            Self::InKindContributions => "87 – Contributions volontaires en nature",
        }
    }

    pub fn side(self) -> Side {
        match self {
            Self::Sales
            | Self::ThisGrant
            | Self::OtherGrants
            | Self::OtherProducts
            | Self::FinancialProducts
            | Self::InKindContributions => Side::Products,
            _ => Side::Charges,
        }
    }
}

/// One budget line: planned (the application's budget) and actual (what was spent or received).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BudgetLine {
    pub category: BudgetCategory,
    #[schema(example = 1200000)]
    pub planned_cents: i64,
    #[schema(example = 1450000)]
    pub actual_cents: Option<i64>,
}

impl BudgetLine {
    /// Whether the actual amount strays from the planned one by more than [`GAP_PERCENT`]
    /// (any actual amount on a line planned at zero does).
    pub fn has_significant_gap(&self) -> bool {
        let Some(actual) = self.actual_cents else {
            return false;
        };
        let gap = (actual - self.planned_cents).abs();
        // gap > 15 % of planned, in integers: 100·gap > 15·planned.
        gap.saturating_mul(100) > GAP_PERCENT.saturating_mul(self.planned_cents)
    }
}

/// What the project achieved, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Indicators {
    /// Jobs created (full-time equivalents rounded, or people hired).
    pub jobs_created: Option<u32>,
    /// Volunteers involved.
    pub volunteers: Option<u32>,
    /// People the project reached (users, customers, participants).
    pub people_reached: Option<u32>,
}

/// The report as the beneficiary writes it (`PUT /grants/{id}/report`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// One line per category at most, in any order.
    #[serde(default)]
    pub budget: Vec<BudgetLine>,
    /// Why the lines with a gap above 15 % differ from the plan.
    #[serde(default)]
    pub gaps_explanation: String,
    /// What was done, what was not, and why.
    #[serde(default)]
    pub narrative: String,
    #[serde(default)]
    pub indicators: Indicators,
}

/// A field and what is wrong with it, in French.
pub type Problems = Vec<(String, String)>;

impl ReportBody {
    /// A report pre-filled from the grant: every category, the grant's line planned at the
    /// amount awarded, nothing actual yet.
    pub fn prefilled(awarded: Cents) -> Self {
        Self {
            budget: BudgetCategory::ALL
                .into_iter()
                .map(|category| BudgetLine {
                    category,
                    planned_cents: if category == BudgetCategory::ThisGrant {
                        awarded.value()
                    } else {
                        0
                    },
                    actual_cents: None,
                })
                .collect(),
            ..Self::default()
        }
    }

    /// What a draft may not hold, whatever its completeness: negative or absurd amounts, a
    /// category twice, text that breaks the text rule or is too long.
    pub fn check_draft(&self) -> Problems {
        let mut problems = Problems::new();
        let mut seen = std::collections::HashSet::new();
        for (n, line) in self.budget.iter().enumerate() {
            if !seen.insert(line.category) {
                problems.push((
                    format!("budget[{n}].category"),
                    format!(
                        "la catégorie « {} » figure deux fois",
                        line.category.label_fr()
                    ),
                ));
            }
            for (field, v) in [
                ("planned_cents", Some(line.planned_cents)),
                ("actual_cents", line.actual_cents),
            ] {
                match v {
                    Some(v) if v < 0 => problems.push((
                        format!("budget[{n}].{field}"),
                        "un montant ne peut pas être négatif".into(),
                    )),
                    Some(v) if v > LINE_MAX_CENTS => problems.push((
                        format!("budget[{n}].{field}"),
                        "ce montant dépasse 100 millions d'euros".into(),
                    )),
                    _ => {}
                }
            }
        }
        for (field, value, max) in [
            ("gaps_explanation", &self.gaps_explanation, EXPLANATION_MAX),
            ("narrative", &self.narrative, NARRATIVE_MAX),
        ] {
            if let Err(e) = text::check(value, Lines::Multi) {
                problems.push((field.into(), e.to_string()));
            } else if value.trim().chars().count() > max {
                problems.push((field.into(), format!("{max} caractères au plus")));
            }
        }
        for (field, v) in [
            ("indicators.jobs_created", self.indicators.jobs_created),
            ("indicators.volunteers", self.indicators.volunteers),
            ("indicators.people_reached", self.indicators.people_reached),
        ] {
            if v.is_some_and(|v| v > INDICATOR_MAX) {
                problems.push((field.into(), format!("{INDICATOR_MAX} au plus")));
            }
        }
        problems
    }

    /// The lines whose gap must be explained.
    pub fn gaps(&self) -> Vec<BudgetCategory> {
        self.budget
            .iter()
            .filter(|l| l.has_significant_gap())
            .map(|l| l.category)
            .collect()
    }

    /// What a submission needs on top of a valid draft: an actual amount on every line that was
    /// planned, the explanation of the gaps above 15 %, the narrative, the three indicators.
    pub fn check_complete(&self) -> Problems {
        let mut problems = self.check_draft();
        if self.budget.iter().all(|l| l.actual_cents.unwrap_or(0) == 0) {
            problems.push((
                "budget".into(),
                "indiquez les montants réalisés du budget du projet".into(),
            ));
        }
        for (n, line) in self.budget.iter().enumerate() {
            if line.planned_cents > 0 && line.actual_cents.is_none() {
                problems.push((
                    format!("budget[{n}].actual_cents"),
                    format!(
                        "indiquez le montant réalisé de « {} » (0 s'il n'y a rien eu)",
                        line.category.label_fr()
                    ),
                ));
            }
        }
        let gaps = self.gaps();
        if !gaps.is_empty() && self.gaps_explanation.trim().is_empty() {
            let named: Vec<&str> = gaps.iter().map(|c| c.label_fr()).collect();
            problems.push((
                "gaps_explanation".into(),
                format!(
                    "expliquez les écarts de plus de {GAP_PERCENT} % entre le prévu et le réalisé : {}",
                    named.join(" ; ")
                ),
            ));
        }
        if self.narrative.trim().is_empty() {
            problems.push((
                "narrative".into(),
                "décrivez ce qui a été réalisé, ce qui ne l'a pas été et pourquoi".into(),
            ));
        }
        for (field, v, what) in [
            (
                "indicators.jobs_created",
                self.indicators.jobs_created,
                "le nombre d'emplois créés",
            ),
            (
                "indicators.volunteers",
                self.indicators.volunteers,
                "le nombre de bénévoles",
            ),
            (
                "indicators.people_reached",
                self.indicators.people_reached,
                "le nombre de personnes touchées",
            ),
        ] {
            if v.is_none() {
                problems.push((
                    field.into(),
                    format!("indiquez {what} (0 s'il n'y en a pas)"),
                ));
            }
        }
        problems
    }

    /// The totals (planned, actual) of one side.
    pub fn totals(&self, side: Side) -> (i64, i64) {
        self.budget
            .iter()
            .filter(|l| l.category.side() == side)
            .fold((0, 0), |(p, a), l| {
                (p + l.planned_cents, a + l.actual_cents.unwrap_or(0))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(category: BudgetCategory, planned: i64, actual: Option<i64>) -> BudgetLine {
        BudgetLine {
            category,
            planned_cents: planned,
            actual_cents: actual,
        }
    }

    #[test]
    fn a_gap_above_15_percent_is_significant() {
        use BudgetCategory::Purchases as P;
        let cases = [
            (100_000, Some(115_000), false),
            (100_000, Some(115_001), true),
            (100_000, Some(85_000), false),
            (100_000, Some(84_999), true),
            (0, Some(0), false),
            (0, Some(1), true),
            (100_000, None, false),
            (100_000, Some(0), true),
        ];
        for (planned, actual, expected) in cases {
            assert_eq!(
                line(P, planned, actual).has_significant_gap(),
                expected,
                "{planned} -> {actual:?}"
            );
        }
    }

    fn complete() -> ReportBody {
        ReportBody {
            budget: vec![
                line(BudgetCategory::Purchases, 500_000, Some(520_000)),
                line(BudgetCategory::StaffCosts, 1_000_000, Some(1_000_000)),
                line(BudgetCategory::ThisGrant, 1_500_000, Some(1_500_000)),
            ],
            gaps_explanation: String::new(),
            narrative: "La recyclerie a ouvert en mars.".into(),
            indicators: Indicators {
                jobs_created: Some(2),
                volunteers: Some(12),
                people_reached: Some(800),
            },
        }
    }

    fn fields(p: &Problems) -> Vec<&str> {
        p.iter().map(|(f, _)| f.as_str()).collect()
    }

    #[test]
    fn a_submission_needs_every_piece_and_says_which_is_missing() {
        assert_eq!(complete().check_complete(), Problems::new());
        // A gap above 15 % without its explanation, naming the line.
        let mut r = complete();
        r.budget[0].actual_cents = Some(600_000);
        let p = r.check_complete();
        assert_eq!(fields(&p), ["gaps_explanation"]);
        assert!(p[0].1.contains("60 – Achats"), "{p:?}");
        r.gaps_explanation = "Les prix du bois ont monté.".into();
        assert_eq!(r.check_complete(), Problems::new());
        // An empty report: everything at once.
        let p = ReportBody::prefilled(Cents::new(1_500_000).unwrap()).check_complete();
        assert_eq!(
            fields(&p),
            [
                "budget",
                "budget[11].actual_cents",
                "narrative",
                "indicators.jobs_created",
                "indicators.volunteers",
                "indicators.people_reached"
            ]
        );
        // A draft may be that empty.
        assert_eq!(
            ReportBody::prefilled(Cents::new(1_500_000).unwrap()).check_draft(),
            Problems::new()
        );
    }

    #[test]
    fn a_draft_refuses_what_no_report_may_hold() {
        let mut r = complete();
        r.budget.push(line(BudgetCategory::Purchases, 1, Some(-1)));
        r.budget[1].planned_cents = LINE_MAX_CENTS + 1;
        r.narrative = "x\u{202e}y".into();
        r.indicators.people_reached = Some(INDICATOR_MAX + 1);
        assert_eq!(
            fields(&r.check_draft()),
            [
                "budget[1].planned_cents",
                "budget[3].category",
                "budget[3].actual_cents",
                "narrative",
                "indicators.people_reached"
            ]
        );
    }

    #[test]
    fn totals_by_side_and_every_category_labelled_once() {
        let r = complete();
        assert_eq!(r.totals(Side::Charges), (1_500_000, 1_520_000));
        assert_eq!(r.totals(Side::Products), (1_500_000, 1_500_000));
        let labels: std::collections::HashSet<_> =
            BudgetCategory::ALL.iter().map(|c| c.label_fr()).collect();
        assert_eq!(labels.len(), BudgetCategory::ALL.len());
        for c in BudgetCategory::ALL {
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json, c.as_str());
        }
    }
}
