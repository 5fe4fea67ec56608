//! The audit trail's page for admins (DESIGN.md §18, issue 32): the last signed checkpoint
//! and the verification of the whole chain, done when the page is asked for; an admin may
//! sign a checkpoint now. The same service as `essor audit verify` and `essor audit
//! checkpoint`.

use actix_web::{HttpResponse, web};
use minijinja::context;

use crate::domain::account::Role;
use crate::domain::audit_chain::{Failure, Mismatch};
use crate::error::{AppError, ServiceError};
use crate::services::audit as trail;
use crate::web::forms::Form;
use crate::web::{CSRF_FIELD, PageCtx, WebError, see_other};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/journal", web::get().to(show))
        .route("/admin/journal/point-de-controle", web::post().to(sign));
}

fn admin(ctx: &PageCtx) -> Result<(), WebError> {
    if ctx.user()?.role != Role::Admin {
        return Err(AppError::Forbidden(
            "Le journal d'audit est réservé aux administrateurs.".into(),
        )
        .into());
    }
    Ok(())
}

/// What went wrong, in words an admin can pass on.
fn failure_fr(f: &Failure) -> String {
    match f {
        Failure::Sequence { found } => format!(
            "l'événement à cette place porte le numéro {found} : un événement manque, a été \
             ajouté ou déplacé"
        ),
        Failure::Malformed { field } => {
            format!("la valeur « {field} » n'est pas une empreinte valide")
        }
        Failure::Commitment => "le contenu de l'événement a été modifié".into(),
        Failure::HalfErased => "le contenu et son sel ne sont effacés qu'à moitié".into(),
        Failure::Leaf => "un champ de l'événement (auteur, action, date…) a été modifié".into(),
        Failure::Chain => "l'empreinte de chaînage ne suit pas la précédente".into(),
        Failure::Missing { checkpoint_size } => format!(
            "un point de contrôle signé compte {checkpoint_size} événements : les derniers \
             manquent"
        ),
        Failure::Signature => {
            "la signature d'un point de contrôle n'est pas valide pour la clé".into()
        }
        Failure::Root => {
            "un point de contrôle signé ne correspond plus à la chaîne : elle a été réécrite".into()
        }
    }
}

#[derive(serde::Deserialize)]
struct Query {
    signe: Option<String>,
}

async fn show(ctx: PageCtx, q: web::Query<Query>) -> Result<HttpResponse, WebError> {
    admin(&ctx)?;
    let key = trail::signing_key(&ctx.state.settings)
        .map_err(|e| ServiceError::Internal(e.into()))?
        .verifying_key();
    let status = trail::status(&ctx.state.db, key).await?;
    let (verified, mismatch) = match &status.outcome {
        Ok(v) => (
            Some(context! { events => v.events, erased => v.erased,
            checkpoints => v.checkpoints }),
            None,
        ),
        Err(Mismatch { seq, failure }) => (
            None,
            Some(context! { seq => seq, why => failure_fr(failure) }),
        ),
    };
    ctx.render(
        "admin_audit.html",
        context! {
            verified => verified,
            mismatch => mismatch,
            checkpoint => status.last_checkpoint.map(|c| context! {
                size => c.size,
                root => c.root,
                at => c.at.and_utc().to_rfc3339(),
            }),
            public_key => status.public_key_hex,
            signed => q.signe.is_some(),
        },
    )
}

async fn sign(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    admin(&ctx)?;
    let key =
        trail::signing_key(&ctx.state.settings).map_err(|e| ServiceError::Internal(e.into()))?;
    trail::checkpoint(&ctx.state.db, key, ctx.state.clock.now()).await?;
    Ok(see_other("/admin/journal?signe=1"))
}
