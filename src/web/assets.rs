//! The pages' static files: CSS, the one small script, the logo. Embedded at compile time
//! (nothing to deploy beside the binary), served under a name carrying a hash of their
//! content, so browsers may keep them for a year and still never use a stale one. The
//! authority's colour becomes a small generated stylesheet (the CSP forbids inline styles).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::config::{Settings, check_brand_color, parse_hex};

struct Embedded {
    name: &'static str,
    bytes: &'static [u8],
}

macro_rules! embedded {
    ($($file:literal),* $(,)?) => {
        &[$(Embedded {
            name: $file,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/", $file)),
        }),*]
    };
}

const EMBEDDED: &[Embedded] = embedded!("essor.css", "essor.js", "logo.svg");

#[derive(Debug, Clone)]
pub struct Asset {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// Every asset by its hashed file name, and the hashed name of each logical one.
#[derive(Debug, Clone)]
pub struct Assets {
    by_file: HashMap<String, Asset>,
    urls: HashMap<&'static str, String>,
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        _ => "application/octet-stream",
    }
}

fn hashed_name(logical: &str, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let short: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    match logical.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{short}.{ext}"),
        None => format!("{logical}.{short}"),
    }
}

impl Assets {
    /// The embedded files, the theme built from `authority.color`, and the logo from
    /// `authority.logo` when one is configured.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        let mut assets = Self {
            by_file: HashMap::new(),
            urls: HashMap::new(),
        };
        for e in EMBEDDED {
            assets.add(e.name, e.name, e.bytes.to_vec());
        }
        let theme = theme_css(&settings.authority.color).map_err(|e| anyhow::anyhow!(e))?;
        assets.add("theme.css", "theme.css", theme.into_bytes());
        let logo = settings.authority.logo.trim();
        if !logo.is_empty() {
            let bytes = std::fs::read(logo)
                .map_err(|e| anyhow::anyhow!("APP__AUTHORITY__LOGO {logo}: {e}"))?;
            let ext = match infer::get(&bytes).map(|t| t.mime_type()) {
                Some("image/png") => "png",
                Some("image/jpeg") => "jpg",
                _ if logo.ends_with(".svg") => "svg",
                _ => {
                    anyhow::bail!("APP__AUTHORITY__LOGO {logo}: expected an SVG, PNG or JPEG file")
                }
            };
            assets.add("logo.svg", &format!("logo.{ext}"), bytes);
        }
        Ok(assets)
    }

    fn add(&mut self, logical: &'static str, file: &str, bytes: Vec<u8>) {
        let hashed = hashed_name(file, &bytes);
        self.urls.insert(logical, format!("/static/{hashed}"));
        self.by_file.insert(
            hashed,
            Asset {
                content_type: content_type(file),
                bytes,
            },
        );
    }

    /// The URL of a logical asset (`essor.css`, `essor.js`, `theme.css`, `logo.svg`).
    pub fn url(&self, logical: &str) -> Option<&str> {
        self.urls.get(logical).map(String::as_str)
    }

    pub fn get(&self, file: &str) -> Option<&Asset> {
        self.by_file.get(file)
    }
}

/// `GET /static/{file}`: the hashed names never change content, hence `immutable`.
pub async fn serve(assets: web::Data<Assets>, file: web::Path<String>) -> HttpResponse {
    match assets.get(&file) {
        Some(a) => HttpResponse::Ok()
            .content_type(a.content_type)
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(a.bytes.clone()),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("Fichier introuvable."),
    }
}

/// The icon browsers ask for at `/favicon.ico` on every page (the logo's drawing, 32 px).
const FAVICON: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/favicon.ico"));

/// `GET /favicon.ico`: a fixed name, so kept a day rather than a year.
pub async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/x-icon")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(FAVICON)
}

fn theme_css(color: &str) -> Result<String, String> {
    check_brand_color(color)?;
    let [r, g, b] = parse_hex(color)?;
    let darker = |c: u8| (f64::from(c) * 0.75) as u8;
    Ok(format!(
        "/* Generated from APP__AUTHORITY__COLOR. */\n:root {{\n  --brand: {color};\n  \
         --brand-dark: #{:02x}{:02x}{:02x};\n}}\n",
        darker(r),
        darker(g),
        darker(b)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_a_content_hash() {
        let a = hashed_name("essor.css", b"a");
        let b = hashed_name("essor.css", b"b");
        assert!(a.starts_with("essor.") && a.ends_with(".css"), "{a}");
        assert_ne!(a, b);
    }
}
