//! The finance service's list and its file back (DESIGN.md §15). essor pays nothing itself:
//! staff download the instalments requested of a call as a CSV for the finance software, and
//! import back what it did — a mandate (`ordered`), a payment (`paid`). Every line is judged
//! before anything is written (`domain::finance_file`); one bad line and nothing is; each move
//! goes through the runner (state, audit event, the beneficiary's mail on a payment) in the
//! import's one transaction.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::db::calls::{self, CallRow};
use crate::db::instalments::{self, OfCall};
use crate::db::{DbConnection, applications};
use crate::domain::actor::Actor;
use crate::domain::finance_file::{self, Judged, Known, Outcome, RawLine};
use crate::domain::history::HistoryAction;
use crate::domain::ids::{ApplicationId, CallId, UserId};
use crate::domain::instalment::{InstalmentAction, InstalmentParty, InstalmentState, next_state};
use crate::domain::money::Cents;
use crate::error::{FieldErrors, ServiceError};
use crate::notify::{MailEvent, Notifier};
use crate::services::mail_events::summary;
use crate::services::runner::{Audit, Move, change_state};
use crate::state::AppState;

fn call_not_found() -> ServiceError {
    ServiceError::not_found("Appel à projets introuvable.")
}

/// The finance list, ready to send.
pub struct FinanceList {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// `GET /calls/{id}/instalments/export`: the instalments of a call in `which` state (those
/// `requested` unless told otherwise), one line each, in the excel-fr dialect (`;`, decimal
/// commas, a UTF-8 BOM), free text defused against formulas.
pub async fn finance_list(
    state: &AppState,
    user: &Actor,
    call_id: CallId,
    which: InstalmentState,
) -> Result<FinanceList, ServiceError> {
    user.require_staff()?;
    let today = state.clock.paris_today();
    state
        .db
        .run(move |conn| {
            let call = calls::find(conn, &call_id)?.ok_or_else(call_not_found)?;
            let lines = instalments::of_call(conn, &call.id, Some(which))?;
            let bytes = crate::export::finance_list::write(&lines)?;
            Ok(FinanceList {
                file_name: format!(
                    "{}-versements-{}-{}.csv",
                    crate::export::slug(&call.title),
                    which.as_str(),
                    today.format("%Y-%m-%d")
                ),
                bytes,
            })
        })
        .await
}

/// What a line came to, in the import's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineOutcome {
    Ordered,
    Paid,
    AlreadyPaid,
    AlreadyOrdered,
    Unknown,
    Invalid,
}

impl From<&Outcome> for LineOutcome {
    fn from(o: &Outcome) -> Self {
        match o {
            Outcome::Ordered => Self::Ordered,
            Outcome::Paid => Self::Paid,
            Outcome::AlreadyPaid => Self::AlreadyPaid,
            Outcome::AlreadyOrdered => Self::AlreadyOrdered,
            Outcome::Unknown => Self::Unknown,
            Outcome::Invalid(_) => Self::Invalid,
        }
    }
}

/// One line of the file, judged.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportLine {
    /// The line's number in the file (the header is line 1).
    #[schema(example = 2)]
    pub line: usize,
    pub instalment_id: String,
    /// The application's reference, when the instalment is known.
    #[schema(example = "EA-2026-00042")]
    pub reference: Option<String>,
    #[schema(example = "Avance")]
    pub label: Option<String>,
    #[schema(value_type = Option<i64>, example = 1200000)]
    pub amount_cents: Option<Cents>,
    pub outcome: LineOutcome,
    /// In French: what the line does, or why it cannot.
    #[schema(example = "payé")]
    pub message: String,
}

/// How many lines came to each outcome.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ImportCounts {
    pub ordered: usize,
    pub paid: usize,
    pub already_paid: usize,
    pub already_ordered: usize,
    pub unknown: usize,
    pub invalid: usize,
}

/// The import's report: each line, and whether anything was written.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// True when the lines that order or pay were recorded (never on a dry run, never when a
    /// line is unknown or invalid).
    pub written: bool,
    pub counts: ImportCounts,
    pub lines: Vec<ImportLine>,
}

