//! « Ma structure est immatriculée » (DESIGN.md §16): the applicant of a structure that
//! applied in creation gives its SIRET (or RNA) and creation date, through the same service as
//! `PUT /api/v1/applications/{id}/registration`; refused, the form comes back with its errors
//! beside the fields and the values typed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use crate::domain::application::OrganisationStatus;
use crate::error::ServiceError;
use crate::services::applications;
use crate::services::registration::{self, RegistrationInput};
use crate::web::checked_form::RefillForm;
use crate::web::forms::Errors;
use crate::web::{PageCtx, WebError, see_other, ser};

const UUID: &str = "[0-9a-fA-F-]{36}";

/// The form's fields, in page order.
const FIELDS: &[&str] = &["siret", "rna", "created_on"];

pub fn configure(cfg: &mut web::ServiceConfig) {
    let path = format!("/candidatures/{{id:{UUID}}}/immatriculation");
    cfg.route(&path, web::get().to(form_page))
        .route(&path, web::post().to(save));
}

#[derive(Serialize)]
struct View {
    application: applications::Application,
    values: Map<String, Json>,
    errors: Errors,
    /// A refusal that is not a field's (another application of the call has this SIRET…).
    problem: Option<String>,
}

async fn render(
    ctx: &PageCtx,
    id: String,
    status: StatusCode,
    values: Map<String, Json>,
    errors: Errors,
    problem: Option<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let application =
        applications::get(&ctx.state, &user, crate::services::applications::id(&id)?).await?;
    if application.organisation.status != OrganisationStatus::InCreation
        || application.submitted_at.is_none()
    {
        return Ok(see_other(&format!("/candidatures/{}", application.id)));
    }
    let view = View {
        application,
        values,
        errors,
        problem,
    };
    ctx.render_status(status, "registration.html", ser(&view))
}

async fn form_page(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    render(
        &ctx,
        id.into_inner(),
        StatusCode::OK,
        Map::new(),
        Errors::default(),
        None,
    )
    .await
}

async fn save(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let mut errors = refused;
    let user = ctx.user()?;
    let id = id.into_inner();
    let mut values = Map::new();
    for f in FIELDS {
        values.insert((*f).into(), json!(form.get(f)));
    }
    let created_on = crate::web::applicant::parse_date(form.get("created_on"));
    if created_on.is_none() {
        errors.add(
            "created_on",
            "indiquez une date réelle sous la forme jour/mois/année, par exemple 01/03/2027",
        );
    }
    let mut problem = None;
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (true, Some(created_on)) = (errors.is_empty(), created_on) {
        let input = RegistrationInput {
            siret: form.opt("siret").map(|s| s.replace(' ', "")),
            rna: form.opt("rna").map(|r| r.trim().to_uppercase()),
            created_on,
        };
        match registration::register(
            &ctx.state,
            &user,
            crate::services::applications::id(&id)?,
            None,
            input,
        )
        .await
        {
            Ok(_) => return Ok(see_other(&format!("/candidatures/{id}?immatriculee=1"))),
            Err(ServiceError::Conflict { message, extra }) => {
                match Errors::from_service(
                    ServiceError::Conflict { message, extra },
                    |p| {
                        let p = p.strip_prefix("organisation.").unwrap_or(p);
                        FIELDS.contains(&p).then(|| p.to_owned())
                    },
                    "siret",
                ) {
                    Ok(e) => errors = e,
                    Err(ServiceError::Conflict { message, .. }) => {
                        problem = Some(message);
                        status = StatusCode::CONFLICT;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => {
                errors = Errors::from_service(
                    e,
                    |p| {
                        let p = p.strip_prefix("organisation.").unwrap_or(p);
                        FIELDS.contains(&p).then(|| p.to_owned())
                    },
                    "siret",
                )?
            }
        }
    }
    render(&ctx, id, status, values, errors.ordered(FIELDS), problem).await
}
