//! Calls for projects: create, read, edit, publish, close.

use chrono::NaiveDateTime;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::audit::{self, NewEvent};
use crate::db::calls::{self, CallRow};
use crate::domain::actor::Actor;
use crate::domain::audit_action::{AuditAction, CallEvent};
use crate::domain::call::{
    self as rules, CallAction, CallState, RequiredDocument, ScoringCriterion, call_transition,
    check_window, paris_rfc3339, parse_deadline,
};
use crate::domain::eligibility::{DEFAULT_RULES_VERSION, RuleSet};
use crate::domain::grant::{
    CONVENTION_THRESHOLD, ConventionPolicy, DEFAULT_REPORT_DUE_MONTHS, MAX_REPORT_DUE_MONTHS,
    ScheduleLine, check_schedule, default_schedule,
};
use crate::domain::identifiers::InseeCode;
use crate::domain::ids::{CallId, UserId};
use crate::domain::money::Cents;
use crate::domain::territory;
use crate::domain::text::{self, Lines};
use crate::error::{FieldErrors, ServiceError};
use crate::input::merge_patch;
use crate::input::{Page, Position, from_json};
use crate::services::runner::{Audit, Move, change_state};
use crate::services::version::check_version;
use crate::state::AppState;

/// The body of `POST /calls`. Omitted fields take the defaults of DESIGN.md §6 (and of the
/// rule set for the cap and the budget share).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCall {
    #[schema(example = "Entreprendre autrement 2027")]
    pub title: String,
    #[serde(default)]
    #[schema(example = "Soutien aux structures de l'ESS en démarrage ou en développement.")]
    pub description: String,
    /// `mel-2021` (default) or `mel-2024`.
    #[schema(example = "mel-2021")]
    pub rules_version: Option<String>,
    /// Opening of submissions: Europe/Paris wall-clock time (`2027-01-05T09:00:00`) or RFC 3339.
    #[schema(example = "2027-01-05T09:00:00")]
    pub opens_at: Option<String>,
    /// End of submissions, same format; null for a permanent call.
    #[schema(example = "2027-03-31T12:00:00")]
    pub closes_at: Option<String>,
    /// Total envelope of the call, in cents.
    #[schema(example = 20000000, minimum = 0)]
    pub budget_cents: i64,
    /// Cap per project, in cents (default: the rule set's, 2 000 000 under mel-2021).
    #[schema(example = 2000000)]
    pub max_award_cents: Option<i64>,
    /// Award ≤ this % of the project budget. Omitted: the rule set's (none under mel-2021,
    /// 30 under mel-2024); null: none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u8>, example = json!(null))]
    pub max_budget_share_pct: Option<Option<u8>>,
    /// INSEE codes of the communes where the activity must take place (default: the MEL's 95).
    pub territory: Option<Vec<String>>,
    #[schema(example = 2)]
    pub min_reviews: Option<u32>,
    pub scoring_grid: Option<Vec<ScoringCriterion>>,
    pub required_documents: Option<Vec<RequiredDocument>>,
    /// When a grant needs a convention signed in essor (§15): `always`, `above_threshold`
    /// (default) or `never`.
    pub convention: Option<ConventionPolicy>,
    /// The threshold of `above_threshold`, in cents: a convention when the award is strictly
    /// above it (default 2 300 000, loi n° 2000-321 art. 10).
    #[schema(example = 2300000)]
    pub convention_threshold_cents: Option<i64>,
    /// The final report is due this many months after the project's end (default 6, 1 to 36).
    #[schema(example = 6)]
    pub report_due_months: Option<u32>,
    /// The payment schedule: each grant's instalments (default 80 % « Avance » on the
    /// signature, 20 % « Solde » on the approved report); the percents sum to 100.
    pub instalments: Option<Vec<ScheduleLine>>,
    /// Days a commune has to give its opinion after a submission (default 21, 1 to 120; the
    /// decision closes it sooner) (§16).
    #[schema(example = 21)]
    pub commune_opinion_days: Option<u32>,
    /// Whether the assigned reviewers read the communes' opinions (default false).
    pub reviewers_see_commune_opinions: Option<bool>,
}

