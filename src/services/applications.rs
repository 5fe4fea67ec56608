//! Applications: drafts, reads with visibility, edits under `If-Match`, history, eligibility.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use validator::Validate;

use crate::clock::paris_date;
use crate::db::DbConnection;
use crate::db::applications::{self as rows, ApplicationRow, SummaryRow, Visibility};
pub use crate::db::applications::{ListFilter, ListSort};
use crate::db::audit::{self, NewEvent};
use crate::db::calls::{self, CallRow};
use crate::domain::account::Role;
use crate::domain::actor::Actor;
use crate::domain::application::{ApplicationBody, EssCommitments, Organisation, Project};
use crate::domain::application_state::{Action, ApplicationState, Party, allowed_actions};
use crate::domain::audience::Audience;
use crate::domain::call::CallState;
use crate::domain::eligibility::{self, CallRules, Criterion, Evaluation, Verdict};
use crate::domain::history::HistoryAction;
use crate::domain::ids::{ApplicationId, CallId, UserId};
use crate::domain::money::Cents;
use crate::domain::territory::canonical_communes;
use crate::error::ServiceError;
use crate::input::cursor::Window;
use crate::input::merge_patch;
use crate::input::{Page, Position, from_json};
use crate::services::identify::Identify;
use crate::services::version::check_version;
use crate::state::AppState;
use diesel::Connection;

/// The eligibility report of DESIGN.md §8.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EligibilityReport {
    /// With staff's readings applied to `review` criteria, once staff have assessed them.
    pub verdict: Verdict,
    /// The verdict from the automatic outcomes alone.
    pub automatic_verdict: Verdict,
    #[schema(example = "mel-2021")]
    pub rules_version: String,
    pub checked_at: DateTime<Utc>,
    /// The call's required documents not yet attached (completeness, not eligibility).
    #[schema(example = json!(["rib"]))]
    pub missing_documents: Vec<String>,
    pub criteria: Vec<Criterion>,
}

impl EligibilityReport {
    pub fn new(
        ev: Evaluation,
        automatic: Verdict,
        checked_at: DateTime<Utc>,
        missing: Vec<String>,
    ) -> Self {
        Self {
            verdict: ev.verdict,
            automatic_verdict: automatic,
            rules_version: ev.rules_version,
            checked_at,
            missing_documents: missing,
            criteria: ev.criteria,
        }
    }

    pub fn evaluation(&self) -> Evaluation {
        Evaluation {
            verdict: self.verdict,
            rules_version: self.rules_version.clone(),
            criteria: self.criteria.clone(),
        }
    }
}

/// The committee's decision on an application.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Decision {
    pub outcome: ApplicationState,
    #[schema(value_type = Option<i64>)]
    pub awarded_cents: Option<Cents>,
    pub motivation: String,
    pub committee_date: Option<NaiveDate>,
    pub decision_reference: Option<String>,
    pub decided_at: DateTime<Utc>,
}

/// An application, as its owner, staff, or an assigned reviewer reads it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Application {
    #[schema(value_type = String, example = "01936f4e-5a7b-7c3d-9e2f-0a1b2c3d4e5f")]
    pub id: ApplicationId,
    #[schema(example = "EA-2026-00042")]
    pub reference: String,
    #[schema(value_type = String)]
    pub call_id: CallId,
    #[schema(value_type = String)]
    pub applicant_id: UserId,
    pub state: ApplicationState,
    /// Optimistic-concurrency version, also sent as the `ETag`.
    pub version: i32,
    pub organisation: Organisation,
    pub project: Project,
    pub ess: EssCommitments,
    /// The report stored at submission, with staff's readings (absent on a draft: see
    /// `/eligibility`; absent for reviewers, who do not read the screening).
    pub eligibility: Option<EligibilityReport>,
    pub decision: Option<Decision>,
    /// What the caller may do now (endpoint names under `/applications/{id}/`).
    #[serde(with = "crate::domain::application_state::as_endpoints")]
    #[schema(value_type = Vec<String>, example = json!(["decision", "withdraw"]))]
    pub allowed_actions: Vec<Action>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
}

