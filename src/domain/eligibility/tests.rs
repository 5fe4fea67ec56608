//! Table-driven tests of the eligibility engine (DESIGN.md §8).

use std::collections::BTreeMap;

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::domain::application::{
    ApplicationBody, EssCommitments, Esus, InsertionStructure, LegalForm, Organisation, Project,
    SocialUtility, Stage,
};
use crate::domain::territory::mel_insee_codes;

const ALL_CODES: [&str; 17] = [
    "ESS-1", "ESS-2", "ESS-3", "ESS-4", "ESS-5", "ESS-6", "ESS-7", "ESS-8", "ESS-9", "ESUS-1",
    "ESUS-2", "MEL-1", "MEL-2", "MEL-3", "MEL-4", "MEL-5", "MEL-6",
];

/// Default filing date of the cases.
const FILED: &str = "2026-06-15";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

// ---------------------------------------------------------------------------------------------
// Builders.

/// An association in Roubaix, one year old on 2026-06-15, asking 20 000 € for a start-up.
fn association_roubaix() -> ApplicationBody {
    ApplicationBody {
        organisation: Organisation {
            status: Default::default(),
            name: "Les Ateliers du Sart".into(),
            legal_form: LegalForm::Association,
            holder_name: None,
            host_siret: None,
            host_name: None,
            siret: Some("73282932000074".into()),
            rna: Some("W595012345".into()),
            created_on: Some(d("2025-03-01")),
            address: "12 rue de Lannoy".into(),
            postal_code: "59100".into(),
            commune_insee: "59512".into(),
            employees: 2,
            esus: Esus::None,
            insertion_structure: None,
            rcs_ess_mention: false,
            in_insolvency_proceedings: false,
        },
        project: Project {
            title: "Recyclerie de quartier".into(),
            summary: "Collecte, réparation et revente d'objets du quotidien.".into(),
            stage: Stage::Startup,
            activity_communes: vec!["59512".into()],
            total_budget_cents: 9_000_000,
            requested_cents: 2_000_000,
            starts_on: d("2027-01-15"),
            jobs_created: 2,
        },
        ess: EssCommitments {
            purpose_beyond_profit: true,
            democratic_governance: true,
            governance_description: "Assemblée générale, une personne une voix.".into(),
            reinvested_profit_pct: Some(100),
            development_fund_pct: None,
            retained_earnings_and_reserves_pct: None,
            impartible_reserves: true,
            no_capital_amortization: true,
            social_utility: vec![SocialUtility::SocialLink],
            social_utility_statement: "Lieu ouvert au quartier.".into(),
            top5_avg_pay_smic_ratio: None,
            top_pay_smic_ratio: None,
        },
    }
}

/// An SAS in Lille, created 2021-09-01 (4 years old on 2026-06-15), asking for development
/// support, ESUS approved, with the 20 % / 50 % allocations and modest pay ratios.
fn sas_lille() -> ApplicationBody {
    let mut b = association_roubaix();
    let o = &mut b.organisation;
    o.name = "Tissage Solidaire SAS".into();
    o.legal_form = LegalForm::CommercialCompany;
    o.rna = None;
    o.created_on = Some(d("2021-09-01"));
    o.postal_code = "59000".into();
    o.commune_insee = "59350".into();
    o.esus = Esus::Approved;
    o.rcs_ess_mention = true;
    b.project.stage = Stage::Development;
    b.project.activity_communes = vec!["59350".into()];
    let e = &mut b.ess;
    e.reinvested_profit_pct = Some(70);
    e.development_fund_pct = Some(20);
    e.retained_earnings_and_reserves_pct = Some(50);
    e.social_utility = vec![SocialUtility::FragilePeople];
    e.top5_avg_pay_smic_ratio = Some(3.5);
    e.top_pay_smic_ratio = Some(6.0);
    b
}

/// The call's values, owned, so that a case can tweak them before borrowing a `CallRules`.
struct CallSpec {
    rule_set: &'static RuleSet,
    max_award_cents: i64,
    max_budget_share_pct: Option<u8>,
    territory: Vec<String>,
}

impl CallSpec {
    fn new(version: &str) -> Self {
        let rule_set = RuleSet::find(version).expect("rule set");
        Self {
            rule_set,
            max_award_cents: rule_set.max_award_cap_cents,
            max_budget_share_pct: rule_set.default_budget_share_pct,
            territory: mel_insee_codes(),
        }
    }

    fn rules(&self) -> CallRules<'_> {
        CallRules {
            rule_set: self.rule_set,
            max_award_cents: self.max_award_cents,
            max_budget_share_pct: self.max_budget_share_pct,
            territory: &self.territory,
        }
    }
}

fn mel2021(_: &mut CallSpec) {}

fn mel2024(c: &mut CallSpec) {
    *c = CallSpec::new("mel-2024");
}

fn none(_: &mut ApplicationBody) {}

use Outcome::{Fail, NotApplicable, Pass, Review};
use Verdict::{Eligible, Ineligible, NeedsReview};

struct Case {
    name: &'static str,
    base: fn() -> ApplicationBody,
    tweak: fn(&mut ApplicationBody),
    call: fn(&mut CallSpec),
    filed: &'static str,
    verdict: Verdict,
    /// Outcomes of the decisive criteria (the others are checked generically).
    expect: &'static [(&'static str, Outcome)],
}

#[allow(clippy::too_many_arguments)]
fn case(
    name: &'static str,
    base: fn() -> ApplicationBody,
    tweak: fn(&mut ApplicationBody),
    call: fn(&mut CallSpec),
    filed: &'static str,
    verdict: Verdict,
    expect: &'static [(&'static str, Outcome)],
) -> Case {
    Case {
        name,
        base,
        tweak,
        call,
        filed,
        verdict,
        expect,
    }
}

fn run(c: &Case) -> Evaluation {
    let mut body = (c.base)();
    (c.tweak)(&mut body);
    let mut spec = CallSpec::new("mel-2021");
    (c.call)(&mut spec);
    evaluate(&body, &spec.rules(), d(c.filed))
}

fn outcomes(ev: &Evaluation) -> Vec<(String, Outcome)> {
    ev.criteria
        .iter()
        .map(|c| (c.code.clone(), c.outcome))
        .collect()
}

