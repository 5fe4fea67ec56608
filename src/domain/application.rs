//! The body of an application (DESIGN.md §7): what the project holder declares about the
//! organisation, the project and its ESS commitments. These are plain data; the checks on
//! identifiers and amounts live in `identifiers`, `money` and `eligibility`.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::{Validate, ValidationError};

use crate::domain::identifiers::{InseeCode, PostalCode, Rna, Siret};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LegalForm {
    Association,
    /// Association de droit local (Alsace-Moselle).
    LocalLawAssociation,
    Foundation,
    Mutual,
    Cooperative,
    CommercialCompany,
    SoleProprietorship,
    Other,
}

impl LegalForm {
    /// In the order step 1 offers them: the forms of the ESS by right first, as its hint says.
    pub const ALL: [Self; 8] = [
        Self::Association,
        Self::LocalLawAssociation,
        Self::Cooperative,
        Self::Mutual,
        Self::Foundation,
        Self::CommercialCompany,
        Self::SoleProprietorship,
        Self::Other,
    ];

    /// ESS by right (loi 2014-856, art. 1, II, 1°).
    pub fn is_ess_by_right(self) -> bool {
        matches!(
            self,
            Self::Association
                | Self::LocalLawAssociation
                | Self::Foundation
                | Self::Mutual
                | Self::Cooperative
        )
    }

    pub fn is_association(self) -> bool {
        matches!(self, Self::Association | Self::LocalLawAssociation)
    }

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Association => "association",
            Self::LocalLawAssociation => "association de droit local",
            Self::Foundation => "fondation",
            Self::Mutual => "mutuelle",
            Self::Cooperative => "coopérative",
            Self::CommercialCompany => "société commerciale",
            Self::SoleProprietorship => "entreprise individuelle",
            Self::Other => "autre",
        }
    }

    /// The answer as step 1 offers it (a select's option).
    pub fn option_fr(self) -> &'static str {
        match self {
            Self::Association => "Association (loi 1901)",
            Self::LocalLawAssociation => "Association de droit local (Alsace-Moselle)",
            Self::Foundation => "Fondation",
            Self::Mutual => "Mutuelle",
            Self::Cooperative => "Coopérative (SCOP, SCIC, CAE…)",
            Self::CommercialCompany => "Société commerciale",
            Self::SoleProprietorship => "Entreprise individuelle",
            Self::Other => "Autre",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Esus {
    Approved,
    Pending,
    None,
}

impl Esus {
    pub const ALL: [Self; 3] = [Self::Approved, Self::Pending, Self::None];

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Approved => "oui, agréée",
            Self::Pending => "demande en cours",
            Self::None => "non",
        }
    }

    /// The answer as step 1 offers it, to the question « La structure a-t-elle l'agrément… ».
    pub fn option_fr(self) -> &'static str {
        match self {
            Self::Approved => "Oui, elle l'a",
            Self::Pending => "Demande en cours",
            Self::None => "Non",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InsertionStructure {
    Ei,
    Etti,
    Ai,
    Aci,
    Ea,
}

impl InsertionStructure {
    pub const ALL: [Self; 5] = [Self::Ei, Self::Etti, Self::Ai, Self::Aci, Self::Ea];

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Ei => "entreprise d'insertion (EI)",
            Self::Etti => "entreprise de travail temporaire d'insertion (ETTI)",
            Self::Ai => "association intermédiaire (AI)",
            Self::Aci => "atelier et chantier d'insertion (ACI)",
            Self::Ea => "entreprise adaptée (EA)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Démarrage.
    Startup,
    /// Développement.
    Development,
}

impl Stage {
    pub const ALL: [Self; 2] = [Self::Startup, Self::Development];

    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Startup => "démarrage",
            Self::Development => "développement",
        }
    }
}

/// The four objectives of social utility of loi 2014-856, art. 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SocialUtility {
    FragilePeople,
    SocialLink,
    CitizenshipEducation,
    SustainableDevelopment,
}