/// An application as stored, written out as the JSON of [`Application`] without parsing its
/// body and eligibility report into their types and writing them again: they pass through as
/// stored (`RawValue`), which is most of the work of a read (bench/run, issue 19). The stored
/// JSON is what `ApplicationRow::set_body` and the submission wrote from the same types, so the
/// document is the one `Application` gives (a test holds the two equal in every state).
#[derive(Debug)]
pub struct StoredApplication {
    row: ApplicationRow,
    state: ApplicationState,
    show_eligibility: bool,
    allowed_actions: Vec<Action>,
}

impl StoredApplication {
    /// The version, sent as the `ETag`.
    pub fn version(&self) -> i32 {
        self.row.version
    }
}

/// The stored body, split without being parsed.
#[derive(Deserialize)]
struct RawBody<'a> {
    #[serde(borrow)]
    organisation: &'a serde_json::value::RawValue,
    #[serde(borrow)]
    project: &'a serde_json::value::RawValue,
    #[serde(borrow)]
    ess: &'a serde_json::value::RawValue,
}

impl Serialize for StoredApplication {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        use serde_json::value::RawValue;

        /// `Application`'s fields, in its order, borrowed.
        #[derive(Serialize)]
        struct Out<'a> {
            id: &'a ApplicationId,
            reference: &'a str,
            call_id: &'a CallId,
            applicant_id: &'a UserId,
            state: ApplicationState,
            version: i32,
            organisation: &'a RawValue,
            project: &'a RawValue,
            ess: &'a RawValue,
            eligibility: Option<&'a RawValue>,
            decision: Option<Decision>,
            #[serde(with = "crate::domain::application_state::as_endpoints")]
            allowed_actions: &'a [Action],
            created_at: DateTime<Utc>,
            updated_at: DateTime<Utc>,
            submitted_at: Option<DateTime<Utc>>,
        }

        let row = &self.row;
        let body: RawBody<'_> = serde_json::from_str(&row.body)
            .map_err(|e| S::Error::custom(format!("stored body: {e}")))?;
        let eligibility = match (&row.eligibility, self.show_eligibility) {
            (Some(report), true) => Some(
                serde_json::from_str::<&RawValue>(report)
                    .map_err(|e| S::Error::custom(format!("stored eligibility: {e}")))?,
            ),
            _ => None,
        };
        Out {
            id: &row.id,
            reference: &row.reference,
            call_id: &row.call_id,
            applicant_id: &row.applicant_id,
            state: self.state,
            version: row.version,
            organisation: body.organisation,
            project: body.project,
            ess: body.ess,
            eligibility,
            decision: row.decision(self.state),
            allowed_actions: &self.allowed_actions,
            created_at: row.created_at.and_utc(),
            updated_at: row.updated_at.and_utc(),
            submitted_at: row.submitted_at.map(|t| t.and_utc()),
        }
        .serialize(s)
    }
}

/// A line of a list of applications.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicationSummary {
    #[schema(value_type = String)]
    pub id: ApplicationId,
    #[schema(example = "EA-2026-00042")]
    pub reference: String,
    #[schema(value_type = String)]
    pub call_id: CallId,
    pub state: ApplicationState,
    #[schema(example = "Les Ateliers du Sart")]
    pub organisation_name: String,
    #[schema(example = "Recyclerie de quartier")]
    pub project_title: String,
    #[schema(value_type = i64, example = 2000000)]
    pub requested_cents: Cents,
    #[schema(value_type = Option<i64>)]
    pub awarded_cents: Option<Cents>,
    pub eligibility_verdict: Option<Verdict>,
    pub created_at: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
}

/// One event of an application's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HistoryEvent {
    pub id: String,
    /// `create`, `update`, `upload-document`, `delete-document`, or a transition.
    #[schema(example = "submit")]
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: String,
    pub at: DateTime<Utc>,
    /// What came with the action (message, motivation, changed fields…).
    #[schema(value_type = Object)]
    pub payload: Value,
}

pub fn visibility(user: &Actor) -> Visibility {
    match user.role {
        Role::Staff | Role::Admin => Visibility::All,
        Role::Applicant => Visibility::OwnedBy(user.id.clone()),
        Role::Reviewer => Visibility::AssignedTo(user.id.clone()),
        // A commune reads its applications through `services::communes`, in their own shape;
        // it owns none, so this reaches nothing (404, no oracle).
        Role::Commune => Visibility::OwnedBy(user.id.clone()),
    }
}

