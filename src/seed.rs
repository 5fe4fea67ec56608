//! `essor seed --demo`: a published call of the MEL with N applications in every state, with
//! French organisations, documents metadata, reviews and decisions — something to look at for
//! a new user, and data for the benchmarks. Rows go in by batches inside a few transactions,
//! so 100 000 applications take seconds, not hours.

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::db::applications::ApplicationRow;
use crate::db::assignments::AssignmentRow;
use crate::db::audit::AuditRow;
use crate::db::calls::CallRow;
use crate::db::reviews::ReviewRow;
use crate::db::schema::{
    applications, assignments, audit_events, calls, reference_counters, reviews, users,
};
use crate::db::users::NewUser;
use crate::db::{Db, DbConnection};
use crate::domain::application::{
    ApplicationBody, EssCommitments, Esus, LegalForm, Organisation, Project, SocialUtility, Stage,
};
use crate::domain::application_state::ApplicationState;
use crate::domain::call::{default_required_documents, default_scoring_grid};
use crate::domain::scoring::{self, Recommendation};
use crate::domain::territory;

pub const DEMO_PASSWORD: &str = "demo-essor-2026";

pub struct SeedReport {
    pub call_id: String,
    pub applications: usize,
    pub reviews: usize,
    pub accounts: Vec<(String, String)>,
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
            name: format!("{} n° {}", NAMES[i % NAMES.len()], i + 1),
            legal_form,
            siret: Some(siret_from(7_328_293_200_000 + i as u64 * 13)),
            rna: legal_form
                .is_association()
                .then(|| format!("W59{:07}", i % 10_000_000)),
            created_on,
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

/// Inserts rows of one table in batches, on whichever backend this is.
macro_rules! insert_batch {
    ($conn:expr, $table:expr, $rows:expr) => {
        for chunk in $rows.chunks(500) {
            match $conn {
                DbConnection::Pg(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
                DbConnection::Sqlite(c) => {
                    diesel::insert_into($table).values(chunk).execute(c)?;
                }
            }
        }
    };
}

pub fn seed_demo(db: &Db, n: usize) -> anyhow::Result<SeedReport> {
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    let conn: &mut DbConnection = &mut conn;
    let now = crate::db::now();
    let today = Utc::now().date_naive();
    let mut rng = StdRng::seed_from_u64(2026);
    let hash = crate::auth::password::hash(DEMO_PASSWORD)?;

    // Accounts: one staff, one admin, 12 reviewers, one applicant per 20 applications.
    let mut accounts = Vec::new();
    let mut user_rows: Vec<(String, String, String, &'static str)> = Vec::new();
    let mut add = |email: String, name: String, role: &'static str| {
        let id = Uuid::now_v7().to_string();
        user_rows.push((id.clone(), email, name, role));
        id
    };
    let run = Uuid::now_v7().simple().to_string()[20..].to_owned();
    let staff_id = add(
        format!("agent.demo.{run}@lillemetropole.fr"),
        "Camille Agent".into(),
        "staff",
    );
    add(
        format!("admin.demo.{run}@lillemetropole.fr"),
        "Dominique Admin".into(),
        "admin",
    );
    let reviewer_ids: Vec<String> = (0..12)
        .map(|k| {
            add(
                format!("expert{k}.demo.{run}@exemple.fr"),
                format!("Expert·e n° {}", k + 1),
                "reviewer",
            )
        })
        .collect();
    let applicant_ids: Vec<String> = (0..n.div_ceil(20).max(1))
        .map(|k| {
            add(
                format!("porteur{k}.demo.{run}@exemple.fr"),
                format!("Porteur n° {}", k + 1),
                "applicant",
            )
        })
        .collect();
    for (_, email, _, role) in user_rows.iter().take(3) {
        accounts.push((role.to_string(), email.clone()));
    }
    accounts.push((
        "applicant".into(),
        user_rows[2 + reviewer_ids.len()].1.clone(),
    ));

    let grid = default_scoring_grid();
    let communes = territory::mel_insee_codes();
    let call = CallRow {
        id: Uuid::now_v7().to_string(),
        title: "Entreprendre autrement — démonstration".into(),
        description: "Appel à projets permanent de la Métropole Européenne de Lille pour les \
                      structures de l'économie sociale et solidaire (données de démonstration)."
            .into(),
        rules_version: "mel-2021".into(),
        opens_at: Some(now - Duration::days(365)),
        closes_at: None,
        budget_cents: (n as i64).max(1) * 2_000_000,
        max_award_cents: 2_000_000,
        max_budget_share_pct: None,
        territory: serde_json::to_string(&communes)?,
        min_reviews: 2,
        scoring_grid: serde_json::to_string(&grid)?,
        required_documents: serde_json::to_string(&default_required_documents())?,
        state: "published".into(),
        version: 2,
        awarded_cents: 0,
        created_by: staff_id.clone(),
        created_at: now - Duration::days(400),
        updated_at: now - Duration::days(365),
        published_at: Some(now - Duration::days(365)),
        closed_at: None,
    };

    let year: i32 = chrono::Datelike::year(&today);
    let mut apps = Vec::with_capacity(n);
    let mut asgs = Vec::new();
    let mut revs = Vec::new();
    let mut events = Vec::new();
    let mut awarded_total = 0i64;
    let first_ref: i32 = crate::db::write_transaction(conn, |c| {
        Ok(reference_counters::table
            .find(year)
            .select(reference_counters::last_value)
            .first::<i32>(c)
            .optional()?
            .unwrap_or(0))
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;

    let rule_set = crate::domain::eligibility::RuleSet::find("mel-2021").expect("mel-2021 exists");
    let rules = crate::domain::eligibility::CallRules::from_rule_set(rule_set, &communes);
    let required: Vec<String> = default_required_documents()
        .into_iter()
        .map(|d| d.key)
        .collect();
    for i in 0..n {
        let st = state_for(i);
        let b = body(i, &mut rng, &communes, today);
        let created = now - Duration::minutes((n - i) as i64 * 3 + 600);
        let submitted = (st != ApplicationState::Draft).then(|| created + Duration::hours(2));
        let id = Uuid::now_v7().to_string();
        let mut row = ApplicationRow {
            id: id.clone(),
            reference: format!("EA-{year}-{:05}", first_ref as usize + i + 1),
            call_id: call.id.clone(),
            applicant_id: applicant_ids[i % applicant_ids.len()].clone(),
            state: st.as_str().into(),
            version: 2,
            body: serde_json::to_string(&b)?,
            organisation_name: b.organisation.name.clone(),
            project_title: b.project.title.clone(),
            requested_cents: b.project.requested_cents,
            eligibility: None,
            eligibility_verdict: None,
            awarded_cents: None,
            decision_motivation: None,
            committee_date: None,
            decision_reference: None,
            created_at: created,
            updated_at: submitted.unwrap_or(created),
            submitted_at: submitted,
            decided_at: None,
        };
        if let Some(at) = submitted {
            // The report as submission would have stored it (the demo attaches no files, so
            // the required documents are listed as missing).
            let ev = crate::domain::eligibility::evaluate(&b, &rules, at.date());
            let verdict = ev.verdict;
            let report = crate::services::applications::EligibilityReport::new(
                ev,
                verdict,
                at.and_utc(),
                required.clone(),
            );
            row.eligibility_verdict = Some(
                serde_json::to_value(verdict)?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            );
            row.eligibility = Some(serde_json::to_string(&report)?);
        }
        event(
            &mut events,
            &id,
            &row.applicant_id,
            "create",
            None,
            Some(ApplicationState::Draft),
            created,
        );
        if let Some(at) = submitted {
            event(
                &mut events,
                &id,
                &row.applicant_id,
                "submit",
                Some(ApplicationState::Draft),
                Some(ApplicationState::Submitted),
                at,
            );
        }
        if matches!(
            st,
            ApplicationState::UnderReview | ApplicationState::Accepted | ApplicationState::Rejected
        ) {
            let started = submitted.unwrap_or(created) + Duration::days(3);
            event(
                &mut events,
                &id,
                &staff_id,
                "start-review",
                Some(ApplicationState::Submitted),
                Some(ApplicationState::UnderReview),
                started,
            );
            let mut hundredths = Vec::new();
            for k in 0..2 {
                let reviewer = &reviewer_ids[(i + k * 5) % reviewer_ids.len()];
                let asg_id = Uuid::now_v7().to_string();
                let done = st != ApplicationState::UnderReview || k == 0;
                asgs.push(AssignmentRow {
                    id: asg_id.clone(),
                    application_id: id.clone(),
                    reviewer_id: reviewer.clone(),
                    status: "accepted".into(),
                    statement: Some("Aucun conflit d'intérêts.".into()),
                    recusal_reason: None,
                    assigned_by: staff_id.clone(),
                    assigned_at: started,
                    responded_at: Some(started + Duration::hours(4)),
                });
                let scores: std::collections::BTreeMap<String, i64> = grid
                    .iter()
                    .map(|c| (c.key.clone(), rng.random_range(1..=5)))
                    .collect();
                let h = scoring::hundredths(scoring::review_score(&grid, &scores));
                if done {
                    hundredths.push(h);
                }
                let rec = match h {
                    70.. => Recommendation::Favorable,
                    45..=69 => Recommendation::Reserved,
                    _ => Recommendation::Unfavorable,
                };
                revs.push(ReviewRow {
                    id: Uuid::now_v7().to_string(),
                    assignment_id: asg_id,
                    application_id: id.clone(),
                    reviewer_id: reviewer.clone(),
                    scores: serde_json::to_string(&scores)?,
                    comment: "Projet cohérent ; points d'attention sur le modèle économique."
                        .into(),
                    recommendation: rec.as_str().into(),
                    status: if done { "submitted" } else { "draft" }.into(),
                    score_hundredths: done.then_some(h),
                    created_at: started + Duration::days(1),
                    updated_at: started + Duration::days(2),
                    submitted_at: done.then(|| started + Duration::days(2)),
                });
            }
            if matches!(st, ApplicationState::Accepted | ApplicationState::Rejected) {
                let decided = started + Duration::days(30);
                row.decided_at = Some(decided);
                row.committee_date = Some(decided.date());
                if st == ApplicationState::Accepted {
                    let amount = row.requested_cents;
                    awarded_total += amount;
                    row.awarded_cents = Some(amount);
                    row.decision_reference = Some(format!("DEL-{year}-{:05}", i + 1));
                    row.decision_motivation =
                        Some("Projet retenu par le comité de sélection.".into());
                } else {
                    row.decision_motivation =
                        Some("Projet non retenu : modèle économique à consolider.".into());
                }
                event(
                    &mut events,
                    &id,
                    &staff_id,
                    if st == ApplicationState::Accepted {
                        "accept"
                    } else {
                        "reject"
                    },
                    Some(ApplicationState::UnderReview),
                    Some(st),
                    decided,
                );
                row.updated_at = decided;
            }
        } else if submitted.is_some() && st != ApplicationState::Submitted {
            let at = submitted.unwrap_or(created) + Duration::days(2);
            let action = match st {
                ApplicationState::ChangesRequested => "request-changes",
                ApplicationState::Ineligible => "declare-ineligible",
                _ => "withdraw",
            };
            event(
                &mut events,
                &id,
                &staff_id,
                action,
                Some(ApplicationState::Submitted),
                Some(st),
                at,
            );
        } else if st == ApplicationState::Withdrawn {
            event(
                &mut events,
                &id,
                &row.applicant_id,
                "withdraw",
                Some(ApplicationState::Draft),
                Some(st),
                created + Duration::hours(1),
            );
        }
        apps.push(row);
    }
    let mut call = call;
    call.awarded_cents = awarded_total;

    let reviews_count = revs.len();
    crate::db::write_transaction(conn, |c| {
        let users: Vec<NewUser> = user_rows
            .iter()
            .map(|(id, email, name, role)| NewUser {
                id,
                email,
                password_hash: &hash,
                full_name: name,
                role,
                created_at: now,
                email_verified_at: Some(now),
            })
            .collect();
        insert_batch!(c, users::table, users);
        match c {
            DbConnection::Pg(p) => diesel::insert_into(calls::table).values(&call).execute(p)?,
            DbConnection::Sqlite(s) => {
                diesel::insert_into(calls::table).values(&call).execute(s)?
            }
        };
        insert_batch!(c, applications::table, apps);
        insert_batch!(c, assignments::table, asgs);
        insert_batch!(c, reviews::table, revs);
        insert_batch!(c, audit_events::table, events);
        let last = first_ref + n as i32;
        diesel::sql_query(format!(
            "INSERT INTO reference_counters (year, last_value) VALUES ({year}, {last}) \
             ON CONFLICT (year) DO UPDATE SET last_value = {last}"
        ))
        .execute(c)?;
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    // After a bulk load the planners know nothing of the new rows (bench/run: PostgreSQL
    // estimated 9 rows for 25 000 and read the heap for counts); refresh the statistics and,
    // on PostgreSQL, the visibility map, as autovacuum would do later.
    {
        use diesel::connection::SimpleConnection;
        match conn {
            DbConnection::Pg(pg) => pg.batch_execute(
                "VACUUM (ANALYZE) applications, reviews, assignments, audit_events, users, calls",
            )?,
            DbConnection::Sqlite(sqlite) => sqlite.batch_execute("ANALYZE")?,
        }
    }
    Ok(SeedReport {
        call_id: call.id,
        applications: n,
        reviews: reviews_count,
        accounts,
    })
}

fn event(
    out: &mut Vec<AuditRow>,
    application_id: &str,
    actor: &str,
    action: &str,
    from: Option<ApplicationState>,
    to: Option<ApplicationState>,
    at: NaiveDateTime,
) {
    out.push(AuditRow {
        id: Uuid::now_v7().to_string(),
        application_id: Some(application_id.to_owned()),
        call_id: None,
        actor_id: Some(actor.to_owned()),
        action: action.to_owned(),
        from_state: from.map(|s| s.as_str().to_owned()),
        to_state: to.map(|s| s.as_str().to_owned()),
        payload: "{}".into(),
        at,
    });
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
    fn generated_sirets_are_valid() {
        for stem in [0, 1, 7_328_293_200_000, 9_999_999_999_999] {
            assert!(crate::domain::identifiers::Siret::parse(&siret_from(stem)).is_ok());
        }
    }
}
