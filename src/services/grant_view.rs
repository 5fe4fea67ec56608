//! What the API and the pages show of a grant (DESIGN.md §15), and who reaches one: the
//! views the grant's use cases (`grants`, `conventions`, `bank_details`) all answer with,
//! kept apart from them so that none of them depends on another to say what a grant looks
//! like.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::grants::{self, Grant, GrantVisibility};
use crate::db::letters::{self, Letter};
use crate::domain::account::Role;
use crate::domain::actor::Actor;
use crate::domain::grant::{GrantAction, GrantParty, GrantState, allowed_actions};
use crate::domain::ids::{ApplicationId, CallId};
use crate::domain::ids::{GrantId, LetterId};
use crate::domain::letter::LetterKind;
use crate::domain::money::Cents;
use crate::error::ServiceError;

/// A letter as the API lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LetterView {
    pub id: LetterId,
    pub kind: LetterKind,
    pub issued_at: DateTime<Utc>,
    /// The SHA-256 of the PDF (lowercase hex), as the audit event recorded it.
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub sha256: String,
    pub size_bytes: i64,
}

impl From<Letter> for LetterView {
    fn from(l: Letter) -> Self {
        Self {
            id: l.id,
            kind: l.kind,
            issued_at: l.issued_at.and_utc(),
            sha256: l.sha256,
            size_bytes: l.size_bytes,
        }
    }
}

/// A grant (DESIGN.md §15).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GrantView {
    pub id: GrantId,
    #[schema(value_type = String)]
    pub application_id: ApplicationId,
    #[schema(example = "EA-2027-00042")]
    pub reference: String,
    #[schema(value_type = String)]
    pub call_id: CallId,
    pub organisation_name: String,
    #[schema(value_type = i64, example = 1850000)]
    pub awarded_cents: Cents,
    pub state: GrantState,
    /// Whether the grant needs a convention signed (the call's rule, §15).
    pub convention_required: bool,
    /// When the final report is due (Europe/Paris date).
    pub report_due_on: chrono::NaiveDate,
    pub letters: Vec<LetterView>,
    /// The schedule's instalments, in order; their amounts sum to `awarded_cents`.
    pub instalments: Vec<crate::services::instalments::InstalmentView>,
    /// Who signed the convention for the beneficiary, once they have.
    pub signature: Option<SignatureView>,
    /// When staff countersigned the convention (the SCDL's `dateConvention`).
    pub countersigned_at: Option<DateTime<Utc>>,
    /// The bank details the beneficiary gave: the IBAN whole for staff, masked for the
    /// beneficiary.
    pub bank_details: Option<BankDetailsView>,
    /// What staff asked back (reversement), once they have.
    pub recovery: Option<RecoveryView>,
    /// What the grant's instalments have paid so far.
    #[schema(value_type = i64, example = 1480000)]
    pub paid_cents: Cents,
    /// What the caller may do now, by the action's name (`sign`, `countersign`, `lapse`…: the
    /// grant's transition table; the endpoints that take them come with the convention and the report).
    pub allowed_actions: Vec<GrantAction>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A recovery staff asked for.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecoveryView {
    #[schema(value_type = i64, example = 450000)]
    pub amount_cents: Cents,
    pub motivation: String,
    pub requested_at: DateTime<Utc>,
}

/// The beneficiary's signature of the convention.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SignatureView {
    #[schema(example = "Léa Dupont")]
    pub signatory_name: String,
    #[schema(example = "Présidente")]
    pub signatory_quality: String,
    pub signed_at: DateTime<Utc>,
}

pub(crate) fn visibility(user: &Actor) -> Result<GrantVisibility, ServiceError> {
    match user.role {
        Role::Staff | Role::Admin => Ok(GrantVisibility::All),
        Role::Applicant => Ok(GrantVisibility::BeneficiaryIs(user.id.clone())),
        Role::Reviewer | Role::Commune => Err(ServiceError::Forbidden(
            "Les financements ne sont accessibles qu'aux agents et aux bénéficiaires.".into(),
        )),
    }
}

pub fn party(user: &Actor, grant: &Grant) -> GrantParty {
    if user.role.is_staff() {
        GrantParty::Staff
    } else if user.id == grant.beneficiary_id {
        GrantParty::Beneficiary
    } else {
        GrantParty::Other
    }
}

pub fn not_found() -> ServiceError {
    ServiceError::not_found("Ce financement n'existe pas ou ne vous est pas accessible.")
}

/// A grant's id as a face received it: a malformed one is « not found », like an unknown one.
pub fn id(text: &str) -> Result<GrantId, ServiceError> {
    GrantId::parse(text).ok_or_else(not_found)
}

