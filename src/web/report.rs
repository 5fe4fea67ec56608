//! The final report on the pages (DESIGN.md §15): the beneficiary's form « Compte rendu
//! financier » (the budget by the Cerfa's categories, planned and actual, the explanation of
//! the gaps, the narrative, the indicators), saved as a draft at each press and submitted by a
//! second button; staff's approval and request for changes on the staff application page.
//! Amounts are typed in euros the French way and read by `forms::parse_euros`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::{Value, context};
use serde_json::{Map, Value as Json};

use crate::domain::report::{BudgetCategory, BudgetLine, Indicators, ReportBody, Side};
use crate::error::ServiceError;
use crate::input::multipart::read_document;
use crate::services::documents;
use crate::services::reports::{self, ChangesInput, ReportView};
use crate::web::checked_form::{CsrfForm, RefillForm};
use crate::web::forms::{Errors, Form, euros_input, parse_euros};
use crate::web::{PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/candidatures/{id}/compte-rendu", web::get().to(form_page))
        .route("/candidatures/{id}/compte-rendu", web::post().to(save))
        .route(
            "/candidatures/{id}/compte-rendu/annexes",
            web::post().to(add_annex),
        )
        .route(
            "/candidatures/{id}/compte-rendu/annexes/{doc}/supprimer",
            web::post().to(delete_annex),
        )
        .route(
            "/gestion/candidatures/{id}/compte-rendu/approuver",
            web::post().to(approve),
        )
        .route(
            "/gestion/candidatures/{id}/compte-rendu/corrections",
            web::post().to(request_changes),
        );
}

fn field(category: BudgetCategory, which: &str) -> String {
    format!("{which}_{}", category.as_str())
}

/// The form's values from a stored report: amounts in euros as the pages write them.
fn values_of(report: &ReportBody) -> Map<String, Json> {
    let mut values = Map::new();
    for line in &report.budget {
        // A line never typed in (planned at 0, nothing actual) stays empty.
        if line.planned_cents != 0 || line.actual_cents.is_some() {
            values.insert(
                field(line.category, "planned"),
                Json::String(euros_input(line.planned_cents)),
            );
        }
        if let Some(actual) = line.actual_cents {
            values.insert(
                field(line.category, "actual"),
                Json::String(euros_input(actual)),
            );
        }
    }
    values.insert(
        "gaps_explanation".into(),
        report.gaps_explanation.clone().into(),
    );
    values.insert("narrative".into(), report.narrative.clone().into());
    for (name, v) in [
        ("jobs_created", report.indicators.jobs_created),
        ("volunteers", report.indicators.volunteers),
        ("people_reached", report.indicators.people_reached),
    ] {
        if let Some(v) = v {
            values.insert(name.into(), v.to_string().into());
        }
    }
    values
}

/// The form read back: the report, and what the form itself cannot read (an amount or a
/// number that is not one), beside its field.
fn read(form: &Form) -> (ReportBody, Errors) {
    let mut errors = Errors::default();
    let mut budget = Vec::new();
    for category in BudgetCategory::ALL {
        let amount = |which: &str, errors: &mut Errors| -> Option<i64> {
            let name = field(category, which);
            let typed = form.get(&name).trim();
            if typed.is_empty() {
                return None;
            }
            let v = parse_euros(typed);
            if v.is_none() {
                errors.add(
                    &name,
                    format!(
                        "{} : indiquez un montant en euros, par exemple 1 500 ou 1 500,50",
                        category.label_fr()
                    ),
                );
            }
            v
        };
        let planned = amount("planned", &mut errors);
        let actual = amount("actual", &mut errors);
        if planned.is_some() || actual.is_some() {
            budget.push(BudgetLine {
                category,
                planned_cents: planned.unwrap_or(0),
                actual_cents: actual,
            });
        }
    }
    let mut count = |name: &str, what: &str| -> Option<u32> {
        let typed = form
            .get(name)
            .trim()
            .replace([' ', '\u{a0}', '\u{202f}'], "");
        if typed.is_empty() {
            return None;
        }
        let v = typed.parse::<u32>().ok();
        if v.is_none() {
            errors.add(
                name,
                format!("{what} : indiquez un nombre entier, par exemple 3"),
            );
        }
        v
    };
    let indicators = Indicators {
        jobs_created: count("jobs_created", "Emplois créés"),
        volunteers: count("volunteers", "Bénévoles"),
        people_reached: count("people_reached", "Personnes touchées"),
    };
    (
        ReportBody {
            budget,
            gaps_explanation: form.get("gaps_explanation").to_owned(),
            narrative: form.get("narrative").to_owned(),
            indicators,
        },
        errors,
    )
}

