//! The mail queue as a page (DESIGN.md §10, §13): every message with its state, recipient,
//! subject, attempts and last error; staff read it, admins also put a failed or abandoned
//! message back in the queue. The same services as `GET /admin/outbox` and
//! `POST /admin/outbox/{id}/retry`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Serialize;

use crate::domain::account::Role;
use crate::domain::ids::OutboxId;
use crate::domain::outbox::OutboxStatus;
use crate::error::ServiceError;
use crate::input::{PageParams, Paging};
use crate::notify::outbox::{ListFilter, OutboxMessage};
use crate::services;
use crate::web::checked_form::CsrfForm;
use crate::web::{PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/gestion/envois", web::get().to(list))
        .route("/gestion/envois/{id}/renvoyer", web::post().to(retry));
}

const PER_PAGE: u32 = 50;

fn status_fr(s: OutboxStatus) -> &'static str {
    match s {
        OutboxStatus::Pending => "en attente",
        OutboxStatus::Sending => "en cours d'envoi",
        OutboxStatus::Failed => "échec, nouvel essai prévu",
        OutboxStatus::Sent => "envoyé",
        OutboxStatus::Dead => "abandonné",
    }
}

#[derive(Serialize)]
struct Line {
    #[serde(flatten)]
    message: OutboxMessage,
    status_fr: &'static str,
    /// An admin may put it back in the queue.
    retry: bool,
}

#[derive(serde::Deserialize)]
struct Query {
    statut: Option<String>,
    page: Option<u32>,
    renvoye: Option<String>,
}

async fn list(ctx: PageCtx, q: web::Query<Query>) -> Result<HttpResponse, WebError> {
    render(&ctx, q.into_inner(), None, StatusCode::OK).await
}

async fn render(
    ctx: &PageCtx,
    q: Query,
    problem: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let admin = user.role == Role::Admin;
    let chosen = q
        .statut
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| {
            OutboxStatus::ALL
                .into_iter()
                .find(|st| st.as_str() == s)
                .ok_or_else(|| ServiceError::BadInput(format!("État d'envoi inconnu : « {s} ».")))
        })
        .transpose()?;
    let paging: Paging = PageParams {
        page: q.page,
        per_page: Some(PER_PAGE),
        cursor: None,
    }
    .paging()?;
    let page = services::outbox::list(
        &ctx.state,
        &user,
        ListFilter {
            status: chosen,
            application_id: None,
        },
        paging,
    )
    .await?;
    let pages = (page.total.max(1) as u32).div_ceil(PER_PAGE);
    let lines: Vec<Line> = page
        .items
        .into_iter()
        .map(|m| Line {
            status_fr: status_fr(m.status),
            retry: admin && matches!(m.status, OutboxStatus::Failed | OutboxStatus::Dead),
            message: m,
        })
        .collect();
    let statuses: Vec<(&str, &str)> = OutboxStatus::ALL
        .into_iter()
        .map(|s| (s.as_str(), status_fr(s)))
        .collect();
    ctx.render_status(
        status,
        "outbox.html",
        context! {
            lines => ser(&lines),
            total => page.total,
            page => paging.page,
            pages => pages,
            chosen => chosen.map(OutboxStatus::as_str),
            statuses => ser(&statuses),
            admin => admin,
            problem => problem,
            retried => q.renvoye.is_some(),
        },
    )
}

async fn retry(
    CsrfForm { ctx, form: _ }: CsrfForm,
    id: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let Some(id) = OutboxId::parse(&id) else {
        return Err(
            ServiceError::not_found("Aucun message de ce nom dans la file d'envoi.").into(),
        );
    };
    match services::outbox::retry(&ctx.state, &user, id).await {
        Ok(_) => Ok(see_other("/gestion/envois?renvoye=1")),
        Err(ServiceError::Conflict { message, .. }) => {
            let q = Query {
                statut: None,
                page: None,
                renvoye: None,
            };
            render(&ctx, q, Some(message), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}