pub fn actor(user: &Actor, row: &ApplicationRow) -> Party {
    if user.role.is_staff() {
        Party::Staff
    } else if row.applicant_id == user.id {
        Party::Owner
    } else {
        Party::Other
    }
}

/// Who reads this application (see [`Audience`]); a stranger is told it does not exist.
pub fn audience(user: &Actor, row: &ApplicationRow) -> Result<Audience, ServiceError> {
    Audience::of(user.role, row.applicant_id == user.id).ok_or_else(not_found)
}

pub fn not_found() -> ServiceError {
    ServiceError::not_found("Cette candidature n'existe pas ou ne vous est pas accessible.")
}

/// An application's id as a face received it (a path, a form): a malformed one is « not
/// found », like an unknown one, in the same words.
pub fn id(text: &str) -> Result<ApplicationId, ServiceError> {
    ApplicationId::parse(text).ok_or_else(not_found)
}

fn internal(what: &str, e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("stored {what}: {e}"))
}

impl ApplicationRow {
    pub fn parsed_body(&self) -> Result<ApplicationBody, ServiceError> {
        serde_json::from_str(&self.body).map_err(|e| internal("body", e))
    }

    pub fn report(&self) -> Result<Option<EligibilityReport>, ServiceError> {
        self.eligibility
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| internal("eligibility", e))
    }

    /// The decision, once the application is accepted or rejected.
    fn decision(&self, state: ApplicationState) -> Option<Decision> {
        match (state, self.decided_at) {
            (ApplicationState::Accepted | ApplicationState::Rejected, Some(at)) => Some(Decision {
                outcome: state,
                awarded_cents: self.awarded_cents,
                motivation: self.decision_motivation.clone().unwrap_or_default(),
                committee_date: self.committee_date,
                decision_reference: self.decision_reference.clone(),
                decided_at: at.and_utc(),
            }),
            _ => None,
        }
    }

    /// The application as `user` reads it, for a face that writes it out as JSON: the same
    /// document as `to_view`, with the stored body and report passed through untouched.
    pub fn into_stored(self, user: &Actor) -> Result<StoredApplication, ServiceError> {
        let state = self.state;
        let show_eligibility = audience(user, &self)?.reads_eligibility();
        let allowed_actions = allowed_actions(state, actor(user, &self));
        Ok(StoredApplication {
            state,
            show_eligibility,
            allowed_actions,
            row: self,
        })
    }

    pub fn to_view(&self, user: &Actor) -> Result<Application, ServiceError> {
        let body = self.parsed_body()?;
        let state = self.state;
        let decision = self.decision(state);
        let audience = audience(user, self)?;
        Ok(Application {
            id: self.id.clone(),
            reference: self.reference.clone(),
            call_id: self.call_id.clone(),
            applicant_id: self.applicant_id.clone(),
            state,
            version: self.version,
            organisation: body.organisation,
            project: body.project,
            ess: body.ess,
            eligibility: if audience.reads_eligibility() {
                self.report()?
            } else {
                None
            },
            decision,
            allowed_actions: allowed_actions(state, actor(user, self)),
            created_at: self.created_at.and_utc(),
            updated_at: self.updated_at.and_utc(),
            submitted_at: self.submitted_at.map(|t| t.and_utc()),
        })
    }

    pub fn set_body(&mut self, body: &ApplicationBody) -> Result<(), ServiceError> {
        self.body = serde_json::to_string(body).map_err(|e| ServiceError::Internal(e.into()))?;
        self.organisation_name = body.organisation.name.clone();
        self.project_title = body.project.title.clone();
        self.requested_cents = Cents::new(body.project.requested_cents)
            .map_err(|e| ServiceError::invalid_field("project.requested_cents", e.to_string()))?;
        self.org_key = body.organisation.registry_key();
        self.search_text = Some(crate::domain::search::search_text(
            &self.reference,
            body.organisation.siret.as_deref(),
            body.organisation.rna.as_deref(),
            &body.organisation.name,
            &body.project.title,
        ));
        self.commune_insee =
            Some(body.organisation.commune_insee.clone()).filter(|c| !c.is_empty());
        Ok(())
    }
}