impl SocialUtility {
    pub const ALL: [Self; 4] = [
        Self::FragilePeople,
        Self::SocialLink,
        Self::CitizenshipEducation,
        Self::SustainableDevelopment,
    ];

    /// The objective in the law's words, shortened (loi 2014-856, art. 2 as amended in 2019).
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::FragilePeople => "soutien à des personnes en situation de fragilité",
            Self::SocialLink => {
                "lutte contre les exclusions, maintien et renforcement de la cohésion territoriale"
            }
            Self::CitizenshipEducation => "éducation à la citoyenneté",
            Self::SustainableDevelopment => {
                "développement durable, transition énergétique, promotion culturelle ou \
                 solidarité internationale"
            }
        }
    }

    /// Where the law states it.
    pub fn article(self) -> &'static str {
        match self {
            Self::FragilePeople => "art. 2, 1°",
            Self::SocialLink => "art. 2, 2°",
            Self::CitizenshipEducation => "art. 2, 3°",
            Self::SustainableDevelopment => "art. 2, 4°",
        }
    }

    /// The objective as step 3 offers it, to the question « Quels objectifs… poursuit-il ? ».
    pub fn option_fr(self) -> &'static str {
        match self {
            Self::FragilePeople => "Soutenir des personnes en situation de fragilité",
            Self::SocialLink => {
                "Lutter contre les exclusions, renforcer le lien social et la cohésion du territoire"
            }
            Self::CitizenshipEducation => "Éduquer à la citoyenneté",
            Self::SustainableDevelopment => {
                "Contribuer au développement durable, à la transition énergétique, à la culture \
                 ou à la solidarité internationale"
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Whether the structure exists (DESIGN.md §16): `registered` (absent: the default),
    /// `in_creation` or `hosted`.
    #[serde(default)]
    pub status: OrganisationStatus,
    #[validate(custom(function = "required_name"))]
    #[schema(example = "Les Ateliers du Sart", max_length = 200)]
    pub name: String,
    /// The form it has; for a structure in creation the planned one; for a hosted activity
    /// the host's.
    pub legal_form: LegalForm,
    /// The person who carries the project: required in creation and when hosted.
    #[serde(default)]
    #[validate(custom(function = "optional_person"))]
    #[schema(example = "Julie Martin", max_length = 200)]
    pub holder_name: Option<String>,
    /// The host's SIRET (a coopérative d'activité et d'emploi, a couveuse, an incubator):
    /// required when hosted.
    #[serde(default)]
    #[validate(custom(function = "check_siret"))]
    #[schema(example = "44306184100047", pattern = r"^\d{14}$")]
    pub host_siret: Option<String>,
    /// The host's name: required when hosted.
    #[serde(default)]
    #[validate(custom(function = "optional_person"))]
    #[schema(example = "Coopérative Grands Ensemble", max_length = 200)]
    pub host_name: Option<String>,
    /// 14 digits with a valid key (spaces allowed).
    #[validate(custom(function = "check_siret"))]
    #[schema(example = "73282932000074", pattern = r"^\d{14}$")]
    pub siret: Option<String>,
    /// Répertoire national des associations: W and 9 digits.
    #[validate(custom(function = "check_rna"))]
    #[schema(example = "W595012345", pattern = r"^W\d{9}$")]
    pub rna: Option<String>,
    /// Required for a registered structure; absent for one in creation.
    #[serde(default)]
    #[validate(custom(function = "plausible_date"))]
    #[schema(example = "2025-03-01")]
    pub created_on: Option<NaiveDate>,
    #[validate(
        length(max = 300, message = "l'adresse ne doit pas dépasser 300 caractères"),
        custom(function = "crate::domain::text::single_line")
    )]
    #[schema(example = "12 rue de Lannoy", max_length = 300)]
    pub address: String,
    #[validate(custom(function = "postal_code"))]
    #[schema(example = "59650", pattern = r"^\d{5}$")]
    pub postal_code: String,
    #[validate(custom(function = "insee"))]
    #[schema(example = "59009", pattern = r"^(\d{5}|2[AB]\d{3})$")]
    pub commune_insee: String,
    #[validate(range(max = 1_000_000, message = "nombre de salariés invraisemblable"))]
    #[schema(example = 2)]
    pub employees: u32,
    pub esus: Esus,
    pub insertion_structure: Option<InsertionStructure>,
    pub rcs_ess_mention: bool,
    pub in_insolvency_proceedings: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct Project {
    #[validate(custom(function = "required_title"))]
    #[schema(example = "Recyclerie de quartier", max_length = 200)]
    pub title: String,
    #[validate(
        custom(function = "crate::domain::text::multi_line"),
        length(
            max = 5000,
            message = "le résumé ne doit pas dépasser 5 000 caractères"
        )
    )]
    #[schema(
        example = "Collecte, réparation et revente d'objets du quotidien.",
        max_length = 5000
    )]
    pub summary: String,
    pub stage: Stage,
    /// INSEE codes of the communes where the project takes place.
    #[validate(custom(function = "insee_list"))]
    #[schema(example = json!(["59009"]))]
    pub activity_communes: Vec<String>,
    #[validate(range(
        min = 0,
        max = 100_000_000_000i64,
        message = "le budget doit être un nombre de centimes positif ou nul"
    ))]
    #[schema(example = 9000000, minimum = 0)]
    pub total_budget_cents: i64,
    #[validate(range(
        min = 0,
        max = 100_000_000_000i64,
        message = "le montant demandé doit être un nombre de centimes positif ou nul"
    ))]
    #[schema(example = 2000000, minimum = 0)]
    pub requested_cents: i64,
    #[validate(custom(function = "plausible_date"))]
    #[schema(example = "2027-01-15")]
    pub starts_on: NaiveDate,
    #[validate(range(max = 100_000, message = "nombre d'emplois invraisemblable"))]
    #[schema(example = 2)]
    pub jobs_created: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct EssCommitments {
    pub purpose_beyond_profit: bool,
    pub democratic_governance: bool,
    #[validate(
        custom(function = "crate::domain::text::multi_line"),
        length(
            max = 5000,
            message = "la description ne doit pas dépasser 5 000 caractères"
        )
    )]
    #[schema(max_length = 5000)]
    pub governance_description: String,
    #[validate(range(max = 100, message = "un pourcentage est compris entre 0 et 100"))]
    #[schema(maximum = 100)]
    pub reinvested_profit_pct: Option<u8>,
    #[validate(range(max = 100, message = "un pourcentage est compris entre 0 et 100"))]
    #[schema(maximum = 100)]
    pub development_fund_pct: Option<u8>,
    #[validate(range(max = 100, message = "un pourcentage est compris entre 0 et 100"))]
    #[schema(maximum = 100)]
    pub retained_earnings_and_reserves_pct: Option<u8>,
    pub impartible_reserves: bool,
    pub no_capital_amortization: bool,
    #[validate(custom(function = "distinct_objectives"))]
    pub social_utility: Vec<SocialUtility>,
    #[validate(
        custom(function = "crate::domain::text::multi_line"),
        length(
            max = 5000,
            message = "la présentation ne doit pas dépasser 5 000 caractères"
        )
    )]
    #[schema(max_length = 5000)]
    pub social_utility_statement: String,
    /// Mean pay of the five best paid, as a multiple of the SMIC (e.g. 3.5).
    #[validate(range(min = 0.0, max = 1000.0, message = "rapport au SMIC invraisemblable"))]
    #[schema(minimum = 0, maximum = 1000)]
    pub top5_avg_pay_smic_ratio: Option<f64>,
    /// Highest pay, as a multiple of the SMIC.
    #[validate(range(min = 0.0, max = 1000.0, message = "rapport au SMIC invraisemblable"))]
    #[schema(minimum = 0, maximum = 1000)]
    pub top_pay_smic_ratio: Option<f64>,
}

