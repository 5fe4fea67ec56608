//! The agents' pages (issue 15): « Gestion » (the calls), a call's dashboard, its applications
//! table (filters, search, sorting, pages of 50: a GET form, no script), and an application's
//! page with the eligibility report, the staff's reading of each « à vérifier » criterion, the
//! timeline with the reviewers' names, and every transition allowed now as a form.
//!
//! Each handler reads a form, calls a service (`services::staff`, which checks the role, then
//! the same services as the API), and renders or redirects.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::{Value, context};
use serde_json::Value as Json;

use crate::domain::application_state::{Action, ApplicationState};
use crate::domain::eligibility::{AssessedOutcome, Assessment, Outcome};
use crate::domain::ids::CallId;
use crate::domain::territory;
use crate::error::ServiceError;
use crate::input::{PageParams, Paging};
use crate::services::applications::{self, HistoryEvent, ListFilter, ListSort};
use crate::services::calls;
use crate::services::reviews::{self, AssignInput};
use crate::services::staff::{self, StaffApplication};
use crate::services::transitions::{
    self, Command, DeclareIneligibleInput, RequestChangesInput, StartReviewInput,
};
use crate::web::checked_form::{CsrfForm, RefillForm};
use crate::web::forms::{Errors, Form};
use crate::web::pages::natural_key;
use crate::web::{PageCtx, WebError, see_other, ser};

/// Ids in URLs are UUIDs: the pattern keeps `/gestion/appels/nouveau` (the call form) apart.
const UUID: &str = "[0-9a-fA-F-]{36}";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/gestion", web::get().to(home))
        .route(
            &format!("/gestion/appels/{{id:{UUID}}}"),
            web::get().to(dashboard),
        )
        .route(
            &format!("/gestion/appels/{{id:{UUID}}}/candidatures"),
            web::get().to(table),
        )
        .route(
            &format!("/gestion/appels/{{id:{UUID}}}/financements"),
            web::get().to(grants_page),
        )
        .route(
            &format!("/gestion/candidatures/{{id:{UUID}}}"),
            web::get().to(application_page),
        )
        .route(
            &format!("/gestion/candidatures/{{id:{UUID}}}/demander-modifications"),
            web::post().to(request_changes),
        )
        .route(
            &format!("/gestion/candidatures/{{id:{UUID}}}/examen"),
            web::post().to(screen),
        )
        .route(
            &format!("/gestion/candidatures/{{id:{UUID}}}/evaluateurs"),
            web::post().to(add_reviewer),
        )
        .route(
            &format!("/gestion/candidatures/{{id:{UUID}}}/contresigner"),
            web::post().to(countersign),
        )
        .route(
            &format!("/gestion/candidatures/{{id:{UUID}}}/reversement"),
            web::post().to(request_recovery),
        )
        .route(
            &format!("/gestion/candidatures/{{id:{UUID}}}/reversement-solde"),
            web::post().to(close_recovery),
        )
        .route(
            &format!("/gestion/candidatures/{{id:{UUID}}}/caducite"),
            web::post().to(lapse),
        );
}

/// The rows of a page of the table.
pub const PER_PAGE: u32 = 50;

