//! The words the pages put on an application's coded answers: each from its domain enum's
//! `label_fr` (one place), keyed by the code the JSON carries (`association`, `none`…).

use std::collections::BTreeMap;

use minijinja::Value;
use serde::Serialize;

use crate::domain::application::{
    Esus, InsertionStructure, LegalForm, OrganisationStatus, SocialUtility, Stage,
};
use crate::web::ser;

/// The code an answer is sent and stored as (`association`, `none`…): its serde name.
fn code<T: Serialize>(x: T) -> Option<String> {
    Some(serde_json::to_value(x).ok()?.as_str()?.to_owned())
}

/// Labels are written to sit in a sentence; alone on a line they take a capital.
fn capitalised(label: &str) -> String {
    let mut chars = label.chars();
    chars
        .next()
        .map(|f| f.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn table<T: Serialize + Copy>(all: &[T], label: fn(T) -> &'static str) -> Value {
    let map: BTreeMap<String, String> = all
        .iter()
        .filter_map(|&x| Some((code(x)?, capitalised(label(x)))))
        .collect();
    ser(&map)
}

/// `[code, words]` pairs in the enum's order, for a select, radios or checkboxes.
fn options<T: Serialize + Copy>(all: &[T], words: fn(T) -> String) -> Value {
    let pairs: Vec<[String; 2]> = all
        .iter()
        .filter_map(|&x| Some([code(x)?, words(x)]))
        .collect();
    ser(&pairs)
}

/// `legal_forms`, `esus`, `insertion_structures`, `stages` and `utilities`: code → label, to
/// show an answer; and the same names with `_options`: the `[code, words]` the forms offer.
pub fn answer_labels() -> Value {
    minijinja::context! {
        legal_forms => table(&LegalForm::ALL, LegalForm::label_fr),
        statuses => table(&OrganisationStatus::ALL, OrganisationStatus::label_fr),
        statuses_options => options(&OrganisationStatus::ALL, |x| x.option_fr().to_owned()),
        esus => table(&Esus::ALL, Esus::label_fr),
        insertion_structures => table(&InsertionStructure::ALL, InsertionStructure::label_fr),
        stages => table(&Stage::ALL, Stage::label_fr),
        utilities => table(&SocialUtility::ALL, SocialUtility::label_fr),
        legal_forms_options => options(&LegalForm::ALL, |x| x.option_fr().to_owned()),
        esus_options => options(&Esus::ALL, |x| x.option_fr().to_owned()),
        insertion_structures_options =>
            options(&InsertionStructure::ALL, |x| capitalised(x.label_fr())),
        stages_options => options(&Stage::ALL, |x| capitalised(x.label_fr())),
        utilities_options => options(&SocialUtility::ALL, |x| x.option_fr().to_owned()),
    }
}

/// What both application pages (the applicant's and the staff's) show after the decision:
/// the letters, and the grant's state, report date and amount.
pub fn after_decision(
    after: crate::services::grants::AfterDecision,
) -> (Vec<Value>, Option<Value>) {
    use crate::domain::grant::GrantAction;
    let grant = after.grant.map(|g| {
        let can = |a: GrantAction| g.allowed_actions.contains(&a);
        let convention = g
            .letters
            .iter()
            .rev()
            .find(|l| l.kind == crate::domain::letter::LetterKind::Convention)
            .map(|l| format!("/api/v1/letters/{}", l.id));
        minijinja::context! {
            id => g.id.to_string(),
            state => g.state.as_str(),
            state_label => g.state.label_fr(),
            report_due_on => g.report_due_on.to_string(),
            convention_required => g.convention_required,
            awarded_cents => g.awarded_cents.value(),
            can_sign => can(GrantAction::Sign),
            can_countersign => can(GrantAction::Countersign),
            can_lapse => can(GrantAction::Lapse),
            can_request_recovery => can(GrantAction::RequestRecovery) && g.paid_cents.value() > 0,
            can_close_recovery => can(GrantAction::CloseRecovery),
            paid_cents => g.paid_cents.value(),
            recovery => g.recovery.as_ref().map(|r| minijinja::context! {
                amount_cents => r.amount_cents.value(),
                motivation => r.motivation.clone(),
                requested_at => r.requested_at.to_rfc3339(),
            }),
            convention_href => convention,
            signature => g.signature.as_ref().map(|s| minijinja::context! {
                name => s.signatory_name.clone(),
                quality => s.signatory_quality.clone(),
                signed_at => s.signed_at.to_rfc3339(),
            }),
            countersigned_at => g.countersigned_at.map(|at| at.to_rfc3339()),
            bank => g.bank_details.as_ref().map(|b| minijinja::context! {
                iban => b.iban.clone(),
                masked => b.masked,
                bic => b.bic.clone(),
                holder => b.holder.clone(),
                updated_at => b.updated_at.to_rfc3339(),
            }),
            instalments => g.instalments.iter().map(|i| minijinja::context! {
                label => i.label.clone(),
                percent => i.percent,
                amount_cents => i.amount_cents.value(),
                when => i.trigger.when_fr(g.convention_required),
                state => i.state.as_str(),
                state_label => i.state.label_fr(),
                paid_on => i.paid_on.map(|d| d.to_string()),
            }).collect::<Vec<_>>(),
            can_give_bank => g.state.takes_bank_details(),
        }
    });
    (letters(&after.letters), grant)
}

/// The letters as the application's pages list them: a link to the PDF (the API route, which
/// reads the session like the documents' links), the title, the date and the digest.
pub fn letters(letters: &[crate::services::grants::LetterView]) -> Vec<Value> {
    letters
        .iter()
        .map(|l| {
            minijinja::context! {
                href => format!("/api/v1/letters/{}", l.id),
                title => l.kind.title_fr(),
                issued_at => l.issued_at.to_rfc3339(),
                sha256 => l.sha256.clone(),
                size_kb => (l.size_bytes + 1023) / 1024,
            }
        })
        .collect()
}

/// The Cerfa's budget categories by their code, for the pages that show a report.
pub fn budget_labels() -> Value {
    let map: std::collections::BTreeMap<&str, &str> = crate::domain::report::BudgetCategory::ALL
        .iter()
        .map(|c| (c.as_str(), c.label_fr()))
        .collect();
    ser(&map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_label() {
        let l = answer_labels();
        let get = |t: &str, k: &str| l.get_attr(t).unwrap().get_attr(k).unwrap().to_string();
        assert_eq!(get("legal_forms", "association"), "Association");
        assert_eq!(get("esus", "none"), "Non");
        assert_eq!(get("stages", "startup"), "Démarrage");
        assert_eq!(
            get("utilities", "fragile_people"),
            "Soutien à des personnes en situation de fragilité"
        );
        assert_eq!(
            get("insertion_structures", "aci"),
            "Atelier et chantier d'insertion (ACI)"
        );
    }

    /// What a form offers is the enum, whole and in its order: an answer added to the domain
    /// appears on the page, and no page keeps a list of its own.
    #[test]
    fn each_form_offers_every_answer_of_its_enum() {
        let l = answer_labels();
        let pairs = |t: &str| -> Vec<(String, String)> {
            let list = l.get_attr(t).unwrap();
            list.try_iter()
                .unwrap()
                .map(|p| {
                    let code = p.get_item(&Value::from(0)).unwrap().to_string();
                    let words = p.get_item(&Value::from(1)).unwrap().to_string();
                    (code, words)
                })
                .collect()
        };
        let codes = |t: &str| pairs(t).into_iter().map(|(c, _)| c).collect::<Vec<_>>();
        assert_eq!(
            codes("legal_forms_options"),
            LegalForm::ALL.map(|x| code(x).unwrap())
        );
        assert_eq!(codes("esus_options"), ["approved", "pending", "none"]);
        assert_eq!(codes("stages_options"), ["startup", "development"]);
        assert_eq!(
            codes("insertion_structures_options"),
            ["ei", "etti", "ai", "aci", "ea"]
        );
        assert_eq!(
            codes("utilities_options"),
            SocialUtility::ALL.map(|x| code(x).unwrap())
        );
        assert_eq!(
            pairs("legal_forms_options")[0],
            (
                "association".to_owned(),
                "Association (loi 1901)".to_owned()
            )
        );
        assert_eq!(pairs("stages_options")[1].1, "Développement");
        for t in [
            "legal_forms_options",
            "esus_options",
            "stages_options",
            "insertion_structures_options",
            "utilities_options",
        ] {
            assert!(pairs(t).iter().all(|(_, w)| !w.is_empty()), "{t}");
        }
    }
}