/// One application per structure (SIRET, else RNA; a hosted holder per host and holder) and
/// call, unless withdrawn (DESIGN.md §7, §16):
/// the 409 names the application already filed.
fn duplicate_structure(org_key: &str, reference: &str) -> ServiceError {
    let mut extra = serde_json::Map::new();
    extra.insert("existing_reference".into(), json!(reference));
    extra.insert("field".into(), json!(Organisation::registry_field(org_key)));
    ServiceError::Conflict {
        message: format!(
            "Une candidature de cette structure ({}) existe déjà pour cet appel à projets : \
             {reference}. Une structure dépose une seule candidature par appel ; poursuivez \
             celle-ci, ou retirez-la avant d'en créer une autre.",
            Organisation::registry_label(org_key)
        ),
        extra,
    }
}

pub(crate) fn check_one_per_structure(
    conn: &mut DbConnection,
    row: &ApplicationRow,
) -> Result<(), ServiceError> {
    let Some(key) = &row.org_key else {
        return Ok(());
    };
    match rows::holder_of_org_key(conn, &row.call_id, key, Some(&row.id))? {
        Some(reference) => Err(duplicate_structure(key, &reference)),
        None => Ok(()),
    }
}

/// A concurrent creation won the race past [`check_one_per_structure`]: the unique index
/// refused this row (its savepoint is rolled back), and the winner is now visible.
pub(crate) fn org_key_race(
    conn: &mut DbConnection,
    row: &ApplicationRow,
    e: diesel::result::Error,
) -> ServiceError {
    if !rows::is_org_key_conflict(&e) {
        return e.into();
    }
    let key = row.org_key.clone().unwrap_or_default();
    match rows::holder_of_org_key(conn, &row.call_id, &key, Some(&row.id)) {
        Ok(Some(reference)) => duplicate_structure(&key, &reference),
        Ok(None) => duplicate_structure(&key, "une autre candidature en cours d'enregistrement"),
        Err(e) => e.into(),
    }
}

impl SummaryRow {
    pub fn summary(&self) -> Result<ApplicationSummary, ServiceError> {
        Ok(ApplicationSummary {
            id: self.id.clone(),
            reference: self.reference.clone(),
            call_id: self.call_id.clone(),
            state: self.state,
            organisation_name: self.organisation_name.clone(),
            project_title: self.project_title.clone(),
            requested_cents: self.requested_cents,
            awarded_cents: self.awarded_cents,
            eligibility_verdict: self
                .eligibility_verdict
                .as_deref()
                .map(|v| serde_json::from_value(json!(v)))
                .transpose()
                .map_err(|e| internal("verdict", e))?,
            created_at: self.created_at.and_utc(),
            submitted_at: self.submitted_at.map(|t| t.and_utc()),
        })
    }
}

/// Parses and validates a body: serde names a field of the wrong type, validator every rule.
pub fn parse_body(value: Value) -> Result<ApplicationBody, ServiceError> {
    check_body(from_json(value)?)
}

/// Validates a typed body: every rule of validator, each on its field.
/// The organisation section alone (a step of the pages, the pre-check): its fields' rules and
/// what its status asks (§16), paths relative to the section.
pub fn check_organisation(o: &Organisation) -> Result<(), ServiceError> {
    let mut fields = match o.validate() {
        Ok(()) => crate::error::FieldErrors::new(),
        Err(e) => crate::error::field_errors(&e),
    };
    for (field, message) in o.status_errors() {
        fields.entry(field.to_owned()).or_default().push(message);
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(ServiceError::invalid(fields))
    }
}

/// Every field's rule, then what the organisation's status asks of the others (§16), all
/// problems at once.
pub fn check_body(body: ApplicationBody) -> Result<ApplicationBody, ServiceError> {
    let mut fields = match body.validate() {
        Ok(()) => crate::error::FieldErrors::new(),
        Err(e) => crate::error::field_errors(&e),
    };
    for (field, message) in body.organisation.status_errors() {
        fields
            .entry(format!("organisation.{field}"))
            .or_default()
            .push(message);
    }
    if !fields.is_empty() {
        return Err(ServiceError::invalid(fields));
    }
    Ok(body.normalise())
}

// One argument per column of the audit row, the time included.
#[allow(clippy::too_many_arguments)]
pub fn record_event(
    conn: &mut DbConnection,
    application_id: &ApplicationId,
    actor_id: &UserId,
    action: HistoryAction,
    from: Option<ApplicationState>,
    to: Option<ApplicationState>,
    payload: Value,
    at: NaiveDateTime,
) -> Result<(), ServiceError> {
    audit::record(
        conn,
        NewEvent {
            application_id: Some(application_id),
            call_id: None,
            actor_id: Some(actor_id),
            action: action.into(),
            from_state: from.map(ApplicationState::as_str),
            to_state: to.map(ApplicationState::as_str),
            payload,
            at,
        },
    )?;
    Ok(())
}

