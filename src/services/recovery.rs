//! A recovery (reversement, DESIGN.md §15): staff ask a beneficiary to give back part or all of
//! what was paid — never more — with a motivation. The grant moves to `recovery_requested`
//! through the runner, the letter (demande de reversement) is issued and mailed, and what was
//! not ordered yet is cancelled. Staff close the recovery once the public accountant has
//! recovered the sum (`recovery_requested -> closed`).

use serde::Deserialize;
use serde_json::json;

use crate::db::grants::{self, Grant};
use crate::db::instalments;
use crate::domain::actor::Actor;
use crate::domain::amount_words::euros_in_words;
use crate::domain::dates::french_date;
use crate::domain::grant::{GrantAction, GrantTransitionError, next_state};
use crate::domain::history::HistoryAction;
use crate::domain::ids::GrantId;
use crate::domain::letter::LetterKind;
use crate::domain::money::Cents;
use crate::domain::text::{self, Lines};
use crate::error::{FieldErrors, ServiceError};
use crate::letters::RecoveryBlock;
use crate::notify::MailEvent;
use crate::services::conventions::{insert_letter, refused, render_error};
use crate::services::grant_view::{GrantView, party, reachable, view_of};
use crate::services::mail_events::{application_and_call, summary};
use crate::services::runner::{Audit, Move, change_state};
use crate::state::AppState;

/// A recovery's motivation, at most.
pub const MOTIVATION_MAX: usize = 5000;

/// Body of `POST /grants/{id}/recovery`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryInput {
    /// What is asked back, in cents: more than 0, at most what was paid.
    #[schema(example = 450000)]
    pub amount_cents: i64,
    #[schema(
        example = "Le projet a été réalisé en partie : 4 500 € n'ont pas été employés.",
        max_length = 5000
    )]
    pub motivation: String,
}

impl RecoveryInput {
    /// Every field's problem at once; `paid` is what the grant's instalments paid.
    pub fn check(&self, paid: Cents) -> Result<Cents, ServiceError> {
        let mut errors = FieldErrors::new();
        let amount = match Cents::new(self.amount_cents) {
            Ok(a) if a.value() == 0 => {
                errors.insert(
                    "amount_cents".into(),
                    vec!["le montant à reverser doit être supérieur à 0".into()],
                );
                None
            }
            Ok(a) if a.value() > paid.value() => {
                errors.insert(
                    "amount_cents".into(),
                    vec![format!(
                        "le montant à reverser ({}) dépasse ce qui a été payé ({})",
                        a.to_fr_string(),
                        paid.to_fr_string()
                    )],
                );
                None
            }
            Ok(a) => Some(a),
            Err(e) => {
                errors.insert("amount_cents".into(), vec![e.to_string()]);
                None
            }
        };
        if let Err(m) = text::required(&self.motivation, Lines::Multi, MOTIVATION_MAX) {
            errors.insert("motivation".into(), vec![m]);
        }
        match amount {
            Some(a) if errors.is_empty() => Ok(a),
            _ => Err(ServiceError::invalid(errors)),
        }
    }
}

/// What the grant's instalments paid.
fn paid_of(conn: &mut crate::db::DbConnection, grant: &Grant) -> Result<Cents, ServiceError> {
    let instalments = instalments::of_grant(conn, &grant.id)?;
    Ok(crate::domain::instalment::paid_total(
        instalments.iter().map(|i| (i.state, i.amount)),
    ))
}

