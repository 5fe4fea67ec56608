//! The bulk load of `essor seed --demo --bulk`, for the benchmarks only: the demo's rows
//! inserted by batches in a few transactions, around the services (100 000 applications in
//! seconds). The rows stay consistent with what the services write: every submitted row
//! carries its eligibility report, each application's path is in the audit trail (creation,
//! submission, screening, assignments accepted, reviews submitted, decision), the call has its
//! creation and publication, and nothing is dated after the moment the load ran. Each award
//! has its grant and instalments (not their audit events: the finance benchmarks read them).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use super::{DemoOptions, SeedReport, body, demo_names, demo_password, state_for};
use crate::config::Settings;
use crate::db::applications::ApplicationRow;
use crate::db::assignments::AssignmentRow;
use crate::db::audit::AuditRow;
use crate::db::calls::CallRow;
use crate::db::reviews::ReviewRow;
use crate::db::schema::{
    application_communes, applications, assignments, audit_events, calls, grants, instalments,
    reference_counters, reviews, users,
};
use crate::db::users::NewUser;
use crate::db::{Db, DbConnection};
use crate::domain::account::Role;
use crate::domain::application_state::ApplicationState;
use crate::domain::assignment::AssignmentStatus;
use crate::domain::call::{CallState, default_required_documents, default_scoring_grid};
use crate::domain::ids::{ApplicationId, AssignmentId, CallId, ReviewId, UserId};
use crate::domain::money::Cents;
use crate::domain::review::ReviewStatus;
use crate::domain::scoring::{self, Recommendation};
use crate::domain::territory;

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

