//! A commune's pages (DESIGN.md §16): `/commune`, the applications taking place in its
//! commune, and `/commune/candidatures/{id}`, one of them as a commune reads it — the same
//! service, and so the same limits, as `GET /api/v1/commune/applications`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};

use crate::domain::application_state::ApplicationState;
use crate::domain::commune_opinion::Opinion;
use crate::domain::territory::commune_name;
use crate::error::ServiceError;
use crate::services::commune_opinions::{self, OpinionInput};
use crate::services::communes::{self, CommuneApplication};
use crate::services::referrals::{self, ReferralInput};
use crate::web::checked_form::RefillForm;
use crate::web::forms::{Errors, Form};
use crate::web::{PageCtx, WebError, see_other, ser};

const UUID: &str = "[0-9a-fA-F-]{36}";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/commune", web::get().to(home))
        .route(
            &format!("/commune/candidatures/{{id:{UUID}}}"),
            web::get().to(application),
        )
        .route(
            &format!("/commune/candidatures/{{id:{UUID}}}/avis"),
            web::post().to(give_opinion),
        )
        .route("/commune/recommander", web::get().to(referral_form))
        .route("/commune/recommander", web::post().to(refer));
}

/// The referral form's fields, in page order.
const REFERRAL_FIELDS: &[&str] = &["organisation_name", "email", "message"];

#[derive(Serialize)]
struct ReferralView {
    values: Map<String, Json>,
    errors: Errors,
    /// A refusal that is not a field's (no call open).
    problem: Option<String>,
    /// The address just mailed.
    sent_to: Option<String>,
    referrals: Vec<crate::services::referrals::Referral>,
}

async fn render_referrals(
    ctx: &PageCtx,
    status: StatusCode,
    values: Map<String, Json>,
    errors: Errors,
    problem: Option<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let referrals = referrals::list(&ctx.state, &user).await?;
    let view = ReferralView {
        values,
        errors,
        problem,
        sent_to: ctx.query_value("envoye"),
        referrals,
    };
    ctx.render_status(status, "commune_referral.html", ser(&view))
}

async fn referral_form(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    render_referrals(&ctx, StatusCode::OK, Map::new(), Errors::default(), None).await
}

