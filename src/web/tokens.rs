//! « Mes jetons d'accès » (/compte/jetons): a signed-in person lists, creates and revokes their
//! personal access tokens (DESIGN.md §14), over `services::tokens` like the API. The secret is
//! shown once, on the page that answers the creation.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{Duration, NaiveDate};
use minijinja::{Value, context};

use crate::auth::client_ip::client_ip;
use crate::domain::tokens::{self, Scope, scopes_for_role};
use crate::services::tokens::{self as service, CreatedToken, NewToken};
use crate::web::checked_form::CsrfForm;
use crate::web::forms::{Errors, Form};
use crate::web::{PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/compte/jetons", web::get().to(list))
        .route("/compte/jetons", web::post().to(create))
        .route("/compte/jetons/{id}/revoquer", web::post().to(revoke));
}

const FIELDS: &[&str] = &["name", "scopes", "expires_on"];

#[derive(serde::Deserialize)]
struct ListQuery {
    revoque: Option<String>,
}

async fn page(
    ctx: &PageCtx,
    status: StatusCode,
    values: Value,
    errors: Errors,
    created: Option<CreatedToken>,
    revoked: bool,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let list = service::list(&ctx.state, &user).await?;
    let scope_options: Vec<(String, String)> = scopes_for_role(user.role)
        .iter()
        .map(|s| {
            (
                s.as_str().to_owned(),
                format!("{} : {}", s.as_str(), s.label()),
            )
        })
        .collect();
    let labels: Vec<(String, String)> = Scope::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
        .collect();
    ctx.render_status(
        status,
        "tokens.html",
        context! {
            tokens => ser(&list),
            values => values,
            errors => ser(&errors),
            created => created.map(|c| ser(&c)),
            revoked => revoked,
            scope_options => ser(&scope_options),
            scope_labels => ser(&labels),
            max_days => tokens::MAX_DAYS,
        },
    )
}

fn default_values(ctx: &PageCtx) -> Result<Value, WebError> {
    let user = ctx.user()?;
    let today = tokens::paris_date(ctx.state.clock.now());
    let scopes: Vec<&str> = match user.role {
        crate::domain::account::Role::Reviewer => vec!["read", "review"],
        _ => vec!["read"],
    };
    Ok(context! {
        name => "",
        scopes => scopes,
        expires_on => (today + Duration::days(90)).format("%Y-%m-%d").to_string(),
    })
}

async fn list(ctx: PageCtx, q: web::Query<ListQuery>) -> Result<HttpResponse, WebError> {
    let values = default_values(&ctx)?;
    let revoked = q.revoque.is_some();
    page(
        &ctx,
        StatusCode::OK,
        values,
        Errors::default(),
        None,
        revoked,
    )
    .await
}

async fn create(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    let user = ctx.user()?;
    let values = context! {
        name => form.get("name"),
        scopes => form.all("scopes"),
        expires_on => form.get("expires_on"),
    };
    if !refused.is_empty() {
        return page(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            values,
            refused,
            None,
            false,
        )
        .await;
    }
    let raw_date = form.get("expires_on").trim();
    let expires_on = NaiveDate::parse_from_str(raw_date, "%Y-%m-%d").ok();
    if expires_on.is_none() && !raw_date.is_empty() {
        let mut errors = Errors::default();
        errors.add(
            "expires_on",
            "la date d'expiration doit être une date au format AAAA-MM-JJ (ex. : 2027-06-30)",
        );
        return page(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            values,
            errors,
            None,
            false,
        )
        .await;
    }
    let input = NewToken {
        name: form.get("name").to_owned(),
        scopes: form.all("scopes"),
        expires_on,
    };
    match service::create(&ctx.state, &user, client_ip(&ctx.req), input).await {
        Ok(created) => {
            let fresh = default_values(&ctx)?;
            page(
                &ctx,
                StatusCode::OK,
                fresh,
                Errors::default(),
                Some(created),
                false,
            )
            .await
        }
        Err(e) => {
            let errors =
                Errors::from_service(e, |p| FIELDS.contains(&p).then(|| p.to_owned()), "name")?
                    .ordered(FIELDS);
            page(
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                values,
                errors,
                None,
                false,
            )
            .await
        }
    }
}

async fn revoke(
    CsrfForm { ctx, form: _ }: CsrfForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    service::revoke(&ctx.state, &user, client_ip(&ctx.req), service::id(&id)?).await?;
    Ok(see_other("/compte/jetons?revoque=1"))
}
