//! The final report (compte rendu financier, DESIGN.md §15): the beneficiary writes a draft as
//! often as they like while the grant runs (or after staff asked for changes), then submits
//! it; staff ask for changes or approve it, which fires the balance. Each move goes through the
//! runner: the grant's state, its audit event and its mails in one transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::grants::Grant;
use crate::db::reports::{self, Report};
use crate::domain::actor::Actor;
use crate::domain::grant::{GrantAction, GrantParty, GrantState, allowed_actions, next_state};
use crate::domain::history::HistoryAction;
use crate::domain::ids::GrantId;
use crate::domain::report::{BudgetCategory, ReportBody, Side};
use crate::domain::text::{self, Lines};
use crate::error::{FieldErrors, ServiceError};
use crate::notify::MailEvent;
use crate::services::conventions::refused;
use crate::services::grant_view::{GrantView, party, reachable, view_of};
use crate::services::mail_events::{application_and_call, summary};
use crate::services::runner::{Audit, Move, change_state};
use crate::state::AppState;

/// What staff write when they ask for changes, at most.
pub const MESSAGE_MAX: usize = 5000;

/// The totals of the budget, planned and actual, by side.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Totals {
    pub charges_planned_cents: i64,
    pub charges_actual_cents: i64,
    pub products_planned_cents: i64,
    pub products_actual_cents: i64,
}

/// The report as `GET /grants/{id}/report` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportView {
    pub grant_id: GrantId,
    /// Where the report stands is the grant's state (`running`: not submitted yet,
    /// `report_submitted`, `report_changes_requested`, `report_approved`…).
    pub grant_state: GrantState,
    pub due_on: NaiveDate,
    /// Due and not submitted.
    pub late: bool,
    pub report: ReportBody,
    /// The categories whose actual amount strays more than 15 % from the plan.
    pub gaps: Vec<BudgetCategory>,
    pub totals: Totals,
    pub submitted_at: Option<DateTime<Utc>>,
    /// What staff asked to change, the last time they did.
    pub changes_message: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    /// The annexes (invoices, photos, accounts), read with
    /// `GET /applications/{application_id}/documents/{id}`.
    pub annexes: Vec<crate::services::documents::Document>,
    pub application_id: String,
    /// What the caller may do now (`submit-report`, `request-report-changes`,
    /// `approve-report`), and whether they may save the draft (`editable`).
    pub allowed_actions: Vec<GrantAction>,
    pub editable: bool,
}

/// Whether the beneficiary may write the report in this state.
fn writable(state: GrantState) -> bool {
    state.takes_report()
}

/// The report's view, its annexes read on `conn`.
fn view_on(
    conn: &mut DbConnection,
    grant: &Grant,
    report: Option<Report>,
    by: GrantParty,
    today: NaiveDate,
) -> Result<ReportView, ServiceError> {
    let annexes = crate::db::documents::list(conn, grant.application_id.as_str())?
        .into_iter()
        .filter(|d| d.kind == crate::domain::call::REPORT_ANNEX_KIND)
        .map(Into::into)
        .collect();
    Ok(view(grant, report, by, today, annexes))
}

fn view(
    grant: &Grant,
    report: Option<Report>,
    by: GrantParty,
    today: NaiveDate,
    annexes: Vec<crate::services::documents::Document>,
) -> ReportView {
    let body = report
        .as_ref()
        .map(|r| r.body.clone())
        .unwrap_or_else(|| ReportBody::prefilled(grant.awarded));
    let (charges_planned_cents, charges_actual_cents) = body.totals(Side::Charges);
    let (products_planned_cents, products_actual_cents) = body.totals(Side::Products);
    ReportView {
        grant_id: grant.id.clone(),
        grant_state: grant.state,
        due_on: grant.report_due_on,
        late: writable(grant.state) && today > grant.report_due_on,
        gaps: body.gaps(),
        totals: Totals {
            charges_planned_cents,
            charges_actual_cents,
            products_planned_cents,
            products_actual_cents,
        },
        report: body,
        submitted_at: report
            .as_ref()
            .and_then(|r| r.submitted_at)
            .map(|t| t.and_utc()),
        changes_message: report.as_ref().and_then(|r| r.changes_message.clone()),
        approved_at: report
            .as_ref()
            .and_then(|r| r.approved_at)
            .map(|t| t.and_utc()),
        annexes,
        application_id: grant.application_id.to_string(),
        allowed_actions: allowed_actions(grant.state, by)
            .into_iter()
            .filter(|a| {
                matches!(
                    a,
                    GrantAction::SubmitReport
                        | GrantAction::RequestReportChanges
                        | GrantAction::ApproveReport
                )
            })
            .collect(),
        editable: by == GrantParty::Beneficiary && writable(grant.state),
    }
}

/// `GET /grants/{id}/report`: the beneficiary and staff; pre-filled before the first save.
pub async fn get(state: &AppState, user: &Actor, id: &GrantId) -> Result<ReportView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let today = state.clock.paris_today();
    state
        .db
        .run(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            let report = reports::find(conn, &id)?;
            view_on(conn, &grant, report, party(&user, &grant), today)
        })
        .await
}

fn invalid(problems: Vec<(String, String)>) -> ServiceError {
    let mut fields = FieldErrors::new();
    for (field, message) in problems {
        fields.entry(field).or_default().push(message);
    }
    ServiceError::invalid(fields)
}

fn conflict(grant: &Grant, message: String) -> ServiceError {
    let mut extra = serde_json::Map::new();
    extra.insert("current_state".into(), json!(grant.state));
    ServiceError::Conflict { message, extra }
}