/// The whole declarative body of an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ApplicationBody {
    #[validate(nested)]
    pub organisation: Organisation,
    #[validate(nested)]
    pub project: Project,
    #[validate(nested)]
    pub ess: EssCommitments,
}

impl Organisation {
    /// What makes one application per structure and call (DESIGN.md §7, §16):
    /// `siret:<14 digits>`, or `rna:<W + 9 digits>` when the structure has no SIRET; for a
    /// hosted activity `hosted:<host's SIRET>:<holder>` (several holders of one host may
    /// apply, each once); `None` when it gives no identifier — a structure in creation has
    /// none yet, so the rule cannot hold for it before its registration. Spaces do not count
    /// (`732 829 320 00074` is `73282932000074`), nor case and accents in a holder's name.
    pub fn registry_key(&self) -> Option<String> {
        let clean = |v: &Option<String>| {
            v.as_deref()
                .map(|s| s.chars().filter(|c| !c.is_whitespace()).collect::<String>())
                .filter(|s| !s.is_empty())
        };
        match self.status {
            OrganisationStatus::Registered => clean(&self.siret)
                .map(|s| format!("siret:{s}"))
                .or_else(|| clean(&self.rna).map(|r| format!("rna:{r}"))),
            OrganisationStatus::Hosted => {
                let host = clean(&self.host_siret)?;
                let holder = crate::domain::search::fold(self.holder_name.as_deref()?);
                let holder = holder.split_whitespace().collect::<Vec<_>>().join(" ");
                (!holder.is_empty()).then(|| format!("hosted:{host}:{holder}"))
            }
            OrganisationStatus::InCreation => None,
        }
    }