pub async fn create(
    state: &AppState,
    user: &Actor,
    call_id: CallId,
    body: ApplicationBody,
    referral_code: Option<String>,
) -> Result<Application, ServiceError> {
    user.require(&[Role::Applicant])?;
    let body = check_body(body)?;
    let user = user.clone();
    let (now, today) = (state.clock.now(), state.clock.paris_today());
    state
        .db
        .transaction(move |conn| {
            let call = calls::find(conn, &call_id)?
                .filter(|c| c.state != CallState::Draft)
                .ok_or_else(crate::services::calls::not_found)?;
            if call.state == CallState::Closed {
                return Err(ServiceError::conflict(
                    "Cet appel à projets est clos : il n'accepte plus de candidatures.",
                ));
            }
            // A commune's referral (§16): checked before anything is written.
            let referred_by = referral_code
                .as_deref()
                .map(|code| referring_commune(conn, code, &call_id))
                .transpose()?;
            let reference = rows::next_reference(conn, today.year())?;
            let mut row = ApplicationRow {
                id: ApplicationId::new(),
                reference,
                call_id,
                applicant_id: user.id.clone(),
                state: ApplicationState::Draft,
                version: 1,
                body: String::new(),
                organisation_name: String::new(),
                project_title: String::new(),
                requested_cents: Cents::ZERO,
                eligibility: None,
                eligibility_verdict: None,
                awarded_cents: None,
                decision_motivation: None,
                committee_date: None,
                decision_reference: None,
                created_at: now,
                updated_at: now,
                submitted_at: None,
                decided_at: None,
                org_key: None,
                search_text: None,
                commune_insee: None,
            };
            row.set_body(&body)?;
            check_one_per_structure(conn, &row)?;
            conn.transaction(|c| rows::insert(c, &row))
                .map_err(|e| org_key_race(conn, &row, e))?;
            crate::db::territory::set_communes(
                conn,
                row.id.as_str(),
                &canonical_communes(&body.project.activity_communes),
            )?;
            if let Some(commune) = &referred_by {
                crate::db::commune_opinions::mark_referred(conn, row.id.as_str(), commune)?;
            }
            record_event(
                conn,
                &row.id,
                &user.id,
                HistoryAction::Create,
                None,
                Some(ApplicationState::Draft),
                match &referred_by {
                    Some(c) => json!({"reference": row.reference, "referred_by_commune": c}),
                    None => json!({"reference": row.reference}),
                },
                now,
            )?;
            row.to_view(&user)
        })
        .await
}

/// The commune whose referral `code` is, for an application to `call_id`; a French field
/// error (`referral_code`) for a code that is malformed, unknown or for another call.
pub fn referring_commune(
    conn: &mut DbConnection,
    code: &str,
    call_id: &CallId,
) -> Result<String, ServiceError> {
    let field = |m: String| ServiceError::invalid_field("referral_code", m);
    let code = crate::domain::referral::ReferralCode::parse(code).map_err(field)?;
    let referral =
        crate::db::commune_opinions::referral_by_code(conn, code.as_str())?.ok_or_else(|| {
            field(format!(
                "le code de recommandation {code} est inconnu ; vérifiez-le dans le courriel reçu"
            ))
        })?;
    if referral.call_id != call_id.as_str() {
        return Err(field(format!(
            "le code de recommandation {code} recommande un autre appel à projets"
        )));
    }
    Ok(referral.commune_insee)
}

/// Loads a visible application; a reviewer must also have accepted the assignment (declared
/// no conflict of interest) before reading the details.
pub fn load_readable(
    conn: &mut DbConnection,
    user: &Actor,
    id: &ApplicationId,
) -> Result<ApplicationRow, ServiceError> {
    let row = rows::find_visible(conn, id, &visibility(user))?.ok_or_else(not_found)?;
    if user.role == Role::Reviewer && !crate::db::assignments::has_accepted(conn, id, &user.id)? {
        return Err(ServiceError::Forbidden(
            "Acceptez d'abord l'affectation en déclarant l'absence de conflit d'intérêts \
             pour lire ce dossier."
                .into(),
        ));
    }
    Ok(row)
}