/// Distinguishes an explicit `null` (Some(None)) from an absent field (None).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The editable settings of a call, as `PATCH` sees them (the target of the merge patch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallSettings {
    pub title: String,
    pub description: String,
    pub rules_version: String,
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
    pub budget_cents: i64,
    pub max_award_cents: i64,
    pub max_budget_share_pct: Option<u8>,
    pub territory: Vec<String>,
    pub min_reviews: u32,
    pub scoring_grid: Vec<ScoringCriterion>,
    pub required_documents: Vec<RequiredDocument>,
    pub convention: ConventionPolicy,
    pub convention_threshold_cents: i64,
    pub report_due_months: u32,
    pub instalments: Vec<ScheduleLine>,
    pub commune_opinion_days: u32,
    pub reviewers_see_commune_opinions: bool,
}

/// The envelope of a call: what it holds, what is awarded, what is left.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Envelope {
    #[schema(value_type = i64, example = 20000000)]
    pub total_cents: Cents,
    #[schema(value_type = i64, example = 6000000)]
    pub awarded_cents: Cents,
    #[schema(value_type = i64, example = 14000000)]
    pub left_cents: Cents,
}

/// A call for projects.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Call {
    #[schema(value_type = String)]
    pub id: CallId,
    pub title: String,
    pub description: String,
    pub rules_version: String,
    /// Europe/Paris time with its offset, e.g. `2027-01-05T09:00:00+01:00`.
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
    #[schema(value_type = i64)]
    pub budget_cents: Cents,
    #[schema(value_type = i64)]
    pub max_award_cents: Cents,
    pub max_budget_share_pct: Option<u8>,
    pub territory: Vec<String>,
    pub min_reviews: u32,
    pub scoring_grid: Vec<ScoringCriterion>,
    pub required_documents: Vec<RequiredDocument>,
    /// When a grant needs a convention (§15).
    pub convention: ConventionPolicy,
    #[schema(value_type = i64, example = 2300000)]
    pub convention_threshold_cents: Cents,
    /// Months after the project's end when the final report is due.
    #[schema(example = 6)]
    pub report_due_months: u32,
    /// The payment schedule of the call's grants.
    pub instalments: Vec<ScheduleLine>,
    /// Days a commune has to give its opinion after a submission (§16).
    #[schema(example = 21)]
    pub commune_opinion_days: u32,
    /// Whether the assigned reviewers read the communes' opinions.
    pub reviewers_see_commune_opinions: bool,
    pub state: CallState,
    /// Accepting submissions right now (published and inside its window).
    pub accepting_submissions: bool,
    pub envelope: Envelope,
    /// Optimistic-concurrency version, also sent as the `ETag`.
    pub version: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub published_at: Option<chrono::DateTime<chrono::Utc>>,
    pub closed_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn parse_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, ServiceError> {
    serde_json::from_str(s)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("stored {what}: {e}")))
}

impl CallRow {
    /// What the envelope still holds: the envelope's guard (`db::calls::consume_envelope`)
    /// and the settings' check keep what is awarded within the budget.
    pub fn envelope_left(&self) -> Cents {
        self.budget_cents
            .checked_sub(self.awarded_cents)
            .unwrap_or(Cents::ZERO)
    }

    pub fn territory_codes(&self) -> Result<Vec<String>, ServiceError> {
        parse_json(&self.territory, "territory")
    }

    pub fn grid(&self) -> Result<Vec<ScoringCriterion>, ServiceError> {
        parse_json(&self.scoring_grid, "scoring_grid")
    }

    /// The payment schedule its grants follow.
    pub fn schedule(&self) -> Result<Vec<ScheduleLine>, ServiceError> {
        parse_json(&self.instalment_schedule, "instalment_schedule")
    }

    pub fn documents(&self) -> Result<Vec<RequiredDocument>, ServiceError> {
        parse_json(&self.required_documents, "required_documents")
    }