impl ImportReport {
    fn has_errors(&self) -> bool {
        self.counts.unknown + self.counts.invalid > 0
    }
}

/// Reads an uploaded file, or refuses it beside the `file` field.
pub fn read_file(bytes: &[u8]) -> Result<Vec<RawLine>, ServiceError> {
    finance_file::read(bytes).map_err(|e| ServiceError::invalid_field("file", e.to_string()))
}

/// `POST /calls/{id}/instalments/import`: judges every line against the call's instalments;
/// on a dry run, or when a line is unknown or invalid, writes nothing (the latter refused with
/// each bad line named by its number); otherwise records each mandate and payment through the
/// runner. Two imports at once: the runner's compare-and-set fails the later one, which is
/// judged again on what the first wrote — a payment is recorded once.
pub async fn import(
    state: &AppState,
    user: &Actor,
    call_id: CallId,
    lines: Vec<RawLine>,
    dry_run: bool,
) -> Result<ImportReport, ServiceError> {
    user.require_staff()?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (call_id, lines, actor) = (call_id.clone(), lines.clone(), user.id.clone());
        let notifier = state.notifier.clone();
        let today = state.clock.paris_today();
        let run = move |conn: &mut DbConnection| {
            import_in(conn, &notifier, &actor, &call_id, &lines, dry_run, today)
        };
        let outcome = if dry_run {
            state.db.run(run).await
        } else {
            state.db.transaction(run).await
        };
        match outcome {
            Err(ServiceError::Conflict { .. }) if attempts < 3 => continue,
            other => return other,
        }
    }
}

fn import_in(
    conn: &mut DbConnection,
    notifier: &Notifier,
    actor: &UserId,
    call_id: &CallId,
    lines: &[RawLine],
    dry_run: bool,
    today: chrono::NaiveDate,
) -> Result<ImportReport, ServiceError> {
    let call = calls::find(conn, call_id)?.ok_or_else(call_not_found)?;
    let of_call = instalments::of_call(conn, &call.id, None)?;
    let mut paid_by_grant: HashMap<&str, i64> = HashMap::new();
    for l in &of_call {
        if l.instalment.state == InstalmentState::Paid {
            *paid_by_grant
                .entry(l.instalment.grant_id.as_str())
                .or_default() += l.instalment.amount.value();
        }
    }
    let by_id: HashMap<&str, &OfCall> = of_call
        .iter()
        .map(|l| (l.instalment.id.as_str(), l))
        .collect();
    let known: HashMap<String, Known> = of_call
        .iter()
        .map(|l| {
            let i = &l.instalment;
            (
                i.id.to_string(),
                Known {
                    grant: i.grant_id.to_string(),
                    state: i.state,
                    amount: i.amount,
                    mandate_reference: i.mandate_reference.clone(),
                    paid_of_grant: Cents::new(
                        paid_by_grant.get(i.grant_id.as_str()).copied().unwrap_or(0),
                    )
                    .unwrap_or_default(),
                    awarded: l.awarded,
                },
            )
        })
        .collect();
    let judged = finance_file::judge_all(lines, &known, today);
    let mut report = ImportReport {
        dry_run,
        written: false,
        counts: ImportCounts::default(),
        lines: Vec::with_capacity(lines.len()),
    };
    for (line, j) in lines.iter().zip(&judged) {
        let found = by_id.get(line.instalment_id.as_str());
        let outcome = LineOutcome::from(&j.outcome);
        let c = &mut report.counts;
        *match outcome {
            LineOutcome::Ordered => &mut c.ordered,
            LineOutcome::Paid => &mut c.paid,
            LineOutcome::AlreadyPaid => &mut c.already_paid,
            LineOutcome::AlreadyOrdered => &mut c.already_ordered,
            LineOutcome::Unknown => &mut c.unknown,
            LineOutcome::Invalid => &mut c.invalid,
        } += 1;
        report.lines.push(ImportLine {
            line: line.number,
            instalment_id: line.instalment_id.clone(),
            reference: found.map(|f| f.reference.clone()),
            label: found.map(|f| f.instalment.label.clone()),
            amount_cents: found.map(|f| f.instalment.amount),
            outcome,
            message: j.outcome.label_fr(),
        });
    }
    if report.has_errors() && !dry_run {
        let mut fields = FieldErrors::new();
        for (line, j) in lines.iter().zip(&judged) {
            if j.outcome.is_error() {
                fields
                    .entry(format!("ligne {}", line.number))
                    .or_default()
                    .push(j.outcome.label_fr());
            }
        }
        let bad = fields.len();
        return Err(ServiceError::Invalid {
            message: format!(
                "{bad} ligne{s} du fichier ne peu{v}t être appliquée{s} : rien n'a été enregistré. Corrigez-{pronoun} puis importez le fichier à nouveau.",
                s = if bad > 1 { "s" } else { "" },
                v = if bad > 1 { "ven" } else { "" },
                pronoun = if bad > 1 { "les" } else { "la" },
            ),
            fields,
            extra: Some(("report".into(), json!(report))),
        });
    }
    if dry_run {
        return Ok(report);
    }
    let now = notifier.clock().now();
    let mut apps = HashMap::new();
    for (line, j) in lines.iter().zip(&judged) {
        if !j.outcome.writes() {
            continue;
        }
        let Some(l) = by_id.get(line.instalment_id.as_str()) else {
            continue;
        };
        apply(conn, notifier, actor, &call, l, line, j, &mut apps)?;
        let mandate = line.mandate_reference.as_str();
        match j.paid_on {
            Some(paid_on) => {
                instalments::record_payment(conn, &l.instalment.id, mandate, paid_on, now)?
            }
            None => instalments::record_order(conn, &l.instalment.id, mandate, now)?,
        };
    }
    // A payment may be the last one a grant whose report is approved waited for.
    let mut paid_grants: Vec<&crate::domain::ids::GrantId> = lines
        .iter()
        .zip(&judged)
        .filter(|(_, j)| j.outcome == Outcome::Paid)
        .filter_map(|(line, _)| by_id.get(line.instalment_id.as_str()))
        .map(|l| &l.instalment.grant_id)
        .collect();
    paid_grants.sort();
    paid_grants.dedup();
    for grant in paid_grants {
        crate::services::instalments::close_if_done(conn, notifier, actor, grant)?;
    }
    report.written = true;
    Ok(report)
}