fn cases() -> Vec<Case> {
    let a = association_roubaix;
    let s = sas_lille;
    vec![
        // --- The reference association and the other ESS-by-right forms.
        case(
            "association in Roubaix",
            a,
            none,
            mel2021,
            FILED,
            Eligible,
            &[
                ("ESS-5", Pass),
                ("ESUS-1", NotApplicable),
                ("MEL-1", Pass),
                ("MEL-2", Pass),
                ("MEL-3", Pass),
                ("MEL-4", NotApplicable),
                ("MEL-5", Pass),
            ],
        ),
        case(
            "SCOP (cooperative) in Lille",
            a,
            |b| {
                b.organisation.legal_form = LegalForm::Cooperative;
                b.organisation.rna = None;
                b.organisation.commune_insee = "59350".into();
                b.project.activity_communes = vec!["59350".into()];
                b.ess.reinvested_profit_pct = Some(57);
                b.ess.social_utility.clear();
            },
            mel2021,
            FILED,
            Eligible,
            &[
                ("ESS-3", Pass),
                ("ESS-5", Pass),
                ("ESS-6", NotApplicable),
                ("MEL-2", Pass),
            ],
        ),
        case(
            "foundation",
            a,
            |b| {
                b.organisation.legal_form = LegalForm::Foundation;
                b.organisation.rna = None;
                b.ess.reinvested_profit_pct = None;
            },
            mel2021,
            FILED,
            Eligible,
            &[
                ("ESS-2", Pass),
                ("ESS-3", Pass),
                ("ESS-4", Pass),
                ("ESS-5", Pass),
            ],
        ),
        case(
            "mutual",
            a,
            |b| {
                b.organisation.legal_form = LegalForm::Mutual;
                b.organisation.rna = None;
            },
            mel2021,
            FILED,
            Eligible,
            &[("ESS-5", Pass)],
        ),
        case(
            "local-law association without SIRET but with RNA",
            a,
            |b| {
                b.organisation.legal_form = LegalForm::LocalLawAssociation;
                b.organisation.siret = None;
            },
            mel2021,
            FILED,
            Eligible,
            &[("MEL-1", Pass), ("ESS-5", Pass)],
        ),
        case(
            "association with an empty SIRET string and an RNA",
            a,
            |b| b.organisation.siret = Some("  ".into()),
            mel2021,
            FILED,
            Eligible,
            &[("MEL-1", Pass)],
        ),
        case(
            "association without SIRET, RNA malformed",
            a,
            |b| {
                b.organisation.siret = None;
                b.organisation.rna = Some("W59501234".into());
            },
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-1", Fail)],
        ),
        case(
            "association without SIRET nor RNA",
            a,
            |b| {
                b.organisation.siret = None;
                b.organisation.rna = None;
            },
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-1", Fail)],
        ),
        case(
            "association with invalid SIRET key but valid RNA",
            a,
            |b| b.organisation.siret = Some("73282932000079".into()),
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-1", Fail)],
        ),
        case(
            "association with an insertion company (EI) status",
            a,
            |b| b.organisation.insertion_structure = Some(InsertionStructure::Ei),
            mel2021,
            FILED,
            Eligible,
            &[("MEL-6", Pass)],
        ),
        // --- ESS principles for every form.
        case(
            "association without a purpose beyond profit",
            a,
            |b| b.ess.purpose_beyond_profit = false,
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-1", Fail)],
        ),
        case(
            "association without democratic governance",
            a,
            |b| b.ess.democratic_governance = false,
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-2", Fail)],
        ),
        // --- Commercial companies (ESS-6..9, ESUS).
        case(
            "SAS, ESUS approved, 20 % / 50 % allocations",
            s,
            none,
            mel2021,
            FILED,
            NeedsReview,
            &[
                ("ESS-1", Pass),
                ("ESS-2", Review),
                ("ESS-3", Pass),
                ("ESS-4", Review),
                ("ESS-5", Pass),
                ("ESS-6", Review),
                ("ESS-7", Pass),
                ("ESS-8", Pass),
                ("ESS-9", Pass),
                ("ESUS-1", Pass),
                ("ESUS-2", Pass),
                ("MEL-5", Pass),
            ],
        ),
        case(
            "SAS without the allocations (0 % / 0 %)",
            s,
            |b| {
                b.ess.development_fund_pct = Some(0);
                b.ess.retained_earnings_and_reserves_pct = Some(0);
            },
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-7", Fail)],
        ),
        case(
            "SAS, development fund 19 %",
            s,
            |b| b.ess.development_fund_pct = Some(19),
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-7", Fail)],
        ),
        case(
            "SAS, retained earnings 49 %",
            s,
            |b| b.ess.retained_earnings_and_reserves_pct = Some(49),
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-7", Fail)],
        ),
        case(
            "SAS, allocations not given",
            s,
            |b| {
                b.ess.development_fund_pct = None;
                b.ess.retained_earnings_and_reserves_pct = None;
            },
            mel2021,
            FILED,
            NeedsReview,
            &[("ESS-7", Review)],
        ),
        case(
            "SAS, one allocation missing and the other too low: fail wins",
            s,
            |b| {
                b.ess.development_fund_pct = None;
                b.ess.retained_earnings_and_reserves_pct = Some(10);
            },
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-7", Fail)],
        ),
        case(
            "SAS, reinvested profit exactly 50 %",
            s,
            |b| b.ess.reinvested_profit_pct = Some(50),
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-3", Fail)],
        ),
        case(
            "SAS, reinvested profit 51 %",
            s,
            |b| b.ess.reinvested_profit_pct = Some(51),
            mel2021,
            FILED,
            NeedsReview,
            &[("ESS-3", Pass)],
        ),
        case(
            "SAS, reinvested profit not given",
            s,
            |b| b.ess.reinvested_profit_pct = None,
            mel2021,
            FILED,
            NeedsReview,
            &[("ESS-3", Review)],
        ),
        case(
            "SAS without impartible reserves",
            s,
            |b| b.ess.impartible_reserves = false,
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-4", Fail)],
        ),
        case(
            "SAS without a social utility objective",
            s,
            |b| b.ess.social_utility.clear(),
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-6", Fail)],
        ),
        case(
            "SAS allowing capital amortisation",
            s,
            |b| b.ess.no_capital_amortization = false,
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-8", Fail)],
        ),
        case(
            "SAS without the RCS ESS mention",
            s,
            |b| b.organisation.rcs_ess_mention = false,
            mel2021,
            FILED,
            NeedsReview,
            &[("ESS-9", Review)],
        ),
        case(
            "SAS over 3 years, development, ESUS pending",
            s,
            |b| b.organisation.esus = Esus::Pending,
            mel2021,
            FILED,
            NeedsReview,
            &[("ESUS-1", Review), ("ESUS-2", Pass)],
        ),
        case(
            "SAS over 3 years, development, no ESUS",
            s,
            |b| b.organisation.esus = Esus::None,
            mel2021,
            FILED,
            Ineligible,
            &[("ESUS-1", Fail)],
        ),
        case(
            "SAS exactly 3 years old, development, no ESUS: ESUS-1 applies",
            s,
            |b| {
                b.organisation.created_on = Some(d("2023-06-15"));
                b.organisation.esus = Esus::None;
            },
            mel2021,
            FILED,
            Ineligible,
            &[("ESUS-1", Fail), ("MEL-5", Pass)],
        ),
        case(
            "SAS one day under 3 years, start-up, no ESUS: ESUS not required",
            s,
            |b| {
                b.organisation.created_on = Some(d("2023-06-16"));
                b.organisation.esus = Esus::None;
                b.project.stage = Stage::Startup;
                b.ess.top5_avg_pay_smic_ratio = Some(50.0);
            },
            mel2021,
            FILED,
            NeedsReview,
            &[
                ("ESUS-1", NotApplicable),
                ("ESUS-2", NotApplicable),
                ("MEL-5", Pass),
            ],
        ),
        case(
            "SAS one day under 3 years asking for development: wrong stage, ESUS n/a",
            s,
            |b| {
                b.organisation.created_on = Some(d("2023-06-16"));
                b.organisation.esus = Esus::None;
            },
            mel2021,
            FILED,
            Ineligible,
            &[("ESUS-1", NotApplicable), ("MEL-5", Fail)],
        ),
        case(
            "SAS under mel-2024, 4 years, start-up, no ESUS: ESUS n/a (start-up stage)",
            s,
            |b| {
                b.organisation.esus = Esus::None;
                b.project.stage = Stage::Startup;
            },
            mel2024,
            FILED,
            NeedsReview,
            &[("ESUS-1", NotApplicable), ("MEL-5", Pass)],
        ),
        case(
            "ESUS pay ratios 7.0 and 10.0",
            s,
            |b| {
                b.ess.top5_avg_pay_smic_ratio = Some(7.0);
                b.ess.top_pay_smic_ratio = Some(10.0);
            },
            mel2021,
            FILED,
            NeedsReview,
            &[("ESUS-2", Pass)],
        ),
        case(
            "ESUS mean of the top 5 pays 7.01",
            s,
            |b| b.ess.top5_avg_pay_smic_ratio = Some(7.01),
            mel2021,
            FILED,
            Ineligible,
            &[("ESUS-2", Fail)],
        ),
        case(
            "ESUS top pay 10.01",
            s,
            |b| b.ess.top_pay_smic_ratio = Some(10.01),
            mel2021,
            FILED,
            Ineligible,
            &[("ESUS-2", Fail)],
        ),
        case(
            "ESUS pay ratios not given",
            s,
            |b| {
                b.ess.top5_avg_pay_smic_ratio = None;
                b.ess.top_pay_smic_ratio = None;
            },
            mel2021,
            FILED,
            NeedsReview,
            &[("ESUS-2", Review)],
        ),
        case(
            "ESUS one ratio missing, the other too high: fail wins",
            s,
            |b| {
                b.ess.top5_avg_pay_smic_ratio = None;
                b.ess.top_pay_smic_ratio = Some(12.0);
            },
            mel2021,
            FILED,
            Ineligible,
            &[("ESUS-2", Fail)],
        ),
        case(
            "SAS without SIRET but with an RNA",
            s,
            |b| {
                b.organisation.siret = None;
                b.organisation.rna = Some("W595012345".into());
            },
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-1", Fail)],
        ),
        // --- Legal forms outside the ESS.
        case(
            "sole proprietorship",
            a,
            |b| {
                b.organisation.legal_form = LegalForm::SoleProprietorship;
                b.organisation.rna = None;
                b.ess.reinvested_profit_pct = Some(80);
            },
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-5", Fail), ("ESS-6", NotApplicable)],
        ),
        case(
            "other legal form",
            a,
            |b| {
                b.organisation.legal_form = LegalForm::Other;
                b.organisation.rna = None;
            },
            mel2021,
            FILED,
            Ineligible,
            &[("ESS-5", Fail), ("ESS-2", Review), ("ESS-4", Review)],
        ),
        // --- MEL-1: legal existence.
        case(
            "invalid SIRET key 73282932000079",
            s,
            |b| b.organisation.siret = Some("73282932000079".into()),
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-1", Fail)],
        ),
        case(
            "SIRET with 13 digits",
            s,
            |b| b.organisation.siret = Some("7328293200007".into()),
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-1", Fail)],
        ),
        case(
            "La Poste SIRET exception 35600000049837",
            a,
            |b| b.organisation.siret = Some("35600000049837".into()),
            mel2021,
            FILED,
            Eligible,
            &[("MEL-1", Pass)],
        ),
        case(
            "La Poste head office 35600000000048 (ordinary Luhn key, valid)",
            a,
            |b| {
                b.organisation.siret = Some("35600000000048".into());
                b.organisation.rna = None;
            },
            mel2021,
            FILED,
            Eligible,
            &[("MEL-1", Pass)],
        ),
        case(
            "La Poste establishment with a digit sum not a multiple of 5",
            a,
            |b| {
                b.organisation.siret = Some("35600000049838".into());
                b.organisation.rna = None;
            },
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-1", Fail)],
        ),
        case(
            "created in the future",
            a,
            |b| b.organisation.created_on = Some(d("2026-06-16")),
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-1", Fail)],
        ),
        case(
            "created on the filing date",
            a,
            |b| b.organisation.created_on = Some(d(FILED)),
            mel2021,
            FILED,
            Eligible,
            &[("MEL-1", Pass), ("MEL-5", Pass)],
        ),
        // --- MEL-2: territory.
        case(
            "activity in Arras 62041 only",
            a,
            |b| b.project.activity_communes = vec!["62041".into()],
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-2", Fail)],
        ),
        case(
            "activity in Lomme 59355 (counts as Lille)",
            a,
            |b| b.project.activity_communes = vec!["59355".into()],
            mel2021,
            FILED,
            Eligible,
            &[("MEL-2", Pass)],
        ),
        case(
            "activity in Hellemmes-Lille 59298 (counts as Lille)",
            a,
            |b| b.project.activity_communes = vec!["59298".into()],
            mel2021,
            FILED,
            Eligible,
            &[("MEL-2", Pass)],
        ),
        case(
            "activity in Arras and Roubaix",
            a,
            |b| b.project.activity_communes = vec!["62041".into(), "59512".into()],
            mel2021,
            FILED,
            Eligible,
            &[("MEL-2", Pass)],
        ),
        case(
            "no activity commune",
            a,
            |b| b.project.activity_communes.clear(),
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-2", Fail)],
        ),
        case(
            "call restricted to Lille, activity in Lomme",
            a,
            |b| b.project.activity_communes = vec!["59355".into()],
            |c| c.territory = vec!["59350".into()],
            FILED,
            Eligible,
            &[("MEL-2", Pass)],
        ),
        case(
            "call restricted to Lille, activity in Roubaix",
            a,
            none,
            |c| c.territory = vec!["59350".into()],
            FILED,
            Ineligible,
            &[("MEL-2", Fail)],
        ),
        // --- MEL-3: amount.
        case(
            "20 000 € exactly under mel-2021",
            a,
            |b| b.project.requested_cents = 2_000_000,
            mel2021,
            FILED,
            Eligible,
            &[("MEL-3", Pass)],
        ),
        case(
            "20 000,01 € under mel-2021",
            a,
            |b| b.project.requested_cents = 2_000_001,
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-3", Fail)],
        ),
        case(
            "requested 0",
            a,
            |b| b.project.requested_cents = 0,
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-3", Fail)],
        ),
        case(
            "requested negative",
            a,
            |b| b.project.requested_cents = -100,
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-3", Fail)],
        ),
        case(
            "requested 1 cent",
            a,
            |b| b.project.requested_cents = 1,
            mel2021,
            FILED,
            Eligible,
            &[("MEL-3", Pass)],
        ),
        case(
            "call lowers its cap to 15 000 €, 20 000 € requested",
            a,
            none,
            |c| c.max_award_cents = 1_500_000,
            FILED,
            Ineligible,
            &[("MEL-3", Fail)],
        ),
        case(
            "mel-2021 has no budget share: 20 000 € of a 25 000 € budget",
            a,
            |b| b.project.total_budget_cents = 2_500_000,
            mel2021,
            FILED,
            Eligible,
            &[("MEL-4", NotApplicable)],
        ),
        // --- MEL-4 and the mel-2024 cap.
        case(
            "mel-2024: 30 % of the budget exactly",
            a,
            |b| b.project.requested_cents = 2_700_000,
            mel2024,
            FILED,
            Eligible,
            &[("MEL-3", Pass), ("MEL-4", Pass)],
        ),
        case(
            "mel-2024: one cent over 30 % of the budget",
            a,
            |b| b.project.requested_cents = 2_700_001,
            mel2024,
            FILED,
            Ineligible,
            &[("MEL-3", Pass), ("MEL-4", Fail)],
        ),
        case(
            "mel-2024: 30 % of a budget not divisible by 10 (rounded down)",
            a,
            |b| {
                b.project.total_budget_cents = 3_333_333; // 30 % = 999 999,9 cents
                b.project.requested_cents = 1_000_000;
            },
            mel2024,
            FILED,
            Ineligible,
            &[("MEL-4", Fail)],
        ),
        case(
            "mel-2024: 30 000 € cap exactly, budget 100 000 €",
            a,
            |b| {
                b.project.total_budget_cents = 10_000_000;
                b.project.requested_cents = 3_000_000;
            },
            mel2024,
            FILED,
            Eligible,
            &[("MEL-3", Pass), ("MEL-4", Pass)],
        ),
        case(
            "mel-2024: 30 000,01 € over the cap",
            a,
            |b| {
                b.project.total_budget_cents = 20_000_000;
                b.project.requested_cents = 3_000_001;
            },
            mel2024,
            FILED,
            Ineligible,
            &[("MEL-3", Fail), ("MEL-4", Pass)],
        ),
        case(
            "mel-2024: zero budget",
            a,
            |b| b.project.total_budget_cents = 0,
            mel2024,
            FILED,
            Ineligible,
            &[("MEL-4", Fail)],
        ),
        case(
            "mel-2024: negative budget",
            a,
            |b| b.project.total_budget_cents = -1,
            mel2024,
            FILED,
            Ineligible,
            &[("MEL-4", Fail)],
        ),
        case(
            "mel-2024 call without a budget share",
            a,
            |b| b.project.total_budget_cents = 0,
            |c| {
                mel2024(c);
                c.max_budget_share_pct = None;
            },
            FILED,
            Eligible,
            &[("MEL-4", NotApplicable)],
        ),
        case(
            "huge amounts do not overflow the share check",
            a,
            |b| {
                b.project.total_budget_cents = i64::MAX;
                b.project.requested_cents = i64::MAX;
            },
            |c| {
                mel2024(c);
                c.max_award_cents = i64::MAX;
            },
            FILED,
            Ineligible,
            &[("MEL-3", Pass), ("MEL-4", Fail)],
        ),
        // --- MEL-5: stage and age.
        case(
            "3 years to the day, start-up, mel-2021",
            a,
            |b| b.organisation.created_on = Some(d("2023-06-15")),
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-5", Fail)],
        ),
        case(
            "3 years to the day, development, mel-2021",
            a,
            |b| {
                b.organisation.created_on = Some(d("2023-06-15"));
                b.project.stage = Stage::Development;
            },
            mel2021,
            FILED,
            Eligible,
            &[("MEL-5", Pass), ("ESUS-1", NotApplicable)],
        ),
        case(
            "3 years to the day, start-up, mel-2024",
            a,
            |b| b.organisation.created_on = Some(d("2023-06-15")),
            mel2024,
            FILED,
            Eligible,
            &[("MEL-5", Pass)],
        ),
        case(
            "one day under 3 years, start-up, mel-2021",
            a,
            |b| b.organisation.created_on = Some(d("2023-06-16")),
            mel2021,
            FILED,
            Eligible,
            &[("MEL-5", Pass)],
        ),
        case(
            "one day under 3 years, development, mel-2021",
            a,
            |b| {
                b.organisation.created_on = Some(d("2023-06-16"));
                b.project.stage = Stage::Development;
            },
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-5", Fail)],
        ),
        case(
            "5 years to the day, start-up, mel-2024",
            a,
            |b| b.organisation.created_on = Some(d("2021-06-15")),
            mel2024,
            FILED,
            Ineligible,
            &[("MEL-5", Fail)],
        ),
        case(
            "one day under 5 years, development, mel-2024",
            a,
            |b| {
                b.organisation.created_on = Some(d("2021-06-16"));
                b.project.stage = Stage::Development;
            },
            mel2024,
            FILED,
            Ineligible,
            &[("MEL-5", Fail)],
        ),
        case(
            "created 29 Feb 2024, filed 28 Feb 2027: still under 3 years",
            a,
            |b| b.organisation.created_on = Some(d("2024-02-29")),
            mel2021,
            "2027-02-28",
            Eligible,
            &[("MEL-5", Pass)],
        ),
        case(
            "created 29 Feb 2024, filed 1 Mar 2027: 3 years, start-up no longer fits",
            a,
            |b| b.organisation.created_on = Some(d("2024-02-29")),
            mel2021,
            "2027-03-01",
            Ineligible,
            &[("MEL-5", Fail)],
        ),
        // --- MEL-6: exclusions.
        case(
            "ateliers et chantiers d'insertion (ACI)",
            a,
            |b| b.organisation.insertion_structure = Some(InsertionStructure::Aci),
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-6", Fail)],
        ),
        case(
            "insolvency proceedings",
            a,
            |b| b.organisation.in_insolvency_proceedings = true,
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-6", Fail)],
        ),
        case(
            "ACI under insolvency proceedings",
            a,
            |b| {
                b.organisation.insertion_structure = Some(InsertionStructure::Aci);
                b.organisation.in_insolvency_proceedings = true;
            },
            mel2021,
            FILED,
            Ineligible,
            &[("MEL-6", Fail)],
        ),
    ]
}