    /// The SIRET a grant is paid to and letters name: the structure's own, or for a hosted
    /// activity its host's (§16: the holder has no legal personality of their own).
    pub fn paying_siret(&self) -> Option<&str> {
        self.siret
            .as_deref()
            .or(self.host_siret.as_deref())
            .filter(|s| !s.trim().is_empty())
    }

    /// The SIRET behind a [`Organisation::registry_key`]: the structure's (`siret:`) or its
    /// host's (`hosted:`); none for an RNA alone.
    pub fn registry_siret(key: &str) -> Option<&str> {
        match key.split_once(':') {
            Some(("siret", s)) => Some(s),
            Some(("hosted", rest)) => rest.split(':').next(),
            _ => None,
        }
    }

    /// The identifier behind [`Organisation::registry_key`], as a person reads it.
    pub fn registry_label(key: &str) -> String {
        match key.split_once(':') {
            Some(("siret", s)) => format!("SIRET {s}"),
            Some(("rna", r)) => format!("RNA {r}"),
            Some(("hosted", rest)) => match rest.split_once(':') {
                Some((host, holder)) => {
                    format!("porteur « {holder} » hébergé par le SIRET {host}")
                }
                None => rest.to_owned(),
            },
            _ => key.to_owned(),
        }
    }

    /// The field a duplicate of [`Organisation::registry_key`] is said beside.
    pub fn registry_field(key: &str) -> &'static str {
        match key.split_once(':').map(|(k, _)| k) {
            Some("rna") => "organisation.rna",
            Some("hosted") => "organisation.holder_name",
            _ => "organisation.siret",
        }
    }

    /// What the status asks of the other fields (DESIGN.md §16), as (field of the
    /// organisation, French message):
    /// a registered structure has its creation date; one in creation has no identifier and no
    /// date yet, but its holder; a hosted activity has its host (SIRET and name) and its
    /// holder, and no identifier of its own. Nothing of a status the structure does not have.
    pub fn status_errors(&self) -> Vec<(&'static str, String)> {
        use OrganisationStatus as S;
        let mut out = Vec::new();
        let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        let status = self.status.label_fr();
        match self.status {
            S::Registered => {
                if self.created_on.is_none() {
                    out.push((
                        "created_on",
                        "indiquez la date de création de la structure (celle de sa déclaration \
                         ou de son immatriculation)"
                            .to_owned(),
                    ));
                }
            }
            S::InCreation => {
                for (field, what) in [("siret", "de SIRET"), ("rna", "de numéro RNA")] {
                    let v = if field.ends_with("siret") {
                        &self.siret
                    } else {
                        &self.rna
                    };
                    if given(v) {
                        out.push((
                            field,
                            format!(
                                "une structure en création n'a pas encore {what} : retirez-le, \
                                 ou indiquez que la structure existe déjà"
                            ),
                        ));
                    }
                }
                if self.created_on.is_some() {
                    out.push((
                        "created_on",
                        "une structure en création n'a pas encore de date de création : \
                         retirez-la, ou indiquez que la structure existe déjà"
                            .to_owned(),
                    ));
                }
            }
            S::Hosted => {
                for (field, v) in [("siret", &self.siret), ("rna", &self.rna)] {
                    if given(v) {
                        out.push((
                            field,
                            "une activité hébergée est identifiée par le SIRET de sa structure \
                             d'accueil (host_siret) : retirez celui-ci"
                                .to_owned(),
                        ));
                    }
                }
                if !given(&self.host_siret) {
                    out.push((
                        "host_siret",
                        "indiquez le SIRET de la structure d'accueil (coopérative d'activité et \
                         d'emploi, couveuse ou incubateur)"
                            .to_owned(),
                    ));
                }
                if !given(&self.host_name) {
                    out.push((
                        "host_name",
                        "indiquez le nom de la structure d'accueil".to_owned(),
                    ));
                }
            }
        }
        match self.status {
            S::InCreation | S::Hosted => {
                if !given(&self.holder_name) {
                    out.push((
                        "holder_name",
                        "indiquez le nom de la personne qui porte le projet".to_owned(),
                    ));
                }
            }
            S::Registered => {
                if given(&self.holder_name) {
                    out.push((
                        "holder_name",
                        format!("seulement pour une structure en création ou hébergée, pas pour une {status}"),
                    ));
                }
            }
        }
        if self.status != S::Hosted {
            for (field, v) in [
                ("host_siret", &self.host_siret),
                ("host_name", &self.host_name),
            ] {
                if given(v) {
                    out.push((
                        field,
                        format!("seulement pour une activité hébergée, pas pour une {status}"),
                    ));
                }
            }
        }
        out
    }
}