async fn refer(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    let user = ctx.user()?;
    let mut values = Map::new();
    for f in REFERRAL_FIELDS {
        values.insert((*f).into(), json!(form.get(f)));
    }
    if !refused.is_empty() {
        return render_referrals(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            values,
            refused,
            None,
        )
        .await;
    }
    let input = ReferralInput {
        organisation_name: form.get("organisation_name").to_owned(),
        email: form.get("email").to_owned(),
        message: form.get("message").to_owned(),
        call_id: None,
    };
    let (errors, problem, status) = match referrals::refer(&ctx.state, &user, input).await {
        Ok(r) => {
            let to =
                percent_encoding::utf8_percent_encode(&r.email, percent_encoding::NON_ALPHANUMERIC);
            return Ok(see_other(&format!("/commune/recommander?envoye={to}")));
        }
        Err(ServiceError::Conflict { message, .. }) => {
            (Errors::default(), Some(message), StatusCode::CONFLICT)
        }
        Err(e) => (
            Errors::from_service(
                e,
                |p| REFERRAL_FIELDS.contains(&p).then(|| p.to_owned()),
                "organisation_name",
            )?
            .ordered(REFERRAL_FIELDS),
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    render_referrals(&ctx, status, values, errors, problem).await
}

/// The form's fields, in page order.
const FIELDS: &[&str] = &["opinion", "comment"];

/// An application with what the pages say of it.
#[derive(Serialize)]
struct Item {
    #[serde(flatten)]
    application: CommuneApplication,
    state_label: &'static str,
    /// The names of the communes where the project takes place.
    activity_names: Vec<String>,
}

impl Item {
    fn new(application: CommuneApplication) -> Self {
        let activity_names = application
            .activity_communes
            .iter()
            .map(|c| {
                commune_name(crate::domain::territory::canonical_commune(c))
                    .map_or_else(|| c.clone(), str::to_owned)
            })
            .collect();
        Self {
            state_label: state_label(application.state),
            application,
            activity_names,
        }
    }
}

/// Where an application stands, in a commune's words.
fn state_label(state: ApplicationState) -> &'static str {
    match state {
        ApplicationState::Draft => "En cours de rédaction",
        ApplicationState::Submitted => "Déposée, en attente d'instruction",
        ApplicationState::ChangesRequested => "Compléments demandés au porteur",
        ApplicationState::UnderReview => "En cours d'évaluation",
        ApplicationState::Accepted => "Subvention attribuée",
        ApplicationState::Rejected => "Non retenue",
        ApplicationState::Ineligible => "Déclarée inéligible",
        ApplicationState::Withdrawn => "Retirée par le porteur",
    }
}

#[derive(Serialize)]
struct HomeView {
    commune_name: String,
    /// « à Roubaix », « au Maisnil ».
    in_commune: String,
    /// How many wait for the commune's opinion (window open, none given).
    waiting: usize,
    items: Vec<Item>,
}

async fn home(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let list = communes::list(&ctx.state, &user).await?;
    let waiting = list
        .items
        .iter()
        .filter(|a| a.opinion.is_none() && a.opinion_window.open)
        .count();
    let view = HomeView {
        waiting,
        in_commune: crate::domain::territory::in_commune(&list.commune_name),
        commune_name: list.commune_name,
        items: list.items.into_iter().map(Item::new).collect(),
    };
    ctx.render("commune_home.html", ser(&view))
}

/// An application's page: what the commune reads of it, and its opinion's form.
#[derive(Serialize)]
struct ApplicationView {
    #[serde(flatten)]
    item: Item,
    /// The opinions a commune may give, from the domain's enum.
    opinion_options: Vec<(&'static str, &'static str)>,
    values: Map<String, Json>,
    errors: Errors,
    /// A refusal that is not a field's (the deadline passed meanwhile).
    problem: Option<String>,
    /// The opinion was just recorded.
    saved: bool,
}

impl ApplicationView {
    fn new(one: CommuneApplication, values: Option<Map<String, Json>>, errors: Errors) -> Self {
        let values = values.unwrap_or_else(|| {
            let mut v = Map::new();
            if let Some(o) = &one.opinion {
                v.insert("opinion".into(), json!(o.opinion.as_str()));
                v.insert("comment".into(), json!(o.comment));
            }
            v
        });
        Self {
            item: Item::new(one),
            opinion_options: Opinion::ALL
                .into_iter()
                .map(|o| (o.as_str(), o.label_fr()))
                .collect(),
            values,
            errors,
            problem: None,
            saved: false,
        }
    }
}

async fn application(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let one = communes::get(&ctx.state, &user, communes::id(&id)?).await?;
    let mut view = ApplicationView::new(one, None, Errors::default());
    view.saved = ctx.req.query_string().contains("avis=1");
    ctx.render("commune_application.html", ser(&view))
}

async fn give_opinion(
    RefillForm { ctx, form, refused }: RefillForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let mut errors = refused;
    let user = ctx.user()?;
    let id = communes::id(&id)?;
    let opinion = match form.get("opinion") {
        "" => {
            errors.add("opinion", "choisissez l'avis de la commune");
            None
        }
        code => {
            let o = Opinion::parse(code);
            if o.is_none() {
                errors.add("opinion", "choisissez l'un des trois avis proposés");
            }
            o
        }
    };
    let mut problem = None;
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if let (true, Some(opinion)) = (errors.is_empty(), opinion) {
        let input = OpinionInput {
            opinion,
            comment: form.get("comment").to_owned(),
        };
        match commune_opinions::give(&ctx.state, &user, id.clone(), input).await {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/commune/candidatures/{id}?avis=1#avis"
                )));
            }
            Err(ServiceError::Conflict { message, .. }) => {
                problem = Some(message);
                status = StatusCode::CONFLICT;
            }
            Err(e) => {
                errors = Errors::from_service(
                    e,
                    |p| FIELDS.contains(&p).then(|| p.to_owned()),
                    "comment",
                )?
            }
        }
    }
    let one = communes::get(&ctx.state, &user, id).await?;
    let mut values = Map::new();
    for f in FIELDS {
        values.insert((*f).into(), json!(form.get(f)));
    }
    let mut view = ApplicationView::new(one, Some(values), errors.ordered(FIELDS));
    view.problem = problem;
    ctx.render_status(status, "commune_application.html", ser(&view))
}
