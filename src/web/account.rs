//! « Mon compte » (issue 20): one's name, a copy of one's data, one's access tokens, and the
//! deletion of one's account with the password confirming it. The rules are the services'
//! (`services::personal_data`), as for `PATCH`/`DELETE /api/v1/me` and `GET /api/v1/me/data`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;

use crate::auth::client_ip::client_ip;
use crate::error::ServiceError;
use crate::services::{accounts, personal_data};
use crate::web::forms::{Errors, Form};
use crate::web::{CSRF_FIELD, PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/compte", web::get().to(account_page))
        .route("/compte/nom", web::post().to(rename))
        .route("/compte/mot-de-passe", web::post().to(change_password))
        .route("/compte/donnees", web::get().to(download))
        .route("/compte/suppression", web::get().to(delete_form))
        .route("/compte/suppression", web::post().to(delete))
        .route("/compte/supprime", web::get().to(deleted));
}

async fn account_page(
    ctx: PageCtx,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let account = accounts::get(&ctx.state, user.id).await?;
    ctx.render(
        "account.html",
        context! {
            account => ser(&account),
            values => context! { full_name => account.full_name.clone() },
            errors => ser(&Errors::default()),
            saved => query.contains_key("modifie"),
        },
    )
}

/// The password changed with the current one, by the same service as
/// `POST /api/v1/me/password` (its rules, its throttle on wrong passwords).
async fn change_password(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    let user = ctx.user()?;
    // Passwords are not trimmed: spaces may be part of a passphrase.
    let raw = |name: &str| {
        url::form_urlencoded::parse(&body)
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    match accounts::change_password(
        &ctx.state,
        client_ip(&ctx.req),
        &user,
        raw("current_password"),
        raw("new_password"),
    )
    .await
    {
        // The service ends every session of the account, this one too: sign in again.
        Ok(()) => Ok(see_other("/connexion?mot-de-passe=1")),
        Err(e @ ServiceError::Invalid { .. }) => {
            let errors = Errors::from_service(
                e,
                |p| matches!(p, "current_password" | "new_password").then(|| p.to_owned()),
                "new_password",
            )?
            .ordered(&["current_password", "new_password"]);
            let account = accounts::get(&ctx.state, user.id).await?;
            let values = context! { full_name => account.full_name.clone() };
            account_again(&ctx, &account, values, &errors)
        }
        Err(e) => Err(e.into()),
    }
}

async fn rename(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    let user = ctx.user()?;
    let errors = if refused.is_empty() {
        match personal_data::rename(&ctx.state, &user, form.get("full_name")).await {
            Ok(_) => return Ok(see_other("/compte?modifie=1")),
            Err(e) => {
                Errors::from_service(e, |p| (p == "full_name").then(|| p.to_owned()), "full_name")?
            }
        }
    } else {
        refused
    };
    let account = accounts::get(&ctx.state, user.id).await?;
    account_again(&ctx, &account, ser(&form.values()), &errors)
}

/// « Mon compte » again after a refused form, with what to show in its fields and the errors.
fn account_again<A: serde::Serialize>(
    ctx: &PageCtx,
    account: &A,
    values: minijinja::Value,
    errors: &Errors,
) -> Result<HttpResponse, WebError> {
    ctx.render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "account.html",
        context! {
            account => ser(account),
            values,
            errors => ser(errors),
            saved => false,
        },
    )
}

/// The same JSON as `GET /api/v1/me/data`, as a file.
async fn download(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let data = personal_data::export(&ctx.state, &user).await?;
    let json = serde_json::to_string_pretty(&data)
        .map_err(|e| WebError::from(ServiceError::Internal(e.into())))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"mes-donnees-essor.json\"",
        ))
        // A person's whole file: never kept by the browser or a shared cache.
        .insert_header(("cache-control", "no-store"))
        .body(json))
}

async fn delete_form(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.user()?;
    ctx.render(
        "account_delete.html",
        context! { errors => ser(&Errors::default()), refused => None::<String> },
    )
}

async fn delete(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    let user = ctx.user()?;
    let mut errors = Errors::default();
    if form.get("password").is_empty() {
        errors.add(
            "password",
            "saisissez votre mot de passe pour confirmer la suppression",
        );
    } else {
        let password = form.get("password").to_owned();
        match personal_data::erase(&ctx.state, client_ip(&ctx.req), &user, password).await {
            // The session went with the account: the confirmation is a page for anyone.
            Ok(_) => return Ok(see_other("/compte/supprime")),
            Err(ServiceError::Conflict { message, .. }) => {
                return ctx.render_status(
                    StatusCode::CONFLICT,
                    "account_delete.html",
                    context! { errors => ser(&Errors::default()), refused => Some(message) },
                );
            }
            Err(e) => {
                errors = Errors::from_service(
                    e,
                    |p| (p == "password").then(|| p.to_owned()),
                    "password",
                )?
            }
        }
    }
    ctx.render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        "account_delete.html",
        context! { errors => ser(&errors), refused => None::<String> },
    )
}

async fn deleted(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render("account_deleted.html", context! {})
}