pub async fn get(
    state: &AppState,
    user: &Actor,
    id: ApplicationId,
) -> Result<Application, ServiceError> {
    let user = user.clone();
    state
        .db
        .run(move |conn| load_readable(conn, &user, &id)?.to_view(&user))
        .await
}

/// The application as stored, for the JSON read: the caller's account check, the
/// authorization and the read in one database call (one hand-off to the blocking pool; one
/// statement for a bearer token of staff or of the owner), and
/// the stored JSON passed through ([`StoredApplication`]).
pub async fn get_stored(
    state: &AppState,
    who: &impl Identify,
    id: ApplicationId,
) -> Result<StoredApplication, ServiceError> {
    let who = who.clone();
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let (user, read) = who.identify_reading(conn, now, &id)?;
            let row = match (read, visibility(&user)) {
                // A reviewer reads through their assignments, which the joined statement
                // does not see.
                (Some(read), Visibility::All | Visibility::OwnedBy(_)) => {
                    read.ok_or_else(not_found)?
                }
                _ => load_readable(conn, &user, &id)?,
            };
            row.into_stored(&user)
        })
        .await
}

/// A page of the applications the caller may see, from a page number or a cursor (which must
/// be one of this list in this order: else a 400 naming `cursor`).
/// The caller's account check runs in the same database call as the list (see `get_stored`).
pub async fn list(
    state: &AppState,
    who: &impl Identify,
    filter: ListFilter,
    position: impl Into<Position>,
) -> Result<Page<ApplicationSummary>, ServiceError> {
    let window = list_window(&filter, &position.into())?;
    let who = who.clone();
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            let user = who.identify(conn, now)?;
            list_in(conn, &user, &filter, &window)
        })
        .await
}

/// A page of the applications `user` may see, on the caller's connection.
pub fn list_in(
    conn: &mut DbConnection,
    user: &Actor,
    filter: &ListFilter,
    window: &Window,
) -> Result<Page<ApplicationSummary>, ServiceError> {
    let (paged, total) = rows::list(conn, &visibility(user), filter, window)?;
    Page::from_paged(paged, total, window.per_page(), |r| r.summary())
}

/// Whether `position` may be read in the order of `filter` (a cursor of this list and order).
pub fn list_window(filter: &ListFilter, position: &Position) -> Result<Window, ServiceError> {
    position.window(filter.sort.cursor_sort(), filter.sort.key_kind())
}

/// `state=submitted,under_review` → the states (deduplicated); empty means all. A 400 names
/// the unknown one.
pub fn parse_states(list: &str) -> Result<Vec<ApplicationState>, ServiceError> {
    let mut out: Vec<ApplicationState> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let s: ApplicationState = part.parse().map_err(|_| {
            ServiceError::BadInput(format!(
                "État inconnu dans « state » : « {part} ». États possibles : {}.",
                ApplicationState::ALL.map(|s| s.as_str()).join(", ")
            ))
        })?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

/// The longest search the list takes (a SIRET with spaces, a name…).
pub const SEARCH_MAX_CHARS: usize = 100;

/// `q=` → the `LIKE` pattern over the folded search text, `None` when blank.
pub fn search_pattern(q: &str) -> Result<Option<String>, ServiceError> {
    if q.chars().count() > SEARCH_MAX_CHARS {
        return Err(ServiceError::BadInput(format!(
            "Paramètre « q » trop long : {SEARCH_MAX_CHARS} caractères au plus."
        )));
    }
    Ok(crate::domain::search::needle(q).map(|n| crate::domain::search::like_pattern(&n)))
}

/// `commune=59009` → the INSEE code, `None` when blank.
pub fn parse_commune(c: &str) -> Result<Option<String>, ServiceError> {
    let c = c.trim();
    if c.is_empty() {
        return Ok(None);
    }
    let ok = c.len() == 5
        && (c.chars().all(|ch| ch.is_ascii_digit())
            || (c.starts_with("2A") || c.starts_with("2B"))
                && c[2..].chars().all(|ch| ch.is_ascii_digit()));
    if !ok {
        return Err(ServiceError::BadInput(format!(
            "Paramètre « commune » invalide : « {c} » n'est pas un code INSEE de commune (5 \
             caractères, par exemple 59009)."
        )));
    }
    Ok(Some(c.to_owned()))
}

/// `sort=-requested_cents` → the order; blank is newest first.
pub fn parse_sort(s: &str) -> Result<ListSort, ServiceError> {
    if s.trim().is_empty() {
        return Ok(ListSort::default());
    }
    ListSort::parse(s).ok_or_else(|| {
        ServiceError::BadInput(format!(
            "Paramètre « sort » invalide : « {} ». Ordres possibles : {}.",
            s.trim(),
            ListSort::ALL.map(ListSort::as_str).join(", ")
        ))
    })
}

/// Refuses what this reader does not see of the application ([`Audience`]).
fn require_reads(allowed: bool) -> Result<(), ServiceError> {
    if allowed {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "Seuls le porteur de projet et les agents de la Métropole y ont accès.".into(),
        ))
    }
}