/// A letter's id as a face received it: a malformed one is « not found », like someone else's.
pub fn letter_id(text: &str) -> Result<LetterId, ServiceError> {
    LetterId::parse(text).ok_or_else(letter_not_found)
}

pub(crate) fn letter_not_found() -> ServiceError {
    ServiceError::not_found("Ce courrier n'existe pas ou ne vous est pas accessible.")
}

pub(crate) fn view(
    conn: &mut DbConnection,
    user: &Actor,
    grant: Grant,
) -> Result<GrantView, ServiceError> {
    let letters = letters::of_application(conn, grant.application_id.as_str())?;
    let instalments = crate::db::instalments::of_grant(conn, &grant.id)?;
    Ok(view_with(user, grant, letters, instalments))
}

/// The view of a grant whose letters and instalments are loaded (a list loads them all in
/// one query each).
pub(crate) fn view_with(
    user: &Actor,
    grant: Grant,
    letters: Vec<Letter>,
    instalments: Vec<crate::db::instalments::Instalment>,
) -> GrantView {
    let letters = letters.into_iter().map(LetterView::from).collect();
    let paid =
        crate::domain::instalment::paid_total(instalments.iter().map(|i| (i.state, i.amount)));
    let instalments = instalments.into_iter().map(Into::into).collect();
    let by = party(user, &grant);
    GrantView {
        allowed_actions: allowed_actions(grant.state, by),
        id: grant.id,
        application_id: grant.application_id,
        reference: grant.reference,
        call_id: grant.call_id,
        organisation_name: grant.organisation_name,
        awarded_cents: grant.awarded,
        state: grant.state,
        convention_required: grant.convention_required,
        report_due_on: grant.report_due_on,
        letters,
        instalments,
        signature: grant.signature.map(|s| SignatureView {
            signatory_name: s.name,
            signatory_quality: s.quality,
            signed_at: s.at.and_utc(),
        }),
        countersigned_at: grant.countersigned_at.map(|at| at.and_utc()),
        bank_details: grant.bank.as_ref().and_then(|b| shown_to(by, b)),
        recovery: grant.recovery.map(|r| RecoveryView {
            amount_cents: r.amount,
            motivation: r.motivation,
            requested_at: r.at.and_utc(),
        }),
        paid_cents: paid,
        created_at: grant.created_at.and_utc(),
        updated_at: grant.updated_at.and_utc(),
    }
}

/// The grant `id` as `user` sees it, after a move they were allowed to make.
pub fn view_of(
    conn: &mut DbConnection,
    user: &Actor,
    id: &GrantId,
) -> Result<GrantView, ServiceError> {
    let grant = grants::find_visible(conn, id, &GrantVisibility::All)?.ok_or_else(not_found)?;
    view(conn, user, grant)
}

/// A letter just issued: what the decision's audit event and mail refer to.
#[derive(Debug, Clone)]
pub struct IssuedLetter {
    pub id: LetterId,
    pub kind: LetterKind,
    pub sha256: String,
}

impl IssuedLetter {
    pub fn audit_json(&self) -> serde_json::Value {
        json!({"id": self.id, "kind": self.kind, "sha256": self.sha256})
    }
}

/// The grant `id` as `user` may reach it, locked for the move: anyone who may not see it is
/// told it does not exist.
pub fn reachable(
    conn: &mut DbConnection,
    user: &Actor,
    id: &GrantId,
) -> Result<Grant, ServiceError> {
    // A reviewer reaches no grant: told it does not exist, as anyone who may not see it.
    let v = visibility(user).map_err(|_| not_found())?;
    grants::find_visible(conn, id, &v)?.ok_or_else(not_found)
}

/// The bank details as the API shows them to their reader.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BankDetailsView {
    /// Whole (grouped by four) for staff; masked for the beneficiary (`FR76 •••• •••• 0189`).
    #[schema(example = "FR76 •••• •••• 0189")]
    pub iban: String,
    /// Whether `iban` is masked.
    pub masked: bool,
    #[schema(example = "AGRIFRPP867")]
    pub bic: String,
    pub holder: String,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// What `by` reads of the bank details: staff the whole IBAN, the beneficiary its mask,
/// anyone else nothing.
pub fn shown_to(by: GrantParty, bank: &grants::BankDetails) -> Option<BankDetailsView> {
    let masked = match by {
        GrantParty::Staff => false,
        GrantParty::Beneficiary => true,
        GrantParty::System | GrantParty::Other => return None,
    };
    Some(BankDetailsView {
        iban: if masked {
            bank.iban.masked()
        } else {
            bank.iban.grouped()
        },
        masked,
        bic: bank.bic.clone(),
        holder: bank.holder.clone(),
        updated_at: bank.at.and_utc(),
    })
}