    pub fn rule_set(&self) -> Result<&'static RuleSet, ServiceError> {
        RuleSet::find(&self.rules_version).ok_or_else(|| {
            ServiceError::Internal(anyhow::anyhow!(
                "unknown rules version {}",
                self.rules_version
            ))
        })
    }

    pub fn settings(&self) -> Result<CallSettings, ServiceError> {
        Ok(CallSettings {
            title: self.title.clone(),
            description: self.description.clone(),
            rules_version: self.rules_version.clone(),
            opens_at: self.opens_at.map(paris_rfc3339),
            closes_at: self.closes_at.map(paris_rfc3339),
            budget_cents: self.budget_cents.value(),
            max_award_cents: self.max_award_cents.value(),
            max_budget_share_pct: self.max_budget_share_pct.map(|p| p as u8),
            territory: self.territory_codes()?,
            min_reviews: self.min_reviews as u32,
            scoring_grid: self.grid()?,
            required_documents: self.documents()?,
            convention: self.convention.parse().map_err(|e: String| {
                ServiceError::Internal(anyhow::anyhow!("stored convention: {e}"))
            })?,
            convention_threshold_cents: self.convention_threshold_cents.value(),
            report_due_months: u32::try_from(self.report_due_months).unwrap_or(6),
            instalments: self.schedule()?,
            commune_opinion_days: u32::try_from(self.commune_opinion_days)
                .unwrap_or(crate::domain::commune_opinion::DEFAULT_DAYS),
            reviewers_see_commune_opinions: self.reviewers_see_commune_opinions,
        })
    }

    /// The call as its readers see it at `now` (whether it accepts applications depends on it).
    pub fn to_view(&self, now: NaiveDateTime) -> Result<Call, ServiceError> {
        let s = self.settings()?;
        let state = self.state;
        let accepting = state == CallState::Published
            && check_window(self.opens_at, self.closes_at, now).is_ok();
        Ok(Call {
            id: self.id.clone(),
            title: s.title,
            description: s.description,
            rules_version: s.rules_version,
            opens_at: s.opens_at,
            closes_at: s.closes_at,
            budget_cents: self.budget_cents,
            max_award_cents: self.max_award_cents,
            max_budget_share_pct: s.max_budget_share_pct,
            territory: s.territory,
            min_reviews: s.min_reviews,
            scoring_grid: s.scoring_grid,
            required_documents: s.required_documents,
            convention: s.convention,
            convention_threshold_cents: self.convention_threshold_cents,
            report_due_months: s.report_due_months,
            instalments: s.instalments,
            commune_opinion_days: s.commune_opinion_days,
            reviewers_see_commune_opinions: s.reviewers_see_commune_opinions,
            state,
            accepting_submissions: accepting,
            envelope: Envelope {
                total_cents: self.budget_cents,
                awarded_cents: self.awarded_cents,
                left_cents: self.envelope_left(),
            },
            version: self.version,
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            published_at: self.published_at.map(|t| t.and_utc()),
            closed_at: self.closed_at.map(|t| t.and_utc()),
        })
    }
}

/// Checked settings, ready to store.
struct ValidSettings {
    s: CallSettings,
    opens_at: Option<chrono::NaiveDateTime>,
    closes_at: Option<chrono::NaiveDateTime>,
}

impl CallSettings {
    fn from_new(n: NewCall) -> Result<CallSettings, ServiceError> {
        let version = n
            .rules_version
            .unwrap_or_else(|| DEFAULT_RULES_VERSION.to_owned());
        let rule_set = RuleSet::find(&version).ok_or_else(|| unknown_rules(&version))?;
        Ok(CallSettings {
            title: n.title,
            description: n.description,
            rules_version: version,
            opens_at: n.opens_at,
            closes_at: n.closes_at,
            budget_cents: n.budget_cents,
            max_award_cents: n.max_award_cents.unwrap_or(rule_set.max_award_cap_cents),
            max_budget_share_pct: n
                .max_budget_share_pct
                .unwrap_or(rule_set.default_budget_share_pct),
            territory: n.territory.unwrap_or_else(territory::mel_insee_codes),
            min_reviews: n.min_reviews.unwrap_or(rules::DEFAULT_MIN_REVIEWS),
            scoring_grid: n.scoring_grid.unwrap_or_else(rules::default_scoring_grid),
            required_documents: n
                .required_documents
                .unwrap_or_else(rules::default_required_documents),
            convention: n.convention.unwrap_or_default(),
            convention_threshold_cents: n
                .convention_threshold_cents
                .unwrap_or(CONVENTION_THRESHOLD.value()),
            report_due_months: n.report_due_months.unwrap_or(DEFAULT_REPORT_DUE_MONTHS),
            instalments: n.instalments.unwrap_or_else(default_schedule),
            commune_opinion_days: n
                .commune_opinion_days
                .unwrap_or(crate::domain::commune_opinion::DEFAULT_DAYS),
            reviewers_see_commune_opinions: n.reviewers_see_commune_opinions.unwrap_or(false),
        })
    }

