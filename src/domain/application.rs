//! The body of an application (DESIGN.md §7): what the project holder declares about the
//! organisation, the project and its ESS commitments. These are plain data; the checks on
//! identifiers and amounts live in `identifiers`, `money` and `eligibility`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Esus {
    Approved,
    Pending,
    None,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Démarrage.
    Startup,
    /// Développement.
    Development,
}

impl Stage {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Organisation {
    pub name: String,
    pub legal_form: LegalForm,
    pub siret: Option<String>,
    pub rna: Option<String>,
    pub created_on: NaiveDate,
    pub address: String,
    pub postal_code: String,
    pub commune_insee: String,
    pub employees: u32,
    pub esus: Esus,
    pub insertion_structure: Option<InsertionStructure>,
    pub rcs_ess_mention: bool,
    pub in_insolvency_proceedings: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    pub title: String,
    pub summary: String,
    pub stage: Stage,
    pub activity_communes: Vec<String>,
    pub total_budget_cents: i64,
    pub requested_cents: i64,
    pub starts_on: NaiveDate,
    pub jobs_created: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EssCommitments {
    pub purpose_beyond_profit: bool,
    pub democratic_governance: bool,
    pub governance_description: String,
    pub reinvested_profit_pct: Option<u8>,
    pub development_fund_pct: Option<u8>,
    pub retained_earnings_and_reserves_pct: Option<u8>,
    pub impartible_reserves: bool,
    pub no_capital_amortization: bool,
    pub social_utility: Vec<SocialUtility>,
    pub social_utility_statement: String,
    /// Mean pay of the five best paid, as a multiple of the SMIC (e.g. 3.5).
    pub top5_avg_pay_smic_ratio: Option<f64>,
    /// Highest pay, as a multiple of the SMIC.
    pub top_pay_smic_ratio: Option<f64>,
}

/// The whole declarative body of an application.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationBody {
    pub organisation: Organisation,
    pub project: Project,
    pub ess: EssCommitments,
}
