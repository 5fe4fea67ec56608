//! What the companies' register (API Recherche d'entreprises, DESIGN.md §17) says of a SIRET,
//! read from its answer, and how that compares with what an applicant declared. Pure: the
//! answer comes in as the register's JSON text, the flags go out as French sentences; the
//! flags inform the agents and never refuse anything by themselves.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::domain::application::LegalForm;
use crate::domain::identifiers::Siret;

/// What the evidence kept at submission holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceStatus {
    /// The register knows the SIRET: its answer is kept.
    Found,
    /// The register answered that no establishment carries it.
    NotFound,
    /// The register could not be read (down, slow, refusing, garbage): retried daily.
    Unavailable,
}

impl EvidenceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Found => "found",
            Self::NotFound => "not_found",
            Self::Unavailable => "unavailable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Found, Self::NotFound, Self::Unavailable]
            .into_iter()
            .find(|v| v.as_str() == s)
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Found => "relevé au registre",
            Self::NotFound => "inconnu du registre",
            Self::Unavailable => "registre indisponible au dépôt (nouvel essai chaque jour)",
        }
    }
}

/// What the register says of one establishment and its legal unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegistryRecord {
    #[schema(example = "73282932000074")]
    pub siret: String,
    /// The legal unit's name; `None` when the unit is not diffusible (the register hides it).
    #[schema(example = "LES ATELIERS DU SART")]
    pub name: Option<String>,
    /// The INSEE « catégorie juridique » (4 digits): 9220 is a declared association.
    #[schema(example = "9220")]
    pub legal_form_code: Option<String>,
    /// The register's ESS flag (`complements.est_ess`); `None` when it does not say.
    pub is_ess: Option<bool>,
    pub is_association: bool,
    #[schema(example = "W595012345")]
    pub rna: Option<String>,
    /// Both the establishment and its legal unit are active (`etat_administratif` « A »).
    pub active: bool,
    /// `false` when the unit asked the INSEE not to publish it (« non diffusible »).
    pub diffusible: bool,
    pub head_office: HeadOffice,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HeadOffice {
    #[schema(example = "59512")]
    pub commune_insee: Option<String>,
    #[schema(example = "ROUBAIX")]
    pub commune: Option<String>,
    #[schema(example = "59100")]
    pub postal_code: Option<String>,
    /// The street address as the register writes it (number and street).
    #[schema(example = "12 RUE DE LANNOY")]
    pub address: Option<String>,
}

/// What the register answered for one SIRET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(RegistryRecord),
    /// No establishment carries this SIRET.
    NotFound,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("la réponse du registre n'est pas du JSON lisible")]
    NotJson,
    #[error("la réponse du registre n'a pas la forme attendue ({0})")]
    Shape(&'static str),
}

/// Reads the register's answer to `GET /search?q=<siret>` (its documented shape: `results[]`,
/// each a legal unit with its `siege` and the `matching_etablissements` the query matched).
pub fn read_search_answer(siret: &Siret, text: &str) -> Result<Lookup, AnswerError> {
    let answer: Value = serde_json::from_str(text).map_err(|_| AnswerError::NotJson)?;
    let results = answer
        .get("results")
        .and_then(Value::as_array)
        .ok_or(AnswerError::Shape("pas de liste « results »"))?;
    let wanted = siret.as_str();
    for unit in results {
        let siege = unit.get("siege").filter(|s| s.is_object());
        let matching = unit
            .get("matching_etablissements")
            .and_then(Value::as_array)
            .into_iter()
            .flatten();
        let establishment = siege
            .into_iter()
            .chain(matching)
            .find(|e| text_of(e, "siret").as_deref() == Some(wanted));
        let Some(establishment) = establishment else {
            continue;
        };
        let complements = unit.get("complements");
        let flag = |key: &str| {
            complements
                .and_then(|c| c.get(key))
                .and_then(Value::as_bool)
        };
        let diffusible = !matches!(
            text_of(unit, "statut_diffusion").as_deref(),
            Some("P" | "N")
        );
        let name = text_of(unit, "nom_complet")
            .or_else(|| text_of(unit, "nom_raison_sociale"))
            .filter(|n| !n.contains("NON-DIFFUSIBLE"));
        let active = |v: &Value| text_of(v, "etat_administratif").as_deref() == Some("A");
        let head = siege.cloned().unwrap_or(Value::Null);
        return Ok(Lookup::Found(RegistryRecord {
            siret: wanted.to_owned(),
            name: if diffusible { name } else { None },
            legal_form_code: text_of(unit, "nature_juridique"),
            is_ess: flag("est_ess"),
            is_association: flag("est_association").unwrap_or(false),
            rna: complements.and_then(|c| text_of(c, "identifiant_association")),
            active: active(unit) && active(establishment),
            diffusible,
            head_office: HeadOffice {
                commune_insee: text_of(&head, "commune"),
                commune: text_of(&head, "libelle_commune"),
                postal_code: text_of(&head, "code_postal"),
                address: street_of(&head),
            },
        }));
    }
    Ok(Lookup::NotFound)
}

