//! HTTP resources. Each module holds the handlers of one resource; `configure` mounts them all
//! through utoipa-actix-web, so a route cannot exist without appearing in the OpenAPI document.

pub mod admin_outbox;
pub mod auth;
pub mod errors;
pub mod extract;
pub mod health;
pub mod meta;
pub mod users;

use utoipa_actix_web::{scope, service_config::ServiceConfig};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::live).service(health::ready);
    cfg.service(
        scope::scope("/api/v1")
            .service(meta::openapi_json)
            .service(auth::register)
            .service(auth::token)
            .service(users::me)
            .service(users::create_user)
            .service(users::list_users)
            .service(admin_outbox::list_outbox)
            .service(admin_outbox::retry_outbox),
    );
}