/// A service's field path (`budget[3].actual_cents`) as the form's field name.
fn form_field(report: &ReportBody) -> impl Fn(&str) -> Option<String> + '_ {
    move |path: &str| {
        if let Some(rest) = path.strip_prefix("budget[") {
            let (n, which) = rest.split_once("].")?;
            let line = report.budget.get(n.parse::<usize>().ok()?)?;
            let which = which.strip_suffix("_cents").unwrap_or(which);
            let which = if which == "category" {
                "planned"
            } else {
                which
            };
            return Some(field(line.category, which));
        }
        match path {
            "budget" => Some(field(BudgetCategory::Purchases, "actual")),
            p => Some(p.strip_prefix("indicators.").unwrap_or(p).to_owned()),
        }
    }
}

/// The categories as the form lays them out, by side.
fn categories(side: Side) -> Vec<Value> {
    BudgetCategory::ALL
        .into_iter()
        .filter(|c| c.side() == side)
        .map(|c| {
            context! {
                code => c.as_str(),
                label => c.label_fr(),
                planned => field(c, "planned"),
                actual => field(c, "actual"),
            }
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn render(
    ctx: &PageCtx,
    status: StatusCode,
    application: Value,
    report: &ReportView,
    values: Map<String, Json>,
    errors: Errors,
    saved: bool,
) -> Result<HttpResponse, WebError> {
    let gaps: Vec<&str> = report.gaps.iter().map(|c| c.label_fr()).collect();
    // The summary in the form's order.
    let mut order: Vec<String> = Vec::new();
    for side in [Side::Charges, Side::Products] {
        for c in BudgetCategory::ALL.into_iter().filter(|c| c.side() == side) {
            order.push(field(c, "planned"));
            order.push(field(c, "actual"));
        }
    }
    order.extend(
        [
            "gaps_explanation",
            "narrative",
            "jobs_created",
            "volunteers",
            "people_reached",
        ]
        .map(str::to_owned),
    );
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    let errors = errors.ordered(&order);
    ctx.render_status(
        status,
        "report.html",
        context! {
            application,
            report => ser(report),
            charges => categories(Side::Charges),
            products => categories(Side::Products),
            gaps,
            report_labels => crate::web::labels::budget_labels(),
            values => ser(&values),
            errors => ser(&errors),
            saved,
            annex_added => ctx.req.query_string().contains("annexe=1"),
        },
    )
}

async fn form_page(
    ctx: PageCtx,
    id: web::Path<String>,
    q: web::Query<std::collections::BTreeMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    let application = crate::services::applications::get(
        &ctx.state,
        &user,
        crate::services::applications::id(&id)?,
    )
    .await?;
    let grant = crate::web::staff::grant_of(&ctx, &id).await?;
    let report = reports::get(&ctx.state, &user, &grant).await?;
    let values = values_of(&report.report);
    render(
        &ctx,
        StatusCode::OK,
        ser(&application),
        &report,
        values,
        Errors::default(),
        q.contains_key("enregistre"),
    )
}

/// « Enregistrer le brouillon » or « Déposer le compte rendu »: both save what is typed; the
/// second then submits it.
async fn save(
    ctx: PageCtx,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    let user = ctx.user()?;
    let id = id.into_inner();
    let application = crate::services::applications::get(
        &ctx.state,
        &user,
        crate::services::applications::id(&id)?,
    )
    .await?;
    let grant = crate::web::staff::grant_of(&ctx, &id).await?;
    let (body, unread) = read(&form);
    let mut errors = refused.and(unread);
    let submit = form.get("action") == "deposer";
    if errors.is_empty() {
        match reports::put(&ctx.state, &user, &grant, body.clone()).await {
            Ok(_) if !submit => {
                return Ok(see_other(&format!(
                    "/candidatures/{id}/compte-rendu?enregistre=1"
                )));
            }
            Ok(_) => match reports::submit(&ctx.state, &user, &grant).await {
                Ok(_) => return Ok(see_other(&format!("/candidatures/{id}?compte_rendu=1"))),
                Err(e) => errors = Errors::from_service(e, form_field(&body), "narrative")?,
            },
            Err(e) => errors = Errors::from_service(e, form_field(&body), "narrative")?,
        }
    }
    let report = reports::get(&ctx.state, &user, &grant).await?;
    render(
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        ser(&application),
        &report,
        form.values(),
        errors,
        false,
    )
}

async fn approve(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    let mut errors = refused;
    if errors.is_empty() {
        let grant = crate::web::staff::grant_of(&ctx, &id).await?;
        match reports::approve(&ctx.state, &user, &grant).await {
            Ok(_) => return Ok(see_other(&format!("/gestion/candidatures/{id}?fait=1"))),
            Err(ServiceError::Conflict { message, .. }) => errors.add("report_approve", message),
            Err(e) => return Err(e.into()),
        }
    }
    crate::web::staff::render_refused(&ctx, id, form.values(), errors).await
}

async fn request_changes(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let id = id.into_inner();
    let grant = crate::web::staff::grant_of(&ctx, &id).await?;
    let mut errors = refused;
    if errors.is_empty() {
        let input = ChangesInput {
            message: form.get("report_message").to_owned(),
        };
        match reports::request_changes(&ctx.state, &user, &grant, input).await {
            Ok(_) => return Ok(see_other(&format!("/gestion/candidatures/{id}?fait=1"))),
            Err(ServiceError::Invalid { fields, .. }) => {
                errors = Errors::from_fields(
                    &fields,
                    |_| Some("report_message".to_owned()),
                    "report_message",
                )
            }
            Err(e) => return Err(e.into()),
        }
    }
    crate::web::staff::render_refused(&ctx, id, form.values(), errors).await
}

#[derive(serde::Deserialize)]
struct CsrfQuery {
    #[serde(rename = "_csrf")]
    csrf: Option<String>,
}

/// « Ajouter l'annexe »: multipart, so its CSRF token comes in the query string (as on the
/// documents page); the file is checked on its bytes by the documents' service.
async fn add_annex(
    ctx: PageCtx,
    id: web::Path<String>,
    q: web::Query<CsrfQuery>,
    form: actix_multipart::Multipart,
) -> Result<HttpResponse, WebError> {
    ctx.check_csrf(q.csrf.as_deref())?;
    let user = ctx.user()?;
    let id = id.into_inner();
    let grant = crate::web::staff::grant_of(&ctx, &id).await?;
    match documents::upload_report_annex(
        &ctx.state,
        &user,
        grant.clone(),
        |l: documents::UploadLimits| read_document(form, l.tmp_dir, l.max_bytes, l.sniff_bytes),
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/candidatures/{id}/compte-rendu?annexe=1#annexes"
        ))),
        Err(
            e @ (ServiceError::Invalid { .. }
            | ServiceError::TooLarge(_)
            | ServiceError::UnsupportedContent(_)
            | ServiceError::BadInput(_)),
        ) => {
            let message = match &e {
                ServiceError::Invalid { fields, .. }
                    if fields.get("file").is_some_and(|m| {
                        m.iter().any(|m| {
                            m == "le fichier est vide" || m.starts_with("joignez un fichier")
                        })
                    }) =>
                {
                    "Choisissez un fichier".to_owned()
                }
                _ => e.message(),
            };
            let mut errors = Errors::default();
            errors.add("annex_file", message);
            let application = crate::services::applications::get(
                &ctx.state,
                &user,
                crate::services::applications::id(&id)?,
            )
            .await?;
            let report = reports::get(&ctx.state, &user, &grant).await?;
            let values = values_of(&report.report);
            render(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                ser(&application),
                &report,
                values,
                errors,
                false,
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn delete_annex(
    CsrfForm { ctx, form: _ }: CsrfForm,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let (id, doc) = path.into_inner();
    let grant = crate::web::staff::grant_of(&ctx, &id).await?;
    crate::services::documents::delete_report_annex(
        &ctx.state,
        &user,
        grant,
        crate::services::documents::id(&doc)?,
    )
    .await?;
    Ok(see_other(&format!(
        "/candidatures/{id}/compte-rendu#annexes"
    )))
}