    /// Every rule of §6 on the settings, all problems reported at once.
    fn validate(self) -> Result<ValidSettings, ServiceError> {
        let mut errors = FieldErrors::new();
        let mut err =
            |field: &str, msg: String| errors.entry(field.to_owned()).or_default().push(msg);
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            err(
                "title",
                "le titre est obligatoire (200 caractères au plus)".into(),
            );
        }
        if let Err(e) = text::check(&self.title, Lines::Single) {
            err("title", e.to_string());
        }
        if let Err(e) = text::check(&self.description, Lines::Multi) {
            err("description", e.to_string());
        }
        if self.description.chars().count() > 20_000 {
            err(
                "description",
                "la description ne doit pas dépasser 20 000 caractères".into(),
            );
        }
        let rule_set = RuleSet::find(&self.rules_version);
        if rule_set.is_none() {
            err("rules_version", unknown_rules_message(&self.rules_version));
        }
        let mut deadline = |field: &str, v: &Option<String>| match v.as_deref().map(parse_deadline)
        {
            None => None,
            Some(Ok(dt)) => Some(dt.naive_utc()),
            Some(Err(m)) => {
                err(field, m);
                None
            }
        };
        let opens_at = deadline("opens_at", &self.opens_at);
        let closes_at = deadline("closes_at", &self.closes_at);
        if let (Some(o), Some(c)) = (opens_at, closes_at)
            && c <= o
        {
            err(
                "closes_at",
                "la clôture doit être postérieure à l'ouverture".into(),
            );
        }
        if !(0..=10_000_000_000_000).contains(&self.budget_cents) {
            err(
                "budget_cents",
                "l'enveloppe doit être un nombre de centimes positif ou nul".into(),
            );
        }
        if let Some(rs) = rule_set
            && let Err(m) = rules::check_max_award(rs, self.max_award_cents)
        {
            err("max_award_cents", m);
        }
        if let Some(p) = self.max_budget_share_pct
            && !(1..=100).contains(&p)
        {
            err(
                "max_budget_share_pct",
                "la part maximale du budget est comprise entre 1 et 100 %".into(),
            );
        }
        if self.territory.is_empty() {
            err(
                "territory",
                "le territoire doit compter au moins une commune".into(),
            );
        }
        if self.territory.len() > 5000 {
            err("territory", "5 000 communes au plus".into());
        }
        for (i, code) in self.territory.iter().enumerate() {
            if let Err(e) = InseeCode::parse(code) {
                err(&format!("territory[{i}]"), e.to_string());
            }
        }
        if !(1..=rules::MAX_MIN_REVIEWS).contains(&self.min_reviews) {
            err(
                "min_reviews",
                format!("entre 1 et {} évaluations", rules::MAX_MIN_REVIEWS),
            );
        }
        for (path, m) in rules::check_scoring_grid(&self.scoring_grid) {
            err(&format!("scoring_grid{path}"), m);
        }
        for (path, m) in rules::check_required_documents(&self.required_documents) {
            err(&format!("required_documents{path}"), m);
        }
        if !(0..=10_000_000_000_000).contains(&self.convention_threshold_cents) {
            err(
                "convention_threshold_cents",
                "le seuil de la convention doit être un nombre de centimes positif ou nul".into(),
            );
        }
        if !(1..=MAX_REPORT_DUE_MONTHS).contains(&self.report_due_months) {
            err(
                "report_due_months",
                format!(
                    "le compte rendu est dû entre 1 et {MAX_REPORT_DUE_MONTHS} mois après la fin du projet"
                ),
            );
        }
        for (path, m) in check_schedule(&self.instalments) {
            err(&format!("instalments{path}"), m);
        }
        if let Err(m) = crate::domain::commune_opinion::check_days(self.commune_opinion_days) {
            err("commune_opinion_days", m);
        }
        if !errors.is_empty() {
            return Err(ServiceError::invalid(errors));
        }
        let mut s = self;
        s.title = s.title.trim().to_owned();
        Ok(ValidSettings {
            s,
            opens_at,
            closes_at,
        })
    }
}