/// `PATCH`: a JSON Merge Patch of `{organisation, project, ess}`, by the owner, while the
/// application is editable, under `If-Match`.
pub async fn update(
    state: &AppState,
    user: &Actor,
    id: ApplicationId,
    expected_version: Option<i32>,
    patch: Value,
) -> Result<Application, ServiceError> {
    if !patch.is_object() {
        return Err(ServiceError::invalid_field(
            "corps",
            "le corps doit être un objet JSON (JSON Merge Patch)",
        ));
    }
    let user = user.clone();
    let now = state.clock.now();
    state
        .db
        .transaction(move |conn| {
            rows::find_visible(conn, &id, &visibility(&user))?.ok_or_else(not_found)?;
            let mut row = rows::find_for_update(conn, &id)?.ok_or_else(not_found)?;
            if actor(&user, &row) != Party::Owner {
                return Err(ServiceError::Forbidden(
                    "Seul le porteur de projet modifie sa candidature.".into(),
                ));
            }
            check_version(expected_version, row.version)?;
            let app_state = row.state;
            if !app_state.is_editable() {
                let mut extra = serde_json::Map::new();
                extra.insert("current_state".into(), json!(app_state));
                return Err(ServiceError::Conflict {
                    message: format!(
                        "{} : elle ne peut plus être modifiée.",
                        app_state.sentence_fr()
                    ),
                    extra,
                });
            }
            let before = row.parsed_body()?;
            let mut target =
                serde_json::to_value(&before).map_err(|e| ServiceError::Internal(e.into()))?;
            merge_patch(&mut target, &patch);
            let after = parse_body(target)?;
            if after == before {
                return row.to_view(&user);
            }
            let changed = changed_sections(&before, &after);
            row.set_body(&after)?;
            check_one_per_structure(conn, &row)?;
            let old = row.version;
            row.version += 1;
            row.updated_at = now;
            let written = conn
                .transaction(|c| rows::update_versioned(c, &row, old))
                .map_err(|e| org_key_race(conn, &row, e))?;
            if written != 1 {
                return Err(crate::services::version::stale(old, old + 1));
            }
            if after.project.activity_communes != before.project.activity_communes {
                crate::db::territory::set_communes(
                    conn,
                    row.id.as_str(),
                    &canonical_communes(&after.project.activity_communes),
                )?;
            }
            record_event(
                conn,
                &row.id,
                &user.id,
                HistoryAction::Update,
                Some(app_state),
                Some(app_state),
                json!({"changed": changed}),
                now,
            )?;
            row.to_view(&user)
        })
        .await
}

fn changed_sections(a: &ApplicationBody, b: &ApplicationBody) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.organisation != b.organisation {
        out.push("organisation");
    }
    if a.project != b.project {
        out.push("project");
    }
    if a.ess != b.ess {
        out.push("ess");
    }
    out
}

pub async fn history(
    state: &AppState,
    user: &Actor,
    id: ApplicationId,
) -> Result<Vec<HistoryEvent>, ServiceError> {
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let row = rows::find_visible(conn, &id, &visibility(&user))?.ok_or_else(not_found)?;
            history_of(conn, &user, &row)
        })
        .await
}

