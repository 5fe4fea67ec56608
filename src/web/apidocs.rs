//! /api/docs: an interactive explorer of the OpenAPI document (Swagger UI), served from files
//! embedded in the binary (the `utoipa-swagger-ui-vendored` crate's archive, read once), so no
//! CDN is reached and the pages' Content-Security-Policy holds: no inline script, the explorer
//! is started by static/apidocs.js. The document itself is `/api/v1/openapi.json`.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use minijinja::context;

use crate::web::{PageCtx, WebError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/docs", web::get().to(page))
        .route("/api/docs/{file}", web::get().to(asset));
}

/// The explorer's files taken from the archive (`dist/` of Swagger UI).
const FROM_ARCHIVE: &[&str] = &["swagger-ui-bundle.js", "swagger-ui.css"];
const INIT: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/apidocs.js"));

fn files() -> &'static HashMap<&'static str, Vec<u8>> {
    static FILES: OnceLock<HashMap<&'static str, Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut out = HashMap::new();
        out.insert("apidocs.js", INIT.to_vec());
        let reader = std::io::Cursor::new(utoipa_swagger_ui_vendored::SWAGGER_UI_VENDORED);
        let mut archive = match zip::ZipArchive::new(reader) {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "the embedded Swagger UI archive is unreadable");
                return out;
            }
        };
        for i in 0..archive.len() {
            let Ok(mut entry) = archive.by_index(i) else {
                continue;
            };
            let name = entry.name().map(|n| n.into_owned()).unwrap_or_default();
            let Some(file) = FROM_ARCHIVE
                .iter()
                .find(|f| name.ends_with(&format!("/dist/{f}")))
            else {
                continue;
            };
            let mut bytes = Vec::new();
            if entry.read_to_end(&mut bytes).is_ok() {
                out.insert(*file, bytes);
            }
        }
        out
    })
}

async fn page(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render("apidocs.html", context! {})
}

async fn asset(name: web::Path<String>) -> HttpResponse {
    let name = name.into_inner();
    let Some(bytes) = files().get(name.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Fichier introuvable.");
    };
    let content_type = if name.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(bytes.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_explorer_files_are_embedded() {
        let files = files();
        for f in FROM_ARCHIVE.iter().chain(&["apidocs.js"]) {
            assert!(
                files.get(f).is_some_and(|b| b.len() > 100),
                "{f} missing from the embedded explorer"
            );
        }
    }
}