fn unknown_rules_message(v: &str) -> String {
    format!(
        "règlement « {v} » inconnu ; règlements disponibles : {}",
        RuleSet::known_versions().join(", ")
    )
}

fn unknown_rules(v: &str) -> ServiceError {
    ServiceError::invalid_field("rules_version", unknown_rules_message(v))
}

impl ValidSettings {
    fn apply(self, row: &mut CallRow) -> Result<(), ServiceError> {
        let s = self.s;
        row.title = s.title;
        row.description = s.description;
        row.rules_version = s.rules_version;
        row.opens_at = self.opens_at;
        row.closes_at = self.closes_at;
        row.budget_cents = cents("budget_cents", s.budget_cents)?;
        row.max_award_cents = cents("max_award_cents", s.max_award_cents)?;
        row.max_budget_share_pct = s.max_budget_share_pct.map(i32::from);
        row.territory = to_json(&s.territory)?;
        row.min_reviews = s.min_reviews as i32;
        row.scoring_grid = to_json(&s.scoring_grid)?;
        row.required_documents = to_json(&s.required_documents)?;
        row.convention = s.convention.as_str().to_owned();
        row.convention_threshold_cents =
            cents("convention_threshold_cents", s.convention_threshold_cents)?;
        row.report_due_months = s.report_due_months as i32;
        row.instalment_schedule = to_json(&s.instalments)?;
        row.commune_opinion_days = s.commune_opinion_days as i32;
        row.reviewers_see_commune_opinions = s.reviewers_see_commune_opinions;
        Ok(())
    }
}

/// An amount the settings' validation already bounded; a negative one is refused on its field
/// all the same.
fn cents(field: &str, v: i64) -> Result<Cents, ServiceError> {
    Cents::new(v).map_err(|e| ServiceError::invalid_field(field, e.to_string()))
}

fn to_json<T: Serialize>(v: &T) -> Result<String, ServiceError> {
    serde_json::to_string(v).map_err(|e| ServiceError::Internal(e.into()))
}

// One argument per column of the audit row, the time included.
#[allow(clippy::too_many_arguments)]
pub fn audit_call(
    conn: &mut DbConnection,
    call_id: &CallId,
    actor: &UserId,
    event: CallEvent,
    from: Option<CallState>,
    to: Option<CallState>,
    payload: Value,
    at: NaiveDateTime,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        NewEvent {
            application_id: None,
            call_id: Some(call_id),
            actor_id: Some(actor),
            action: AuditAction::Call(event),
            from_state: from.map(CallState::as_str),
            to_state: to.map(CallState::as_str),
            payload,
            at,
        },
    )?;
    Ok(())
}