#[expect(clippy::expect_used, reason = "mel-2021 is a rule set of the table")]
pub fn seed_bulk(db: &Db, settings: &Settings, options: DemoOptions) -> anyhow::Result<SeedReport> {
    let password = demo_password(settings.env, options.password)?;
    let n = options.applications;
    let mut conn = db.get().map_err(|e| anyhow::anyhow!("{e}"))?;
    let conn: &mut DbConnection = &mut conn;
    // The history: applications filed every 3 minutes up to 40 days ago; the latest decision
    // (33 days after a filing) lands a week before now.
    let now = crate::db::now() - Duration::minutes(1);
    let base = now - Duration::days(40);
    let first = base - Duration::minutes(n as i64 * 3 + 600);
    let accounts_at = first - Duration::days(3);
    let mut rng = StdRng::seed_from_u64(2026);
    // One hash for every account: they share the password.
    let hash = crate::auth::password::hash(&password)?;

    // Accounts: those of the demo (one staff, one admin, 12 reviewers, one applicant per 20
    // applications).
    let people = demo_names(n.div_ceil(20).max(1));
    let mut accounts = Vec::new();
    let mut user_rows: Vec<(String, String, String, &'static str)> = Vec::new();
    for p in &people {
        user_rows.push((
            Uuid::now_v7().to_string(),
            p.email.clone(),
            p.name.clone(),
            p.role.as_str(),
        ));
        accounts.push((p.role.as_str().to_owned(), p.email.clone(), p.name.clone()));
    }
    let with_role = |role: Role| -> Vec<String> {
        user_rows
            .iter()
            .filter(|u| u.3 == role.as_str())
            .map(|u| u.0.clone())
            .collect()
    };
    let staff_id = with_role(Role::Staff)[0].clone();
    let reviewer_ids = with_role(Role::Reviewer);
    let applicant_ids = with_role(Role::Applicant);

    let grid = default_scoring_grid();
    let communes = territory::mel_insee_codes();
    let call = CallRow {
        id: CallId::new(),
        title: "Entreprendre autrement — démonstration".into(),
        description: "Appel à projets permanent de la Métropole Européenne de Lille pour les \
                      structures de l'économie sociale et solidaire (données de démonstration)."
            .into(),
        rules_version: "mel-2021".into(),
        opens_at: Some(first - Duration::days(1)),
        closes_at: None,
        budget_cents: Cents::new((n as i64).max(1) * 2_000_000)?,
        max_award_cents: crate::domain::money::MEL_DEFAULT_MAX_AWARD,
        max_budget_share_pct: None,
        territory: serde_json::to_string(&communes)?,
        min_reviews: 2,
        scoring_grid: serde_json::to_string(&grid)?,
        required_documents: serde_json::to_string(&default_required_documents())?,
        state: CallState::Published,
        version: 2,
        awarded_cents: Cents::ZERO,
        // Written above as a new account's id.
        created_by: UserId::from_stored(staff_id.clone()),
        created_at: first - Duration::days(2),
        updated_at: first - Duration::days(2) + Duration::hours(1),
        published_at: Some(first - Duration::days(2) + Duration::hours(1)),
        closed_at: None,
        convention: "above_threshold".into(),
        convention_threshold_cents: crate::domain::money::CONVENTION_THRESHOLD,
        report_due_months: 6,
    instalment_schedule: r#"[{"label":"Avance","percent":80,"trigger":"signature"},{"label":"Solde","percent":20,"trigger":"report_approved"}]"#.into(),
    commune_opinion_days: 21,
    reviewers_see_commune_opinions: false,
    };

    let year: i32 = chrono::Datelike::year(&now.date());
    let mut apps = Vec::with_capacity(n);
    let mut commune_rows = Vec::with_capacity(n);
    let mut asgs = Vec::new();
    let mut revs = Vec::new();
    let mut events = vec![
        call_event(
            &call,
            &staff_id,
            "create",
            None,
            CallState::Draft,
            call.created_at,
        ),
        call_event(
            &call,
            &staff_id,
            "publish",
            Some(CallState::Draft),
            CallState::Published,
            call.updated_at,
        ),
    ];
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
        let created = base - Duration::minutes((n - i) as i64 * 3);
        let b = body(i, &mut rng, &communes, created.date());
        let submitted = (st != ApplicationState::Draft).then(|| created + Duration::hours(2));
        let app_id = ApplicationId::new();
        let id = app_id.to_string();
        let mut row = ApplicationRow {
            id: app_id.clone(),
            reference: format!("EA-{year}-{:05}", first_ref as usize + i + 1),
            call_id: call.id.clone(),
            applicant_id: UserId::from_stored(applicant_ids[i % applicant_ids.len()].clone()),
            state: st,
            version: 2,
            body: serde_json::to_string(&b)?,
            organisation_name: b.organisation.name.clone(),
            project_title: b.project.title.clone(),
            requested_cents: Cents::new(b.project.requested_cents)?,
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
            org_key: b.organisation.registry_key(),
            search_text: None,
            commune_insee: None,
        };
        row.set_body(&b)?;
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
            row.applicant_id.as_str(),
            "create",
            None,
            Some(ApplicationState::Draft),
            created,
        );
        if let Some(at) = submitted {
            event(
                &mut events,
                &id,
                row.applicant_id.as_str(),
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
                let asg_id = AssignmentId::new();
                let review_id = ReviewId::new();
                event(
                    &mut events,
                    &id,
                    reviewer,
                    "assignment-accept",
                    None,
                    None,
                    started + Duration::hours(4),
                );
                let done = st != ApplicationState::UnderReview || k == 0;
                asgs.push(AssignmentRow {
                    id: asg_id.clone(),
                    application_id: app_id.clone(),
                    reviewer_id: UserId::from_stored(reviewer.clone()),
                    status: AssignmentStatus::Accepted,
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
                    7000.. => Recommendation::Favorable,
                    4500..=6999 => Recommendation::Reserved,
                    _ => Recommendation::Unfavorable,
                };
                if done {
                    event(
                        &mut events,
                        &id,
                        reviewer,
                        "submit-review",
                        None,
                        None,
                        started + Duration::days(2),
                    );
                }
                revs.push(ReviewRow {
                    id: review_id,
                    assignment_id: asg_id,
                    application_id: app_id.clone(),
                    reviewer_id: UserId::from_stored(reviewer.clone()),
                    scores: serde_json::to_string(&scores)?,
                    comment: "Projet cohérent ; points d'attention sur le modèle économique."
                        .into(),
                    recommendation: Some(rec),
                    status: if done {
                        ReviewStatus::Submitted
                    } else {
                        ReviewStatus::Draft
                    },
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
                    awarded_total += i64::from(amount);
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
                row.applicant_id.as_str(),
                "withdraw",
                Some(ApplicationState::Draft),
                Some(st),
                created + Duration::hours(1),
            );
        }
        for c in territory::canonical_communes(&b.project.activity_communes) {
            commune_rows.push((
                application_communes::application_id.eq(id.clone()),
                application_communes::commune_insee.eq(c),
            ));
        }
        apps.push(row);
    }
    let mut call = call;
    call.awarded_cents = Cents::new(awarded_total)?;

    // Each award's grant, running (no convention below the threshold), its bank details given
    // and the call's schedule planned: the advance requested of the finance service, the
    // balance waiting for the report — what the finance list and the financements page read.
    let mut grant_rows = Vec::new();
    let mut instalment_rows = Vec::new();
    for app in apps.iter().filter(|a| a.awarded_cents.is_some()) {
        let awarded = app.awarded_cents.map_or(0, i64::from);
        let decided = app.decided_at.unwrap_or(now);
        let grant_id = Uuid::now_v7().to_string();
        let due = crate::domain::grant::report_due_on(decided.date(), None, 6);
        grant_rows.push((
            grants::id.eq(grant_id.clone()),
            grants::application_id.eq(app.id.clone()),
            grants::call_id.eq(call.id.clone()),
            grants::awarded_cents.eq(awarded),
            grants::state.eq("running"),
            grants::convention_required.eq(false),
            grants::report_due_on.eq(due),
            grants::bank_iban.eq("FR7630006000011234567890189"),
            grants::bank_bic.eq("AGRIFRPP867"),
            grants::bank_holder.eq(app.organisation_name.clone()),
            grants::bank_details_at.eq(decided),
            grants::version.eq(2),
            grants::created_at.eq(decided),
            grants::updated_at.eq(decided),
        ));
        let advance = awarded * 80 / 100;
        for (position, label, percent, trigger, amount, state) in [
            (1, "Avance", 80, "signature", advance, "requested"),
            (
                2,
                "Solde",
                20,
                "report_approved",
                awarded - advance,
                "planned",
            ),
        ] {
            instalment_rows.push((
                instalments::id.eq(Uuid::now_v7().to_string()),
                instalments::grant_id.eq(grant_id.clone()),
                instalments::position.eq(position),
                instalments::label.eq(label),
                instalments::percent.eq(percent),
                instalments::fires_on.eq(trigger),
                instalments::amount_cents.eq(amount),
                instalments::state.eq(state),
                instalments::requested_at.eq((state == "requested").then_some(decided)),
                instalments::created_at.eq(decided),
                instalments::updated_at.eq(decided),
            ));
        }
    }

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
                created_at: accounts_at,
                email_verified_at: Some(accounts_at),
                commune_insee: None,
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
        insert_batch!(c, application_communes::table, commune_rows);
        insert_batch!(c, assignments::table, asgs);
        insert_batch!(c, reviews::table, revs);
        insert_batch!(c, grants::table, grant_rows);
        insert_batch!(c, instalments::table, instalment_rows);
        let events = crate::db::audit::seal_all(c, &events)?;
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
                "VACUUM (ANALYZE) applications, application_communes, reviews, assignments, audit_events, users, calls, grants, instalments",
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

fn call_event(
    call: &CallRow,
    actor: &str,
    action: &str,
    from: Option<CallState>,
    to: CallState,
    at: NaiveDateTime,
) -> AuditRow {
    AuditRow {
        id: Uuid::now_v7().to_string(),
        application_id: None,
        call_id: Some(call.id.to_string()),
        actor_id: Some(actor.to_owned()),
        action: action.to_owned(),
        from_state: from.map(|s| s.as_str().to_owned()),
        to_state: Some(to.as_str().to_owned()),
        payload: "{}".into(),
        at,
    }
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
