//! The committee's pages (DESIGN.md §9, §10, §13): a call's ranking board with the decision
//! forms, and its exports as download links. The board reads the same ranking as
//! `GET /calls/{id}/ranking`, and a decision goes through the same service as
//! `POST /applications/{id}/decision`: the envelope holds here exactly as on the API (checked
//! and consumed under the call's row lock), and a refused decision comes back on the board
//! with its error and the values typed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use minijinja::context;
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use crate::error::ServiceError;
use crate::export::ExportFormat;
use crate::input::Paging;
use crate::services::reviews::{self, RankingEntry};
use crate::services::transitions::{self, Command, DecisionInput, DecisionOutcome};
use crate::services::{applications, calls};
use crate::web::checked_form::RefillForm;
use crate::web::forms::{Errors, Form, euros_input, parse_euros};
use crate::web::staff_calls::staff;
use crate::web::{PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/gestion/appels/{id}/classement", web::get().to(board))
        .route(
            "/gestion/appels/{id}/classement/{application}/accepter",
            web::post().to(accept),
        )
        .route(
            "/gestion/appels/{id}/classement/{application}/refuser",
            web::post().to(reject),
        )
        .route("/gestion/appels/{id}/exports", web::get().to(exports))
        .route(
            "/gestion/appels/{id}/exports/data-gouv",
            web::post().to(publish_open_data),
        );
}

/// A decision form refused by the service, shown again on its row.
struct Refused {
    application_id: String,
    outcome: DecisionOutcome,
    values: Map<String, Json>,
    errors: Errors,
    problem: Option<String>,
}

/// A row of the board.
#[derive(Serialize)]
struct Row {
    #[serde(flatten)]
    entry: RankingEntry,
    /// A prefix for the ids of this row's fields (unique on the page).
    key: String,
    /// What this row adds to the proposed awards: the award once accepted; the largest
    /// award allowed now while it is still to decide with enough reviews; else nothing.
    proposed_cents: i64,
    /// The proposed awards from the first row down to this one.
    running_cents: i64,
    /// The running total is above the envelope: this row would not be funded.
    beyond_envelope: bool,
    /// Decision forms are offered (under review, enough reviews).
    decidable: bool,
    accept: Map<String, Json>,
    reject: Map<String, Json>,
    accept_errors: Errors,
    reject_errors: Errors,
    problem: Option<String>,
    problem_outcome: Option<&'static str>,
}

fn paris_today(ctx: &PageCtx) -> NaiveDate {
    ctx.state.clock.paris_today()
}

/// Every line of the ranking (pages of 100, read until the end).
async fn whole_ranking(ctx: &PageCtx, call_id: &str) -> Result<Vec<RankingEntry>, WebError> {
    let user = ctx.user()?;
    let mut out = Vec::new();
    for page in 1.. {
        let p = reviews::ranking(
            &ctx.state,
            &user,
            crate::services::calls::id(call_id)?,
            Paging {
                page,
                per_page: crate::input::paging::MAX_PER_PAGE,
            },
        )
        .await?;
        let done = p.items.len() < crate::input::paging::MAX_PER_PAGE as usize;
        out.extend(p.items);
        if done || out.len() as i64 >= p.total {
            break;
        }
    }
    Ok(out)
}