/// Moves one instalment as its line says, through the runner: its audit event, and on a
/// payment the beneficiary's mail.
#[allow(clippy::too_many_arguments)]
fn apply(
    conn: &mut DbConnection,
    notifier: &Notifier,
    actor: &UserId,
    call: &CallRow,
    l: &OfCall,
    line: &RawLine,
    j: &Judged,
    apps: &mut HashMap<ApplicationId, crate::notify::ApplicationSummary>,
) -> Result<(), ServiceError> {
    let i = &l.instalment;
    let action = match j.outcome {
        Outcome::Paid => InstalmentAction::Pay,
        _ => InstalmentAction::Order,
    };
    let to = next_state(i.state, action, InstalmentParty::Staff)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    let mails = match j.paid_on {
        Some(paid_on) if action == InstalmentAction::Pay => {
            let app = match apps.get(&l.application_id) {
                Some(app) => app.clone(),
                None => {
                    let row = applications::find_for_update(conn, &l.application_id)?.ok_or_else(
                        || {
                            ServiceError::Internal(anyhow::anyhow!(
                                "instalment without application"
                            ))
                        },
                    )?;
                    let app = summary(conn, &row, call)?;
                    apps.insert(l.application_id.clone(), app.clone());
                    app
                }
            };
            vec![MailEvent::InstalmentPaid {
                app,
                label: i.label.clone(),
                amount_cents: i.amount.value(),
                paid_on,
            }]
        }
        _ => vec![],
    };
    change_state(
        conn,
        notifier,
        Move {
            id: &i.id,
            from: i.state,
            to,
        },
        Audit {
            application_id: Some(&l.application_id),
            call_id: Some(&call.id),
            actor_id: actor,
            action: HistoryAction::Instalment(action).into(),
            payload: json!({
                "grant_id": i.grant_id,
                "instalment_id": i.id,
                "label": i.label,
                "amount_cents": i.amount,
                "mandate_reference": line.mandate_reference,
                "paid_on": j.paid_on,
                "line": line.number,
                "from_state": i.state,
                "to_state": to,
            }),
        },
        &mails,
    )?;
    Ok(())
}