#[test]
fn table_of_cases() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let ev = run(c);
        if ev.verdict != c.verdict {
            failures.push(format!(
                "{}: verdict {:?}, expected {:?}\n  {:?}",
                c.name,
                ev.verdict,
                c.verdict,
                outcomes(&ev)
            ));
        }
        for (code, expected) in c.expect {
            let got = ev
                .criterion(code)
                .unwrap_or_else(|| panic!("{}: {code} missing", c.name));
            if got.outcome != *expected {
                failures.push(format!(
                    "{}: {code} is {:?}, expected {:?} ({})",
                    c.name, got.outcome, expected, got.detail
                ));
            }
        }
        check_report_shape(c.name, &ev);
        let spec_version = {
            let mut spec = CallSpec::new("mel-2021");
            (c.call)(&mut spec);
            spec.rule_set.version
        };
        assert_eq!(ev.rules_version, spec_version, "{}", c.name);
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Invariants of every report: the 17 criteria in order, French texts present, the verdict
/// following from the outcomes, no staff reading yet, « Sans objet » exactly on
/// `not_applicable`.
fn check_report_shape(name: &str, ev: &Evaluation) {
    let codes: Vec<&str> = ev.criteria.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ALL_CODES, "{name}");
    for c in &ev.criteria {
        assert!(!c.label.trim().is_empty(), "{name}: {} label", c.code);
        assert!(!c.legal_basis.trim().is_empty(), "{name}: {} basis", c.code);
        assert!(!c.detail.trim().is_empty(), "{name}: {} detail", c.code);
        assert!(c.staff_assessment.is_none(), "{name}: {}", c.code);
        assert_eq!(
            c.detail.starts_with("Sans objet"),
            c.outcome == Outcome::NotApplicable,
            "{name}: {}",
            c.code
        );
    }
    assert_eq!(
        ev.verdict,
        Verdict::from_outcomes(ev.criteria.iter().map(|c| c.outcome)),
        "{name}"
    );
}