/// Whether the structure exists yet (DESIGN.md §16: new forms of activity creation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationStatus {
    /// It exists, with a SIRET or an RNA number.
    #[default]
    Registered,
    /// Not yet: no identifier, the planned legal form.
    InCreation,
    /// An entrepreneur hosted by a coopérative d'activité et d'emploi, a couveuse or an
    /// incubator, identified by the host's SIRET.
    Hosted,
}

impl OrganisationStatus {
    pub const ALL: [Self; 3] = [Self::Registered, Self::InCreation, Self::Hosted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::InCreation => "in_creation",
            Self::Hosted => "hosted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// « structure immatriculée », as a message names it.
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Registered => "structure immatriculée",
            Self::InCreation => "structure en création",
            Self::Hosted => "activité hébergée",
        }
    }

    /// The answer step 1 offers to « Votre structure existe-t-elle déjà ? ».
    pub fn option_fr(self) -> &'static str {
        match self {
            Self::Registered => "Oui : elle a un numéro SIRET ou RNA",
            Self::InCreation => "Non, elle est en cours de création",
            Self::Hosted => {
                "Je suis hébergé·e par une coopérative d'activité et d'emploi, une couveuse ou un incubateur"
            }
        }
    }
}

impl ApplicationBody {
    /// Stores identifiers the way the registers write them (no spaces), once validated.
    pub fn normalise(mut self) -> Self {
        let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        self.organisation.siret = clean(self.organisation.siret)
            .map(|s| Siret::parse(&s).map(|x| x.as_str().to_owned()).unwrap_or(s));
        self.organisation.rna = clean(self.organisation.rna);
        self.organisation.host_siret = clean(self.organisation.host_siret)
            .map(|s| Siret::parse(&s).map(|x| x.as_str().to_owned()).unwrap_or(s));
        self.organisation.host_name = clean(self.organisation.host_name);
        self.organisation.holder_name = clean(self.organisation.holder_name);
        self.organisation.name = self.organisation.name.trim().to_owned();
        self.project.title = self.project.title.trim().to_owned();
        self
    }
}

