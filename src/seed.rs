//! `essor seed --demo`: a published call of the MEL with N applications in every state, with
//! French organisations, documents, reviews and decisions — something to look at for a new
//! user. Two paths write it:
//!
//! - the demo (`seed_demo`, the default) goes through the services, with a set clock walked
//!   through the eight weeks before now (`demo.rs`): its rows, audit trail and mails are those
//!   users would have left;
//! - the bulk load (`seed_bulk`, `--bulk`), for the benchmarks only: rows inserted by batches,
//!   consistent (a report on every submitted row, the audit events of each path, nothing
//!   dated in the future) but written around the services, so 100 000 applications take
//!   seconds, not hours.

mod bulk;
mod demo;

use chrono::{Duration, NaiveDate};
use rand::Rng;
use rand::rngs::StdRng;
use uuid::Uuid;

use crate::config::{Environment, Settings};
use crate::db::Db;
use crate::domain::account::Role;
use crate::domain::application::{
    ApplicationBody, EssCommitments, Esus, LegalForm, Organisation, Project, SocialUtility, Stage,
};
use crate::domain::application_state::ApplicationState;

pub use bulk::seed_bulk;

/// The demo accounts' password when none is given: published in docs/running.md, so refused in
/// production (`demo_password`).
pub const DEMO_PASSWORD: &str = "demo-essor-2026";

/// The environment variable that gives the demo accounts' password (`--password-stdin` is the
/// other way).
pub const PASSWORD_VAR: &str = "ESSOR_DEMO_PASSWORD";

/// The demo accounts' addresses are under this reserved domain (RFC 2606): no mail sent to
/// them reaches anyone.
pub const DEMO_DOMAIN: &str = "example.org";

pub struct SeedReport {
    pub call_id: crate::domain::ids::CallId,
    pub applications: usize,
    pub reviews: usize,
    /// Every account created: role, address, name.
    pub accounts: Vec<(String, String, String)>,
}

/// What `essor seed --demo` is asked for.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    pub applications: usize,
    /// The accounts' password, when given (`--password-stdin` or `ESSOR_DEMO_PASSWORD`).
    pub password: Option<String>,
}

/// The password of the demo accounts: the one given, or the published `DEMO_PASSWORD` —
/// except in production, where accounts (an admin's among them) with a password anyone can
/// read in docs/running.md are refused.
pub fn demo_password(env: Environment, given: Option<String>) -> anyhow::Result<String> {
    let given = given.filter(|p| !p.is_empty());
    match (env, given) {
        (Environment::Production, None) => anyhow::bail!(
            "refusing to create demo accounts with the published password in production: give \
             one with --password-stdin or {PASSWORD_VAR}"
        ),
        (Environment::Production, Some(p)) if p == DEMO_PASSWORD => {
            anyhow::bail!("refusing the published demo password in production: choose another one")
        }
        (_, Some(p)) => Ok(p),
        (_, None) => Ok(DEMO_PASSWORD.to_owned()),
    }
}

/// Seeds the demo through the services (see `demo.rs`); the history ends a minute before now.
pub async fn seed_demo(
    db: Db,
    settings: Settings,
    options: DemoOptions,
) -> anyhow::Result<SeedReport> {
    let password = demo_password(settings.env, options.password)?;
    let end = chrono::Utc::now() - Duration::minutes(1);
    demo::run(db, settings, options.applications, password, end).await
}

/// A demo account to create.
struct Person {
    role: Role,
    name: String,
    email: String,
}