// ---------------------------------------------------------------------------------------------
// Specific checks beyond the table.

fn eval(body: &ApplicationBody, version: &str, filed: &str) -> Evaluation {
    let spec = CallSpec::new(version);
    evaluate(body, &spec.rules(), d(filed))
}

fn review_codes(ev: &Evaluation) -> Vec<&str> {
    ev.criteria
        .iter()
        .filter(|c| c.outcome == Outcome::Review)
        .map(|c| c.code.as_str())
        .collect()
}

#[test]
fn association_roubaix_passes_every_criterion() {
    let ev = eval(&association_roubaix(), "mel-2021", FILED);
    assert_eq!(ev.verdict, Verdict::Eligible);
    assert_eq!(ev.rules_version, "mel-2021");
    // Every criterion passes, or does not concern an association.
    assert!(
        ev.criteria
            .iter()
            .all(|c| matches!(c.outcome, Outcome::Pass | Outcome::NotApplicable))
    );
}

#[test]
fn sas_reviews_are_exactly_governance_reserves_and_social_utility() {
    let ev = eval(&sas_lille(), "mel-2021", FILED);
    assert_eq!(ev.verdict, Verdict::NeedsReview);
    assert_eq!(review_codes(&ev), ["ESS-2", "ESS-4", "ESS-6"]);
    assert!(
        ev.criterion("ESS-6")
            .unwrap()
            .detail
            .contains("personnes en situation de fragilité")
    );
}

