//! After the decision (DESIGN.md §15): the grant of an accepted application and the letters
//! that notify each decision. The grant is created, and its letter issued, in the decision's
//! own transaction (`transitions::apply` calls [`on_decision`]): an award without its grant,
//! or a grant without its letter, cannot be left behind by a crash between two writes.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::clock::paris_date;
use crate::db::DbConnection;
use crate::db::applications::ApplicationRow;
use crate::db::calls::{self, CallRow};
use crate::db::grants::{self, GrantFilter, NewGrant};
use crate::db::letters::{self, Letter, NewLetter};
use crate::domain::actor::Actor;
use crate::domain::amount_words::euros_in_words;
use crate::domain::application_state::ApplicationState;
use crate::domain::dates::french_date;
use crate::domain::grant::{self, GrantAction, GrantParty, GrantState, first_move, next_state};
use crate::domain::history::HistoryAction;
use crate::domain::ids::{ApplicationId, GrantId, LetterId};
use crate::domain::letter::{LetterKind, sha256_hex};
use crate::domain::money::Cents;
use crate::error::ServiceError;
use crate::letters::{DecisionLetter, InstalmentLine, Letters};
use crate::notify::{MailEvent, Notifier};
use crate::services::runner::{Audit, Move, change_state};
use crate::state::AppState;

pub use crate::services::grant_view::{
    GrantView, IssuedLetter, LetterView, SignatureView, not_found, party, view_of,
};
use crate::services::grant_view::{letter_not_found, view, view_with, visibility};

/// `GET /grants/{id}`: staff, and the beneficiary for their own; anyone else is told it does
/// not exist. A malformed id is as unknown as a missing one.
pub async fn get(state: &AppState, user: &Actor, id: &GrantId) -> Result<GrantView, ServiceError> {
    let id = id.clone();
    let v = match visibility(user) {
        Ok(v) => v,
        Err(_) => return Err(not_found()),
    };
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let grant = grants::find_visible(conn, &id, &v)?.ok_or_else(not_found)?;
            view(conn, &user, grant)
        })
        .await
}

/// What the application's page shows after the decision: its letters, and its grant if it
/// was awarded one. Staff and the application's owner; anyone else reads nothing.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AfterDecision {
    pub grant: Option<GrantView>,
    pub letters: Vec<LetterView>,
}

pub async fn after_decision(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
) -> Result<AfterDecision, ServiceError> {
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let grant = match grants::of_application(conn, application_id.as_str())? {
                Some(g) if party(&user, &g) != GrantParty::Other => Some(view(conn, &user, g)?),
                _ => None,
            };
            let v = crate::services::applications::visibility(&user);
            let owner = crate::db::applications::find_visible(conn, &application_id, &v)?
                .map(|row| row.applicant_id == user.id)
                .unwrap_or(false);
            let letters = if user.role.is_staff() || owner {
                letters::of_application(conn, application_id.as_str())?
                    .into_iter()
                    .map(LetterView::from)
                    .collect()
            } else {
                Vec::new()
            };
            Ok(AfterDecision { grant, letters })
        })
        .await
}

/// The most grants one list returns: a call awards a few hundred at most.
pub const LIST_LIMIT: i64 = 1000;

/// `GET /grants`: staff see every grant (of a call, in a state), a beneficiary theirs.
pub async fn list(
    state: &AppState,
    user: &Actor,
    filter: GrantFilter,
) -> Result<Vec<GrantView>, ServiceError> {
    let v = visibility(user)?;
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let grants = grants::list(conn, &v, &filter, LIST_LIMIT)?;
            let ids: Vec<String> = grants
                .iter()
                .map(|g| g.application_id.to_string())
                .collect();
            let mut by_application: std::collections::HashMap<String, Vec<Letter>> =
                std::collections::HashMap::new();
            for l in letters::of_applications(conn, &ids)? {
                by_application
                    .entry(l.application_id.clone())
                    .or_default()
                    .push(l);
            }
            let grant_ids: Vec<String> = grants.iter().map(|g| g.id.to_string()).collect();
            let mut by_grant: std::collections::HashMap<
                String,
                Vec<crate::db::instalments::Instalment>,
            > = std::collections::HashMap::new();
            for i in crate::db::instalments::of_grants(conn, &grant_ids)? {
                by_grant.entry(i.grant_id.to_string()).or_default().push(i);
            }
            Ok(grants
                .into_iter()
                .map(|g| {
                    let letters = by_application
                        .remove(g.application_id.as_str())
                        .unwrap_or_default();
                    let instalments = by_grant.remove(g.id.as_str()).unwrap_or_default();
                    view_with(&user, g, letters, instalments)
                })
                .collect())
        })
        .await
}

