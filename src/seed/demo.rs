//! `essor seed --demo`, through the services: every row is written by the function a user's
//! request would have called (accounts, call, applications, documents, submission with its
//! eligibility report, screening, reviews, decisions), with a set clock walked through the
//! past, so the demo's rows, audit trail and mails are what eight weeks of real use would have
//! left — and nothing is dated after the moment the seed ran.

use std::collections::{BTreeMap, HashMap};

use actix_multipart::Multipart;
use actix_web::http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use actix_web::web::Bytes;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{SeedReport, body, demo_names, state_for};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::Db;
use crate::domain::account::Role;
use crate::domain::actor::Actor;
use crate::domain::application_state::ApplicationState;
use crate::domain::call::{CallAction, default_required_documents, default_scoring_grid};
use crate::domain::eligibility::{AssessedOutcome, Assessment, Outcome};
use crate::domain::ids::{ApplicationId, UserId};
use crate::domain::scoring::{self, Recommendation};
use crate::domain::territory;
use crate::error::ServiceError;
use crate::input::Paging;
use crate::input::multipart::read_document;
use crate::services::accounts::{self, NewAccount};
use crate::services::calls::{self, NewCall};
use crate::services::reviews::{self, AcceptInput, ReviewInput};
use crate::services::transitions::{
    self, Command, DecisionInput, DecisionOutcome, DeclareIneligibleInput, RequestChangesInput,
    StartReviewInput, WithdrawInput,
};
use crate::services::{applications, documents};
use crate::state::AppState;

/// How far back the demo's history starts, and the phases in it (days after the start).
const HISTORY_DAYS: i64 = 56;
const CALL_DAY: i64 = 1;
const FILING: (i64, i64) = (2, 30);
const SCREENING: (i64, i64) = (31, 40);
const REVIEWING: (i64, i64) = (41, 50);
const DECIDING: (i64, i64) = (51, 55);

/// The clock the seed walks forward; it refuses to go back (each step is later than the one
/// before), so the trail reads in order.
struct Walk {
    clock: Clock,
    start: DateTime<Utc>,
}

impl Walk {
    /// Moves to `offset` after the start; a move backwards is a bug of the seed.
    fn to(&self, offset: Duration) -> anyhow::Result<()> {
        let at = self.start + offset;
        anyhow::ensure!(
            at >= self.clock.now_utc(),
            "the demo's clock would go back from {} to {at}",
            self.clock.now_utc()
        );
        self.clock.move_to(at);
        Ok(())
    }

    /// The `k`-th of `count` moments spread over the days `(from, to)`, and a fraction of its
    /// slot (`part` eighths) for the steps of one item.
    fn slot(&self, (from, to): (i64, i64), k: usize, count: usize, part: i64) -> Duration {
        let span = Duration::days(to - from).num_milliseconds();
        let slot = span / count.max(1) as i64;
        Duration::days(from) + Duration::milliseconds(slot * k as i64 + slot * part / 8)
    }
}

fn service(e: ServiceError) -> anyhow::Error {
    let fields = e.fields().map(|f| format!(" {f:?}")).unwrap_or_default();
    anyhow::anyhow!("{e}{fields}")
}

fn user(id: &str, role: Role) -> Actor {
    Actor {
        id: UserId::from_stored(id.to_owned()),
        role,
        email_verified: true,
    }
}

/// A one-page PDF, for the required documents.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n";

/// The multipart form the applicant's browser would send for one document.
fn document_form(kind: &str, filename: &str) -> Multipart {
    const BOUNDARY: &str = "essor-demo-document";
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(PDF);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("multipart/form-data; boundary=essor-demo-document"),
    );
    Multipart::new(
        &headers,
        futures_util::stream::once(async move {
            Ok::<_, actix_web::error::PayloadError>(Bytes::from(body))
        }),
    )
}