/// « Déposé », « En cours d'instruction »: the state's label with a capital, no full stop.
fn state_label(s: ApplicationState) -> String {
    let label = s.label_fr();
    let mut c = label.chars();
    c.next()
        .map(|first| first.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Home and dashboard

async fn home(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let calls = staff::calls(&ctx.state, &user).await?;
    ctx.render("staff_home.html", context! { calls => ser(&calls.items) })
}

async fn dashboard(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let d = staff::dashboard(&ctx.state, &user, crate::services::calls::id(&id)?).await?;
    let counts: Vec<Value> = d
        .counts
        .iter()
        .map(|c| {
            context! {
                state => c.state.as_str(),
                label => state_label(c.state),
                count => c.count,
            }
        })
        .collect();
    ctx.render(
        "staff_dashboard.html",
        context! {
            call => ser(&d.call),
            counts,
            total => d.total,
            under_review_requested_cents => d.under_review_requested_cents,
            waiting => ser(&d.waiting),
        },
    )
}

/// « Financements »: the call's grants by state, each with what it waits for and from whom
/// (DESIGN.md §15), the states in the order of a grant's life; the instalments to order and to
/// pay; the figures over every grant, the first rows of each list (the exports hold them all).
async fn grants_page(
    ctx: PageCtx,
    id: web::Path<String>,
    query: web::Query<BTreeMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    use crate::domain::grant::GrantParty;
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    let call = calls::get(&ctx.state, true, crate::services::calls::id(&id)?).await?;
    let board =
        crate::services::finance::board(&ctx.state, &user, crate::services::calls::id(&id)?)
            .await?;
    let who = |p: GrantParty| match p {
        GrantParty::Beneficiary => "du bénéficiaire",
        GrantParty::Staff => "de la Métropole",
        GrantParty::System => "d'essor",
        GrantParty::Other => "",
    };
    let groups: Vec<Value> = board
        .groups
        .iter()
        .map(|g| {
            let mut label = g.state.label_fr().chars();
            context! {
                state => g.state.as_str(),
                label => label.next().map(|c| c.to_uppercase().chain(label).collect::<String>()),
                who => g.state.waits_for().map(who),
                what => g.state.awaited_fr(),
                staff_turn => g.state.waits_for() == Some(GrantParty::Staff),
                count => g.count,
                shown => g.rows.len(),
                awarded_cents => g.awarded_cents.value(),
                rows => ser(&g.rows),
            }
        })
        .collect();
    let to_act: i64 = board
        .groups
        .iter()
        .filter(|g| g.state.waits_for() == Some(GrantParty::Staff))
        .map(|g| g.count)
        .sum();
    let count = |key: &str| query.get(key).and_then(|v| v.parse::<usize>().ok());
    let imported = count("paiements").map(|paid| {
        context! {
            paid,
            ordered => count("mandates").unwrap_or(0),
            already => count("deja").unwrap_or(0),
        }
    });
    ctx.render(
        "staff_grants.html",
        context! {
            call => ser(&call),
            groups,
            total => board.total,
            to_act,
            awarded_cents => board.awarded_cents.value(),
            paid_cents => board.paid_cents.value(),
            late => board.late,
            to_order => ser(&board.to_order),
            to_pay => ser(&board.to_pay),
            imported,
            errors => ser(&crate::web::forms::Errors::default()),
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The applications table

const SORTS: [(ListSort, &str); 10] = [
    (ListSort::CreatedDesc, "Les plus récentes d'abord"),
    (ListSort::CreatedAsc, "Les plus anciennes d'abord"),
    (ListSort::SubmittedDesc, "Dépôt le plus récent d'abord"),
    (ListSort::SubmittedAsc, "Dépôt le plus ancien d'abord"),
    (ListSort::ReferenceAsc, "Référence (croissante)"),
    (ListSort::ReferenceDesc, "Référence (décroissante)"),
    (ListSort::NameAsc, "Structure (A à Z)"),
    (ListSort::NameDesc, "Structure (Z à A)"),
    (ListSort::RequestedDesc, "Montant demandé (du plus élevé)"),
    (ListSort::RequestedAsc, "Montant demandé (du plus faible)"),
];

/// The table's filters as read from the query string, and the errors to show beside them.
fn read_filters(call_id: &CallId, q: &Form) -> (ListFilter, Errors) {
    let mut errors = Errors::default();
    let mut filter = ListFilter {
        call_id: Some(call_id.clone()),
        ..ListFilter::default()
    };
    let chosen = q.all("etat").join(",");
    match applications::parse_states(&chosen) {
        Ok(states) => filter.states = states,
        Err(_) => errors.add("etat", "choisissez parmi les états proposés"),
    }
    match applications::search_pattern(q.get("q")) {
        Ok(p) => filter.search = p,
        Err(_) => errors.add(
            "q",
            format!(
                "la recherche ne doit pas dépasser {} caractères",
                applications::SEARCH_MAX_CHARS
            ),
        ),
    }
    match applications::parse_commune(q.get("commune")) {
        Ok(c) => filter.commune_insee = c,
        Err(_) => errors.add("commune", "choisissez une commune de la liste"),
    }
    match applications::parse_sort(q.get("tri")) {
        Ok(s) => filter.sort = s,
        Err(_) => errors.add("tri", "choisissez un ordre de la liste"),
    }
    (filter, errors)
}

/// The query string of the same search, with one more parameter (`page` or `curseur`).
fn table_query(q: &Form, name: &str, value: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for state in q.all("etat") {
        out.append_pair("etat", &state);
    }
    for field in ["q", "commune", "tri"] {
        if let Some(v) = q.opt(field) {
            out.append_pair(field, v);
        }
    }
    out.append_pair(name, value);
    out.finish()
}

/// The query string of the same search on another page (the numbered links).
fn page_query(q: &Form, page: u32) -> String {
    table_query(q, "page", &page.to_string())
}

/// The query string of the same search at a cursor (« Page suivante », « Page précédente »):
/// read from the position it names, not by counting rows from the first.
fn cursor_query(q: &Form, cursor: &str) -> String {
    table_query(q, "curseur", cursor)
}

/// Page numbers to link to: the first, the last, and two on each side of the current one;
/// `None` marks a gap.
fn page_links(current: u32, last: u32) -> Vec<Option<u32>> {
    let mut out = Vec::new();
    for p in 1..=last {
        let near = p + 2 >= current && p <= current + 2;
        if p == 1 || p == last || near {
            out.push(Some(p));
        } else if out.last() != Some(&None) {
            out.push(None);
        }
    }
    out
}

async fn table(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let call_id = crate::services::calls::id(&id)?;
    let q = Form::parse(ctx.req.query_string().as_bytes());
    let (filter, mut errors) = read_filters(&call_id, &q);
    let page: Option<u32> = match q.opt("page").map(str::parse::<u32>) {
        None => None,
        Some(Ok(p)) if p >= 1 => Some(p),
        Some(_) => {
            errors.add("page", "numéro de page invalide");
            None
        }
    };
    // « Page suivante » and « Page précédente » carry a cursor (`curseur`); a cursor that does
    // not decode, or belongs to another order, is told like the filters' errors.
    let position = PageParams {
        page,
        per_page: Some(PER_PAGE),
        cursor: q.opt("curseur").map(str::to_owned),
    }
    .position()
    .and_then(|p| applications::list_window(&filter, &p).map(|_| p));
    let position = match position {
        Ok(p) if errors.is_empty() => p,
        Ok(_) => Paging {
            page: 1,
            per_page: PER_PAGE,
        }
        .into(),
        Err(_) => {
            errors.add(
                "curseur",
                "ce lien de page n'est plus valable (l'ordre a changé ou l'adresse est \
                 incomplète) : voici la première page",
            );
            Paging {
                page: page.unwrap_or(1),
                per_page: PER_PAGE,
            }
            .into()
        }
    };
    // The call and the page in one database call.
    let (call, page) = staff::call_and_applications(
        &ctx.state,
        &user,
        call_id.clone(),
        if errors.is_empty() {
            filter
        } else {
            ListFilter {
                call_id: Some(call_id.clone()),
                ..ListFilter::default()
            }
        },
        position,
    )
    .await?;
    let per = i64::from(PER_PAGE);
    let last = u32::try_from((page.total + per - 1) / per)
        .unwrap_or(u32::MAX)
        .max(1);
    let links: Vec<Value> = page_links(page.page, last)
        .into_iter()
        .map(|p| match p {
            Some(n) => {
                context! { number => n, query => page_query(&q, n), current => n == page.page }
            }
            None => context! { gap => true },
        })
        .collect();
    let rows: Vec<Value> = page
        .items
        .iter()
        .map(|a| {
            context! {
                id => a.id.to_string(),
                reference => a.reference.clone(),
                organisation_name => a.organisation_name.clone(),
                project_title => a.project_title.clone(),
                requested_cents => i64::from(a.requested_cents),
                state => a.state.as_str(),
                state_label => state_label(a.state),
                submitted_at => a.submitted_at.map(|t| t.to_rfc3339()),
            }
        })
        .collect();
    let state_options: Vec<(String, String)> = ApplicationState::ALL
        .into_iter()
        .map(|s| (s.as_str().to_owned(), state_label(s)))
        .collect();
    let mut communes: Vec<(String, String)> = call
        .territory
        .iter()
        .filter_map(|c| territory::commune_name(c).map(|n| (c.clone(), n.to_owned())))
        .collect();
    communes.sort_by(|a, b| a.1.cmp(&b.1));
    let mut commune_options = vec![(String::new(), "Toutes les communes".to_owned())];
    commune_options.extend(communes);
    let sort_options: Vec<(String, String)> = SORTS
        .iter()
        .map(|(s, label)| {
            let value = if *s == ListSort::default() {
                String::new()
            } else {
                s.as_str().to_owned()
            };
            (value, (*label).to_owned())
        })
        .collect();
    let filtered = ["q", "commune"].iter().any(|n| q.opt(n).is_some()) || !q.all("etat").is_empty();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    ctx.render_status(
        status,
        "staff_applications.html",
        context! {
            call => ser(&call),
            values => ser(&q.values()),
            errors => ser(&errors.ordered(&["etat", "commune", "q", "tri", "page", "curseur"])),
            state_options,
            commune_options,
            sort_options,
            rows,
            total => page.total,
            page => page.page,
            last,
            links,
            previous => page.prev_cursor.as_deref().map(|c| cursor_query(&q, c)),
            next => page.next_cursor.as_deref().map(|c| cursor_query(&q, c)),
            filtered,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// The application's page

/// What the staff's timeline says of an event, with the reviewers' names (staff may see them).
fn timeline(events: &[HistoryEvent], names: &BTreeMap<String, String>) -> Vec<Value> {
    use crate::domain::application_state::Action as A;
    use crate::domain::history::{HistoryAction, HistoryAction as H};
    let name_of = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    events
        .iter()
        .map(|e| {
            let text = |k: &str| e.payload.get(k).and_then(Json::as_str).map(str::to_owned);
            let (label, note) = match HistoryAction::parse(&e.action) {
                Some(H::Create) => ("Candidature commencée".to_owned(), None),
                Some(H::Update) => ("Réponses modifiées".to_owned(), None),
                Some(H::UploadDocument) => ("Pièce ajoutée".to_owned(), text("filename")),
                Some(H::DeleteDocument) => ("Pièce supprimée".to_owned(), text("filename")),
                Some(H::Transition(A::Submit)) => ("Candidature déposée".to_owned(), None),
                Some(H::Transition(A::RequestChanges)) => {
                    ("Compléments demandés".to_owned(), text("message"))
                }
                Some(H::Transition(A::DeclareIneligible)) => {
                    ("Déclarée inéligible".to_owned(), text("motivation"))
                }
                Some(H::Transition(A::StartReview)) => {
                    let ids = e
                        .payload
                        .get("reviewer_ids")
                        .and_then(Json::as_array)
                        .map(|ids| {
                            // In natural order, as the reviewers' list above (« n° 2 » before
                            // « n° 10 »), not in the order they were ticked.
                            let mut names: Vec<String> =
                                ids.iter().filter_map(Json::as_str).map(name_of).collect();
                            names.sort_by_cached_key(|n| natural_key(n));
                            names.join(", ")
                        });
                    (
                        "Évaluation lancée".to_owned(),
                        ids.map(|n| format!("Évaluateurs : {n}")),
                    )
                }
                Some(H::AssignReviewer) => (
                    "Évaluateur ajouté".to_owned(),
                    text("reviewer_id").map(|id| name_of(&id)),
                ),
                Some(H::AssignmentAccept) => (
                    "Absence de conflit d'intérêts déclarée".to_owned(),
                    text("statement"),
                ),
                Some(H::AssignmentRecuse) => ("Évaluateur récusé".to_owned(), text("reason")),
                Some(H::SubmitReview) => ("Évaluation remise".to_owned(), None),
                Some(a @ (H::Transition(A::Accept | A::Reject) | H::Decision))
                    if a.is_award(e.to_state.as_deref()) =>
                {
                    ("Subvention accordée".to_owned(), text("motivation"))
                }
                Some(H::Transition(A::Accept | A::Reject) | H::Decision) => {
                    ("Non retenue".to_owned(), text("motivation"))
                }
                Some(H::Transition(A::Withdraw)) => {
                    ("Candidature retirée".to_owned(), text("reason"))
                }
                Some(H::Grant(g)) => (g.history_label_fr().to_owned(), text("motivation")),
                Some(H::BankDetails) => {
                    ("Coordonnées bancaires indiquées".to_owned(), text("iban"))
                }
                Some(H::Instalment(i)) => (i.history_label_fr().to_owned(), text("label")),
                Some(H::Registration) => (
                    "Structure immatriculée".to_owned(),
                    text("siret")
                        .map(|s| format!("SIRET {s}"))
                        .or_else(|| text("rna").map(|r| format!("RNA {r}"))),
                ),
                Some(H::CommuneOpinion) => {
                    let opinion = text("opinion")
                        .as_deref()
                        .and_then(crate::domain::commune_opinion::Opinion::parse)
                        .map_or("Avis", |o| o.label_fr());
                    let commune = text("commune_insee")
                        .as_deref()
                        .and_then(crate::domain::territory::commune_name)
                        .unwrap_or("");
                    (
                        format!("{opinion} de la commune ({commune})"),
                        text("comment").filter(|c| !c.is_empty()),
                    )
                }
                // A name essor does not write: shown as stored.
                None => (e.action.clone(), None),
            };
            let role = match e.actor_role.as_str() {
                "applicant" => "porteur de projet",
                "reviewer" => "évaluateur",
                "staff" => "agent",
                "admin" => "administrateur",
                "commune" => "commune",
                other => other,
            };
            context! {
                label,
                who => format!("{} ({role})", e.actor_name),
                at => e.at.to_rfc3339(),
                note,
            }
        })
        .collect()
}

/// What the forms of the page hold when it is shown again after a refusal.
#[derive(Default)]
struct Refused {
    values: serde_json::Map<String, Json>,
    errors: Errors,
}

async fn render_application(
    ctx: &PageCtx,
    id: String,
    refused: Option<Refused>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let data: StaffApplication =
        staff::application(&ctx.state, &user, crate::services::applications::id(&id)?).await?;
    let app = &data.application;
    let allowed = &app.allowed_actions;
    let can_request_changes = allowed.contains(&Action::RequestChanges);
    let can_start_review = allowed.contains(&Action::StartReview);
    let can_declare_ineligible = allowed.contains(&Action::DeclareIneligible);
    let can_add_reviewer =
        app.state == ApplicationState::UnderReview && !data.reviewer_choices.is_empty();
    let review_criteria: Vec<_> = app
        .eligibility
        .iter()
        .flat_map(|r| r.criteria.iter())
        .filter(|c| c.outcome == Outcome::Review)
        .collect();
    let to_read: Vec<Value> = review_criteria
        .iter()
        .map(|c| {
            context! {
                code => c.code.clone(),
                label => c.label.clone(),
                detail => c.detail.clone(),
                legal_basis => c.legal_basis.clone(),
                assessment => ser(&c.staff_assessment),
            }
        })
        .collect();
    let mut names: BTreeMap<String, String> = data
        .assignments
        .iter()
        .map(|a| (a.reviewer_id.to_string(), a.reviewer_name.clone()))
        .collect();
    for c in &data.reviewer_choices {
        names.insert(c.id.clone(), c.full_name.clone());
    }
    let events = timeline(&data.history, &names);
    let commune = territory::commune_name(&app.organisation.commune_insee)
        .map_or_else(|| app.organisation.commune_insee.clone(), str::to_owned);
    let activity: Vec<String> = app
        .project
        .activity_communes
        .iter()
        .map(|c| territory::commune_name(c).map_or_else(|| c.clone(), str::to_owned))
        .collect();
    // Reviewers in natural order (« n° 2 » before « n° 10 »), wherever the page lists them.
    let mut choices: Vec<_> = data.reviewer_choices.iter().collect();
    choices.sort_by_cached_key(|r| natural_key(&r.full_name));
    let reviewer_options: Vec<(String, String)> = choices
        .iter()
        .map(|r| (r.id.clone(), format!("{} – {}", r.full_name, r.email)))
        .collect();
    let mut assignments: Vec<_> = data.assignments.iter().collect();
    assignments.sort_by_cached_key(|a| natural_key(&a.reviewer_name));
    let mut reviews: Vec<_> = data.reviews.iter().collect();
    reviews.sort_by_cached_key(|r| natural_key(r.reviewer_name.as_deref().unwrap_or_default()));
    let mut reviewer_select = vec![(String::new(), "Choisissez un évaluateur".to_owned())];
    reviewer_select.extend(reviewer_options.iter().cloned());
    let done = ctx.req.query_string().contains("fait=1") && refused.is_none();
    let has_errors = refused.as_ref().is_some_and(|r| !r.errors.is_empty());
    let Refused { values, errors } = refused.unwrap_or_default();
    let mut order = vec!["message".to_owned()];
    for c in &review_criteria {
        order.push(format!("lecture-{}", c.code));
        order.push(format!("note-{}", c.code));
    }
    order.extend(
        [
            "reviewers",
            "motivation",
            "reviewer",
            "countersign",
            "lapse_motivation",
        ]
        .map(str::to_owned),
    );
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    let after = if app.state.is_final() {
        crate::services::grants::after_decision(&ctx.state, &user, app.id.clone()).await?
    } else {
        Default::default()
    };
    // The final report, once the beneficiary has submitted it (and after).
    let report = match after.grant.as_ref() {
        Some(g) if g.state.has_report() => Some(ser(&crate::services::reports::get(
            &ctx.state, &user, &g.id,
        )
        .await?)),
        _ => None,
    };
    let (letters, grant) = crate::web::labels::after_decision(after);
    // What the companies' register said at submission (§17), when it was asked.
    let registry = crate::services::registry::evidence(&ctx.state, &user, app.id.clone())
        .await?
        .map(|e| {
            let retrieved_on = crate::clock::paris_date(e.retrieved_at)
                .format("%d/%m/%Y")
                .to_string();
            context! { retrieved_on, ..ser(&e) }
        });
    let status = if has_errors {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx.render_status(
        status,
        "staff_application.html",
        context! {
            letters,
            grant,
            report,
            registry,
            report_labels => crate::web::labels::budget_labels(),
            application => ser(app),
            call => ser(&data.call),
            state_label => state_label(app.state),
            commune,
            activity,
            labels => crate::web::labels::answer_labels(),
            reviewer_options,
            reviewer_select,
            done,
            documents => crate::web::applicant::document_rows(&data.call, &data.documents),
            assignments => ser(&assignments),
            reviews => ser(&reviews),
            reviewer_choices => ser(&data.reviewer_choices),
            commune_opinions => ser(&data.commune_opinions),
            events,
            to_read,
            can_request_changes,
            can_start_review,
            can_declare_ineligible,
            can_add_reviewer,
            values => ser(&values),
            errors => ser(&errors.ordered(&order)),
        },
    )
}

/// The staff application page again, with a form's values and what refused them.
pub(crate) async fn render_refused(
    ctx: &PageCtx,
    id: String,
    values: serde_json::Map<String, Json>,
    errors: Errors,
) -> Result<HttpResponse, WebError> {
    render_application(ctx, id, Some(Refused { values, errors })).await
}

async fn application_page(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    render_application(&ctx, id.into_inner(), None).await
}

/// The service's refusal on the form's fields, or the error as it is (404, 403…).
fn refusal(err: ServiceError, form: &Form, fallback: &str) -> Result<Refused, WebError> {
    let map = |path: &str| -> Option<String> {
        if let Some(code) = path.strip_prefix("assessments.") {
            let code = code.split('.').next().unwrap_or(code);
            return Some(format!("lecture-{code}"));
        }
        match path {
            "message" => Some("message".into()),
            "motivation" => Some("motivation".into()),
            "reviewer_ids" => Some("reviewers".into()),
            "reviewer_id" => Some("reviewer".into()),
            _ => None,
        }
    };
    let errors = match err {
        ServiceError::Invalid { fields, .. } => Errors::from_fields(&fields, map, fallback),
        ServiceError::Conflict { message, .. } | ServiceError::StaleVersion(message) => {
            let mut e = Errors::default();
            e.add(fallback, message);
            e
        }
        other => return Err(other.into()),
    };
    Ok(Refused {
        values: form.values(),
        errors,
    })
}

fn version(form: &Form) -> Option<i32> {
    form.opt("version").and_then(|v| v.parse().ok())
}

async fn after(
    ctx: &PageCtx,
    id: String,
    form: &Form,
    fallback: &str,
    result: Result<(), ServiceError>,
) -> Result<HttpResponse, WebError> {
    match result {
        Ok(()) => Ok(see_other(&format!("/gestion/candidatures/{id}?fait=1"))),
        Err(e) => {
            let refused = refusal(e, form, fallback)?;
            render_application(ctx, id, Some(refused)).await
        }
    }
}

/// The grant of the application `id`, for a move staff make on its page.
/// The grant of the application `id`, if the caller reaches it.
pub(crate) async fn grant_of(
    ctx: &PageCtx,
    id: &str,
) -> Result<crate::domain::ids::GrantId, WebError> {
    let user = ctx.user()?;
    let after = crate::services::grants::after_decision(
        &ctx.state,
        &user,
        crate::services::applications::id(id)?,
    )
    .await?;
    after.grant.map(|g| g.id).ok_or_else(|| {
        crate::error::AppError::NotFound("Aucun financement pour cette candidature.".into()).into()
    })
}

/// « Contresigner la convention » (the scanned copy is sent through the API).
async fn countersign(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    if !refused.is_empty() {
        let refused = Refused {
            values: form.values(),
            errors: refused,
        };
        return render_application(&ctx, id, Some(refused)).await;
    }
    let grant = grant_of(&ctx, &id).await?;
    let result = crate::services::conventions::countersign(&ctx.state, &user, &grant, None)
        .await
        .map(|_| ());
    after(&ctx, id, &form, "countersign", result).await
}

/// « Déclarer la subvention caduque », with a motivation.
async fn lapse(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    let input = crate::services::conventions::LapseInput {
        motivation: form.get("lapse_motivation").to_owned(),
    };
    let errors = if !refused.is_empty() {
        refused
    } else {
        let grant = grant_of(&ctx, &id).await?;
        match crate::services::conventions::lapse(&ctx.state, &user, &grant, input).await {
            Ok(_) => return Ok(see_other(&format!("/gestion/candidatures/{id}?fait=1"))),
            Err(ServiceError::Invalid { fields, .. }) => Errors::from_fields(
                &fields,
                |p| (p == "motivation").then(|| "lapse_motivation".to_owned()),
                "lapse_motivation",
            ),
            Err(ServiceError::Conflict { message, .. }) => {
                let mut e = Errors::default();
                e.add("lapse_motivation", message);
                e
            }
            Err(other) => return Err(other.into()),
        }
    };
    render_application(
        &ctx,
        id,
        Some(Refused {
            values: form.values(),
            errors,
        }),
    )
    .await
}

/// « Demander un reversement »: an amount in euros as typed (« 4 500,50 »), a motivation.
async fn request_recovery(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    let mut errors = refused;
    let amount = crate::web::forms::parse_euros(form.get("recovery_amount"));
    if errors.is_empty() && amount.is_none() {
        errors.add(
            "recovery_amount",
            "indiquez un montant en euros, par exemple 4 500 ou 4 500,50",
        );
    }
    if errors.is_empty() {
        let input = crate::services::recovery::RecoveryInput {
            amount_cents: amount.unwrap_or_default(),
            motivation: form.get("recovery_motivation").to_owned(),
        };
        let grant = grant_of(&ctx, &id).await?;
        match crate::services::recovery::request(&ctx.state, &user, &grant, input).await {
            Ok(_) => return Ok(see_other(&format!("/gestion/candidatures/{id}?fait=1"))),
            Err(ServiceError::Invalid { fields, .. }) => {
                errors = Errors::from_fields(
                    &fields,
                    |p| match p {
                        "amount_cents" => Some("recovery_amount".to_owned()),
                        "motivation" => Some("recovery_motivation".to_owned()),
                        _ => None,
                    },
                    "recovery_motivation",
                )
            }
            Err(ServiceError::Conflict { message, .. }) => errors.add("recovery_amount", message),
            Err(other) => return Err(other.into()),
        }
    }
    render_application(
        &ctx,
        id,
        Some(Refused {
            values: form.values(),
            errors,
        }),
    )
    .await
}

async fn close_recovery(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    let errors = if !refused.is_empty() {
        refused
    } else {
        let grant = grant_of(&ctx, &id).await?;
        match crate::services::recovery::close(&ctx.state, &user, &grant).await {
            Ok(_) => return Ok(see_other(&format!("/gestion/candidatures/{id}?fait=1"))),
            Err(ServiceError::Conflict { message, .. }) => {
                let mut e = Errors::default();
                e.add("close_recovery", message);
                e
            }
            Err(other) => return Err(other.into()),
        }
    };
    render_application(
        &ctx,
        id,
        Some(Refused {
            values: form.values(),
            errors,
        }),
    )
    .await
}

async fn request_changes(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    if !refused.is_empty() {
        let refused = Refused {
            values: form.values(),
            errors: refused,
        };
        return render_application(&ctx, id, Some(refused)).await;
    }
    let result = if form.get("message").is_empty() {
        Err(ServiceError::invalid_field(
            "message",
            "écrivez ce que le porteur de projet doit compléter ou corriger",
        ))
    } else {
        transitions::apply(
            &ctx.state,
            &user,
            crate::services::applications::id(&id)?,
            version(&form),
            Command::RequestChanges(RequestChangesInput {
                message: form.get("message").to_owned(),
            }),
        )
        .await
        .map(|_| ())
    };
    after(&ctx, id, &form, "message", result).await
}

/// The readings typed in the screening form: `lecture-<code>` (pass / fail) and `note-<code>`.
fn readings(form: &Form, codes: &[String]) -> (BTreeMap<String, Assessment>, Errors) {
    let mut out = BTreeMap::new();
    let mut errors = Errors::default();
    for code in codes {
        let outcome = match form.get(&format!("lecture-{code}")) {
            "pass" => Some(AssessedOutcome::Pass),
            "fail" => Some(AssessedOutcome::Fail),
            _ => None,
        };
        let note = form.get(&format!("note-{code}"));
        match (outcome, note.is_empty()) {
            (None, true) => {}
            (None, false) => errors.add(
                &format!("lecture-{code}"),
                format!("{code} : indiquez si le critère est rempli ou non"),
            ),
            (Some(_), true) => errors.add(
                &format!("note-{code}"),
                format!("{code} : écrivez ce que vous avez lu et conclu"),
            ),
            (Some(outcome), false) => {
                out.insert(
                    code.clone(),
                    Assessment {
                        outcome,
                        note: note.to_owned(),
                    },
                );
            }
        }
    }
    (out, errors)
}

/// The screening form: the readings of the « à vérifier » criteria, then either the review
/// started with the reviewers ticked, or the application declared ineligible.
async fn screen(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    let app = applications::get(&ctx.state, &user, crate::services::applications::id(&id)?).await?;
    let codes: Vec<String> = app
        .eligibility
        .iter()
        .flat_map(|r| r.criteria.iter())
        .filter(|c| c.outcome == Outcome::Review)
        .map(|c| c.code.clone())
        .collect();
    let (assessments, errors) = readings(&form, &codes);
    let mut errors = refused.and(errors);
    let start = form.get("decision") == "start-review";
    let fallback = if start { "reviewers" } else { "motivation" };
    if start {
        // The hint says the call's number, and so does the check: a decision needs that many
        // submitted reviews, so fewer reviewers would only delay it.
        let needed = calls::get(&ctx.state, true, app.call_id.clone())
            .await?
            .min_reviews
            .max(1) as usize;
        let ticked = form.all("reviewers").len();
        if ticked < needed {
            errors.add(
                "reviewers",
                if needed == 1 {
                    "cochez au moins un évaluateur".to_owned()
                } else {
                    format!(
                        "cochez au moins {needed} évaluateurs : la décision demande {needed} évaluations ({ticked} coché{})",
                        if ticked > 1 { "s" } else { "" }
                    )
                },
            );
        }
    } else if form.get("motivation").is_empty() {
        errors.add(
            "motivation",
            "écrivez la motivation de l'inéligibilité : le porteur de projet la recevra",
        );
    }
    if !errors.is_empty() {
        let refused = Refused {
            values: form.values(),
            errors,
        };
        return render_application(&ctx, id, Some(refused)).await;
    }
    let command = if start {
        Command::StartReview(StartReviewInput {
            reviewer_ids: form.all("reviewers"),
            assessments,
        })
    } else {
        Command::DeclareIneligible(DeclareIneligibleInput {
            motivation: form.get("motivation").to_owned(),
            assessments,
        })
    };
    let result = transitions::apply(
        &ctx.state,
        &user,
        crate::services::applications::id(&id)?,
        version(&form),
        command,
    )
    .await
    .map(|_| ());
    after(&ctx, id, &form, fallback, result).await
}

async fn add_reviewer(
    CsrfForm { ctx, form }: CsrfForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    staff::require_staff(&user)?;
    let id = id.into_inner();
    let result = match form.opt("reviewer") {
        None => Err(ServiceError::invalid_field(
            "reviewer_id",
            "choisissez l'évaluateur à ajouter",
        )),
        Some(reviewer) => reviews::assign(
            &ctx.state,
            &user,
            crate::services::applications::id(&id)?,
            AssignInput {
                reviewer_id: reviewer.to_owned(),
            },
        )
        .await
        .map(|_| ()),
    };
    after(&ctx, id, &form, "reviewer", result).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_names_the_reviewers_in_natural_order() {
        let names: BTreeMap<String, String> = [("a", "n° 10"), ("b", "n° 2"), ("c", "n° 1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let event = HistoryEvent {
            id: "e".into(),
            action: "start-review".into(),
            from_state: Some("submitted".into()),
            to_state: Some("under_review".into()),
            actor_id: "s".into(),
            actor_name: "Agent".into(),
            actor_role: "staff".into(),
            at: chrono::Utc::now(),
            payload: serde_json::json!({"reviewer_ids": ["a", "b", "c"]}),
        };
        let line = &timeline(&[event], &names)[0];
        assert_eq!(
            line.get_attr("note").unwrap().to_string(),
            "Évaluateurs : n° 1, n° 2, n° 10"
        );
    }

    #[test]
    fn page_links_keep_the_ends_and_the_neighbours() {
        assert_eq!(page_links(1, 1), vec![Some(1)]);
        assert_eq!(page_links(1, 4), vec![Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(
            page_links(6, 12),
            vec![
                Some(1),
                None,
                Some(4),
                Some(5),
                Some(6),
                Some(7),
                Some(8),
                None,
                Some(12)
            ]
        );
    }

    #[test]
    fn readings_need_an_outcome_and_a_note() {
        let codes = vec!["ESS-2".to_owned(), "ESS-4".to_owned(), "ESS-6".to_owned()];
        let form = Form::parse(
            "lecture-ESS-2=pass&note-ESS-2=Statuts+lus&lecture-ESS-4=fail&note-ESS-6=vu".as_bytes(),
        );
        let (read, errors) = readings(&form, &codes);
        assert_eq!(read.len(), 1);
        assert_eq!(read["ESS-2"].outcome, AssessedOutcome::Pass);
        assert!(errors.fields.contains_key("note-ESS-4"));
        assert!(errors.fields.contains_key("lecture-ESS-6"));
    }
}
