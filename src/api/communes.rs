//! A commune's account (DESIGN.md §16): the applications taking place in its commune, and
//! its opinion on them.

use actix_web::{HttpResponse, get, post, put, web};

use crate::api::json_body::JsonBody;
use crate::api::problems::{NeedsToken, ReadsJson};
use crate::auth::CurrentUser;
use crate::error::{AppError, Problem};
use crate::services::commune_opinions::{self, CommuneOpinions, OpinionInput};
use crate::services::communes::{self, CommuneApplication, CommuneApplications};
use crate::services::referrals::{self, Referral, ReferralInput};
use crate::state::AppState;

/// The submitted applications whose activity takes place in the account's commune (a
/// `commune` account), newest first: who applies, for what, how much, where it stands.
/// Drafts never; documents, reviews, staff notes and other communes' applications never.
#[utoipa::path(
    tag = "communes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The commune's applications.", body = CommuneApplications),
        NeedsToken,
        (status = 403, description = "Only a commune's accounts read this.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/commune/applications")]
pub async fn list(user: CurrentUser, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(communes::list(&state, &user).await?))
}

/// One application taking place in the account's commune, once submitted; any other — a
/// draft, another commune's, an unknown id — is the same 404.
#[utoipa::path(
    tag = "communes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "The application as a commune reads it.", body = CommuneApplication),
        NeedsToken,
        (status = 403, description = "Only a commune's accounts read this.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not an application submitted in this commune.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/commune/applications/{id}")]
pub async fn get_one(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(communes::get(&state, &user, communes::id(&id)?).await?))
}

/// Give or change the commune's opinion on an application taking place there (a `commune`
/// account): `favorable`, `reserved` or `unfavorable`, with a comment (required unless
/// favorable). Open from the submission until the end of the Europe/Paris day
/// `commune_opinion_days` after it, or until the decision, whichever comes first; each write
/// is audited (`commune-opinion`). The answer is the application as the commune reads it.
#[utoipa::path(
    tag = "communes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    request_body = OpinionInput,
    responses(
        (status = 200, description = "The opinion is recorded.", body = CommuneApplication),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only a commune's accounts give an opinion.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not an application submitted in this commune.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Too late: the deadline has passed or the application is decided (`deadline`, `current_state`).", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown opinion, or a reservation without its reason.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/applications/{id}/commune-opinion")]
pub async fn give_opinion(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: JsonBody<OpinionInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    Ok(HttpResponse::Ok()
        .json(commune_opinions::give(&state, &user, communes::id(&id)?, input).await?))
}

/// The communes' opinions on an application: staff read what each commune said, and until
/// when they may; an assigned reviewer too when the call says `reviewers_see_commune_opinions`
/// (403 otherwise); the applicant reads only which communes were consulted.
#[utoipa::path(
    tag = "communes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Application id (UUID).")),
    responses(
        (status = 200, description = "The opinions, as the caller may read them.", body = CommuneOpinions),
        NeedsToken,
        (status = 403, description = "A reviewer of a call that keeps the opinions from its reviewers.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such application, or not yours to see.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/applications/{id}/commune-opinions")]
pub async fn read_opinions(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(
        commune_opinions::read(&state, &user, crate::services::applications::id(&id)?).await?,
    ))
}

/// Recommend the call to a project holder (a `commune` account): the holder is mailed the
/// call's page with a referral code; an application started with it carries the commune
/// (`referred_by_commune`), counted in `/territory`. Without `call_id`, the open call that
/// closes first.
#[utoipa::path(
    tag = "communes",
    security(("bearer" = [])),
    request_body = ReferralInput,
    responses(
        (status = 201, description = "The referral is recorded and its mail queued.", body = Referral, headers(("Location" = String, description = "`/api/v1/commune/referrals/{id}` of the new referral."))),
        ReadsJson,
        NeedsToken,
        (status = 403, description = "Only a commune's accounts recommend.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No call is open.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A name missing, an address that is not one, a message too long, a call not open.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/commune/referrals")]
pub async fn refer(
    user: CurrentUser,
    state: web::Data<AppState>,
    body: JsonBody<ReferralInput>,
) -> Result<HttpResponse, AppError> {
    let input = body.take()?;
    let referral = referrals::refer(&state, &user, input).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/api/v1/commune/referrals/{}", referral.id),
        ))
        .json(referral))
}

/// One of the commune's referrals; another commune's is the same 404 as an unknown id.
#[utoipa::path(
    tag = "communes",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Referral id (UUID).")),
    responses(
        (status = 200, description = "The referral.", body = Referral),
        NeedsToken,
        (status = 403, description = "Only a commune's accounts read this.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral of this commune.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/commune/referrals/{id}")]
pub async fn get_referral(
    user: CurrentUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(referrals::get(&state, &user, referrals::id(&id)?).await?))
}

/// The commune's referrals, newest first.
#[utoipa::path(
    tag = "communes",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The referrals.", body = Vec<Referral>),
        NeedsToken,
        (status = 403, description = "Only a commune's accounts read this.", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/commune/referrals")]
pub async fn list_referrals(
    user: CurrentUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(referrals::list(&state, &user).await?))
}
