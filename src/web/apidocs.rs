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

fn files() -> &'static HashMap<String, Vec<u8>> {
    static FILES: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let mut out = HashMap::new();
        out.insert("apidocs.js".to_owned(), INIT.to_vec());
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
                out.insert((*file).to_owned(), bytes);
            }
        }
        // The stylesheet's images are `data:` URLs, which the CSP (`img-src 'self'`) blocks:
        // they become files of their own, and the stylesheet points at them.
        if let Some(css) = out.remove("swagger-ui.css") {
            let (css, images) = externalize_images(&String::from_utf8_lossy(&css));
            out.insert("swagger-ui.css".to_owned(), css.into_bytes());
            out.extend(images);
        }
        out
    })
}

/// Replaces each `url(data:…)` of a stylesheet by `url("/api/docs/img-N.ext")` and returns
/// the images by file name. A `data:` URL it cannot read is left as it is.
fn externalize_images(css: &str) -> (String, Vec<(String, Vec<u8>)>) {
    let mut out = String::with_capacity(css.len());
    let mut images = Vec::new();
    let mut rest = css;
    while let Some(at) = rest.find("url(") {
        out.push_str(&rest[..at + 4]);
        rest = &rest[at + 4..];
        // The URL: quoted (up to the unescaped closing quote) or bare (up to `)`).
        let (raw, len) = if let Some(q) = rest.strip_prefix('"') {
            let mut end = None;
            let mut escaped = false;
            for (i, c) in q.char_indices() {
                match c {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => {
                        end = Some(i);
                        break;
                    }
                    _ => escaped = false,
                }
            }
            match end {
                Some(e) => (q[..e].replace("\\\"", "\"").replace("\\\\", "\\"), e + 2),
                None => break,
            }
        } else {
            match rest.find(')') {
                Some(e) => (rest[..e].trim().to_owned(), e),
                None => break,
            }
        };
        match data_url(&raw) {
            Some((ext, bytes)) => {
                let name = format!("img-{}.{ext}", images.len() + 1);
                out.push_str(&format!("\"/api/docs/{name}\""));
                images.push((name, bytes));
            }
            None => out.push_str(&rest[..len]),
        }
        rest = &rest[len..];
    }
    out.push_str(rest);
    (out, images)
}

/// The extension and bytes of an image `data:` URL (base64, or percent-encoded text).
fn data_url(url: &str) -> Option<(&'static str, Vec<u8>)> {
    let (header, payload) = url.strip_prefix("data:")?.split_once(',')?;
    let ext = match header.split(';').next()? {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/gif" => "gif",
        "image/svg+xml" => "svg",
        _ => return None,
    };
    let bytes = if header.ends_with(";base64") {
        base64(payload)?
    } else {
        percent_encoding::percent_decode_str(payload).collect()
    };
    Some((ext, bytes))
}

fn base64(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
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
    let content_type = match name.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" => "image/jpeg",
        "gif" => "image/gif",
        _ => "application/octet-stream",
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
        for f in FROM_ARCHIVE.iter().chain(&["apidocs.js", "img-1.png"]) {
            assert!(
                files.get(*f).is_some_and(|b| b.len() > 100),
                "{f} missing from the embedded explorer"
            );
        }
        let css = String::from_utf8_lossy(&files["swagger-ui.css"]);
        assert!(
            !css.contains("data:"),
            "an image left inline in the stylesheet"
        );
        assert_eq!(&files["img-1.png"][1..4], b"PNG");
    }

    #[test]
    fn data_urls_become_files() {
        let css = r#"a{background:url(data:image/png;base64,iVBORw0K)} b{background:url("data:image/svg+xml;charset=utf-8,<svg xmlns=\"x\"><path d=\"M0 0\" transform=\"rotate(90)\"/></svg>") no-repeat} c{background:url(/x.png)}"#;
        let (out, images) = externalize_images(css);
        assert_eq!(
            out,
            r#"a{background:url("/api/docs/img-1.png")} b{background:url("/api/docs/img-2.svg") no-repeat} c{background:url(/x.png)}"#
        );
        assert_eq!(images[0].1, b"\x89PNG\r\n".to_vec());
        assert_eq!(
            String::from_utf8(images[1].1.clone()).unwrap(),
            r#"<svg xmlns="x"><path d="M0 0" transform="rotate(90)"/></svg>"#
        );
    }
}
