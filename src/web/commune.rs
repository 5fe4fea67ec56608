//! A commune's pages (DESIGN.md §16): `/commune`, the applications taking place in its
//! commune, and `/commune/candidatures/{id}`, one of them as a commune reads it — the same
//! service, and so the same limits, as `GET /api/v1/commune/applications`.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::domain::application_state::ApplicationState;
use crate::domain::territory::commune_name;
use crate::services::communes::{self, CommuneApplication};
use crate::web::{PageCtx, WebError, ser};

const UUID: &str = "[0-9a-fA-F-]{36}";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/commune", web::get().to(home)).route(
        &format!("/commune/candidatures/{{id:{UUID}}}"),
        web::get().to(application),
    );
}

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
    items: Vec<Item>,
}

async fn home(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let list = communes::list(&ctx.state, &user).await?;
    let view = HomeView {
        in_commune: crate::domain::territory::in_commune(&list.commune_name),
        commune_name: list.commune_name,
        items: list.items.into_iter().map(Item::new).collect(),
    };
    ctx.render("commune_home.html", ser(&view))
}

async fn application(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let user = ctx.user()?;
    let one = communes::get(&ctx.state, &user, id.into_inner()).await?;
    ctx.render("commune_application.html", ser(&Item::new(one)))
}