fn fail(message: impl Into<Cow<'static, str>>) -> ValidationError {
    ValidationError::new("invalid").with_message(message.into())
}

fn required_name(s: &str) -> Result<(), ValidationError> {
    required_text(s, "le nom de la structure")
}

fn required_title(s: &str) -> Result<(), ValidationError> {
    required_text(s, "le titre du projet")
}

fn required_text(s: &str, what: &str) -> Result<(), ValidationError> {
    crate::domain::text::single_line(s)?;
    let n = s.trim().chars().count();
    if n == 0 {
        Err(fail(format!("{what} est obligatoire")))
    } else if n > 200 {
        Err(fail(format!("{what} ne doit pas dépasser 200 caractères")))
    } else {
        Ok(())
    }
}

fn check_siret(s: &str) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Ok(());
    }
    Siret::parse(s).map(|_| ()).map_err(|e| fail(e.to_string()))
}

fn check_rna(s: &str) -> Result<(), ValidationError> {
    if s.trim().is_empty() {
        return Ok(());
    }
    Rna::parse(s).map(|_| ()).map_err(|e| fail(e.to_string()))
}

fn postal_code(s: &str) -> Result<(), ValidationError> {
    PostalCode::parse(s)
        .map(|_| ())
        .map_err(|e| fail(e.to_string()))
}

fn insee(s: &str) -> Result<(), ValidationError> {
    InseeCode::parse(s)
        .map(|_| ())
        .map_err(|e| fail(e.to_string()))
}

fn insee_list(codes: &[String]) -> Result<(), ValidationError> {
    if codes.is_empty() {
        return Err(fail(
            "indiquez au moins une commune d'activité (code INSEE)",
        ));
    }
    if codes.len() > 200 {
        return Err(fail("200 communes d'activité au plus"));
    }
    for code in codes {
        InseeCode::parse(code).map_err(|e| fail(format!("« {code} » : {e}")))?;
    }
    Ok(())
}

fn optional_person(s: &str) -> Result<(), ValidationError> {
    crate::domain::text::single_line(s)?;
    if s.trim().chars().count() > 200 {
        Err(fail("200 caractères au plus"))
    } else {
        Ok(())
    }
}

#[expect(clippy::expect_used, reason = "constant dates that exist")]
fn plausible_date(d: &NaiveDate) -> Result<(), ValidationError> {
    let min = NaiveDate::from_ymd_opt(1800, 1, 1).expect("valid date");
    let max = NaiveDate::from_ymd_opt(2100, 12, 31).expect("valid date");
    if (min..=max).contains(d) {
        Ok(())
    } else {
        Err(fail("date invraisemblable (entre 1800 et 2100)"))
    }
}