/// The demo's accounts — one staff, one admin, 12 reviewers, `applicants` applicants — named
/// so that a name and its address match (`Porteur n° 5` is `porteur5.…@example.org`); a
/// suffix per run lets the seed run twice on one database.
fn demo_names(applicants: usize) -> Vec<Person> {
    let run = Uuid::now_v7().simple().to_string()[20..].to_owned();
    let email = |local: &str| format!("{local}.demo-{run}@{DEMO_DOMAIN}");
    let mut people = vec![
        Person {
            role: Role::Staff,
            name: "Camille Agent".into(),
            email: email("camille.agent"),
        },
        Person {
            role: Role::Admin,
            name: "Dominique Admin".into(),
            email: email("dominique.admin"),
        },
    ];
    for k in 1..=12 {
        people.push(Person {
            role: Role::Reviewer,
            name: format!("Expert·e n° {k}"),
            email: email(&format!("expert{k}")),
        });
    }
    for k in 1..=applicants {
        people.push(Person {
            role: Role::Applicant,
            name: format!("Porteur n° {k}"),
            email: email(&format!("porteur{k}")),
        });
    }
    people
}

const NAMES: &[&str] = &[
    "Les Ateliers du Sart",
    "Recyclerie de Fives",
    "Épicerie solidaire du Faubourg",
    "Vélo-Cité Roubaix",
    "La Ressourcerie tourquennoise",
    "Jardins partagés de Wazemmes",
    "Coop'Habitat Lille",
    "Tiers-lieu La Filature",
    "Café associatif Le Zinc",
    "Repair Café de Villeneuve",
    "Les Toits de Moulins",
    "Atelier couture Solidaire",
    "Cantine bio de Lomme",
    "Mobilité douce Métropole",
    "Ludothèque de Marcq",
    "Boutique zéro déchet Croix",
];
const PROJECTS: &[&str] = &[
    "Recyclerie de quartier",
    "Épicerie sociale itinérante",
    "Atelier vélo participatif",
    "Cuisine partagée",
    "Chantier de rénovation solidaire",
    "Conciergerie de quartier",
    "Friperie et atelier de retouche",
    "Maraîchage urbain",
    "Tiers-lieu numérique",
    "Réemploi de matériaux du bâtiment",
];
const STREETS: &[&str] = &[
    "rue de Lannoy",
    "boulevard Gambetta",
    "rue Nationale",
    "avenue de la République",
    "rue Pasteur",
];
const LEGAL_FORMS: &[LegalForm] = &[
    LegalForm::Association,
    LegalForm::Association,
    LegalForm::Association,
    LegalForm::Cooperative,
    LegalForm::Foundation,
    LegalForm::CommercialCompany,
    LegalForm::Mutual,
];

/// States with their share of the demo, in per mille.
const MIX: &[(ApplicationState, u32)] = &[
    (ApplicationState::Draft, 150),
    (ApplicationState::Submitted, 150),
    (ApplicationState::ChangesRequested, 50),
    (ApplicationState::Ineligible, 50),
    (ApplicationState::UnderReview, 250),
    (ApplicationState::Accepted, 150),
    (ApplicationState::Rejected, 150),
    (ApplicationState::Withdrawn, 50),
];

fn state_for(i: usize) -> ApplicationState {
    let k = (i * 7919 % 1000) as u32;
    let mut acc = 0;
    for (s, share) in MIX {
        acc += share;
        if k < acc {
            return *s;
        }
    }
    ApplicationState::Draft
}

/// A SIRET with a valid Luhn key, from a 13-digit stem.
fn siret_from(stem: u64) -> String {
    let base = format!("{:013}", stem % 10_000_000_000_000);
    for check in 0..10 {
        let candidate = format!("{base}{check}");
        if crate::domain::identifiers::Siret::parse(&candidate).is_ok() {
            return candidate;
        }
    }
    unreachable!("one of ten check digits satisfies Luhn")
}

