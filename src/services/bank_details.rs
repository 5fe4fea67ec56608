//! A grant's bank details (DESIGN.md §15): given by the beneficiary, the IBAN checked before
//! it is written, shown whole to staff (the finance list needs it), masked to the beneficiary
//! (`FR76 •••• •••• 0189`), never to reviewers, and never whole in a log or the audit trail.

use serde::Deserialize;
use serde_json::json;

use crate::db::audit::{self, NewEvent};
use crate::db::grants;
use crate::domain::actor::Actor;
use crate::domain::bank::{Bic, HOLDER_MAX, Iban};
use crate::domain::grant::GrantParty;
use crate::domain::history::HistoryAction;
use crate::domain::ids::GrantId;
use crate::domain::text::{self, Lines};
use crate::error::{FieldErrors, ServiceError};
pub use crate::services::grant_view::{BankDetailsView, shown_to};
use crate::services::grant_view::{GrantView, party, reachable, view_of};
use crate::state::AppState;

/// Body of `PUT /grants/{id}/bank-details`, as typed from a RIB.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BankDetailsInput {
    /// Spaces allowed (`FR76 3000 6000 0112 3456 7890 189`); stored without them.
    #[schema(example = "FR76 3000 6000 0112 3456 7890 189")]
    pub iban: String,
    #[schema(example = "AGRIFRPP867")]
    pub bic: String,
    /// The account holder, as the bank knows them (70 characters at most).
    #[schema(example = "Association Les Ateliers du Sart", max_length = 70)]
    pub holder: String,
}

/// The bank details checked, ready to store.
pub struct CheckedBankDetails {
    pub iban: Iban,
    pub bic: Bic,
    pub holder: String,
}

impl BankDetailsInput {
    /// Every field's problem at once, in French.
    pub fn check(&self) -> Result<CheckedBankDetails, ServiceError> {
        let mut errors = FieldErrors::new();
        let iban = Iban::parse(&self.iban)
            .map_err(|e| errors.insert("iban".into(), vec![e.to_string()]))
            .ok();
        let bic = Bic::parse(&self.bic)
            .map_err(|e| errors.insert("bic".into(), vec![e.to_string()]))
            .ok();
        let holder = self.holder.trim();
        let n = holder.chars().count();
        if let Err(e) = text::check(&self.holder, Lines::Single) {
            errors.insert("holder".into(), vec![e.to_string()]);
        } else if n == 0 {
            errors.insert(
                "holder".into(),
                vec!["indiquez le titulaire du compte, tel qu'il figure sur le RIB".into()],
            );
        } else if n > HOLDER_MAX {
            errors.insert(
                "holder".into(),
                vec![format!("{HOLDER_MAX} caractères au plus")],
            );
        }
        match (iban, bic) {
            (Some(iban), Some(bic)) if errors.is_empty() => Ok(CheckedBankDetails {
                iban,
                bic,
                holder: holder.to_owned(),
            }),
            _ => Err(ServiceError::invalid(errors)),
        }
    }
}

/// `PUT /grants/{id}/bank-details`: the beneficiary gives or changes them while the grant
/// lives; the trail records the change with the IBAN masked.
pub async fn put(
    state: &AppState,
    user: &Actor,
    id: &GrantId,
    input: BankDetailsInput,
) -> Result<GrantView, ServiceError> {
    let id = id.clone();
    let user = user.clone();
    let now = state.clock.now();
    let notifier = state.notifier.clone();
    state
        .db
        .transaction(move |conn| {
            let grant = reachable(conn, &user, &id)?;
            if party(&user, &grant) != GrantParty::Beneficiary {
                return Err(ServiceError::Forbidden(
                    "Seul le bénéficiaire indique les coordonnées bancaires de sa structure."
                        .into(),
                ));
            }
            if !grant.state.takes_bank_details() {
                let mut extra = serde_json::Map::new();
                extra.insert("current_state".into(), json!(grant.state));
                return Err(ServiceError::Conflict {
                    message: format!(
                        "Le financement est {} : ses coordonnées bancaires ne changent plus.",
                        grant.state.label_fr()
                    ),
                    extra,
                });
            }
            let checked = input.check()?;
            grants::record_bank_details(
                conn,
                &id,
                &checked.iban,
                checked.bic.as_str(),
                &checked.holder,
                now,
            )?;
            audit::record(
                conn,
                NewEvent {
                    application_id: Some(&grant.application_id),
                    call_id: Some(&grant.call_id),
                    actor_id: Some(&user.id),
                    action: HistoryAction::BankDetails.into(),
                    from_state: None,
                    to_state: None,
                    payload: json!({
                        "grant_id": id,
                        "iban": checked.iban.masked(),
                        "bic": checked.bic.as_str(),
                        "replaced": grant.bank.is_some(),
                    }),
                    at: now,
                },
            )?;
            // The instalments whose trigger fired waited for these.
            crate::services::instalments::request_due(conn, &notifier, &user.id, &id)?;
            view_of(conn, &user, &id)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(iban: &str, bic: &str, holder: &str) -> BankDetailsInput {
        BankDetailsInput {
            iban: iban.into(),
            bic: bic.into(),
            holder: holder.into(),
        }
    }

    #[test]
    fn every_field_is_checked_at_once() {
        let ok = input(
            "fr76 3000 6000 0112 3456 7890 189",
            "agrifrpp867",
            " Les Ateliers du Sart ",
        )
        .check()
        .unwrap();
        assert_eq!(ok.iban.electronic(), "FR7630006000011234567890189");
        assert_eq!(ok.bic.as_str(), "AGRIFRPP867");
        assert_eq!(ok.holder, "Les Ateliers du Sart");
        let Err(ServiceError::Invalid { fields, .. }) =
            input("FR76 3000 6000 0112 3456 7890 188", "BNP", "").check()
        else {
            panic!("refused");
        };
        let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["bic", "holder", "iban"]);
        assert!(fields["iban"][0].contains("clé"), "{fields:?}");
    }

    #[test]
    fn staff_read_the_whole_iban_the_beneficiary_its_mask_nobody_else_anything() {
        let bank = grants::BankDetails {
            iban: Iban::parse("FR7630006000011234567890189").unwrap(),
            bic: "AGRIFRPP867".into(),
            holder: "Les Ateliers du Sart".into(),
            at: chrono::NaiveDate::from_ymd_opt(2027, 3, 1)
                .unwrap()
                .and_hms_opt(9, 0, 0)
                .unwrap(),
        };
        let staff = shown_to(GrantParty::Staff, &bank).unwrap();
        assert_eq!(staff.iban, "FR76 3000 6000 0112 3456 7890 189");
        assert!(!staff.masked);
        let mine = shown_to(GrantParty::Beneficiary, &bank).unwrap();
        assert_eq!(mine.iban, "FR76 •••• •••• 0189");
        assert!(mine.masked);
        assert!(shown_to(GrantParty::Other, &bank).is_none());
        assert!(shown_to(GrantParty::System, &bank).is_none());
    }
}
