//! « S'identifier avec ProConnect » (DESIGN.md §17): the start of a sign-in, the provider's
//! return, and the way back from its sign-out. A sign-in under way is bound to this browser by
//! a cookie of its own (`HttpOnly`, `SameSite=Lax` so that it comes back with the provider's
//! top-level redirect, ten minutes, scoped to `/connexion/proconnect`).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use crate::auth::session;
use crate::error::AppError;
use crate::services::proconnect::{self, Callback, FLOW_MINUTES, Refusal};
use crate::web::public::{landing, safe_return};
use crate::web::{PageCtx, WebError, see_other};

const FLOW_COOKIE: &str = "essor_proconnect";
const FLOW_PATH: &str = "/connexion/proconnect";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/connexion/proconnect", web::get().to(start))
        .route("/connexion/proconnect/retour", web::get().to(back))
        .route(
            "/connexion/proconnect/deconnecte",
            web::get().to(signed_out),
        );
}

fn flow_cookie(ctx: &PageCtx, value: String, minutes: i64) -> Cookie<'static> {
    Cookie::build(FLOW_COOKIE, value)
        .path(FLOW_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(ctx.state.settings.secure_cookies())
        .max_age(actix_web::cookie::time::Duration::minutes(minutes))
        .finish()
}

#[derive(Deserialize)]
struct StartQuery {
    retour: Option<String>,
    /// `decision`: the level `auth.proconnect.decision_acr` asks.
    niveau: Option<String>,
}

async fn start(ctx: PageCtx, q: web::Query<StartQuery>) -> Result<HttpResponse, WebError> {
    let q = q.into_inner();
    let retour = q.retour.as_deref().and_then(safe_return);
    let for_decision = q.niveau.as_deref() == Some("decision");
    match proconnect::begin(&ctx.state, retour, for_decision).await {
        Ok(started) => {
            let mut res = HttpResponse::SeeOther()
                .insert_header(("Location", started.url.to_string()))
                .finish();
            res.add_cookie(&flow_cookie(&ctx, started.browser_token, FLOW_MINUTES))
                .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie: {e}")))?;
            Ok(res)
        }
        Err(refusal) => refused(&ctx, refusal),
    }
}

#[derive(Deserialize)]
struct BackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn back(ctx: PageCtx, q: web::Query<BackQuery>) -> Result<HttpResponse, WebError> {
    let q = q.into_inner();
    let browser = ctx.req.cookie(FLOW_COOKIE).map(|c| c.value().to_owned());
    let callback = Callback {
        code: q.code,
        state: q.state,
        error: q.error,
    };
    let ip = crate::auth::client_ip::client_ip(&ctx.req);
    match proconnect::finish(&ctx.state, ip, browser, callback).await {
        Ok(signed_in) => {
            let previous = ctx
                .req
                .cookie(&session::cookie_name(&ctx.state.settings, session::COOKIE))
                .map(|c| c.value().to_owned());
            let data =
                json!({"proconnect": {"id_token": signed_in.id_token, "acr": signed_in.acr}});
            let token = session::start_with_data(
                &ctx.state,
                signed_in.user_id.clone(),
                signed_in.generation,
                previous,
                data,
            )
            .await?;
            let target = signed_in
                .return_to
                .clone()
                .unwrap_or_else(|| landing(signed_in.role).into());
            let mut res = see_other(&target);
            res.add_cookie(&session::cookie(&ctx.state.settings, token))
                .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie: {e}")))?;
            res.add_cookie(&flow_cookie(&ctx, String::new(), 0))
                .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie: {e}")))?;
            Ok(res)
        }
        Err(refusal) => refused(&ctx, refusal),
    }
}

/// The provider's sign-out came back: essor's session was ended before it left.
async fn signed_out() -> HttpResponse {
    see_other("/?deconnecte=1")
}

/// The French page of a refused sign-in: no account, no session.
fn refused(ctx: &PageCtx, refusal: Refusal) -> Result<HttpResponse, WebError> {
    if let Refusal::Service(e) = refusal {
        return Err(e.into());
    }
    let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
    tracing::info!(status = status.as_u16(), reason = %refusal, "ProConnect sign-in refused");
    ctx.render_status(
        status,
        "proconnect_refused.html",
        context! { message => refusal.to_string() },
    )
}

/// With `auth.proconnect.decision_acr` set, recording a decision or a payment needs a session
/// ProConnect opened at that level: any other is sent to sign in again with it, back to
/// `retour`. `None` when the session may go on.
pub fn needs_stronger(ctx: &PageCtx, retour: &str) -> Option<HttpResponse> {
    let wanted = ctx.state.settings.auth.proconnect.decision_acr.as_deref()?;
    ctx.state.proconnect.as_ref()?;
    let got = ctx
        .session
        .as_ref()
        .and_then(|s| s.data.get("proconnect"))
        .and_then(|p| p.get("acr"))
        .and_then(|a| a.as_str());
    if got == Some(wanted) {
        return None;
    }
    let retour: String = url::form_urlencoded::byte_serialize(retour.as_bytes()).collect();
    Some(see_other(&format!(
        "/connexion/proconnect?niveau=decision&retour={retour}"
    )))
}
