//! The convention's life (DESIGN.md §15): issued with the award when the call requires one,
//! signed in essor by the beneficiary's legal representative, countersigned by staff; and the
//! grant declared lapsed by staff. Each move goes through the runner (state, audit event and
//! mails in one transaction); the grant's table says who may take it from where.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::grants::{self, Signature};
use crate::db::letters::{self, NewLetter};
use crate::domain::actor::Actor;
use crate::domain::dates::{french_date, french_datetime};
use crate::domain::grant::{GrantAction, GrantState, GrantTransitionError, next_state};
use crate::domain::history::HistoryAction;
use crate::domain::ids::{ApplicationId, GrantId, LetterId};
use crate::domain::letter::{LetterKind, sha256_hex};
use crate::domain::text::{self, Lines};
use crate::error::{FieldErrors, ServiceError};
use crate::letters::{DecisionLetter, Letters, SignatureBlock};
use crate::notify::MailEvent;
use crate::services::grant_view::{GrantView, IssuedLetter, party, reachable, view_of};
use crate::services::mail_events::{application_and_call, summary};
use crate::services::runner::{Audit, Move, change_state};
use crate::state::AppState;

/// The longest name or quality a signatory types.
pub const SIGNATORY_MAX: usize = 200;
/// The longest motivation of a lapse.
pub const MOTIVATION_MAX: usize = 5000;

/// Body of `POST /grants/{id}/sign`: the beneficiary's legal representative signs.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInput {
    /// The legal representative's name, as it will be printed on the signature page.
    #[schema(example = "Léa Dupont", max_length = 200)]
    pub signatory_name: String,
    /// Their quality (« Présidente », « Gérant », « Trésorière par délégation »…).
    #[schema(example = "Présidente", max_length = 200)]
    pub signatory_quality: String,
    /// The explicit acceptance of the convention's terms: must be `true`.
    pub accept: bool,
}

impl SignInput {
    /// The body's own checks, before the database (pages call it to show every error at once).
    pub fn check(&self) -> Result<(), ServiceError> {
        let mut errors = FieldErrors::new();
        for (field, value) in [
            ("signatory_name", &self.signatory_name),
            ("signatory_quality", &self.signatory_quality),
        ] {
            if let Err(e) = text::required(value, Lines::Single, SIGNATORY_MAX) {
                errors.entry(field.into()).or_default().push(e);
            }
        }
        if !self.accept {
            errors
                .entry("accept".into())
                .or_default()
                .push("cochez la case pour accepter les termes de la convention".into());
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::invalid(errors))
        }
    }
}

/// Body of `POST /grants/{id}/lapse`: staff declare the grant lapsed.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LapseInput {
    #[schema(
        example = "La convention n'a pas été signée dans le délai de trois mois.",
        max_length = 5000
    )]
    pub motivation: String,
}

impl LapseInput {
    pub fn check(&self) -> Result<(), ServiceError> {
        text::required(&self.motivation, Lines::Multi, MOTIVATION_MAX)
            .map_err(|m| ServiceError::invalid_field("motivation", m))
    }
}

/// A move refused by the grant's table, said in French: 409 with the state and what is
/// possible, or 403 when the move is someone else's.
pub(crate) fn refused(e: GrantTransitionError) -> ServiceError {
    match e {
        GrantTransitionError::NotAllowedInState {
            state,
            action,
            ref allowed,
        } => {
            let mut extra = serde_json::Map::new();
            extra.insert("current_state".into(), json!(state));
            extra.insert("allowed_actions".into(), json!(allowed));
            let why = match (state, action) {
                (GrantState::Signed | GrantState::Running, GrantAction::Sign) => {
                    " : la convention est déjà signée".to_owned()
                }
                (GrantState::AwaitingSignature, GrantAction::Countersign) => {
                    " : la convention n'est pas encore signée par le bénéficiaire".to_owned()
                }
                (GrantState::Running, GrantAction::Countersign) => {
                    " : la convention est déjà contresignée".to_owned()
                }
                _ => String::new(),
            };
            ServiceError::Conflict {
                message: format!("{e}{why}."),
                extra,
            }
        }
        GrantTransitionError::Forbidden { .. } => ServiceError::Forbidden(format!("{e}.")),
    }
}

pub(crate) fn render_error(e: crate::letters::LetterError) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("{e}"))
}

/// In the award's transaction, when the call requires a convention: writes it (the award
/// letter's data, titled as a convention), keeping its inputs so that the signed convention
/// is the same text with a signature page. Returns the letter for the move's audit and mail.
pub fn issue_convention(
    conn: &mut DbConnection,
    writer: &Letters,
    grant_id: &GrantId,
    application_id: &ApplicationId,
    data: &DecisionLetter,
    now: DateTime<Utc>,
) -> Result<IssuedLetter, ServiceError> {
    let pdf = writer
        .render(LetterKind::Convention, data, now)
        .map_err(render_error)?;
    let inputs = serde_json::to_string(data).map_err(|e| ServiceError::Internal(e.into()))?;
    insert_letter(
        conn,
        grant_id,
        application_id,
        LetterKind::Convention,
        Some(&inputs),
        &pdf,
        now,
    )
}