fn distinct_objectives(v: &[SocialUtility]) -> Result<(), ValidationError> {
    for (i, o) in v.iter().enumerate() {
        if v[..i].contains(o) {
            return Err(fail(
                "chaque objectif d'utilité sociale ne peut figurer qu'une fois",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    pub fn sample() -> serde_json::Value {
        serde_json::json!({
            "organisation": {
                "name": "Les Ateliers du Sart", "legal_form": "association",
                "siret": "73282932000074", "rna": "W595012345", "created_on": "2025-03-01",
                "address": "12 rue de Lannoy", "postal_code": "59650", "commune_insee": "59009",
                "employees": 2, "esus": "none", "insertion_structure": null,
                "rcs_ess_mention": false, "in_insolvency_proceedings": false
            },
            "project": {
                "title": "Recyclerie de quartier", "summary": "…", "stage": "startup",
                "activity_communes": ["59009"], "total_budget_cents": 9000000,
                "requested_cents": 2000000, "starts_on": "2027-01-15", "jobs_created": 2
            },
            "ess": {
                "purpose_beyond_profit": true, "democratic_governance": true,
                "governance_description": "…", "reinvested_profit_pct": 100,
                "development_fund_pct": null, "retained_earnings_and_reserves_pct": null,
                "impartible_reserves": true, "no_capital_amortization": true,
                "social_utility": ["social_link"], "social_utility_statement": "…",
                "top5_avg_pay_smic_ratio": null, "top_pay_smic_ratio": null
            }
        })
    }

    fn errors(tweak: impl FnOnce(&mut serde_json::Value)) -> BTreeMap<String, String> {
        let mut v = sample();
        tweak(&mut v);
        let body: ApplicationBody = serde_json::from_value(v).expect("deserialises");
        let mut out = BTreeMap::new();
        if let Err(e) = body.validate() {
            collect(&e, "", &mut out);
        }
        out
    }

    fn collect(e: &validator::ValidationErrors, prefix: &str, out: &mut BTreeMap<String, String>) {
        for (field, kind) in e.errors() {
            let path = if prefix.is_empty() {
                field.to_string()
            } else {
                format!("{prefix}.{field}")
            };
            match kind {
                validator::ValidationErrorsKind::Field(errs) => {
                    out.insert(
                        path,
                        errs[0].message.clone().unwrap_or_default().to_string(),
                    );
                }
                validator::ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
                validator::ValidationErrorsKind::List(_) => {}
            }
        }
    }

    #[test]
    fn the_design_example_is_valid() {
        assert!(errors(|_| {}).is_empty());
    }

    #[test]
    fn each_bad_field_is_named_in_french() {
        type Tweak = fn(&mut serde_json::Value);
        let cases: &[(&str, Tweak)] = &[
            ("organisation.siret", |v| {
                v["organisation"]["siret"] = "73282932000079".into()
            }),
            ("organisation.siret", |v| {
                v["organisation"]["siret"] = "1234".into()
            }),
            ("organisation.rna", |v| {
                v["organisation"]["rna"] = "X595012345".into()
            }),
            ("organisation.postal_code", |v| {
                v["organisation"]["postal_code"] = "5965".into()
            }),
            ("organisation.commune_insee", |v| {
                v["organisation"]["commune_insee"] = "ABCDE".into()
            }),
            ("organisation.name", |v| {
                v["organisation"]["name"] = "   ".into()
            }),
            ("organisation.created_on", |v| {
                v["organisation"]["created_on"] = "1700-01-01".into()
            }),
            ("project.title", |v| v["project"]["title"] = "".into()),
            // One text rule (domain::text): one-line fields refuse line breaks, every field
            // control, bidirectional and invisible characters.
            ("organisation.name", |v| {
                v["organisation"]["name"] = "Ateliers\ndu Sart".into()
            }),
            ("organisation.address", |v| {
                v["organisation"]["address"] = "12 rue\u{0} de Lannoy".into()
            }),
            ("project.title", |v| {
                v["project"]["title"] = "Recyclerie\u{202E}fdp".into()
            }),
            ("project.summary", |v| {
                v["project"]["summary"] = "Résumé\u{200B}".into()
            }),
            ("ess.governance_description", |v| {
                v["ess"]["governance_description"] = "\u{7}".into()
            }),
            ("ess.social_utility_statement", |v| {
                v["ess"]["social_utility_statement"] = "\u{2066}x".into()
            }),
            ("project.activity_communes", |v| {
                v["project"]["activity_communes"] = serde_json::json!([])
            }),
            ("project.activity_communes", |v| {
                v["project"]["activity_communes"] = serde_json::json!(["59009", "abc"])
            }),
            ("project.requested_cents", |v| {
                v["project"]["requested_cents"] = (-1).into()
            }),
            ("project.total_budget_cents", |v| {
                v["project"]["total_budget_cents"] = (-5).into()
            }),
            ("ess.reinvested_profit_pct", |v| {
                v["ess"]["reinvested_profit_pct"] = 101.into()
            }),
            ("ess.social_utility", |v| {
                v["ess"]["social_utility"] = serde_json::json!(["social_link", "social_link"])
            }),
            ("ess.top_pay_smic_ratio", |v| {
                v["ess"]["top_pay_smic_ratio"] = (-1.0).into()
            }),
        ];
        for (field, tweak) in cases {
            let errs = errors(tweak);
            assert_eq!(errs.keys().collect::<Vec<_>>(), vec![field], "{errs:?}");
            let msg = &errs[*field];
            assert!(!msg.is_empty() && msg != "invalid", "{field}: {msg}");
        }
    }

    #[test]
    fn empty_identifiers_are_absent_and_siret_spaces_are_removed() {
        let mut v = sample();
        v["organisation"]["siret"] = "732 829 320 00074".into();
        v["organisation"]["rna"] = "".into();
        let body: ApplicationBody = serde_json::from_value(v).unwrap();
        assert!(body.validate().is_ok());
        let body = body.normalise();
        assert_eq!(body.organisation.siret.as_deref(), Some("73282932000074"));
        assert_eq!(body.organisation.rna, None);
    }

    #[test]
    fn one_application_per_structure_is_keyed_by_siret_then_rna() {
        let cases: [(Option<&str>, Option<&str>, Option<&str>); 6] = [
            (
                Some("73282932000074"),
                Some("W595012345"),
                Some("siret:73282932000074"),
            ),
            (
                Some("732 829 320 00074"),
                None,
                Some("siret:73282932000074"),
            ),
            (None, Some("W595012345"), Some("rna:W595012345")),
            (Some("  "), Some("W595012345"), Some("rna:W595012345")),
            (Some(""), Some(""), None),
            (None, None, None),
        ];
        for (siret, rna, key) in cases {
            let mut v = sample();
            v["organisation"]["siret"] = siret.into();
            v["organisation"]["rna"] = rna.into();
            let body: ApplicationBody = serde_json::from_value(v).unwrap();
            assert_eq!(
                body.organisation.registry_key().as_deref(),
                key,
                "{siret:?} {rna:?}"
            );
        }
        assert_eq!(
            Organisation::registry_label("siret:73282932000074"),
            "SIRET 73282932000074"
        );
        assert_eq!(
            Organisation::registry_label("rna:W595012345"),
            "RNA W595012345"
        );
    }

    #[test]
    fn a_hosted_activity_is_paid_through_its_host() {
        for (key, siret) in [
            ("siret:73282932000074", Some("73282932000074")),
            (
                "hosted:44306184100047:camille martin",
                Some("44306184100047"),
            ),
            ("rna:W595012345", None),
            ("inconnu", None),
        ] {
            assert_eq!(Organisation::registry_siret(key), siret, "{key}");
        }
        for (siret, host, paying) in [
            (Some("73282932000074"), None, Some("73282932000074")),
            (None, Some("44306184100047"), Some("44306184100047")),
            (None, None, None),
        ] {
            let mut v = sample();
            v["organisation"]["siret"] = siret.into();
            v["organisation"]["host_siret"] = host.into();
            let body: ApplicationBody = serde_json::from_value(v).unwrap();
            assert_eq!(
                body.organisation.paying_siret(),
                paying,
                "{siret:?} {host:?}"
            );
        }
    }
}