fn key_of(reference: &str) -> String {
    reference
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

async fn render_board(
    ctx: &PageCtx,
    call_id: String,
    refused: Option<Refused>,
    status: StatusCode,
    notice: Option<String>,
) -> Result<HttpResponse, WebError> {
    staff(ctx)?;
    let call = calls::get(&ctx.state, true, crate::services::calls::id(&call_id)?).await?;
    let entries = whole_ranking(ctx, &call_id).await?;
    let today = paris_today(ctx).format("%d/%m/%Y").to_string();
    let mut running = 0i64;
    let mut summary = Errors::default();
    let mut rows = Vec::with_capacity(entries.len());
    for entry in entries {
        let key = key_of(&entry.reference);
        let decidable = entry.state
            == crate::domain::application_state::ApplicationState::UnderReview
            && !entry.missing_reviews;
        let proposed = match (entry.awarded_cents, decidable) {
            (Some(a), _) => a.value(),
            (None, true) => entry.award_ceiling_cents.unwrap_or(0),
            (None, false) => 0,
        };
        running += proposed;
        let mut accept = Map::new();
        accept.insert(
            "amount".into(),
            json!(euros_input(entry.award_ceiling_cents.unwrap_or(0))),
        );
        accept.insert("committee_date".into(), json!(today));
        let mut reject = Map::new();
        reject.insert("committee_date".into(), json!(today));
        let mut row = Row {
            key: key.clone(),
            proposed_cents: proposed,
            running_cents: running,
            beyond_envelope: running > call.envelope.total_cents.value(),
            decidable,
            accept,
            reject,
            accept_errors: Errors::default(),
            reject_errors: Errors::default(),
            problem: None,
            problem_outcome: None,
            entry,
        };
        if let Some(r) = refused
            .as_ref()
            .filter(|r| r.application_id == row.entry.application_id.as_str())
        {
            let prefix = match r.outcome {
                DecisionOutcome::Accepted => "accept",
                DecisionOutcome::Rejected => "reject",
            };
            // The field ids of this row, for the summary's links.
            for (field, message) in &r.errors.summary {
                summary.add(&format!("{prefix}-{key}-{field}"), message.clone());
            }
            if let Some(p) = &r.problem {
                summary.add(&format!("{prefix}-{key}-problem"), p.clone());
            }
            row.problem = r.problem.clone();
            row.problem_outcome = Some(prefix);
            match r.outcome {
                DecisionOutcome::Accepted => {
                    row.accept = r.values.clone();
                    row.accept_errors = r.errors.clone();
                }
                DecisionOutcome::Rejected => {
                    row.reject = r.values.clone();
                    row.reject_errors = r.errors.clone();
                }
            }
        }
        rows.push(row);
    }
    let refused_ref = refused.as_ref().and_then(|r| {
        rows.iter()
            .find(|row| row.entry.application_id.as_str() == r.application_id)
            .map(|row| row.entry.reference.clone())
    });
    ctx.render_status(
        status,
        "ranking.html",
        context! {
            call => ser(&call),
            rows => ser(&rows),
            errors => ser(&summary),
            refused => refused_ref,
            notice => notice,
            to_decide => rows.iter().filter(|r| r.decidable).count(),
        },
    )
}

#[derive(serde::Deserialize)]
struct BoardQuery {
    decision: Option<String>,
    clos: Option<String>,
}

async fn board(
    ctx: PageCtx,
    id: web::Path<String>,
    q: web::Query<BoardQuery>,
) -> Result<HttpResponse, WebError> {
    let notice = match (&q.decision, &q.clos) {
        (Some(r), _) => Some(format!(
            "La décision sur la candidature {r} est enregistrée."
        )),
        (None, Some(_)) => Some("L'appel est clos : il n'accepte plus de dépôt.".to_owned()),
        _ => None,
    };
    render_board(&ctx, id.into_inner(), None, StatusCode::OK, notice).await
}

/// The decision form read; type errors are the form's own.
fn read(form: &Form, outcome: DecisionOutcome) -> (Option<DecisionInput>, Errors) {
    let mut errors = Errors::default();
    let awarded_cents = match outcome {
        DecisionOutcome::Accepted => {
            let v = parse_euros(form.get("amount"));
            if v.is_none() {
                errors.add(
                    "amount",
                    "indiquez le montant attribué en euros, par exemple 15 000",
                );
            }
            v
        }
        DecisionOutcome::Rejected => None,
    };
    let date = parse_date(form.get("committee_date"));
    if date.is_none() {
        errors.add(
            "committee_date",
            "indiquez la date du comité sous la forme jour/mois/année, par exemple 12/03/2027",
        );
    }
    let input = date.map(|committee_date| DecisionInput {
        outcome,
        awarded_cents,
        motivation: form.get("motivation").to_owned(),
        committee_date,
        decision_reference: form.opt("decision_reference").map(str::to_owned),
    });
    (input.filter(|_| errors.is_empty()), errors)
}

fn parse_date(input: &str) -> Option<NaiveDate> {
    let input = input.trim().replace(['.', '-', ' '], "/");
    let parts: Vec<&str> = input.split('/').collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (y, m, d) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
    if y.len() != 4 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

fn field_of(path: &str) -> Option<String> {
    match path {
        "awarded_cents" => Some("amount".into()),
        "motivation" | "committee_date" | "decision_reference" => Some(path.to_owned()),
        _ => None,
    }
}

const FIELD_ORDER: [&str; 4] = [
    "amount",
    "committee_date",
    "decision_reference",
    "motivation",
];

async fn decide(
    RefillForm { ctx, form, refused }: RefillForm,
    path: web::Path<(String, String)>,
    outcome: DecisionOutcome,
) -> Result<HttpResponse, WebError> {
    let user = staff(&ctx)?;
    let (call_id, application_id) = path.into_inner();
    if let Some(again) = crate::web::proconnect::needs_stronger(
        &ctx,
        &format!("/gestion/appels/{call_id}/classement"),
    ) {
        return Ok(again);
    }
    // The application must be one of this call's (else: not found, as any other URL).
    let app = applications::get(
        &ctx.state,
        &user,
        crate::services::applications::id(&application_id)?,
    )
    .await?;
    if app.call_id != crate::services::calls::id(&call_id)? {
        return Err(
            ServiceError::not_found("Cette candidature n'existe pas dans cet appel.").into(),
        );
    }
    let (input, errors) = read(&form, outcome);
    // A motivation the text rule refused is shown back beside its field; nothing is decided.
    let mut errors = refused.and(errors);
    let input = input.filter(|_| errors.is_empty());
    let mut problem = None;
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let Some(input) = input {
        let command = Command::Decide(input);
        // Accepting or refusing asks to confirm first (as publishing and closing do): a
        // page with the amount and the envelope left, whose button sends the form again.
        match command.check(paris_today(&ctx)) {
            Err(e) => {
                let refused = Refused {
                    application_id,
                    outcome,
                    values: form.values(),
                    errors: Errors::from_service(e, field_of, "motivation")?.ordered(&FIELD_ORDER),
                    problem: None,
                };
                return render_board(&ctx, call_id, Some(refused), status, None).await;
            }
            Ok(()) if form.get("confirme") != "oui" => {
                let call =
                    calls::get(&ctx.state, true, crate::services::calls::id(&call_id)?).await?;
                let awarded = match &command {
                    Command::Decide(d) => d.awarded_cents,
                    _ => None,
                };
                let mut values = form.values();
                values.remove("confirme");
                return ctx.render(
                    "decision_confirm.html",
                    context! {
                        call => ser(&call),
                        application => ser(&app),
                        accept => outcome == DecisionOutcome::Accepted,
                        awarded_cents => awarded,
                        left_after_cents => call.envelope.left_cents.value() - awarded.unwrap_or(0),
                        values => ser(&values),
                        action => format!(
                            "/gestion/appels/{call_id}/classement/{application_id}/{}",
                            if outcome == DecisionOutcome::Accepted { "accepter" } else { "refuser" }
                        ),
                        back => format!("/gestion/appels/{call_id}/classement#decision-{}", key_of(&app.reference)),
                    },
                );
            }
            Ok(()) => {}
        }
        match transitions::apply(
            &ctx.state,
            &user,
            crate::services::applications::id(&application_id)?,
            None,
            command,
        )
        .await
        {
            Ok(app) => {
                return Ok(see_other(&format!(
                    "/gestion/appels/{call_id}/classement?decision={}#ligne-{}",
                    app.reference,
                    key_of(&app.reference)
                )));
            }
            Err(ServiceError::Conflict { message, .. }) => {
                status = StatusCode::CONFLICT;
                problem = Some(message);
            }
            Err(e) => errors = Errors::from_service(e, field_of, "motivation")?,
        }
    }
    let refused = Refused {
        application_id,
        outcome,
        values: form.values(),
        errors: errors.ordered(&FIELD_ORDER),
        problem,
    };
    render_board(&ctx, call_id, Some(refused), status, None).await
}

async fn accept(
    checked: RefillForm,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    decide(checked, path, DecisionOutcome::Accepted).await
}

async fn reject(
    checked: RefillForm,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    decide(checked, path, DecisionOutcome::Rejected).await
}

/// One download link of the exports page.
#[derive(Serialize)]
struct Download {
    href: String,
    label: &'static str,
    description: &'static str,
}

async fn exports(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    render_exports(&ctx, id.into_inner(), None, StatusCode::OK).await
}

/// What the data.gouv.fr form answered, shown at the top of the exports page.
#[derive(serde::Serialize)]
struct OpenDataOutcome {
    /// The publication (or dry run) that went through.
    done: Option<crate::services::open_data::Publication>,
    /// Why nothing was published.
    error: Option<String>,
}

/// « Publier sur data.gouv.fr » and « Vérifier sans publier » (DESIGN.md §17).
async fn publish_open_data(
    ctx: PageCtx,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let user = staff(&ctx)?;
    let form = Form::parse(&body);
    ctx.check_form(&form)?;
    let id = id.into_inner();
    let input = crate::services::open_data::PublishInput {
        dry_run: form.get("dry_run") == "1",
    };
    match crate::services::open_data::publish(
        &ctx.state,
        &user,
        crate::services::calls::id(&id)?,
        input,
    )
    .await
    {
        Ok(p) => {
            let outcome = OpenDataOutcome {
                done: Some(p),
                error: None,
            };
            render_exports(&ctx, id, Some(outcome), StatusCode::OK).await
        }
        Err(ServiceError::Upstream(message)) => {
            let outcome = OpenDataOutcome {
                done: None,
                error: Some(message),
            };
            render_exports(&ctx, id, Some(outcome), StatusCode::BAD_GATEWAY).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn render_exports(
    ctx: &PageCtx,
    id: String,
    open_data: Option<OpenDataOutcome>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    staff(ctx)?;
    let call = calls::get(&ctx.state, true, crate::services::calls::id(&id)?).await?;
    let base = format!("/api/v1/calls/{}/export", call.id);
    let link = |query: &str, label, description| Download {
        href: format!("{base}?{query}"),
        label,
        description,
    };
    let _every_format_is_offered = |f: ExportFormat| match f {
        ExportFormat::Csv | ExportFormat::Xlsx | ExportFormat::Json | ExportFormat::Scdl => {}
    };
    let all = vec![
        link(
            "format=xlsx",
            "Classeur Excel (.xlsx)",
            "Une feuille des candidatures (montants en euros, dates en dates) et une feuille des évaluations.",
        ),
        link(
            "format=csv&dialect=excel-fr",
            "CSV pour Excel en français (.csv)",
            "Séparateur point-virgule, virgule décimale, en-têtes et valeurs en français.",
        ),
        link(
            "format=csv",
            "CSV standard (.csv)",
            "RFC 4180 : séparateur virgule, point décimal, pour les outils de traitement de données.",
        ),
        link(
            "format=json",
            "JSON (.json)",
            "Les mêmes champs que le CSV, montants en centimes.",
        ),
        link(
            "format=scdl",
            "Données ouvertes SCDL « subventions » (.csv)",
            "Une ligne par subvention attribuée, au format national de publication.",
        ),
    ];
    let decisions = vec![
        link(
            "format=xlsx&state=accepted,rejected",
            "Décisions, classeur Excel (.xlsx)",
            "Les candidatures acceptées et refusées seulement.",
        ),
        link(
            "format=csv&dialect=excel-fr&state=accepted,rejected",
            "Décisions, CSV pour Excel en français (.csv)",
            "Les candidatures acceptées et refusées seulement.",
        ),
    ];
    ctx.render_status(
        status,
        "exports.html",
        context! {
            call => ser(&call),
            downloads => ser(&all),
            decisions => ser(&decisions),
            open_data_enabled => ctx.state.open_data.is_some(),
            open_data => ser(&open_data),
        },
    )
}
