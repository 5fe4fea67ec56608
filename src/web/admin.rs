//! The admins' accounts pages (DESIGN.md §14): the list of accounts (filtered by role), the
//! invitation of a committee member, an agent or an admin, and the changes an admin makes to
//! an account (deactivate, reactivate, change the role). Every rule is the accounts
//! service's: an admin who tries to change their own account is told so by it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::{Value, context};
use serde_json::{Map, Value as Json};

use crate::auth::client_ip::client_ip;
use crate::domain::account::Role;
use crate::error::{AppError, ServiceError};
use crate::input::Paging;
use crate::services::accounts::{self, AccountUpdate, Invitation, User};
use crate::web::forms::{Errors, Form};
use crate::web::{CSRF_FIELD, PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/comptes", web::get().to(list))
        .route("/admin/comptes/inviter", web::post().to(invite))
        .route("/admin/comptes/{id}/desactiver", web::post().to(deactivate))
        .route("/admin/comptes/{id}/reactiver", web::post().to(reactivate))
        .route("/admin/comptes/{id}/role", web::post().to(change_role));
}

const PER_PAGE: u32 = 50;

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Applicant => "Porteur de projet",
        Role::Reviewer => "Membre du comité (évaluation)",
        Role::Staff => "Agent de la Métropole",
        Role::Admin => "Administrateur",
        Role::Commune => "Agent d'une commune",
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "invited" => "Invité : mot de passe pas encore choisi",
        "unverified" => "Adresse non vérifiée",
        "active" => "Actif",
        "deactivated" => "Désactivé",
        _ => "Inconnu",
    }
}

const ROLES: [Role; 5] = [
    Role::Applicant,
    Role::Reviewer,
    Role::Staff,
    Role::Admin,
    Role::Commune,
];

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    role: Option<String>,
    page: Option<u32>,
    /// What was just done, said at the top of the list.
    fait: Option<String>,
}

/// Only admins reach these pages; the services check it again on every change.
fn admin(ctx: &PageCtx) -> Result<crate::auth::CurrentUser, WebError> {
    let user = ctx.user()?;
    if user.role != Role::Admin {
        return Err(AppError::Forbidden(
            "La gestion des comptes est réservée aux administrateurs.".into(),
        )
        .into());
    }
    Ok(user)
}

struct Refill {
    status: StatusCode,
    values: Map<String, Json>,
    errors: Errors,
    /// A refusal of an action on one account: (account id, message).
    row_error: Option<(String, String)>,
}

impl Default for Refill {
    fn default() -> Self {
        Self {
            status: StatusCode::OK,
            values: Map::new(),
            errors: Errors::default(),
            row_error: None,
        }
    }
}

async fn render(ctx: &PageCtx, q: ListQuery, refill: Refill) -> Result<HttpResponse, WebError> {
    let me = admin(ctx)?;
    let filter = q.role.as_deref().filter(|r| !r.is_empty());
    let role = match filter {
        Some(r) => Some(Role::parse(r).ok_or_else(|| {
            WebError::from(AppError::BadRequest(format!(
                "« {r} » n'est pas un rôle : choisissez dans la liste."
            )))
        })?),
        None => None,
    };
    let paging = Paging {
        page: q.page.unwrap_or(1).max(1),
        per_page: PER_PAGE,
    };
    let page = accounts::list(&ctx.state, &me, role, paging).await?;
    let pages = u32::try_from((page.total + i64::from(PER_PAGE) - 1) / i64::from(PER_PAGE))
        .unwrap_or(1)
        .max(1);
    let rows: Vec<Value> = page
        .items
        .iter()
        .map(|u: &User| {
            context! {
                user => ser(u),
                role_label => role_label(u.role),
                status_label => status_label(&u.status),
                is_me => u.id == me.id,
                error => refill.row_error.as_ref().filter(|(id, _)| id == u.id.as_str()).map(|(_, m)| m.clone()),
            }
        })
        .collect();
    let roles: Vec<[&str; 2]> = ROLES.iter().map(|r| [r.as_str(), role_label(*r)]).collect();
    let mut errors = refill.errors;
    if let Some((id, message)) = &refill.row_error {
        errors.add(&format!("compte-{id}"), message.clone());
    }
    let done = match q.fait.as_deref() {
        Some("invitation") => Some(
            "L'invitation est envoyée : la personne choisira son mot de passe depuis le lien reçu (valable 7 jours).",
        ),
        Some("desactive") => Some(
            "Le compte est désactivé : ses sessions et ses jetons sont refusés dès maintenant.",
        ),
        Some("reactive") => Some("Le compte est réactivé."),
        Some("role") => {
            Some("Le rôle est changé ; il vaut dès la prochaine requête de la personne.")
        }
        _ => None,
    };
    ctx.render_status(
        refill.status,
        "admin_accounts.html",
        context! {
            rows,
            invite_roles => roles[1..].to_vec(),
            // A commune account is invited with its commune and keeps its role.
            change_roles => roles[..4].to_vec(),
            communes => crate::domain::territory::mel_communes()
                .iter()
                .map(|c| [c.insee.as_str(), c.name.as_str()])
                .collect::<Vec<_>>(),
            roles => roles.clone(),
            filter => filter.unwrap_or(""),
            filter_label => role.map(role_label),
            total => page.total,
            page => paging.page,
            pages,
            values => ser(&refill.values),
            errors => ser(&errors),
            done,
        },
    )
}