/// `GET /applications/{id}/letters`: the application's owner and staff; a reviewer, who
/// reads the application, does not read the letters addressed to its holder.
pub async fn letters_of_application(
    state: &AppState,
    user: &Actor,
    application_id: ApplicationId,
) -> Result<Vec<LetterView>, ServiceError> {
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let v = crate::services::applications::visibility(&user);
            let row = crate::db::applications::find_visible(conn, &application_id, &v)?
                .ok_or_else(crate::services::applications::not_found)?;
            if !(user.role.is_staff() || row.applicant_id == user.id) {
                return Err(crate::services::applications::not_found());
            }
            Ok(letters::of_application(conn, application_id.as_str())?
                .into_iter()
                .map(LetterView::from)
                .collect())
        })
        .await
}

/// A letter's PDF, with the name to save it under.
#[derive(Debug)]
pub struct LetterFile {
    pub letter: LetterView,
    pub file_name: String,
    pub content: Vec<u8>,
}

/// `GET /letters/{id}`: the same readers as the application's letters.
pub async fn letter_file(
    state: &AppState,
    user: &Actor,
    id: LetterId,
) -> Result<LetterFile, ServiceError> {
    let user = user.clone();
    state
        .db
        .run(move |conn| {
            let found = letters::find_with_content(conn, &id)?.ok_or_else(letter_not_found)?;
            if !(user.role.is_staff() || found.owner_id == user.id.as_str()) {
                return Err(letter_not_found());
            }
            Ok(LetterFile {
                file_name: found.letter.kind.file_name(&found.reference),
                letter: found.letter.into(),
                content: found.content,
            })
        })
        .await
}

/// What a decision wrote before the application's move: the letter, and for an award the
/// grant in its first state.
#[derive(Debug, Clone)]
pub struct Decided {
    pub letter: IssuedLetter,
    pub grant: Option<NewGrantFacts>,
}

#[derive(Debug, Clone)]
pub struct NewGrantFacts {
    pub id: GrantId,
    pub awarded: Cents,
    pub convention_required: bool,
    pub report_due_on: chrono::NaiveDate,
    /// What the award letter said: the convention, when one is required, says the same.
    pub letter_data: DecisionLetter,
}

/// In the decision's transaction, before the application's move (whose audit event records
/// the letter's digest): for an award the grant, in `awarded`; then the letter that notifies
/// the decision. `to` is the state the application reaches, `motivation` what staff wrote
/// (the committee's, or the ineligibility's); `None` for a state no letter notifies.
pub fn issue_decision_letter(
    conn: &mut DbConnection,
    letters_writer: &Letters,
    row: &ApplicationRow,
    call: &CallRow,
    to: ApplicationState,
    motivation: &str,
    now: DateTime<Utc>,
) -> Result<Option<Decided>, ServiceError> {
    let Some(kind) = LetterKind::of_decision(to) else {
        return Ok(None);
    };
    let naive: NaiveDateTime = now.naive_utc();
    let today = paris_date(now);
    let mut data = letter_base(row, call, today, motivation)?;
    let mut grant = None;
    if kind == LetterKind::Award {
        let awarded = row
            .awarded_cents
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("award without an amount")))?;
        let terms = calls::grant_terms(conn, &call.id)?;
        let convention_required = terms
            .convention
            .requires_convention(terms.convention_threshold, awarded);
        let due = grant::report_due_on(today, None, terms.report_due_months);
        let schedule = call.schedule()?;
        let amounts = grant::split(awarded, &schedule)
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("schedule not at 100 %")))?;
        data.amount = awarded.to_fr_string();
        data.amount_words = euros_in_words(awarded);
        data.instalments = schedule
            .iter()
            .zip(amounts)
            .map(|(line, amount)| InstalmentLine {
                label: line.label.clone(),
                percent: line.percent,
                amount: amount.to_fr_string(),
                when: line.trigger.when_fr(convention_required).to_owned(),
            })
            .collect();
        data.report_due = french_date(due);
        data.convention_required = convention_required;
        let id = GrantId::new();
        grants::insert(
            conn,
            &NewGrant {
                id: &id,
                application_id: &row.id,
                call_id: &row.call_id,
                awarded,
                convention_required,
                report_due_on: due,
                at: naive,
            },
        )?;
        crate::services::instalments::plan(conn, &id, awarded, &schedule, naive)?;
        grant = Some(NewGrantFacts {
            id,
            awarded,
            convention_required,
            report_due_on: due,
            letter_data: data.clone(),
        });
    }
    let pdf = letters_writer
        .render(kind, &data, now)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    let sha256 = sha256_hex(&pdf);
    let id = LetterId::new();
    letters::insert(
        conn,
        &NewLetter {
            id: &id,
            application_id: &row.id,
            grant_id: grant.as_ref().map(|g| &g.id),
            kind,
            sha256: &sha256,
            inputs: None,
            content: &pdf,
            issued_at: naive,
        },
    )?;
    Ok(Some(Decided {
        letter: IssuedLetter { id, kind, sha256 },
        grant,
    }))
}