pub(crate) fn insert_letter(
    conn: &mut DbConnection,
    grant_id: &GrantId,
    application_id: &ApplicationId,
    kind: LetterKind,
    inputs: Option<&str>,
    pdf: &[u8],
    now: DateTime<Utc>,
) -> Result<IssuedLetter, ServiceError> {
    let sha256 = sha256_hex(pdf);
    let id = LetterId::new();
    letters::insert(
        conn,
        &NewLetter {
            id: &id,
            application_id,
            grant_id: Some(grant_id),
            kind,
            sha256: &sha256,
            inputs,
            content: pdf,
            issued_at: now.naive_utc(),
        },
    )?;
    Ok(IssuedLetter { id, kind, sha256 })
}

/// `POST /grants/{id}/sign`: the application's owner signs the convention issued to them.
/// Issues the signed convention (the same text and a signature page naming who, in which
/// quality, when, and the SHA-256 of the unsigned convention) and mails it to them, and
/// staff that it waits for their countersignature.
pub async fn sign(
    state: &AppState,
    user: &Actor,
    id: &GrantId,
    input: SignInput,
) -> Result<GrantView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let notifier = state.notifier.clone();
    let writer = state.letters.clone();
    let now = state.clock.now_utc();
    state
        .db
        .transaction(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            let to = next_state(grant.state, GrantAction::Sign, party(&user, &grant))
                .map_err(refused)?;
            input.check()?;
            let (row, call) = application_and_call(conn, &grant)?;
            let organisation = row.parsed_body()?.organisation;
            if let Some(why) = crate::domain::grant::identifier_missing(&organisation) {
                return Err(ServiceError::conflict(why));
            }
            let (unsigned, inputs) = letters::latest_of_grant(conn, &id, LetterKind::Convention)?
                .ok_or_else(|| {
                    ServiceError::Internal(anyhow::anyhow!("grant {id} has no convention"))
                })?;
            let mut data: DecisionLetter = inputs
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .map_err(|e| ServiceError::Internal(e.into()))?
                .ok_or_else(|| {
                    ServiceError::Internal(anyhow::anyhow!("convention {} without inputs", unsigned.id))
                })?;
            let local = now.with_timezone(&chrono_tz::Europe::Paris).naive_local();
            let name = input.signatory_name.trim().to_owned();
            let quality = input.signatory_quality.trim().to_owned();
            data.signature = Some(SignatureBlock {
                name: name.clone(),
                quality: quality.clone(),
                signed_on: french_date(local.date()),
                signed_at: french_datetime(local),
                unsigned_sha256: unsigned.sha256.clone(),
            });
            let pdf = writer
                .render(LetterKind::SignedConvention, &data, now)
                .map_err(render_error)?;
            let app = summary(conn, &row, &call)?;
            // The move first: a second signature at the same moment fails on the state before
            // anything else is written.
            let signed_inputs =
                serde_json::to_string(&data).map_err(|e| ServiceError::Internal(e.into()))?;
            let letter_id = LetterId::new();
            let sha256 = sha256_hex(&pdf);
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
                    action: HistoryAction::Grant(GrantAction::Sign).into(),
                    payload: json!({
                        "grant_id": id,
                        "signatory_name": name,
                        "signatory_quality": quality,
                        "unsigned_sha256": unsigned.sha256,
                        "letter": {"id": letter_id, "kind": LetterKind::SignedConvention, "sha256": sha256},
                        "to_state": to,
                    }),
                },
                &[MailEvent::ConventionSigned {
                    app,
                    signatory_name: name.clone(),
                    signatory_quality: quality.clone(),
                    signed_at: now,
                    letter_id: Some(letter_id.to_string()),
                }],
            )?;
            letters::insert(
                conn,
                &NewLetter {
                    id: &letter_id,
                    application_id: &grant.application_id,
                    grant_id: Some(&id),
                    kind: LetterKind::SignedConvention,
                    sha256: &sha256,
                    inputs: Some(&signed_inputs),
                    content: &pdf,
                    issued_at: now.naive_utc(),
                },
            )?;
            grants::record_signature(
                conn,
                &id,
                &Signature {
                    name,
                    quality,
                    at: now.naive_utc(),
                },
            )?;
            // The signature fires the advance, if the bank details are there already.
            crate::services::instalments::request_due(conn, &notifier, &user.id, &id)?;
            view_of(conn, &user, &id)
        })
        .await
}

/// What `file` of a countersignature must be: a PDF, read on its bytes.
pub fn check_scan(bytes: &[u8]) -> Result<(), ServiceError> {
    if bytes.is_empty() {
        return Err(ServiceError::invalid_field("file", "le fichier est vide"));
    }
    match infer::get(bytes).map(|t| t.mime_type()) {
        Some("application/pdf") => Ok(()),
        other => Err(ServiceError::UnsupportedContent(format!(
            "La copie numérisée de la convention doit être un PDF{} (le type est lu dans le \
             contenu du fichier, pas dans son nom).",
            other.map(|m| format!(", pas {m}")).unwrap_or_default()
        ))),
    }
}