/// The history of a visible application, as `user` may read it.
pub fn history_of(
    conn: &mut DbConnection,
    user: &Actor,
    row: &ApplicationRow,
) -> Result<Vec<HistoryEvent>, ServiceError> {
    let reader = audience(user, row)?;
    require_reads(reader.reads_history())?;
    audit::for_application(conn, row.id.as_str())?
        .into_iter()
        .filter_map(|(e, name, role)| {
            let action = HistoryAction::parse(&e.action);
            reader
                .sees_event(action, Role::parse(&role))
                .then_some((e, name, role, action))
        })
        .map(|(e, name, role, action)| {
            // An erased payload reads as an empty one: the event stays, what it said is gone.
            let mut payload = match &e.payload {
                Some(p) => serde_json::from_str(p).unwrap_or(Value::Null),
                None => Value::Object(serde_json::Map::new()),
            };
            if let Value::Object(members) = &mut payload {
                for key in reader.withheld_payload(action) {
                    members.remove(*key);
                }
            }
            Ok(HistoryEvent {
                id: e.id,
                action: e.action,
                from_state: e.from_state,
                to_state: e.to_state,
                actor_id: e.actor_id.unwrap_or_default(),
                actor_name: name,
                actor_role: role,
                at: e.at.and_utc(),
                payload,
            })
        })
        .collect()
}

/// The report for this application at `now`: computed afresh while it is editable (a
/// pre-check), the stored one once it has been submitted.
pub fn compute_report(
    conn: &mut DbConnection,
    row: &ApplicationRow,
    call: &CallRow,
    now: DateTime<Utc>,
) -> Result<EligibilityReport, ServiceError> {
    let body = row.parsed_body()?;
    let territory = call.territory_codes()?;
    let rules = CallRules {
        rule_set: call.rule_set()?,
        max_award_cents: call.max_award_cents.value(),
        max_budget_share_pct: call.max_budget_share_pct.map(|p| p as u8),
        territory: &territory,
    };
    let ev = eligibility::evaluate(&body, &rules, paris_date(now));
    let required: Vec<String> = call.documents()?.into_iter().map(|d| d.key).collect();
    let attached = crate::db::documents::kinds(conn, row.id.as_str())?;
    let missing = eligibility::missing_documents(&required, &attached);
    let automatic = ev.verdict;
    Ok(EligibilityReport::new(ev, automatic, now, missing))
}

pub async fn eligibility(
    state: &AppState,
    user: &Actor,
    id: ApplicationId,
) -> Result<EligibilityReport, ServiceError> {
    let user = user.clone();
    let now = state.clock.now_utc();
    state
        .db
        .run(move |conn| {
            let row = rows::find_visible(conn, &id, &visibility(&user))?.ok_or_else(not_found)?;
            require_reads(audience(&user, &row)?.reads_eligibility())?;
            if !row.state.is_editable()
                && let Some(report) = row.report()?
            {
                return Ok(report);
            }
            let call =
                calls::find(conn, &row.call_id)?.ok_or_else(crate::services::calls::not_found)?;
            compute_report(conn, &row, &call, now)
        })
        .await
}

/// The eligibility of answers not saved yet (the pages' live pre-check while the applicant
/// types): the same rules as the stored report, applied to `body` for the call `call_id`.
/// The pre-check of an application being filled (DESIGN.md §8): from the organisation section
/// on; the criteria that need a section not given yet are `review`.
pub async fn precheck(
    state: &AppState,
    user: &Actor,
    call_id: CallId,
    organisation: Organisation,
    project: Option<Project>,
    ess: Option<EssCommitments>,
) -> Result<Evaluation, ServiceError> {
    user.require(&[Role::Applicant])?;
    check_organisation(&organisation)?;
    if let Some(p) = &project {
        p.validate()?;
    }
    if let Some(e) = &ess {
        e.validate()?;
    }
    let today = state.clock.paris_today();
    state
        .db
        .run(move |conn| {
            let call = calls::find(conn, &call_id)?
                .filter(|c| c.state != CallState::Draft)
                .ok_or_else(crate::services::calls::not_found)?;
            let territory = call.territory_codes()?;
            let rules = CallRules {
                rule_set: call.rule_set()?,
                max_award_cents: call.max_award_cents.value(),
                max_budget_share_pct: call.max_budget_share_pct.map(|p| p as u8),
                territory: &territory,
            };
            Ok(eligibility::evaluate_partial(
                &organisation,
                project.as_ref(),
                ess.as_ref(),
                &rules,
                today,
            ))
        })
        .await
}