#[test]
fn legal_bases_follow_design() {
    let ev = eval(&association_roubaix(), "mel-2021", FILED);
    let basis = |code: &str| ev.criterion(code).unwrap().legal_basis.clone();
    assert_eq!(basis("ESS-1"), "Loi n° 2014-856, art. 1, I, 1°");
    assert_eq!(basis("ESS-3"), "Loi n° 2014-856, art. 1, I, 3° a");
    assert_eq!(basis("ESS-6"), "Loi n° 2014-856, art. 1, II, 2° b; art. 2");
    assert_eq!(basis("ESS-9"), "Loi n° 2014-856, art. 1, III");
    assert!(basis("ESUS-1").contains("L. 3332-17-1"));
    assert!(basis("ESUS-2").contains("L. 3332-17-1, I, 3°"));
    for code in ["MEL-1", "MEL-2", "MEL-3", "MEL-4", "MEL-5", "MEL-6"] {
        assert!(
            basis(code).starts_with("Règlement de l'appel à projets"),
            "{code}"
        );
    }
}

#[test]
fn call_rules_are_cited_with_the_calls_own_version() {
    for version in ["mel-2021", "mel-2024"] {
        let ev = eval(&association_roubaix(), version, FILED);
        for code in [
            "ESUS-1", "MEL-1", "MEL-2", "MEL-3", "MEL-4", "MEL-5", "MEL-6",
        ] {
            let basis = &ev.criterion(code).unwrap().legal_basis;
            assert!(
                basis.starts_with(&format!("Règlement de l'appel à projets ({version})")),
                "{version} {code}: {basis}"
            );
        }
        let other = if version == "mel-2021" {
            "mel-2024"
        } else {
            "mel-2021"
        };
        assert!(
            ev.criteria.iter().all(|c| !c.legal_basis.contains(other)),
            "{version}"
        );
    }
}

