//! Pages anyone may read (home, calls, legal pages) and the ones that make a visitor a
//! signed-in user (registration, sign-in, sign-out).

use actix_web::{HttpResponse, web};
use minijinja::context;

use crate::auth::client_ip::client_ip;
use crate::auth::session;
use crate::domain::account::Role;
use crate::domain::territory;
use crate::error::{AppError, ServiceError};
use crate::input::Paging;
use crate::services::{accounts, calls};
use crate::web::forms::{Errors, Form};
use crate::web::{CSRF_FIELD, PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/appels", web::get().to(call_list))
        .route("/appels/{id}", web::get().to(call_page))
        .route("/compte/inscription", web::get().to(register_form))
        .route("/compte/inscription", web::post().to(register))
        .route("/connexion", web::get().to(signin_form))
        .route("/connexion", web::post().to(signin))
        .route("/deconnexion", web::post().to(signout))
        .route("/accessibilite", web::get().to(accessibility))
        .route("/donnees-personnelles", web::get().to(privacy))
        .route("/mentions-legales", web::get().to(notice));
}

async fn open_calls(ctx: &PageCtx) -> Result<Vec<calls::Call>, WebError> {
    let page = calls::list(
        &ctx.state,
        false,
        None,
        Paging {
            page: 1,
            per_page: 100,
        },
    )
    .await?;
    Ok(page.items)
}

async fn home(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    let calls = open_calls(&ctx).await?;
    ctx.render("home.html", context! { calls => ser(&calls) })
}

async fn call_list(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    let calls = open_calls(&ctx).await?;
    ctx.render("calls.html", context! { calls => ser(&calls) })
}

async fn call_page(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let staff = ctx
        .session
        .as_ref()
        .is_some_and(|s| matches!(s.role, Role::Staff | Role::Admin));
    let call = calls::get(&ctx.state, staff, id.into_inner()).await?;
    // The territory by name: the MEL's 95 communes, or the call's own list.
    let all = territory::mel_insee_codes();
    let whole_mel =
        call.territory.len() == all.len() && call.territory.iter().all(|c| all.contains(c));
    let communes: Vec<&str> = call
        .territory
        .iter()
        .filter_map(|c| territory::commune_name(c))
        .collect();
    ctx.render(
        "call.html",
        context! { call => ser(&call), whole_mel, communes },
    )
}

async fn register_form(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render(
        "register.html",
        context! { values => context! {}, errors => ser(&Errors::default()) },
    )
}

const REGISTER_FIELDS: [&str; 3] = ["full_name", "email", "password"];

async fn register(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    accounts::count_account_request(&ctx.state, client_ip(&ctx.req)).await?;
    let account = accounts::NewAccount::parse(
        form.get("email"),
        form.get("password"),
        form.get("full_name"),
        Role::Applicant,
    );
    let result = match account {
        Ok(account) => accounts::create(&ctx.state, account).await,
        Err(e) => Err(e),
    };
    let user = match result {
        Ok(user) => user,
        Err(ServiceError::Conflict { message, .. }) => {
            let mut errors = Errors::default();
            errors.add("email", message);
            return again(&ctx, "register.html", &form, errors);
        }
        Err(e) => {
            let errors = Errors::from_service(
                e,
                |p| REGISTER_FIELDS.contains(&p).then(|| p.to_owned()),
                "email",
            )?
            .ordered(&REGISTER_FIELDS);
            return again(&ctx, "register.html", &form, errors);
        }
    };
    sign_in(&ctx, user.id, "/candidatures?bienvenue=1").await
}

/// The form again, with the values typed (never the password) and the errors.
fn again(
    ctx: &PageCtx,
    template: &str,
    form: &Form,
    errors: Errors,
) -> Result<HttpResponse, WebError> {
    let mut values = form.values();
    values.remove("password");
    ctx.render_status(
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        template,
        context! { values => ser(&values), errors => ser(&errors), retour => form.get("retour") },
    )
}

/// A local path to come back to after sign-in (never another site: `//evil` is refused).
fn safe_return(raw: &str) -> Option<String> {
    (raw.starts_with('/') && !raw.starts_with("//") && !raw.contains('\\')).then(|| raw.to_owned())
}

#[derive(serde::Deserialize)]
struct ReturnQuery {
    retour: Option<String>,
}

async fn signin_form(ctx: PageCtx, q: web::Query<ReturnQuery>) -> Result<HttpResponse, WebError> {
    let retour = q.retour.as_deref().and_then(safe_return);
    ctx.render(
        "signin.html",
        context! { values => context! {}, errors => ser(&Errors::default()), retour },
    )
}

async fn signin(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    let mut errors = Errors::default();
    if form.get("email").is_empty() {
        errors.add("email", "indiquez votre adresse électronique");
    }
    if form.get("password").is_empty() {
        errors.add("password", "indiquez votre mot de passe");
    }
    if !errors.is_empty() {
        return again(&ctx, "signin.html", &form, errors);
    }
    match accounts::sign_in(
        &ctx.state,
        client_ip(&ctx.req),
        form.get("email"),
        form.get("password").to_owned(),
    )
    .await
    .map(|signed_in| signed_in.user)
    {
        Ok(user) => {
            let target = safe_return(form.get("retour")).unwrap_or_else(|| "/candidatures".into());
            sign_in(&ctx, user.id, &target).await
        }
        Err(ServiceError::Unauthenticated(message)) => {
            errors.add("email", message);
            again(&ctx, "signin.html", &form, errors)
        }
        Err(e) => Err(e.into()),
    }
}

async fn sign_in(ctx: &PageCtx, user_id: String, target: &str) -> Result<HttpResponse, WebError> {
    let previous = ctx
        .req
        .cookie(session::COOKIE)
        .map(|c| c.value().to_owned());
    let token = session::start(&ctx.state, user_id, previous).await?;
    let mut res = see_other(target);
    res.add_cookie(&session::cookie(&ctx.state.settings, token))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie: {e}")))?;
    Ok(res)
}

async fn signout(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    if let Some(s) = &ctx.session {
        session::end(&ctx.state, s.id_hash.clone()).await?;
    }
    let mut res = see_other("/?deconnecte=1");
    res.add_cookie(&session::removal(&ctx.state.settings))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie: {e}")))?;
    Ok(res)
}

async fn accessibility(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render("legal_accessibility.html", context! {})
}

async fn privacy(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render("legal_privacy.html", context! {})
}

async fn notice(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render("legal_notice.html", context! {})
}

#[cfg(test)]
mod tests {
    use super::safe_return;

    #[test]
    fn only_local_paths_come_back_after_sign_in() {
        assert_eq!(
            safe_return("/candidatures/1"),
            Some("/candidatures/1".into())
        );
        assert_eq!(safe_return("//evil.example"), None);
        assert_eq!(safe_return("https://evil.example"), None);
        assert_eq!(safe_return("/\\evil.example"), None);
        assert_eq!(safe_return(""), None);
    }
}