/// What staff read on the criteria the report leaves « à vérifier ».
fn assessments(
    report: Option<&applications::EligibilityReport>,
    outcome: AssessedOutcome,
) -> BTreeMap<String, Assessment> {
    let Some(report) = report else {
        return BTreeMap::new();
    };
    let note = match outcome {
        AssessedOutcome::Pass => "Pièces lues : le critère est rempli.",
        AssessedOutcome::Fail => "Pièces lues : le critère n'est pas rempli.",
    };
    report
        .evaluation()
        .criteria
        .iter()
        .filter(|c| c.outcome == Outcome::Review)
        .map(|c| {
            (
                c.code.clone(),
                Assessment {
                    outcome,
                    note: note.into(),
                },
            )
        })
        .collect()
}

/// An application of the demo on its way: the state it is to reach and who reviews it.
struct Filed {
    id: ApplicationId,
    version: i32,
    applicant: Actor,
    target: ApplicationState,
    requested_cents: i64,
    report: Option<applications::EligibilityReport>,
    reviewers: Vec<String>,
}

/// Seeds through the services, with `state`'s clock set `HISTORY_DAYS` before `end` and moved
/// forward step by step; returns once the clock has reached `end`.
pub async fn run(
    db: Db,
    settings: Settings,
    n: usize,
    password: String,
    end: DateTime<Utc>,
) -> anyhow::Result<SeedReport> {
    let end = end.trunc_subsecs(0);
    let start = end - Duration::days(HISTORY_DAYS);
    let walk = Walk {
        clock: Clock::set_at(start),
        start,
    };
    let state = AppState::with_clock(db, settings, walk.clock.clone())?;
    let mut rng = StdRng::seed_from_u64(2026);

    // Accounts: one staff, one admin, 12 reviewers, one applicant per 20 applications, created
    // in the first hours (as `essor create-user` does: the address is taken as verified).
    let people = demo_names(n.div_ceil(20).max(1));
    let mut accounts_out = Vec::new();
    let mut ids: HashMap<Role, Vec<String>> = HashMap::new();
    for (k, person) in people.iter().enumerate() {
        walk.to(Duration::minutes(k as i64))?;
        let account = NewAccount::parse(&person.email, &password, &person.name, person.role)
            .map_err(service)?;
        let created = accounts::create(&state, account).await.map_err(service)?;
        accounts_out.push((
            person.role.as_str().to_owned(),
            created.email.clone(),
            created.full_name.clone(),
        ));
        ids.entry(person.role)
            .or_default()
            .push(created.id.to_string());
    }
    let staff = user(&ids[&Role::Staff][0], Role::Staff);
    let reviewer_ids = ids[&Role::Reviewer].clone();
    let applicant_ids = ids[&Role::Applicant].clone();

    // The call: drafted on day 1, published an hour later, open from day 2, permanent.
    walk.to(Duration::days(CALL_DAY))?;
    let opens_at = (start + Duration::days(FILING.0) - Duration::hours(1)).to_rfc3339();
    let call = calls::create(
        &state,
        &staff,
        NewCall {
            title: "Entreprendre autrement — démonstration".into(),
            description: "Appel à projets permanent de la Métropole Européenne de Lille pour les \
                          structures de l'économie sociale et solidaire (données de \
                          démonstration)."
                .into(),
            rules_version: Some("mel-2021".into()),
            opens_at: Some(opens_at),
            closes_at: None,
            budget_cents: (n as i64).max(1) * 2_000_000,
            max_award_cents: None,
            max_budget_share_pct: None,
            territory: None,
            min_reviews: Some(2),
            scoring_grid: None,
            required_documents: None,
            convention: None,
            convention_threshold_cents: None,
            report_due_months: None,
            instalments: None,
            commune_opinion_days: None,
            reviewers_see_commune_opinions: None,
        },
    )
    .await
    .map_err(service)?;
    walk.to(Duration::days(CALL_DAY) + Duration::hours(1))?;
    calls::transition(&state, &staff, call.id.clone(), CallAction::Publish)
        .await
        .map_err(service)?;

    // Filing: each applicant drafts, attaches the required documents and submits (the
    // submission stores the eligibility report); some give up on the way.
    let communes = territory::mel_insee_codes();
    let required = default_required_documents();
    let mut filed: Vec<Filed> = Vec::with_capacity(n);
    for i in 0..n {
        let target = state_for(i);
        let applicant = user(&applicant_ids[i % applicant_ids.len()], Role::Applicant);
        walk.to(walk.slot(FILING, i, n, 0))?;
        let b = body(i, &mut rng, &communes, state.clock.paris_today());
        let requested_cents = b.project.requested_cents;
        let app = applications::create(&state, &applicant, call.id.clone(), b, None)
            .await
            .map_err(service)?;
        let mut version = app.version;
        // Drafts keep some of their documents; the others get all of them.
        let attach = if target == ApplicationState::Draft {
            i % (required.len() + 1)
        } else {
            required.len()
        };
        for (k, doc) in required.iter().take(attach).enumerate() {
            walk.to(walk.slot(FILING, i, n, 1 + k as i64))?;
            let filename = format!("{}.pdf", doc.key.replace('_', "-"));
            documents::upload(
                &state,
                &applicant,
                app.id.clone(),
                |l: documents::UploadLimits| {
                    read_document(
                        document_form(&doc.key, &filename),
                        l.tmp_dir,
                        l.max_bytes,
                        l.sniff_bytes,
                    )
                },
            )
            .await
            .map_err(service)?;
        }
        let withdrawn_draft = target == ApplicationState::Withdrawn && i % 2 == 0;
        if target == ApplicationState::Draft {
            continue;
        }
        walk.to(walk.slot(FILING, i, n, 5))?;
        let command = if withdrawn_draft {
            Command::Withdraw(WithdrawInput {
                reason: "Le projet est reporté à l'an prochain.".into(),
            })
        } else {
            Command::Submit
        };
        let app = transitions::apply(&state, &applicant, app.id.clone(), Some(version), command)
            .await
            .map_err(service)?;
        version = app.version;
        if withdrawn_draft {
            continue;
        }
        filed.push(Filed {
            id: app.id,
            version,
            applicant,
            target,
            requested_cents,
            report: app.eligibility,
            reviewers: Vec::new(),
        });
    }

    // Screening: staff read each submission and send it on (or back); a few applicants
    // withdraw.
    let screened = filed.len();
    for (k, f) in filed.iter_mut().enumerate() {
        walk.to(walk.slot(SCREENING, k, screened, 0))?;
        let (caller, command) = match f.target {
            ApplicationState::Submitted => continue,
            ApplicationState::ChangesRequested => (
                &staff,
                Command::RequestChanges(RequestChangesInput {
                    message: "Merci de préciser le plan de financement (cofinancements \
                              attendus)."
                        .into(),
                }),
            ),
            ApplicationState::Ineligible => (
                &staff,
                Command::DeclareIneligible(DeclareIneligibleInput {
                    motivation: "La gouvernance décrite dans les statuts n'est pas \
                                 démocratique."
                        .into(),
                    assessments: assessments(f.report.as_ref(), AssessedOutcome::Fail),
                }),
            ),
            ApplicationState::Withdrawn => (
                &f.applicant,
                Command::Withdraw(WithdrawInput {
                    reason: "Nous avons obtenu un autre financement.".into(),
                }),
            ),
            _ => {
                let n_rev = reviewer_ids.len();
                f.reviewers = (0..2)
                    .map(|r| reviewer_ids[(k + r * 5) % n_rev].clone())
                    .collect();
                (
                    &staff,
                    Command::StartReview(StartReviewInput {
                        reviewer_ids: f.reviewers.clone(),
                        assessments: assessments(f.report.as_ref(), AssessedOutcome::Pass),
                    }),
                )
            }
        };
        let app = transitions::apply(&state, caller, f.id.clone(), Some(f.version), command)
            .await
            .map_err(service)?;
        f.version = app.version;
    }

    // Reviewing: each reviewer declares no conflict and scores; on the applications still
    // under review, the second reviewer has only a draft.
    let mut assignment_of: HashMap<(String, String), crate::domain::ids::AssignmentId> =
        HashMap::new();
    for reviewer in &reviewer_ids {
        let who = user(reviewer, Role::Reviewer);
        for page in 1.. {
            let paging = Paging {
                page,
                per_page: 100,
            };
            let listed = reviews::list(&state, &who, paging).await.map_err(service)?;
            let done = listed.items.is_empty();
            for a in listed.items {
                assignment_of.insert((a.application_id.to_string(), reviewer.clone()), a.id);
            }
            if done {
                break;
            }
        }
    }
    let grid = default_scoring_grid();
    let in_review: Vec<&Filed> = filed.iter().filter(|f| !f.reviewers.is_empty()).collect();
    let mut reviews_count = 0;
    for (k, f) in in_review.iter().enumerate() {
        for (r, reviewer) in f.reviewers.iter().enumerate() {
            let who = user(reviewer, Role::Reviewer);
            let assignment = assignment_of
                .get(&(f.id.to_string(), reviewer.clone()))
                .ok_or_else(|| anyhow::anyhow!("no assignment of {reviewer} on {}", f.id))?
                .clone();
            let part = 4 * r as i64;
            walk.to(walk.slot(REVIEWING, k, in_review.len(), part))?;
            reviews::accept(
                &state,
                &who,
                assignment.clone(),
                AcceptInput {
                    statement: "Je déclare n'avoir aucun lien personnel, professionnel ou \
                                financier avec la structure candidate."
                        .into(),
                },
            )
            .await
            .map_err(service)?;
            let scores: BTreeMap<String, i64> = grid
                .iter()
                .map(|c| {
                    (
                        c.key.clone(),
                        rng.random_range(1..=i64::from(c.max_score.min(5))),
                    )
                })
                .collect();
            let h = scoring::hundredths(scoring::review_score(&grid, &scores));
            let recommendation = match h {
                7000.. => Recommendation::Favorable,
                4500..=6999 => Recommendation::Reserved,
                _ => Recommendation::Unfavorable,
            };
            walk.to(walk.slot(REVIEWING, k, in_review.len(), part + 1))?;
            reviews::save_draft(
                &state,
                &who,
                assignment.clone(),
                ReviewInput {
                    scores,
                    comment: "Projet cohérent ; points d'attention sur le modèle économique."
                        .into(),
                    recommendation: Some(recommendation),
                },
            )
            .await
            .map_err(service)?;
            reviews_count += 1;
            if f.target == ApplicationState::UnderReview && r > 0 {
                continue;
            }
            walk.to(walk.slot(REVIEWING, k, in_review.len(), part + 2))?;
            reviews::submit(&state, &who, assignment)
                .await
                .map_err(service)?;
        }
    }

    // Deciding: the committee meets, staff record its decisions on the day.
    let decided: Vec<&mut Filed> = filed
        .iter_mut()
        .filter(|f| {
            matches!(
                f.target,
                ApplicationState::Accepted | ApplicationState::Rejected
            )
        })
        .collect();
    let count = decided.len();
    for (k, f) in decided.into_iter().enumerate() {
        walk.to(walk.slot(DECIDING, k, count, 0))?;
        let today = state.clock.paris_today();
        let accepted = f.target == ApplicationState::Accepted;
        let decision = DecisionInput {
            outcome: if accepted {
                DecisionOutcome::Accepted
            } else {
                DecisionOutcome::Rejected
            },
            awarded_cents: accepted.then(|| f.requested_cents.min(2_000_000)),
            motivation: if accepted {
                "Projet retenu par le comité de sélection.".into()
            } else {
                "Projet non retenu : modèle économique à consolider.".into()
            },
            committee_date: today,
            decision_reference: accepted
                .then(|| format!("DEL-{}-{:05}", chrono::Datelike::year(&today), k + 1)),
        };
        let app = transitions::apply(
            &state,
            &staff,
            f.id.clone(),
            Some(f.version),
            Command::Decide(decision),
        )
        .await
        .map_err(service)?;
        f.version = app.version;
    }
    walk.to(Duration::days(HISTORY_DAYS))?;

    Ok(SeedReport {
        call_id: call.id,
        applications: n,
        reviews: reviews_count,
        accounts: accounts_out,
    })
}