#[test]
fn not_applicable_criteria_say_why() {
    let ev = eval(&association_roubaix(), "mel-2021", FILED);
    for code in [
        "ESS-6", "ESS-7", "ESS-8", "ESS-9", "ESUS-1", "ESUS-2", "MEL-4",
    ] {
        let c = ev.criterion(code).unwrap();
        assert_eq!(c.outcome, Outcome::NotApplicable, "{code}");
        assert!(
            c.detail.starts_with("Sans objet : "),
            "{code}: {}",
            c.detail
        );
    }
    let ev = eval(&association_roubaix(), "mel-2024", FILED);
    assert!(
        !ev.criterion("MEL-4")
            .unwrap()
            .detail
            .starts_with("Sans objet")
    );
}

#[test]
fn details_tell_what_to_do() {
    let mut b = sas_lille();
    b.project.requested_cents = 2_000_001;
    b.project.activity_communes = vec!["62041".into(), "62193".into()];
    b.organisation.siret = Some("73282932000079".into());
    b.organisation.esus = Esus::Pending;
    b.project.stage = Stage::Startup;
    b.organisation.created_on = Some(d("2019-01-01"));
    let ev = eval(&b, "mel-2021", FILED);
    // Amounts are written with no-break spaces; compare with plain ones.
    let detail = |code: &str| ev.criterion(code).unwrap().detail.replace('\u{a0}', " ");
    assert!(
        detail("MEL-3").contains("20 000,00 €"),
        "{}",
        detail("MEL-3")
    );
    assert!(
        detail("MEL-3").contains("20 000,01 €"),
        "{}",
        detail("MEL-3")
    );
    assert!(
        detail("MEL-2").contains("62041, 62193"),
        "{}",
        detail("MEL-2")
    );
    assert!(
        detail("MEL-1").contains("73282932000079"),
        "{}",
        detail("MEL-1")
    );
    assert!(detail("MEL-1").contains("vérifiez"), "{}", detail("MEL-1"));
    assert!(
        detail("MEL-5").contains("« développement »"),
        "{}",
        detail("MEL-5")
    );
    assert!(detail("ESS-2").contains("Le service instructeur vérifiera"));

    let mut b = sas_lille();
    b.organisation.esus = Esus::Pending;
    let ev = eval(&b, "mel-2021", FILED);
    assert!(ev.criterion("ESUS-1").unwrap().detail.contains("solde"));

    let mut b = association_roubaix();
    b.organisation.created_on = Some(d("2023-06-15"));
    let ev = eval(&b, "mel-2021", FILED);
    let mel5 = &ev.criterion("MEL-5").unwrap().detail;
    assert!(
        mel5.contains("3 ans") && mel5.contains("« développement »"),
        "{mel5}"
    );

    let mut b = association_roubaix();
    b.project.requested_cents = 2_700_001;
    let ev = eval(&b, "mel-2024", FILED);
    let mel4 = &ev.criterion("MEL-4").unwrap().detail.replace('\u{a0}', " ");
    assert!(
        mel4.contains("30 %") && mel4.contains("27 000,00 €"),
        "{mel4}"
    );

    let mut b = sas_lille();
    b.ess.top5_avg_pay_smic_ratio = Some(7.01);
    let ev = eval(&b, "mel-2021", FILED);
    let esus2 = &ev.criterion("ESUS-2").unwrap().detail;
    assert!(esus2.contains("7,01"), "{esus2}");
}

#[test]
fn evaluation_serialises_as_in_design() {
    let ev = eval(&sas_lille(), "mel-2021", FILED);
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json["verdict"], "needs_review");
    assert_eq!(json["rules_version"], "mel-2021");
    assert_eq!(json["criteria"][0]["code"], "ESS-1");
    assert_eq!(json["criteria"][0]["outcome"], "pass");
    assert_eq!(json["criteria"][1]["outcome"], "review");
    assert!(json["criteria"][0].get("staff_assessment").is_none());
    let back: Evaluation = serde_json::from_value(json).unwrap();
    assert_eq!(back, ev);

    for (v, s) in [
        (Verdict::Eligible, "eligible"),
        (Verdict::Ineligible, "ineligible"),
        (Verdict::NeedsReview, "needs_review"),
    ] {
        assert_eq!(serde_json::to_value(v).unwrap(), s);
    }
    let mut b = sas_lille();
    b.organisation.esus = Esus::None;
    assert_eq!(
        serde_json::to_value(eval(&b, "mel-2021", FILED).verdict).unwrap(),
        "ineligible"
    );
}

#[test]
fn verdict_from_outcomes() {
    let cases: &[(&[Outcome], Verdict)] = &[
        (&[], Verdict::Eligible),
        (&[Pass, Pass], Verdict::Eligible),
        (&[Pass, Review], Verdict::NeedsReview),
        (&[Review, Fail, Pass], Verdict::Ineligible),
        (&[Fail], Verdict::Ineligible),
    ];
    for (outcomes, expected) in cases {
        assert_eq!(
            Verdict::from_outcomes(outcomes.iter().copied()),
            *expected,
            "{outcomes:?}"
        );
    }
}

