//! The words the pages put on an application's coded answers: each from its domain enum's
//! `label_fr` (one place), keyed by the code the JSON carries (`association`, `none`…).

use std::collections::BTreeMap;

use minijinja::Value;
use serde::Serialize;

use crate::domain::application::{Esus, LegalForm, SocialUtility, Stage};
use crate::web::ser;

fn table<T: Serialize + Copy>(all: &[T], label: fn(T) -> &'static str) -> Value {
    let map: BTreeMap<String, String> = all
        .iter()
        .filter_map(|&x| {
            let code = serde_json::to_value(x).ok()?.as_str()?.to_owned();
            // Labels are written to sit in a sentence; alone on a line they take a capital.
            let mut chars = label(x).chars();
            let words: String = chars
                .next()
                .map(|f| f.to_uppercase().chain(chars).collect())
                .unwrap_or_default();
            Some((code, words))
        })
        .collect();
    ser(&map)
}

/// `legal_forms`, `esus`, `stages` and `utilities`: code → label, for the templates.
pub fn answer_labels() -> Value {
    minijinja::context! {
        legal_forms => table(&LegalForm::ALL, LegalForm::label_fr),
        esus => table(&Esus::ALL, Esus::label_fr),
        stages => table(&Stage::ALL, Stage::label_fr),
        utilities => table(&SocialUtility::ALL, SocialUtility::label_fr),
    }
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
    }
}