/// What a grants export holds (`format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantsFormat {
    Csv,
    Xlsx,
}

impl GrantsFormat {
    pub fn parse(s: Option<&str>) -> Result<Self, ServiceError> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None | Some("csv") => Ok(Self::Csv),
            Some("xlsx") => Ok(Self::Xlsx),
            Some(other) => Err(ServiceError::BadInput(format!(
                "Paramètre « format » : « {other} » n'est pas un format proposé (csv, xlsx)."
            ))),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
}

/// `GET /calls/{id}/grants/export` (staff): each grant of the call with its instalments and
/// where its report stands, in CSV (one line per instalment) or XLSX (a sheet of grants, a
/// sheet of instalments).
pub async fn grants_export(
    state: &AppState,
    user: &Actor,
    call_id: CallId,
    format: GrantsFormat,
) -> Result<FinanceList, ServiceError> {
    use crate::db::grants::{GrantFilter, GrantVisibility};
    use crate::export::grants::GrantLine;
    user.require_staff()?;
    let today = state.clock.paris_today();
    state
        .db
        .run(move |conn| {
            let call = calls::find(conn, &call_id)?.ok_or_else(call_not_found)?;
            let grants = crate::db::grants::list(
                conn,
                &GrantVisibility::All,
                &GrantFilter {
                    call_id: Some(call.id.to_string()),
                    state: None,
                },
                i64::MAX,
            )?;
            let ids: Vec<String> = grants.iter().map(|g| g.id.to_string()).collect();
            let mut instalments_of: HashMap<String, Vec<crate::db::instalments::Instalment>> =
                HashMap::new();
            for i in instalments::of_grants(conn, &ids)? {
                instalments_of
                    .entry(i.grant_id.to_string())
                    .or_default()
                    .push(i);
            }
            let submitted = crate::db::reports::submitted_of(conn, &ids)?;
            let paris = |at: chrono::NaiveDateTime| crate::clock::paris_date(at.and_utc());
            let lines: Vec<GrantLine> = grants
                .into_iter()
                .map(|g| {
                    let id = g.id.to_string();
                    GrantLine {
                        siret: g
                            .org_key
                            .as_deref()
                            .and_then(|k| k.strip_prefix("siret:"))
                            .map(str::to_owned),
                        countersigned_on: g.countersigned_at.map(paris),
                        report_submitted_on: submitted.get(&id).copied().map(paris),
                        report_late: g.state == crate::domain::grant::GrantState::Running
                            && g.report_due_on < today,
                        recovery: g.recovery.as_ref().map(|r| r.amount),
                        instalments: instalments_of.remove(&id).unwrap_or_default(),
                        reference: g.reference,
                        organisation_name: g.organisation_name,
                        awarded: g.awarded,
                        state: g.state,
                        report_due_on: g.report_due_on,
                    }
                })
                .collect();
            let bytes = match format {
                GrantsFormat::Csv => crate::export::grants::csv(&lines)?,
                GrantsFormat::Xlsx => crate::export::grants::xlsx(&lines)?,
            };
            Ok(FinanceList {
                file_name: format!(
                    "{}-financements-{}.{}",
                    crate::export::slug(&call.title),
                    today.format("%Y-%m-%d"),
                    format.extension()
                ),
                bytes,
            })
        })
        .await
}

/// A sum the database computed over stored amounts, as `Cents`.
fn stored_cents(value: i64) -> Result<Cents, ServiceError> {
    Cents::new(value).map_err(|e| crate::db::corrupt("a sum of amounts", e))
}

/// How many rows of each list the financements board shows (the figures count them all; the
/// exports hold them all).
pub const BOARD_ROWS: i64 = 50;

/// A grant as the financements board lists it.
#[derive(Debug, Clone, Serialize)]
pub struct BoardGrant {
    pub application_id: ApplicationId,
    pub reference: String,
    pub organisation_name: String,
    pub awarded_cents: Cents,
    pub convention_required: bool,
    pub report_due_on: chrono::NaiveDate,
    pub late: bool,
}