fn text_of(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.contains("[ND]"))
        .map(str::to_owned)
}

/// Number, repetition index, type and name of the street, as the register splits them.
fn street_of(head: &Value) -> Option<String> {
    let parts: Vec<String> = [
        "numero_voie",
        "indice_repetition",
        "type_voie",
        "libelle_voie",
    ]
    .iter()
    .filter_map(|k| text_of(head, k))
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The essor forms an INSEE « catégorie juridique » may stand for. Several when the code does
/// not tell (a SCIC or a SCOP may be registered as an ordinary SAS or SARL); all of them for a
/// code essor does not know, so that no flag is raised on a guess.
pub fn plausible_forms(code: &str) -> &'static [LegalForm] {
    use LegalForm as F;
    const COOPERATIVE_CODES: [&str; 20] = [
        "5443", "5451", "5453", "5454", "5455", "5458", "5459", "5460", "5551", "5552", "5553",
        "5554", "5555", "5558", "5559", "5560", "6316", "6317", "6318", "5385",
    ];
    if code == "9260" {
        return &[F::LocalLawAssociation, F::Association];
    }
    if code.starts_with("92") {
        return &[F::Association, F::LocalLawAssociation];
    }
    if code == "9300" {
        return &[F::Foundation];
    }
    if code.starts_with("82") || code == "6411" {
        return &[F::Mutual];
    }
    if code == "1000" {
        return &[F::SoleProprietorship];
    }
    if COOPERATIVE_CODES.contains(&code) || code.starts_with("565") || code.starts_with("566") {
        return &[F::Cooperative];
    }
    if code.starts_with('5') {
        return &[F::CommercialCompany, F::Cooperative];
    }
    &LegalForm::ALL
}

/// What an agent should look at when the register and the application disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    /// The establishment or its legal unit is closed.
    Closed,
    /// The declared legal form is not one the register's code stands for.
    LegalFormDiffers,
    /// The register does not count it in the ESS although its form is not ESS by right.
    NotEss,
    /// The head office is outside the MEL's communes.
    HeadOfficeOutside,
    /// No establishment has this SIRET.
    UnknownSiret,
}

impl Flag {
    /// Its code, as the API and the exports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::LegalFormDiffers => "legal_form_differs",
            Self::NotEss => "not_ess",
            Self::HeadOfficeOutside => "head_office_outside",
            Self::UnknownSiret => "unknown_siret",
        }
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Closed => "établissement ou structure fermé au registre",
            Self::LegalFormDiffers => "la forme juridique déclarée diffère de celle du registre",
            Self::NotEss => "non inscrite comme entreprise de l'ESS au registre",
            Self::HeadOfficeOutside => "siège hors de la Métropole européenne de Lille",
            Self::UnknownSiret => "aucun établissement ne porte ce SIRET au registre",
        }
    }
}

/// The flags of a register's answer against the declared legal form (`None`: not compared).
/// `in_territory` says whether a commune (INSEE code) is one of the MEL's.
pub fn flags(
    lookup: &Lookup,
    declared: Option<LegalForm>,
    in_territory: impl Fn(&str) -> bool,
) -> Vec<Flag> {
    let record = match lookup {
        Lookup::NotFound => return vec![Flag::UnknownSiret],
        Lookup::Found(r) => r,
    };
    let mut out = Vec::new();
    if !record.active {
        out.push(Flag::Closed);
    }
    if let (Some(code), Some(form)) = (&record.legal_form_code, declared)
        && !plausible_forms(code).contains(&form)
    {
        out.push(Flag::LegalFormDiffers);
    }
    if record.is_ess == Some(false) && !declared.is_some_and(LegalForm::is_ess_by_right) {
        out.push(Flag::NotEss);
    }
    if let Some(insee) = &record.head_office.commune_insee
        && !in_territory(insee)
    {
        out.push(Flag::HeadOfficeOutside);
    }
    out
}

