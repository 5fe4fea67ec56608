//! The OpenAPI document, generated from the handlers' annotations. `openapi.yaml` at the
//! repository root is its committed copy (`essor openapi > openapi.yaml`), kept equal by a test.

use actix_web::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "essor",
        description = "API de l'appel à projets « Entreprendre autrement » de la Métropole \
                       Européenne de Lille : dépôt des candidatures des structures de l'économie \
                       sociale et solidaire, contrôle d'éligibilité (loi n° 2014-856 du 31 juillet \
                       2014), instruction, notation, décisions et exports.\n\n\
                       Errors are `application/problem+json` (RFC 9457) with a French `detail`; \
                       422 answers carry an `errors` map (field path -> messages).",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
    ),
    components(schemas(Problem)),
    modifiers(&Security),
    tags(
        (name = "health", description = "Probes for load balancers."),
        (name = "meta", description = "The API's own description."),
        (name = "auth", description = "Registration and tokens."),
        (name = "users", description = "Accounts."),
        (name = "exports", description = "Exports of a call's applications for staff: CSV, XLSX, JSON, SCDL « subventions »."),
        (name = "admin", description = "Administration: the mail outbox."),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from `POST /api/v1/auth/token`, sent as `Authorization: Bearer …`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The spec served at `/api/v1/openapi.json`, rendered once at start-up.
pub struct SpecJson(pub String);

/// Builds the document by mounting the routes on a throw-away `App`.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::routes::configure)
        .split_for_parts();
    api
}

pub fn spec_yaml() -> String {
    spec()
        .to_yaml()
        .expect("the OpenAPI document serialises to YAML")
}