/// `PUT /grants/{id}/report`: the beneficiary saves the draft (incomplete is fine; what no
/// report may hold is refused, field by field).
pub async fn put(
    state: &AppState,
    user: &Actor,
    id: &GrantId,
    body: ReportBody,
) -> Result<ReportView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let now = state.clock.now();
    let today = state.clock.paris_today();
    state
        .db
        .transaction(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            let by = party(&user, &grant);
            if by != GrantParty::Beneficiary {
                return Err(ServiceError::Forbidden(
                    "Seul le bénéficiaire rédige le compte rendu financier.".into(),
                ));
            }
            if !writable(grant.state) {
                return Err(conflict(
                    &grant,
                    format!(
                        "Le financement est {} : le compte rendu ne se modifie pas maintenant.",
                        grant.state.label_fr()
                    ),
                ));
            }
            let problems = body.check_draft();
            if !problems.is_empty() {
                return Err(invalid(problems));
            }
            reports::save(conn, &id, &body, now)?;
            let report = reports::find(conn, &id)?;
            view_on(conn, &grant, report, by, today)
        })
        .await
}

/// `POST /grants/{id}/report/submit`: the beneficiary submits the saved draft, complete.
pub async fn submit(
    state: &AppState,
    user: &Actor,
    id: &GrantId,
) -> Result<GrantView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let notifier = state.notifier.clone();
    state
        .db
        .transaction(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            let to = next_state(grant.state, GrantAction::SubmitReport, party(&user, &grant))
                .map_err(refused)?;
            let report = reports::find(conn, &id)?;
            let body = report
                .map(|r| r.body)
                .unwrap_or_else(|| ReportBody::prefilled(grant.awarded));
            let problems = body.check_complete();
            if !problems.is_empty() {
                return Err(invalid(problems));
            }
            let (row, call) = application_and_call(conn, &grant)?;
            let app = summary(conn, &row, &call)?;
            move_grant(
                conn,
                &notifier,
                &user,
                &grant,
                GrantAction::SubmitReport,
                to,
                json!({ "gaps": body.gaps() }),
                &[MailEvent::ReportSubmitted { app }],
            )?;
            reports::mark_submitted(conn, &id, notifier.clock().now())?;
            view_of(conn, &user, &id)
        })
        .await
}

/// Body of `POST /grants/{id}/report/request-changes`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangesInput {
    #[schema(
        example = "Joignez les factures des achats de matériel.",
        max_length = 5000
    )]
    pub message: String,
}

/// `POST /grants/{id}/report/request-changes` (staff): the beneficiary is told what to change
/// and may write again.
pub async fn request_changes(
    state: &AppState,
    user: &Actor,
    id: &GrantId,
    input: ChangesInput,
) -> Result<GrantView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let notifier = state.notifier.clone();
    state
        .db
        .transaction(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            let to = next_state(
                grant.state,
                GrantAction::RequestReportChanges,
                party(&user, &grant),
            )
            .map_err(refused)?;
            text::required(&input.message, Lines::Multi, MESSAGE_MAX)
                .map_err(|m| ServiceError::invalid_field("message", m))?;
            let message = input.message.trim().to_owned();
            let (row, call) = application_and_call(conn, &grant)?;
            let app = summary(conn, &row, &call)?;
            move_grant(
                conn,
                &notifier,
                &user,
                &grant,
                GrantAction::RequestReportChanges,
                to,
                json!({ "message": message }),
                &[MailEvent::ReportChangesRequested {
                    app,
                    message: message.clone(),
                }],
            )?;
            reports::mark_changes_requested(conn, &id, &message, notifier.clock().now())?;
            view_of(conn, &user, &id)
        })
        .await
}

/// `POST /grants/{id}/report/approve` (staff): the balance falls due (requested at once when
/// the bank details exist), and the grant closes if nothing remains to pay.
pub async fn approve(
    state: &AppState,
    user: &Actor,
    id: &GrantId,
) -> Result<GrantView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let notifier = state.notifier.clone();
    state
        .db
        .transaction(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            let to = next_state(
                grant.state,
                GrantAction::ApproveReport,
                party(&user, &grant),
            )
            .map_err(refused)?;
            let (row, call) = application_and_call(conn, &grant)?;
            let app = summary(conn, &row, &call)?;
            move_grant(
                conn,
                &notifier,
                &user,
                &grant,
                GrantAction::ApproveReport,
                to,
                json!({}),
                &[MailEvent::ReportApproved { app }],
            )?;
            reports::mark_approved(conn, &id, notifier.clock().now())?;
            crate::services::instalments::request_due(conn, &notifier, &user.id, &id)?;
            crate::services::instalments::close_if_done(conn, &notifier, &user.id, &id)?;
            view_of(conn, &user, &id)
        })
        .await
}

#[allow(clippy::too_many_arguments)]
fn move_grant(
    conn: &mut DbConnection,
    notifier: &crate::notify::Notifier,
    user: &Actor,
    grant: &Grant,
    action: GrantAction,
    to: GrantState,
    extra: serde_json::Value,
    mails: &[MailEvent],
) -> Result<(), ServiceError> {
    let mut payload = json!({
        "grant_id": grant.id,
        "from_state": grant.state,
        "to_state": to,
    });
    if let (Some(p), serde_json::Value::Object(e)) = (payload.as_object_mut(), extra) {
        p.extend(e);
    }
    change_state(
        conn,
        notifier,
        Move {
            id: &grant.id,
            from: grant.state,
            to,
        },
        Audit {
            application_id: Some(&grant.application_id),
            call_id: Some(&grant.call_id),
            actor_id: &user.id,
            action: HistoryAction::Grant(action).into(),
            payload,
        },
        mails,
    )
}