/// The grants of one state: all counted, the first [`BOARD_ROWS`] listed.
#[derive(Debug, Clone, Serialize)]
pub struct BoardGroup {
    pub state: crate::domain::grant::GrantState,
    pub count: i64,
    pub awarded_cents: Cents,
    pub rows: Vec<BoardGrant>,
}

/// An instalment waiting on the finance service.
#[derive(Debug, Clone, Serialize)]
pub struct BoardInstalment {
    pub application_id: ApplicationId,
    pub reference: String,
    pub organisation_name: String,
    pub label: String,
    pub amount_cents: Cents,
    pub mandate_reference: Option<String>,
}

/// The instalments of one state: all counted and summed, the first [`BOARD_ROWS`] listed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BoardInstalments {
    pub count: i64,
    pub amount_cents: Cents,
    pub rows: Vec<BoardInstalment>,
}

/// What `/gestion/appels/{id}/financements` shows: figures over every grant of the call, and
/// the first rows of each list — a call of 10 000 grants is one page, not 10 000 rows.
#[derive(Debug, Clone, Serialize)]
pub struct Board {
    pub total: i64,
    pub awarded_cents: Cents,
    pub paid_cents: Cents,
    pub late: i64,
    pub groups: Vec<BoardGroup>,
    pub to_order: BoardInstalments,
    pub to_pay: BoardInstalments,
}

pub async fn board(state: &AppState, user: &Actor, call_id: CallId) -> Result<Board, ServiceError> {
    use crate::db::grants::{GrantFilter, GrantVisibility};
    use crate::domain::grant::GrantState;
    user.require_staff()?;
    let today = state.clock.paris_today();
    state
        .db
        .run(move |conn| {
            let call = calls::find(conn, &call_id)?.ok_or_else(call_not_found)?;
            let mut groups = Vec::new();
            let (mut total, mut awarded_cents) = (0, 0);
            for (st, count, cents) in crate::db::grants::totals_by_state(conn, &call.id)? {
                total += count;
                awarded_cents += cents;
                let rows = crate::db::grants::list(
                    conn,
                    &GrantVisibility::All,
                    &GrantFilter {
                        call_id: Some(call.id.to_string()),
                        state: Some(st),
                    },
                    BOARD_ROWS,
                )?
                .into_iter()
                .map(|g| BoardGrant {
                    late: g.state == GrantState::Running && g.report_due_on < today,
                    application_id: g.application_id,
                    reference: g.reference,
                    organisation_name: g.organisation_name,
                    awarded_cents: g.awarded,
                    convention_required: g.convention_required,
                    report_due_on: g.report_due_on,
                })
                .collect();
                groups.push(BoardGroup {
                    state: st,
                    count,
                    awarded_cents: stored_cents(cents)?,
                    rows,
                });
            }
            let by_state = instalments::totals_by_state(conn, &call.id)?;
            let figures = |s: InstalmentState| {
                by_state
                    .iter()
                    .find(|(st, _, _)| *st == s)
                    .map_or((0, 0), |(_, n, c)| (*n, *c))
            };
            let mut list = |s: InstalmentState| -> Result<BoardInstalments, ServiceError> {
                let (count, amount_cents) = figures(s);
                let rows = instalments::of_call_limited(conn, &call.id, Some(s), BOARD_ROWS)?
                    .into_iter()
                    .map(|l| BoardInstalment {
                        application_id: l.application_id,
                        reference: l.reference,
                        organisation_name: l.organisation_name,
                        label: l.instalment.label,
                        amount_cents: l.instalment.amount,
                        mandate_reference: l.instalment.mandate_reference,
                    })
                    .collect();
                Ok(BoardInstalments {
                    count,
                    amount_cents: stored_cents(amount_cents)?,
                    rows,
                })
            };
            let to_order = list(InstalmentState::Requested)?;
            let to_pay = list(InstalmentState::Ordered)?;
            Ok(Board {
                total,
                awarded_cents: stored_cents(awarded_cents)?,
                paid_cents: stored_cents(figures(InstalmentState::Paid).1)?,
                late: crate::db::grants::count_late(conn, &call.id, today)?,
                groups,
                to_order,
                to_pay,
            })
        })
        .await
}