#[test]
fn call_rules_from_rule_set() {
    let territory = mel_insee_codes();
    let rs = RuleSet::find("mel-2024").unwrap();
    let call = CallRules::from_rule_set(rs, &territory);
    assert_eq!(call.max_award_cents, 3_000_000);
    assert_eq!(call.max_budget_share_pct, Some(30));
    assert_eq!(call.territory.len(), 95);
}

#[test]
fn evaluation_is_deterministic_and_pure() {
    let b = sas_lille();
    assert_eq!(eval(&b, "mel-2021", FILED), eval(&b, "mel-2021", FILED));
}

// ---------------------------------------------------------------------------------------------
// missing_documents.

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn missing_documents_table() {
    let cases: &[(&[&str], &[&str], &[&str])] = &[
        (
            &["statuts", "budget_previsionnel", "rib"],
            &[],
            &["statuts", "budget_previsionnel", "rib"],
        ),
        (
            &["statuts", "budget_previsionnel", "rib"],
            &["statuts", "budget_previsionnel"],
            &["rib"],
        ),
        (
            &["statuts", "budget_previsionnel", "rib"],
            &["rib", "statuts"],
            &["budget_previsionnel"],
        ),
        (
            &["statuts", "budget_previsionnel", "rib"],
            &["rib", "budget_previsionnel", "statuts"],
            &[],
        ),
        (
            &["statuts", "rib"],
            &["statuts", "statuts", "kbis"],
            &["rib"],
        ),
        (&["rib", "statuts", "rib"], &[], &["rib", "statuts"]),
        (&[], &["statuts"], &[]),
        (&["statuts"], &["Statuts"], &["statuts"]),
    ];
    for (required, attached, expected) in cases {
        assert_eq!(
            missing_documents(&strings(required), &strings(attached)),
            strings(expected),
            "{required:?} / {attached:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Staff assessments.

fn at() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 20, 9, 30, 0).unwrap()
}

fn assessments(items: &[(&str, AssessedOutcome, &str)]) -> BTreeMap<String, Assessment> {
    items
        .iter()
        .map(|(code, outcome, note)| {
            (
                (*code).to_owned(),
                Assessment {
                    outcome: *outcome,
                    note: (*note).to_owned(),
                },
            )
        })
        .collect()
}

#[test]
fn assessing_every_review_criterion_makes_it_eligible() {
    let ev = eval(&sas_lille(), "mel-2021", FILED);
    assert_eq!(unassessed_review_codes(&ev), ["ESS-2", "ESS-4", "ESS-6"]);

    let a = assessments(&[
        (
            "ESS-2",
            AssessedOutcome::Pass,
            "  Art. 12 des statuts : une personne une voix. ",
        ),
        (
            "ESS-4",
            AssessedOutcome::Pass,
            "Art. 30 : réserves impartageables.",
        ),
        (
            "ESS-6",
            AssessedOutcome::Pass,
            "Objet social : insertion de publics fragiles.",
        ),
    ]);
    let out = apply_assessments(&ev, &a, "agent-42", at()).unwrap();
    assert_eq!(out.verdict, Verdict::Eligible);
    assert!(unassessed_review_codes(&out).is_empty());

    let ess2 = out.criterion("ESS-2").unwrap();
    assert_eq!(ess2.outcome, Outcome::Review, "automatic outcome kept");
    assert_eq!(ess2.effective_outcome(), Outcome::Pass);
    let sa = ess2.staff_assessment.as_ref().unwrap();
    assert_eq!(sa.outcome, AssessedOutcome::Pass);
    assert_eq!(sa.note, "Art. 12 des statuts : une personne une voix.");
    assert_eq!(sa.assessed_by, "agent-42");
    assert_eq!(sa.assessed_at, at());
    assert!(out.criterion("ESS-1").unwrap().staff_assessment.is_none());

    // The input is untouched.
    assert_eq!(ev.verdict, Verdict::NeedsReview);
    assert!(ev.criteria.iter().all(|c| c.staff_assessment.is_none()));

    // The stored report shows both.
    let json = serde_json::to_value(&out).unwrap();
    assert_eq!(json["criteria"][1]["outcome"], "review");
    assert_eq!(json["criteria"][1]["staff_assessment"]["outcome"], "pass");
    assert_eq!(
        json["criteria"][1]["staff_assessment"]["assessed_by"],
        "agent-42"
    );
    assert_eq!(
        json["criteria"][1]["staff_assessment"]["assessed_at"],
        "2026-06-20T09:30:00Z"
    );
    let back: Evaluation = serde_json::from_value(json).unwrap();
    assert_eq!(back, out);
}

#[test]
fn partial_assessment_keeps_needs_review() {
    let ev = eval(&sas_lille(), "mel-2021", FILED);
    let a = assessments(&[("ESS-2", AssessedOutcome::Pass, "Statuts lus.")]);
    let out = apply_assessments(&ev, &a, "agent", at()).unwrap();
    assert_eq!(out.verdict, Verdict::NeedsReview);
    assert_eq!(unassessed_review_codes(&out), ["ESS-4", "ESS-6"]);

    // A second round adds to the first.
    let a = assessments(&[
        ("ESS-4", AssessedOutcome::Pass, "Réserves : art. 30."),
        ("ESS-6", AssessedOutcome::Pass, "Utilité sociale établie."),
    ]);
    let out2 = apply_assessments(&out, &a, "agent-2", at()).unwrap();
    assert_eq!(out2.verdict, Verdict::Eligible);
    assert_eq!(
        out2.criterion("ESS-2")
            .unwrap()
            .staff_assessment
            .as_ref()
            .unwrap()
            .assessed_by,
        "agent"
    );
}

#[test]
fn failing_assessment_makes_it_ineligible() {
    let ev = eval(&sas_lille(), "mel-2021", FILED);
    let a = assessments(&[
        ("ESS-2", AssessedOutcome::Pass, "Statuts lus."),
        ("ESS-4", AssessedOutcome::Pass, "Réserves : art. 30."),
        (
            "ESS-6",
            AssessedOutcome::Fail,
            "L'objet social est purement commercial.",
        ),
    ]);
    let out = apply_assessments(&ev, &a, "agent", at()).unwrap();
    assert_eq!(out.verdict, Verdict::Ineligible);
    assert_eq!(unassessed_review_codes(&out), ["ESS-6"]);
    assert_eq!(
        out.criterion("ESS-6").unwrap().effective_outcome(),
        Outcome::Fail
    );

    // A later passing reading replaces it.
    let a = assessments(&[("ESS-6", AssessedOutcome::Pass, "Statuts modifiés le 18/06.")]);
    let out = apply_assessments(&out, &a, "agent", at()).unwrap();
    assert_eq!(out.verdict, Verdict::Eligible);
}

#[test]
fn assessment_errors() {
    let ev = eval(&sas_lille(), "mel-2021", FILED);
    let cases: &[(&str, &str, AssessmentError)] = &[
        (
            "ESS-42",
            "note",
            AssessmentError::UnknownCriterion {
                code: "ESS-42".into(),
            },
        ),
        (
            "ess-2",
            "note",
            AssessmentError::UnknownCriterion {
                code: "ess-2".into(),
            },
        ),
        (
            "ESS-1",
            "note",
            AssessmentError::NotUnderReview {
                code: "ESS-1".into(),
            },
        ),
        (
            "MEL-3",
            "note",
            AssessmentError::NotUnderReview {
                code: "MEL-3".into(),
            },
        ),
        (
            "ESS-2",
            "",
            AssessmentError::MissingNote {
                code: "ESS-2".into(),
            },
        ),
        (
            "ESS-2",
            " \n\t ",
            AssessmentError::MissingNote {
                code: "ESS-2".into(),
            },
        ),
    ];
    for (code, note, expected) in cases {
        let a = assessments(&[(code, AssessedOutcome::Pass, note)]);
        let err = apply_assessments(&ev, &a, "agent", at()).unwrap_err();
        assert_eq!(&err, expected, "{code} / {note:?}");
        assert_eq!(err.code(), *code);
        assert_eq!(err.field(), format!("assessments.{code}"));
        let msg = err.to_string();
        assert!(msg.contains(code), "{msg}");
        assert!(
            msg.starts_with("Le critère") || msg.starts_with("L'appréciation"),
            "{msg}"
        );
    }
}

#[test]
fn validate_assessments_lists_every_problem() {
    let ev = eval(&sas_lille(), "mel-2021", FILED);
    let a = assessments(&[
        ("ESS-1", AssessedOutcome::Pass, "x"),
        ("ESS-2", AssessedOutcome::Pass, "Statuts lus."),
        ("ESS-4", AssessedOutcome::Fail, ""),
        ("XYZ", AssessedOutcome::Fail, "x"),
    ]);
    let errors = validate_assessments(&ev, &a);
    let fields: Vec<String> = errors.iter().map(AssessmentError::field).collect();
    assert_eq!(
        fields,
        ["assessments.ESS-1", "assessments.ESS-4", "assessments.XYZ"]
    );
    // apply stops at the first, in code order, and changes nothing.
    assert_eq!(
        apply_assessments(&ev, &a, "agent", at()).unwrap_err(),
        AssessmentError::NotUnderReview {
            code: "ESS-1".into()
        }
    );
    assert!(validate_assessments(&ev, &BTreeMap::new()).is_empty());
}

#[test]
fn no_assessment_on_an_eligible_report() {
    let ev = eval(&association_roubaix(), "mel-2021", FILED);
    assert!(unassessed_review_codes(&ev).is_empty());
    let out = apply_assessments(&ev, &BTreeMap::new(), "agent", at()).unwrap();
    assert_eq!(out, ev);
}

#[test]
fn assessment_deserialises_from_request_json() {
    let a: BTreeMap<String, Assessment> = serde_json::from_str(
        r#"{"ESS-2": {"outcome": "pass", "note": "Art. 12"}, "ESS-6": {"outcome": "fail", "note": "Non"}}"#,
    )
    .unwrap();
    assert_eq!(a["ESS-2"].outcome, AssessedOutcome::Pass);
    assert_eq!(a["ESS-6"].outcome, AssessedOutcome::Fail);
    assert!(serde_json::from_str::<Assessment>(r#"{"outcome": "review", "note": "x"}"#).is_err());
}

#[test]
fn a_partial_precheck_judges_what_the_organisation_decides() {
    let spec = CallSpec::new("mel-2021");
    let rules = spec.rules();
    // An association of seven years: MEL-5 needs the stage, ESS-1 the ESS answers.
    let mut b = association_roubaix();
    b.organisation.created_on = Some(d("2019-01-10"));
    let ev = evaluate_partial(&b.organisation, None, None, &rules, d(FILED));
    check_report_shape_partial(&ev);
    let outcome = |ev: &Evaluation, code: &str| ev.criterion(code).unwrap().outcome;
    assert_eq!(outcome(&ev, "ESS-5"), Outcome::Pass);
    assert_eq!(outcome(&ev, "MEL-1"), Outcome::Pass);
    assert_eq!(outcome(&ev, "ESS-9"), Outcome::NotApplicable);
    for code in ["ESS-1", "MEL-2", "MEL-3", "MEL-5"] {
        let c = ev.criterion(code).unwrap();
        assert_eq!(c.outcome, Outcome::Review, "{code}");
        assert_eq!(c.detail, NOT_YET_ANSWERED, "{code}");
    }
    assert_eq!(ev.verdict, Verdict::NeedsReview);
    // A sole proprietorship fails ESS-5 from the first step on.
    b.organisation.legal_form = LegalForm::SoleProprietorship;
    let ev = evaluate_partial(&b.organisation, None, None, &rules, d(FILED));
    assert_eq!(outcome(&ev, "ESS-5"), Outcome::Fail);
    assert_eq!(ev.verdict, Verdict::Ineligible);
    // With the project: MEL-5 is judged (a startup stage for a seven-year-old structure).
    let mut b = association_roubaix();
    b.organisation.created_on = Some(d("2019-01-10"));
    let ev = evaluate_partial(&b.organisation, Some(&b.project), None, &rules, d(FILED));
    assert_eq!(outcome(&ev, "MEL-5"), Outcome::Fail);
    assert_eq!(outcome(&ev, "ESS-1"), Outcome::Review);
    // All sections given: the same report as the full evaluation.
    let full = evaluate(&b, &rules, d(FILED));
    let partial = evaluate_partial(
        &b.organisation,
        Some(&b.project),
        Some(&b.ess),
        &rules,
        d(FILED),
    );
    assert_eq!(full, partial);
}

fn check_report_shape_partial(ev: &Evaluation) {
    let codes: Vec<&str> = ev.criteria.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(codes, ALL_CODES);
}