/// `POST /grants/{id}/countersign`: staff countersign a signed convention, optionally with a
/// scanned copy of the paper they signed (a PDF); the grant runs from then on, and the date
/// is the SCDL's `dateConvention`.
pub async fn countersign(
    state: &AppState,
    user: &Actor,
    id: &GrantId,
    scan: Option<Vec<u8>>,
) -> Result<GrantView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let notifier = state.notifier.clone();
    let now = state.clock.now_utc();
    state
        .db
        .transaction(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            let to = next_state(grant.state, GrantAction::Countersign, party(&user, &grant))
                .map_err(refused)?;
            if let Some(bytes) = &scan {
                check_scan(bytes)?;
            }
            let (row, call) = application_and_call(conn, &grant)?;
            let app = summary(conn, &row, &call)?;
            let scan_digest = scan.as_deref().map(sha256_hex);
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
                    action: HistoryAction::Grant(GrantAction::Countersign).into(),
                    payload: json!({
                        "grant_id": id,
                        "countersigned_at": now,
                        "scan_sha256": scan_digest,
                        "to_state": to,
                    }),
                },
                &[MailEvent::ConventionCountersigned {
                    app,
                    countersigned_at: now,
                }],
            )?;
            if let Some(bytes) = &scan {
                insert_letter(
                    conn,
                    &id,
                    &grant.application_id,
                    LetterKind::CountersignedConvention,
                    None,
                    bytes,
                    now,
                )?;
            }
            grants::record_countersignature(conn, &id, user.id.as_str(), now.naive_utc())?;
            view_of(conn, &user, &id)
        })
        .await
}

/// `POST /grants/{id}/lapse`: staff declare the grant lapsed (convention never signed,
/// project never started), with a motivation the beneficiary reads in their mail.
pub async fn lapse(
    state: &AppState,
    user: &Actor,
    id: &GrantId,
    input: LapseInput,
) -> Result<GrantView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let notifier = state.notifier.clone();
    state
        .db
        .transaction(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            let to = next_state(grant.state, GrantAction::Lapse, party(&user, &grant))
                .map_err(refused)?;
            input.check()?;
            let (row, call) = application_and_call(conn, &grant)?;
            let app = summary(conn, &row, &call)?;
            let motivation = input.motivation.trim().to_owned();
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
                    action: HistoryAction::Grant(GrantAction::Lapse).into(),
                    payload: json!({
                        "grant_id": id,
                        "motivation": motivation,
                        "from_state": grant.state,
                        "to_state": to,
                    }),
                },
                &[MailEvent::GrantLapsed { app, motivation }],
            )?;
            // Nothing more is paid on a lapsed grant: what was not ordered is cancelled.
            crate::services::instalments::cancel_unpaid(conn, &notifier, &user.id, &grant)?;
            view_of(conn, &user, &id)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_needs_a_name_a_quality_and_the_acceptance() {
        let ok = SignInput {
            signatory_name: "Léa Dupont".into(),
            signatory_quality: "Présidente".into(),
            accept: true,
        };
        assert!(ok.check().is_ok());
        let cases: [(SignInput, &[&str]); 4] = [
            (
                SignInput::default(),
                &["signatory_name", "signatory_quality", "accept"],
            ),
            (
                SignInput {
                    accept: false,
                    ..ok.clone()
                },
                &["accept"],
            ),
            (
                SignInput {
                    signatory_name: "Léa\u{202e}Dupont".into(),
                    ..ok.clone()
                },
                &["signatory_name"],
            ),
            (
                SignInput {
                    signatory_quality: "x".repeat(SIGNATORY_MAX + 1),
                    ..ok.clone()
                },
                &["signatory_quality"],
            ),
        ];
        for (input, fields) in cases {
            let Err(ServiceError::Invalid { fields: got, .. }) = input.check() else {
                panic!("{input:?} should be refused");
            };
            let mut got: Vec<&str> = got.keys().map(String::as_str).collect();
            got.sort_unstable();
            let mut want = fields.to_vec();
            want.sort_unstable();
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn a_lapse_needs_a_motivation() {
        assert!(
            LapseInput {
                motivation: "Projet abandonné.".into()
            }
            .check()
            .is_ok()
        );
        for bad in ["", "   ", "a\u{0007}b"] {
            assert!(
                LapseInput {
                    motivation: bad.into()
                }
                .check()
                .is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_scan_is_a_pdf_read_on_its_bytes() {
        assert!(check_scan(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj").is_ok());
        assert!(matches!(
            check_scan(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Err(ServiceError::UnsupportedContent(_))
        ));
        assert!(matches!(
            check_scan(b"GIF89a c'est un pdf, promis"),
            Err(ServiceError::UnsupportedContent(_))
        ));
        assert!(matches!(check_scan(b""), Err(ServiceError::Invalid { .. })));
    }
}
