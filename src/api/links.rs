//! The `Link` header of a list page (RFC 8288): the URL of the next (previous) page is the
//! request's own path and query with `cursor` set to the page's `next_cursor`
//! (`prev_cursor`), `page` removed, every other parameter (filters, `sort`, `per_page`) kept.

use actix_web::http::header::{HeaderValue, LINK};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::input::Page;

/// `path?query` of the same list at `cursor`.
pub fn page_url(req: &HttpRequest, cursor: &str) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if name != "page" && name != "cursor" {
            out.append_pair(&name, &value);
        }
    }
    out.append_pair("cursor", cursor);
    format!("{}?{}", req.path(), out.finish())
}

/// The `Link` header value of a page, if it has a page after or before it.
pub fn link_header<T: ToSchema>(req: &HttpRequest, page: &Page<T>) -> Option<String> {
    let mut links = Vec::new();
    if let Some(c) = &page.next_cursor {
        links.push(format!("<{}>; rel=\"next\"", page_url(req, c)));
    }
    if let Some(c) = &page.prev_cursor {
        links.push(format!("<{}>; rel=\"prev\"", page_url(req, c)));
    }
    (!links.is_empty()).then(|| links.join(", "))
}

/// 200 with the page as JSON and its `Link` header.
pub fn page_response<T: ToSchema + Serialize>(req: &HttpRequest, page: &Page<T>) -> HttpResponse {
    let mut resp = HttpResponse::Ok().json(page);
    if let Some(link) = link_header(req, page).and_then(|l| HeaderValue::from_str(&l).ok()) {
        resp.headers_mut().insert(LINK, link);
    }
    resp
}