/// The register's answer kept as evidence, read again: what it says (`None` when it cannot be
/// read) and its flags against the declared form, the MEL's communes being the territory.
pub fn read_kept(
    siret: &str,
    answer: Option<&str>,
    declared: Option<LegalForm>,
) -> (Option<Lookup>, Vec<Flag>) {
    let lookup = Siret::parse(siret)
        .ok()
        .and_then(|siret| answer.and_then(|t| read_search_answer(&siret, t).ok()));
    let flags = lookup.as_ref().map_or_else(Vec::new, |l| {
        flags(l, declared, |insee| {
            crate::domain::territory::mel_commune(insee).is_some()
        })
    });
    (lookup, flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SIRET: &str = "73282932000074";

    fn answer(unit: Value) -> String {
        json!({"results": [unit], "total_results": 1, "page": 1, "per_page": 10, "total_pages": 1})
            .to_string()
    }

    fn association() -> Value {
        json!({
            "siren": "732829320",
            "nom_complet": "LES ATELIERS DU SART",
            "nature_juridique": "9220",
            "etat_administratif": "A",
            "statut_diffusion": "O",
            "siege": {
                "siret": SIRET, "etat_administratif": "A", "commune": "59512",
                "libelle_commune": "ROUBAIX", "code_postal": "59100",
                "numero_voie": "12", "type_voie": "RUE", "libelle_voie": "DE LANNOY"
            },
            "matching_etablissements": [],
            "complements": {"est_ess": true, "est_association": true, "identifiant_association": "W595012345"}
        })
    }

    fn siret() -> Siret {
        Siret::parse(SIRET).unwrap()
    }

    #[test]
    fn an_association_is_read_from_its_head_office() {
        let Lookup::Found(r) = read_search_answer(&siret(), &answer(association())).unwrap() else {
            panic!("not found");
        };
        assert_eq!(r.name.as_deref(), Some("LES ATELIERS DU SART"));
        assert_eq!(r.legal_form_code.as_deref(), Some("9220"));
        assert_eq!(r.is_ess, Some(true));
        assert!(r.is_association && r.active && r.diffusible);
        assert_eq!(r.rna.as_deref(), Some("W595012345"));
        assert_eq!(r.head_office.commune_insee.as_deref(), Some("59512"));
        assert_eq!(r.head_office.address.as_deref(), Some("12 RUE DE LANNOY"));
    }

    #[test]
    fn a_secondary_establishment_is_found_among_the_matching_ones_and_its_state_counts() {
        let mut unit = association();
        unit["siege"]["siret"] = json!("73282932000082");
        unit["matching_etablissements"] =
            json!([{"siret": SIRET, "etat_administratif": "F", "commune": "59350"}]);
        let Lookup::Found(r) = read_search_answer(&siret(), &answer(unit)).unwrap() else {
            panic!("not found");
        };
        assert!(
            !r.active,
            "a closed establishment of an active unit is closed"
        );
        assert_eq!(r.head_office.commune_insee.as_deref(), Some("59512"));
    }

    #[test]
    fn answers_that_name_another_siret_or_nothing_are_not_found() {
        let mut unit = association();
        unit["siege"]["siret"] = json!("73282932000082");
        assert_eq!(
            read_search_answer(&siret(), &answer(unit)).unwrap(),
            Lookup::NotFound
        );
        let empty = json!({"results": [], "total_results": 0}).to_string();
        assert_eq!(
            read_search_answer(&siret(), &empty).unwrap(),
            Lookup::NotFound
        );
    }

    #[test]
    fn garbage_is_refused_with_its_reason() {
        assert_eq!(
            read_search_answer(&siret(), "<html>"),
            Err(AnswerError::NotJson)
        );
        assert!(matches!(
            read_search_answer(&siret(), r#"{"erreur": "q"}"#),
            Err(AnswerError::Shape(_))
        ));
    }

    #[test]
    fn a_non_diffusible_unit_has_no_name() {
        let mut unit = association();
        unit["statut_diffusion"] = json!("P");
        unit["nom_complet"] = json!("[NON-DIFFUSIBLE]");
        let Lookup::Found(r) = read_search_answer(&siret(), &answer(unit)).unwrap() else {
            panic!("not found");
        };
        assert!(!r.diffusible);
        assert_eq!(r.name, None);
    }

    #[test]
    fn a_flags_code_is_its_serialised_name() {
        for f in [
            Flag::Closed,
            Flag::LegalFormDiffers,
            Flag::NotEss,
            Flag::HeadOfficeOutside,
            Flag::UnknownSiret,
        ] {
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
        }
    }

    #[test]
    fn the_codes_stand_for_their_forms() {
        use LegalForm as F;
        let table: [(&str, &[F]); 9] = [
            ("9220", &[F::Association, F::LocalLawAssociation]),
            ("9260", &[F::LocalLawAssociation, F::Association]),
            ("9300", &[F::Foundation]),
            ("8210", &[F::Mutual]),
            ("5458", &[F::Cooperative]),
            ("6317", &[F::Cooperative]),
            ("5710", &[F::CommercialCompany, F::Cooperative]),
            ("1000", &[F::SoleProprietorship]),
            ("7389", &LegalForm::ALL),
        ];
        for (code, forms) in table {
            assert_eq!(plausible_forms(code), forms, "{code}");
        }
    }

    fn declared(form: LegalForm) -> Option<LegalForm> {
        Some(form)
    }

    #[test]
    fn flags_say_what_differs_and_nothing_else() {
        let mel = |insee: &str| insee.starts_with("59");
        let found = |unit: Value| read_search_answer(&siret(), &answer(unit)).unwrap();
        assert_eq!(
            flags(&found(association()), declared(LegalForm::Association), mel),
            vec![]
        );
        assert_eq!(
            flags(&Lookup::NotFound, declared(LegalForm::Association), mel),
            vec![Flag::UnknownSiret]
        );
        let mut closed = association();
        closed["etat_administratif"] = json!("C");
        closed["siege"]["commune"] = json!("75056");
        assert_eq!(
            flags(&found(closed), declared(LegalForm::Association), mel),
            vec![Flag::Closed, Flag::HeadOfficeOutside]
        );
        let mut company = association();
        company["nature_juridique"] = json!("5710");
        company["complements"]["est_ess"] = json!(false);
        assert_eq!(
            flags(
                &found(company.clone()),
                declared(LegalForm::Association),
                mel
            ),
            vec![Flag::LegalFormDiffers]
        );
        assert_eq!(
            flags(
                &found(company.clone()),
                declared(LegalForm::CommercialCompany),
                mel
            ),
            vec![Flag::NotEss]
        );
        company["complements"]["est_ess"] = json!(true);
        assert_eq!(
            flags(
                &found(company.clone()),
                declared(LegalForm::CommercialCompany),
                mel
            ),
            vec![]
        );
        // A declared form that cannot be read is not compared; « not ESS » still is.
        company["complements"]["est_ess"] = json!(false);
        assert_eq!(flags(&found(company), None, mel), vec![Flag::NotEss]);
    }
}

#[cfg(test)]
mod kept_tests {
    use super::*;

    #[test]
    fn a_kept_answer_is_read_again_with_the_mels_communes() {
        let text = serde_json::json!({"results": [{
            "siren": "510203060", "nom_complet": "ANCIENNE SAS", "nature_juridique": "5710",
            "etat_administratif": "C",
            "siege": {"siret": "51020306000015", "etat_administratif": "F", "commune": "75056"},
            "complements": {"est_ess": false}
        }]})
        .to_string();
        let (lookup, flags) =
            read_kept("51020306000015", Some(&text), Some(LegalForm::Association));
        assert!(matches!(lookup, Some(Lookup::Found(_))));
        assert_eq!(
            flags,
            vec![
                Flag::Closed,
                Flag::LegalFormDiffers,
                Flag::HeadOfficeOutside
            ]
        );
        assert_eq!(read_kept("51020306000015", None, None), (None, vec![]));
        assert_eq!(read_kept("pas un siret", Some(&text), None), (None, vec![]));
    }
}