async fn list(ctx: PageCtx, q: web::Query<ListQuery>) -> Result<HttpResponse, WebError> {
    render(&ctx, q.into_inner(), Refill::default()).await
}

async fn invite(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    let me = admin(&ctx)?;
    let map = |p: &str| {
        ["email", "full_name", "role", "commune_insee"]
            .contains(&p)
            .then(|| p.to_owned())
    };
    let role = Role::parse(form.get("role"));
    // Without a role the other fields are still checked, so every problem is said at once.
    let parsed = Invitation::parse(
        form.get("email"),
        form.get("full_name"),
        role.unwrap_or(Role::Reviewer),
        Some(form.get("commune_insee")),
    );
    let mut errors = match (role, parsed) {
        // A text the rule refused is shown back beside its field, with the other problems.
        (_, Ok(_)) if !refused.is_empty() => refused,
        (_, Err(e)) if !refused.is_empty() => refused.and(Errors::from_service(e, map, "email")?),
        (Some(_), Ok(invitation)) => {
            match accounts::invite(&ctx.state, client_ip(&ctx.req), &me, invitation).await {
                Ok(_) => return Ok(see_other("/admin/comptes?fait=invitation")),
                Err(ServiceError::Conflict { message, .. }) => {
                    // The service speaks to API clients too; on the page, the list is the way.
                    let message = match message.split_once(" : changez") {
                        Some((head, _)) => format!(
                            "{head} : retrouvez-le dans la liste ci-dessous pour changer son rôle"
                        ),
                        None => message,
                    };
                    let mut errors = Errors::default();
                    errors.add("email", message);
                    errors
                }
                Err(e) => Errors::from_service(e, map, "email")?,
            }
        }
        (_, Err(e)) => Errors::from_service(e, map, "email")?,
        (None, Ok(_)) => Errors::default(),
    };
    if role.is_none() {
        errors.add(
            "role",
            "choisissez un rôle : membre du comité, agent ou administrateur",
        );
    }
    render(
        &ctx,
        ListQuery::default(),
        Refill {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            values: form.values(),
            errors: errors.ordered(&["email", "full_name", "role"]),
            row_error: None,
        },
    )
    .await
}

/// Applies an admin's change to one account; a refusal comes back on the list, beside the
/// account.
async fn change(
    ctx: PageCtx,
    id: String,
    form: Form,
    update: AccountUpdate,
    done: &str,
) -> Result<HttpResponse, WebError> {
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    let me = admin(&ctx)?;
    let back = ListQuery {
        role: form.opt("filtre").map(str::to_owned),
        ..Default::default()
    };
    match accounts::update(
        &ctx.state,
        client_ip(&ctx.req),
        &me,
        accounts::user_id(&id)?,
        update,
    )
    .await
    {
        Ok(_) => {
            let filter = back
                .role
                .map(|r| {
                    format!(
                        "&role={}",
                        url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
                    )
                })
                .unwrap_or_default();
            Ok(see_other(&format!(
                "/admin/comptes?fait={done}{filter}#compte-{id}"
            )))
        }
        Err(
            e @ (ServiceError::Conflict { .. }
            | ServiceError::Invalid { .. }
            | ServiceError::Forbidden(_)),
        ) => {
            let status = match &e {
                ServiceError::Conflict { .. } => StatusCode::CONFLICT,
                ServiceError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::FORBIDDEN,
            };
            let message = match &e {
                ServiceError::Invalid { fields, .. } => fields
                    .values()
                    .flatten()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" ; "),
                other => other.message(),
            };
            render(
                &ctx,
                back,
                Refill {
                    status,
                    row_error: Some((id, message)),
                    ..Default::default()
                },
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn deactivate(
    ctx: PageCtx,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let update = AccountUpdate {
        active: Some(false),
        ..Default::default()
    };
    change(
        ctx,
        id.into_inner(),
        Form::parse(&body),
        update,
        "desactive",
    )
    .await
}

async fn reactivate(
    ctx: PageCtx,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let update = AccountUpdate {
        active: Some(true),
        ..Default::default()
    };
    change(ctx, id.into_inner(), Form::parse(&body), update, "reactive").await
}

async fn change_role(
    ctx: PageCtx,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let Some(role) = Role::parse(form.get("role")) else {
        ctx.check_csrf(form.opt(CSRF_FIELD))?;
        return render(
            &ctx,
            ListQuery::default(),
            Refill {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                row_error: Some((id.into_inner(), "Choisissez un rôle dans la liste.".into())),
                ..Default::default()
            },
        )
        .await;
    };
    let update = AccountUpdate {
        role: Some(role),
        ..Default::default()
    };
    change(ctx, id.into_inner(), form, update, "role").await
}