pub async fn create(state: &AppState, user: &Actor, input: NewCall) -> Result<Call, ServiceError> {
    let valid = CallSettings::from_new(input)?.validate()?;
    let now = state.clock.now();
    let mut row = CallRow {
        id: CallId::new(),
        title: String::new(),
        description: String::new(),
        rules_version: String::new(),
        opens_at: None,
        closes_at: None,
        budget_cents: Cents::ZERO,
        max_award_cents: Cents::ZERO,
        max_budget_share_pct: None,
        territory: String::new(),
        min_reviews: 0,
        scoring_grid: String::new(),
        required_documents: String::new(),
        state: CallState::Draft,
        version: 1,
        awarded_cents: Cents::ZERO,
        created_by: user.id.clone(),
        created_at: now,
        updated_at: now,
        published_at: None,
        closed_at: None,
        convention: String::new(),
        convention_threshold_cents: Cents::ZERO,
        report_due_months: 0,
        instalment_schedule: String::new(),
        commune_opinion_days: crate::domain::commune_opinion::DEFAULT_DAYS as i32,
        reviewers_see_commune_opinions: false,
    };
    valid.apply(&mut row)?;
    let actor = user.id.clone();
    state
        .db
        .transaction(move |conn| {
            calls::insert(conn, &row)?;
            audit_call(
                conn,
                &row.id,
                &actor,
                CallEvent::Create,
                None,
                Some(CallState::Draft),
                json!({"title": row.title}),
                now,
            )?;
            row.to_view(now)
        })
        .await
}

/// Staff see every call; everybody else only published ones (404 otherwise).
fn visible_to(row: &CallRow, staff: bool) -> bool {
    staff || row.state == CallState::Published
}

/// The call an export reads (staff only, checked by the caller), as stored.
pub async fn for_export(state: &AppState, id: CallId) -> Result<CallRow, ServiceError> {
    state
        .db
        .run(move |conn| calls::find(conn, &id)?.ok_or_else(not_found))
        .await
}

pub async fn get(state: &AppState, staff: bool, id: CallId) -> Result<Call, ServiceError> {
    let now = state.clock.now();
    state
        .db
        .run(move |conn| find_in(conn, staff, &id, now))
        .await
}

/// The call, if `staff` or the call is published, on the caller's connection.
pub fn find_in(
    conn: &mut DbConnection,
    staff: bool,
    id: &CallId,
    now: NaiveDateTime,
) -> Result<Call, ServiceError> {
    let row = calls::find(conn, id)?
        .filter(|r| visible_to(r, staff))
        .ok_or_else(not_found)?;
    row.to_view(now)
}

pub fn not_found() -> ServiceError {
    ServiceError::not_found("Cet appel à projets n'existe pas ou n'est pas publié.")
}

/// A call's id as a face received it: a malformed one is « not found », like an unknown one.
pub fn id(text: &str) -> Result<CallId, ServiceError> {
    CallId::parse(text).ok_or_else(not_found)
}

pub async fn list(
    state: &AppState,
    staff: bool,
    filter: Option<CallState>,
    position: impl Into<Position>,
) -> Result<Page<Call>, ServiceError> {
    let (sort, kind) = calls::LIST_SORT;
    let window = position.into().window(sort, kind)?;
    let states: Vec<CallState> = match (staff, filter) {
        (true, Some(s)) => vec![s],
        (true, None) => vec![CallState::Draft, CallState::Published, CallState::Closed],
        (false, Some(CallState::Published) | None) => vec![CallState::Published],
        (false, Some(_)) => vec![],
    };
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let (paged, total) = calls::list(conn, &states, &window)?;
            Page::from_paged(paged, total, window.per_page(), |row| row.to_view(now))
        })
        .await
}