/// After the application's move, in the same transaction: essor's own first move of a new
/// grant, through the runner: to `running` when the call needs no convention, or to
/// `awaiting_signature` with the convention issued and mailed to the beneficiary.
pub fn start_grant(
    conn: &mut DbConnection,
    notifier: &Notifier,
    writer: &Letters,
    user: &Actor,
    row: &ApplicationRow,
    call: &CallRow,
    g: &NewGrantFacts,
) -> Result<(), ServiceError> {
    let now = notifier.clock().now_utc();
    let action = first_move(g.convention_required);
    let to = next_state(GrantState::Awarded, action, GrantParty::System)
        .map_err(|e| ServiceError::Internal(anyhow::anyhow!("{e}")))?;
    let mut payload = json!({
        "grant_id": g.id,
        "awarded_cents": g.awarded,
        "convention_required": g.convention_required,
        "report_due_on": g.report_due_on,
        "to_state": to,
    });
    let mut mails = Vec::new();
    if action == GrantAction::IssueConvention {
        let convention = crate::services::conventions::issue_convention(
            conn,
            writer,
            &g.id,
            &row.id,
            &g.letter_data,
            now,
        )?;
        if let Some(map) = payload.as_object_mut() {
            map.insert("letter".into(), convention.audit_json());
        }
        mails.push(MailEvent::ConventionToSign {
            app: crate::services::mail_events::summary(conn, row, call)?,
            awarded_cents: g.awarded.value(),
            letter_id: Some(convention.id.to_string()),
        });
    }
    change_state(
        conn,
        notifier,
        Move {
            id: &g.id,
            from: GrantState::Awarded,
            to,
        },
        Audit {
            application_id: Some(&row.id),
            call_id: Some(&call.id),
            actor_id: &user.id,
            action: HistoryAction::Grant(action).into(),
            payload,
        },
        &mails,
    )?;
    // The award may fire an instalment; none is requested before the bank details exist.
    crate::services::instalments::request_due(conn, notifier, &user.id, &g.id)?;
    Ok(())
}

/// What every letter about an application says of it: the addressee, the call, the project,
/// the decision, and `motivation`; the award's fields are left empty.
pub fn letter_base(
    row: &ApplicationRow,
    call: &CallRow,
    today: chrono::NaiveDate,
    motivation: &str,
) -> Result<DecisionLetter, ServiceError> {
    let body = row.parsed_body()?;
    Ok(DecisionLetter {
        reference: row.reference.clone(),
        organisation_name: row.organisation_name.clone(),
        organisation_address: address_lines(&body.organisation),
        siret: body
            .organisation
            .paying_siret()
            .map(group_siret)
            .unwrap_or_default(),
        call_title: call.title.clone(),
        project_title: row.project_title.clone(),
        issued_on: french_date(today),
        committee_date: row.committee_date.map(french_date).unwrap_or_default(),
        decision_reference: row.decision_reference.clone().unwrap_or_default(),
        motivation: motivation.trim().to_owned(),
        amount: String::new(),
        amount_words: String::new(),
        instalments: Vec::new(),
        report_due: String::new(),
        convention_required: false,
        signature: None,
        recovery: None,
    })
}

/// The organisation's postal address as the letter's addressee block shows it.
fn address_lines(o: &crate::domain::application::Organisation) -> Vec<String> {
    let commune = crate::domain::territory::commune_name(&o.commune_insee).unwrap_or_default();
    let mut lines: Vec<String> = o
        .address
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    lines.push(format!("{} {commune}", o.postal_code).trim().to_owned());
    lines
}

/// « 123 456 789 00012 », as the Sirene notice prints it.
fn group_siret(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 14 {
        return s.to_owned();
    }
    format!(
        "{} {} {} {}",
        &digits[0..3],
        &digits[3..6],
        &digits[6..9],
        &digits[9..14]
    )
}