/// `POST /grants/{id}/recovery` (staff).
pub async fn request(
    state: &AppState,
    user: &Actor,
    id: &GrantId,
    input: RecoveryInput,
) -> Result<GrantView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let notifier = state.notifier.clone();
    let writer = state.letters.clone();
    state
        .db
        .transaction(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            let to = next_state(grant.state, GrantAction::RequestRecovery, party(&user, &grant))
                .map_err(|e| match e {
                    GrantTransitionError::Forbidden { .. } => ServiceError::Forbidden(
                        "Seule l'équipe ESS demande le reversement d'une subvention.".into(),
                    ),
                    e => refused(e),
                })?;
            let paid = paid_of(conn, &grant)?;
            if paid.value() == 0 {
                let mut extra = serde_json::Map::new();
                extra.insert("current_state".into(), json!(grant.state));
                return Err(ServiceError::Conflict {
                    message: "Aucun versement de cette subvention n'a été payé : il n'y a rien à reverser. Si le projet n'a pas démarré, déclarez le financement caduc.".into(),
                    extra,
                });
            }
            let amount = input.check(paid)?;
            let motivation = input.motivation.trim().to_owned();
            let now = notifier.clock().now_utc();
            let (row, call) = application_and_call(conn, &grant)?;
            let mut data = crate::services::grants::letter_base(
                &row,
                &call,
                crate::clock::paris_date(now),
                &motivation,
            )?;
            data.amount = grant.awarded.to_fr_string();
            data.amount_words = euros_in_words(grant.awarded);
            data.recovery = Some(RecoveryBlock {
                amount: amount.to_fr_string(),
                amount_words: euros_in_words(amount),
                paid: paid.to_fr_string(),
                convention_on: grant
                    .countersigned_at
                    .map(|at| french_date(crate::clock::paris_date(at.and_utc())))
                    .unwrap_or_default(),
            });
            let pdf = writer
                .render(LetterKind::Recovery, &data, now)
                .map_err(render_error)?;
            let inputs =
                serde_json::to_string(&data).map_err(|e| ServiceError::Internal(e.into()))?;
            let letter = insert_letter(
                conn,
                &grant.id,
                &grant.application_id,
                LetterKind::Recovery,
                Some(&inputs),
                &pdf,
                now,
            )?;
            let app = summary(conn, &row, &call)?;
            change_state(
                conn,
                &notifier,
                Move {
                    id: &id,
                    from: grant.state,
                    to,
                },
                Audit {
                    application_id: Some(&grant.application_id),
                    call_id: Some(&grant.call_id),
                    actor_id: &user.id,
                    action: HistoryAction::Grant(GrantAction::RequestRecovery).into(),
                    payload: json!({
                        "grant_id": id,
                        "amount_cents": amount,
                        "paid_cents": paid,
                        "motivation": motivation,
                        "letter": letter.audit_json(),
                        "from_state": grant.state,
                        "to_state": to,
                    }),
                },
                &[MailEvent::RecoveryRequested {
                    app,
                    amount_cents: amount.value(),
                    motivation: motivation.clone(),
                    letter_id: Some(letter.id.to_string()),
                }],
            )?;
            grants::record_recovery(conn, &id, amount, &motivation, now.naive_utc())?;
            // Nothing more is paid once money is asked back.
            crate::services::instalments::cancel_unpaid(conn, &notifier, &user.id, &grant)?;
            view_of(conn, &user, &id)
        })
        .await
}

/// `POST /grants/{id}/close-recovery` (staff): the sum is recovered, the grant is closed.
pub async fn close(
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
                GrantAction::CloseRecovery,
                party(&user, &grant),
            )
            .map_err(|e| match e {
                GrantTransitionError::Forbidden { .. } => {
                    ServiceError::Forbidden("Seule l'équipe ESS clôt un reversement.".into())
                }
                e => refused(e),
            })?;
            change_state(
                conn,
                &notifier,
                Move {
                    id: &id,
                    from: grant.state,
                    to,
                },
                Audit {
                    application_id: Some(&grant.application_id),
                    call_id: Some(&grant.call_id),
                    actor_id: &user.id,
                    action: HistoryAction::Grant(GrantAction::CloseRecovery).into(),
                    payload: json!({
                        "grant_id": id,
                        "amount_cents": grant.recovery.as_ref().map(|r| r.amount),
                        "from_state": grant.state,
                        "to_state": to,
                    }),
                },
                &[],
            )?;
            view_of(conn, &user, &id)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recovery_asks_more_than_nothing_and_no_more_than_was_paid() {
        let paid = Cents::new(1_480_000).unwrap();
        let ok = RecoveryInput {
            amount_cents: 450_000,
            motivation: "Projet réalisé en partie.".into(),
        };
        assert_eq!(ok.check(paid).unwrap().value(), 450_000);
        let all = RecoveryInput {
            amount_cents: 1_480_000,
            ..ok.clone()
        };
        assert!(all.check(paid).is_ok());
        let cases: [(RecoveryInput, &[&str]); 4] = [
            (RecoveryInput::default(), &["amount_cents", "motivation"]),
            (
                RecoveryInput {
                    amount_cents: 1_480_001,
                    ..ok.clone()
                },
                &["amount_cents"],
            ),
            (
                RecoveryInput {
                    amount_cents: -1,
                    ..ok.clone()
                },
                &["amount_cents"],
            ),
            (
                RecoveryInput {
                    motivation: "  ".into(),
                    ..ok.clone()
                },
                &["motivation"],
            ),
        ];
        for (input, fields) in cases {
            match input.check(paid) {
                Err(ServiceError::Invalid { fields: got, .. }) => {
                    assert_eq!(got.keys().map(String::as_str).collect::<Vec<_>>(), fields)
                }
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }
}