/// `PATCH`: a JSON merge patch of the settings, under `If-Match`.
pub async fn update(
    state: &AppState,
    user: &Actor,
    id: CallId,
    expected_version: Option<i32>,
    patch: Value,
) -> Result<Call, ServiceError> {
    if !patch.is_object() {
        return Err(ServiceError::invalid_field(
            "corps",
            "le corps doit être un objet JSON (JSON Merge Patch)",
        ));
    }
    let actor = user.id.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let mut row = calls::find_for_update(conn, &id)?.ok_or_else(not_found)?;
            check_version(expected_version, row.version)?;
            let call_state = row.state;
            if call_state == CallState::Closed {
                return Err(ServiceError::conflict("Un appel clos ne peut plus être modifié."));
            }
            let before = row.settings()?;
            let mut target = serde_json::to_value(&before).map_err(|e| ServiceError::Internal(e.into()))?;
            merge_patch(&mut target, &patch);
            let after: CallSettings = from_json(target)?;
            let valid = after.clone().validate()?;
            let changed: Vec<&str> = changed_fields(&before, &after);
            if call_state == CallState::Published {
                let frozen: Vec<&str> = changed
                    .iter()
                    .copied()
                    .filter(|f| rules::FROZEN_AFTER_SUBMISSIONS.contains(f))
                    .collect();
                if !frozen.is_empty() && calls::has_submissions(conn, &row.id)? {
                    let mut extra = serde_json::Map::new();
                    extra.insert("frozen_fields".into(), json!(frozen));
                    return Err(ServiceError::Conflict {
                        message: format!(
                            "Des candidatures ont déjà été déposées sur cet appel : ses règles ({}) ne \
                             peuvent plus changer, pour que toutes soient jugées selon les mêmes règles.",
                            frozen.join(", ")
                        ),
                        extra,
                    });
                }
            }
            if valid.s.budget_cents < row.awarded_cents.value() {
                return Err(ServiceError::conflict(format!(
                    "L'enveloppe ne peut descendre sous le montant déjà attribué ({}).",
                    row.awarded_cents.to_fr_string()
                )));
            }
            if changed.is_empty() {
                return row.to_view(now);
            }
            valid.apply(&mut row)?;
            let old_version = row.version;
            row.version += 1;
            row.updated_at = now;
            if calls::update_versioned(conn, &row, old_version)? != 1 {
                return Err(crate::services::version::stale(old_version, old_version + 1));
            }
            audit_call(
                conn,
                &row.id,
                &actor,
                CallEvent::Update,
                Some(row.state),
                Some(row.state),
                json!({"changed": changed}),
                now,
            )?;
            row.to_view(now)
        })
        .await
}

fn changed_fields(a: &CallSettings, b: &CallSettings) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($f:ident),*) => {$( if a.$f != b.$f { out.push(stringify!($f)); } )*};
    }
    cmp!(
        title,
        description,
        rules_version,
        opens_at,
        closes_at,
        budget_cents,
        max_award_cents,
        max_budget_share_pct,
        territory,
        min_reviews,
        scoring_grid,
        required_documents,
        convention,
        convention_threshold_cents,
        report_due_months,
        instalments,
        commune_opinion_days,
        reviewers_see_commune_opinions
    );
    out
}

pub async fn transition(
    state: &AppState,
    user: &Actor,
    id: CallId,
    action: CallAction,
) -> Result<Call, ServiceError> {
    let actor = user.id.clone();
    let notifier = state.notifier.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            let mut row = calls::find_for_update(conn, &id)?.ok_or_else(not_found)?;
            let from = row.state;
            let to = call_transition(from, action).map_err(|m| {
                let mut extra = serde_json::Map::new();
                extra.insert("current_state".into(), json!(from.as_str()));
                ServiceError::Conflict {
                    message: capitalise(&m),
                    extra,
                }
            })?;
            let old_version = row.version;
            row.version += 1;
            row.updated_at = now;
            match action {
                CallAction::Publish => row.published_at = Some(now),
                CallAction::Close => row.closed_at = Some(now),
            }
            if calls::update_versioned(conn, &row, old_version)? != 1 {
                return Err(ServiceError::conflict(
                    "L'appel a été modifié entre-temps : recommencez.",
                ));
            }
            let event = match action {
                CallAction::Publish => CallEvent::Publish,
                CallAction::Close => CallEvent::Close,
            };
            change_state(
                conn,
                &notifier,
                Move {
                    id: &row.id,
                    from,
                    to,
                },
                Audit {
                    application_id: None,
                    call_id: Some(&row.id),
                    actor_id: &actor,
                    action: AuditAction::Call(event),
                    payload: json!({}),
                },
                &[],
            )?;
            row.state = to;
            row.to_view(now)
        })
        .await
}

pub fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => {
            f.to_uppercase().collect::<String>()
                + c.as_str()
                + if s.ends_with('.') { "" } else { "." }
        }
        None => String::new(),
    }
}