fn body(i: usize, rng: &mut StdRng, communes: &[String], today: NaiveDate) -> ApplicationBody {
    let legal_form = LEGAL_FORMS[i % LEGAL_FORMS.len()];
    let commune = communes[rng.random_range(0..communes.len())].clone();
    let age_days = rng.random_range(60..3000);
    let created_on = today - Duration::days(age_days);
    let startup = age_days < 3 * 365;
    let budget: i64 = rng.random_range(20_000..400_000) * 100;
    let requested = (budget / 4).clamp(100_000, 2_000_000);
    let commercial = legal_form == LegalForm::CommercialCompany;
    ApplicationBody {
        organisation: Organisation {
            status: Default::default(),
            name: format!("{} n° {}", NAMES[i % NAMES.len()], i + 1),
            legal_form,
            holder_name: None,
            host_siret: None,
            host_name: None,
            siret: Some(siret_from(7_328_293_200_000 + i as u64 * 13)),
            rna: legal_form
                .is_association()
                .then(|| format!("W59{:07}", i % 10_000_000)),
            created_on: Some(created_on),
            address: format!(
                "{} {}",
                rng.random_range(1..200),
                STREETS[i % STREETS.len()]
            ),
            postal_code: "59000".into(),
            commune_insee: commune.clone(),
            employees: rng.random_range(0..25),
            esus: if commercial {
                Esus::Approved
            } else {
                Esus::None
            },
            insertion_structure: None,
            rcs_ess_mention: commercial,
            in_insolvency_proceedings: false,
        },
        project: Project {
            title: PROJECTS[i % PROJECTS.len()].into(),
            summary: "Projet de l'économie sociale et solidaire au service du quartier : \
                      activité, emplois et lien social."
                .into(),
            stage: if startup {
                Stage::Startup
            } else {
                Stage::Development
            },
            activity_communes: vec![commune],
            total_budget_cents: budget,
            requested_cents: requested,
            starts_on: today + Duration::days(rng.random_range(30..300)),
            jobs_created: rng.random_range(0..6),
        },
        ess: EssCommitments {
            purpose_beyond_profit: true,
            democratic_governance: true,
            governance_description: "Assemblée générale annuelle, une personne une voix.".into(),
            reinvested_profit_pct: Some(100),
            development_fund_pct: commercial.then_some(25),
            retained_earnings_and_reserves_pct: commercial.then_some(60),
            impartible_reserves: true,
            no_capital_amortization: true,
            social_utility: vec![
                SocialUtility::SocialLink,
                SocialUtility::SustainableDevelopment,
            ],
            social_utility_statement: "Créer du lien et réduire les déchets.".into(),
            top5_avg_pay_smic_ratio: commercial.then_some(2.5),
            top_pay_smic_ratio: commercial.then_some(3.0),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_covers_every_state() {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..1000 {
            seen.insert(state_for(i));
        }
        assert_eq!(seen.len(), ApplicationState::ALL.len());
    }

    #[test]
    fn the_published_password_is_refused_in_production_only() {
        let given = |p: &str| Some(p.to_owned());
        for (env, password, expected) in [
            (Environment::Development, None, Some(DEMO_PASSWORD)),
            (Environment::Test, None, Some(DEMO_PASSWORD)),
            (
                Environment::Development,
                given("autre-mot-de-passe"),
                Some("autre-mot-de-passe"),
            ),
            (Environment::Production, None, None),
            (Environment::Production, given(""), None),
            (Environment::Production, given(DEMO_PASSWORD), None),
            (
                Environment::Production,
                given("un-vrai-secret-2026"),
                Some("un-vrai-secret-2026"),
            ),
        ] {
            let got = demo_password(env, password.clone()).ok();
            assert_eq!(got.as_deref(), expected, "{env:?} {password:?}");
        }
    }

    #[test]
    fn names_and_addresses_match() {
        for p in demo_names(3) {
            let local = p.email.split('@').next().unwrap();
            let slug = p
                .name
                .to_lowercase()
                .replace("·e", "")
                .replace(" n° ", "")
                .replace(' ', ".");
            assert!(
                local.starts_with(&format!("{slug}.demo-")),
                "{} / {}",
                p.name,
                p.email
            );
            assert!(p.email.ends_with("@example.org"));
        }
    }

    #[test]
    fn generated_sirets_are_valid() {
        for stem in [0, 1, 7_328_293_200_000, 9_999_999_999_999] {
            assert!(crate::domain::identifiers::Siret::parse(&siret_from(stem)).is_ok());
        }
    }
}
