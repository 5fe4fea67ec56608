//! The HTML face (DESIGN.md §13): server-rendered pages in French over the same services as
//! the JSON API. Handlers are grouped by area; none holds a rule: each parses a form, calls a
//! service, and renders a template or redirects.

pub mod account;
pub mod admin;
pub mod apidocs;
pub mod applicant;
pub mod assets;
pub mod audit;
pub mod checked_form;
pub mod commune;
pub mod forms;
pub mod labels;
pub mod outbox;
pub mod pages;
pub mod proconnect;
pub mod public;
pub mod registration;
pub mod report;
pub mod reviewer;
pub mod staff;
pub mod staff_calls;
pub mod staff_finance;
pub mod staff_ranking;
pub mod territory;
pub mod tokens;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use minijinja::{Value, context};

use crate::auth::session::{self, Session};
use crate::error::{AppError, ServiceError};
use crate::state::AppState;
pub use pages::Pages;

/// The cookie holding the CSRF token of visitors not signed in (the sign-in and registration
/// forms): the form must send the same value (double submit); the cookie is `SameSite=Lax`,
/// so another site can neither read nor send it with a POST.
pub const CSRF_COOKIE: &str = "essor_csrf";
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";

/// Mounts the pages (not in the OpenAPI document: they are not the API).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{file}", web::get().to(assets::serve))
        .route("/favicon.ico", web::get().to(assets::favicon));
    public::configure(cfg);
    proconnect::configure(cfg);
    applicant::configure(cfg);
    staff::configure(cfg);
    account::configure(cfg);
    staff_calls::configure(cfg);
    staff_finance::configure(cfg);
    territory::configure(cfg);
    commune::configure(cfg);
    report::configure(cfg);
    registration::configure(cfg);
    staff_ranking::configure(cfg);
    outbox::configure(cfg);
    reviewer::configure(cfg);
    admin::configure(cfg);
    audit::configure(cfg);
    tokens::configure(cfg);
    apidocs::configure(cfg);
}

/// What every page handler knows of its request: the session (if any) and the CSRF token its
/// forms carry.
pub struct PageCtx {
    pub req: HttpRequest,
    pub state: web::Data<AppState>,
    pub pages: web::Data<Pages>,
    pub session: Option<Session>,
    pub csrf: String,
    /// A CSRF cookie to set (first visit of an anonymous visitor).
    new_csrf_cookie: Option<Cookie<'static>>,
}

impl FromRequest for PageCtx {
    type Error = WebError;
    type Future = LocalBoxFuture<'static, Result<Self, WebError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| WebError::from(AppError::Internal(anyhow::anyhow!("no state"))))?;
            let pages = req
                .app_data::<web::Data<Pages>>()
                .cloned()
                .ok_or_else(|| WebError::from(AppError::Internal(anyhow::anyhow!("no pages"))))?;
            let session = session::current(&req).await?;
            let (csrf, new_csrf_cookie) = match &session {
                Some(s) => (s.csrf_token.clone(), None),
                None => match req
                    .cookie(&session::cookie_name(&state.settings, CSRF_COOKIE))
                    .filter(|c| c.value().len() == 64)
                {
                    Some(c) => (c.value().to_owned(), None),
                    None => {
                        let token = session::random_token();
                        let name = session::cookie_name(&state.settings, CSRF_COOKIE);
                        let cookie = Cookie::build(name, token.clone())
                            .path("/")
                            .http_only(true)
                            .same_site(SameSite::Lax)
                            .secure(state.settings.secure_cookies())
                            .finish();
                        (token, Some(cookie))
                    }
                },
            };
            Ok(Self {
                req,
                state,
                pages,
                session,
                csrf,
                new_csrf_cookie,
            })
        })
    }
}

impl PageCtx {
    /// One parameter of the query string, decoded; `None` when absent or blank.
    pub fn query_value(&self, name: &str) -> Option<String> {
        web::Query::<std::collections::HashMap<String, String>>::from_query(self.req.query_string())
            .ok()
            .and_then(|q| q.get(name).cloned())
            .filter(|v| !v.trim().is_empty())
    }

    /// The signed-in user, or a 401 that the error layer turns into a redirect to sign-in.
    pub fn user(&self) -> Result<crate::auth::CurrentUser, WebError> {
        self.session
            .as_ref()
            .map(|s| crate::auth::CurrentUser {
                id: s.user_id.clone(),
                role: s.role,
                email_verified: s.email_verified,
            })
            .ok_or_else(|| WebError::from(AppError::Unauthorized("Connectez-vous.".into())))
    }

    pub fn session(&self) -> Result<&Session, WebError> {
        self.session
            .as_ref()
            .ok_or_else(|| WebError::from(AppError::Unauthorized("Connectez-vous.".into())))
    }

    /// Refuses (403, nothing done) a form whose CSRF token is not this visitor's.
    /// Checks the form's CSRF token, and refuses a body the text rule refused (the door marks
    /// it, [`crate::input_guard`]) with a page that names each field: the handlers that show
    /// their form again with the message beside the field use [`PageCtx::check_form`].
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), WebError> {
        if let Some(crate::input_guard::TextRefused(fields)) =
            self.req
                .extensions()
                .get::<crate::input_guard::TextRefused>()
        {
            return Err(WebError(AppError::Validation {
                detail: text_refused_message(fields),
                errors: fields.clone(),
                extra: None,
            }));
        }
        self.check_token(sent)
    }

    /// Checks the CSRF token of a form whose page shows it again, and returns the text rule's
    /// refusals to show beside the fields (empty when there are none): the handler shows the
    /// form again with them and writes nothing. A field name no page sends is refused as
    /// [`PageCtx::check_csrf`] does.
    pub fn check_form(&self, form: &forms::Form) -> Result<forms::Errors, WebError> {
        if form.has_bad_name() {
            return self.check_csrf(None).map(|()| forms::Errors::default());
        }
        self.check_token(form.opt(CSRF_FIELD))?;
        Ok(form.refused())
    }

    fn check_token(&self, sent: Option<&str>) -> Result<(), WebError> {
        match sent {
            Some(sent) if session::same_secret(sent, &self.csrf) => Ok(()),
            _ => Err(WebError::from(AppError::Forbidden(
                "Ce formulaire a expiré ou ne vient pas de ce site : rechargez la page et \
                 recommencez."
                    .into(),
            ))),
        }
    }

    /// Renders a page with status 200.
    pub fn render(&self, template: &str, ctx: Value) -> Result<HttpResponse, WebError> {
        self.render_status(StatusCode::OK, template, ctx)
    }

    pub fn render_status(
        &self,
        status: StatusCode,
        template: &str,
        ctx: Value,
    ) -> Result<HttpResponse, WebError> {
        if status.is_client_error() {
            log_refused_form(&self.req, status, &ctx);
        }
        let html = self.pages.render(template, &self.base(), ctx)?;
        let mut res = HttpResponse::build(status);
        res.content_type("text/html; charset=utf-8");
        if let Some(c) = &self.new_csrf_cookie {
            res.cookie(c.clone());
        }
        Ok(res.body(html))
    }

    fn base(&self) -> Value {
        context! {
            user => self.session.as_ref().map(|s| context! {
                full_name => s.full_name.clone(),
                role => s.role.as_str(),
            }),
            csrf => self.csrf.clone(),
            path => self.req.path().to_owned(),
        }
    }
}

/// A serialisable value for a template (minijinja takes serde values explicitly).
pub fn ser<T: serde::Serialize + ?Sized>(value: &T) -> Value {
    Value::from(minijinja::value::Serde(value))
}

/// A redirect after a POST (303: the browser follows with a GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// An error met by a page handler. Its response is a bare status; `error_pages` (a
/// middleware around everything) dresses it as a page in the house style, or turns a 401
/// into a redirect to the sign-in page that comes back here.
#[derive(Debug)]
pub struct WebError(pub AppError);

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl From<ServiceError> for WebError {
    fn from(e: ServiceError) -> Self {
        Self(e.into())
    }
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Carried in the response's extensions from `WebError` to `error_pages`.
#[derive(Debug, Clone)]
struct PageError {
    message: Option<String>,
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(e) = &self.0 {
            tracing::error!(error = %format!("{e:#}"), "page failed");
        }
        let message = match &self.0 {
            AppError::Internal(_) | AppError::DatabaseUnavailable(_) => None,
            AppError::Validation { detail, .. } => Some(detail.clone()),
            other => Some(other.detail()),
        };
        let mut res = HttpResponse::new(self.status_code());
        res.extensions_mut().insert(PageError { message });
        res
    }
}

/// The page that refuses a text the rule refuses, naming each field (a form that is not shown
/// again, or a query string).
fn text_refused_message(fields: &crate::error::FieldErrors) -> String {
    let details: Vec<String> = fields
        .iter()
        .map(|(field, messages)| format!("champ « {field} » : {}", messages.join(" ; ")))
        .collect();
    format!(
        "Le texte saisi contient un caractère de contrôle ou de direction du texte, ou un \
         accent mal encodé (souvent copié depuis un traitement de texte ou une page web) : {}. \
         Revenez à la page précédente (vos saisies y sont encore), retirez-le, puis renvoyez \
         le formulaire.",
        details.join(" ; ")
    )
}

/// Dresses page errors (and any 404 outside the API) in the house style.
pub async fn error_pages(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?;
    let marker = res.response().extensions().get::<PageError>().cloned();
    // A form refused by the text rule before any page handler ran: said on a page, not in
    // JSON (the API keeps its problem+json).
    let refused = res
        .response()
        .extensions()
        .get::<crate::input_guard::TextRefused>()
        .cloned()
        .filter(|_| !res.request().path().starts_with("/api/"));
    let marker = match (marker, refused) {
        (Some(m), _) => m,
        (None, Some(crate::input_guard::TextRefused(fields))) => PageError {
            message: Some(text_refused_message(&fields)),
        },
        (None, None) => return Ok(res.map_into_boxed_body()),
    };
    let (req, res) = res.into_parts();
    let status = res.status();
    if status == StatusCode::UNAUTHORIZED {
        let back = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let target = format!(
            "/connexion?retour={}",
            url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
        );
        return Ok(ServiceResponse::new(req, see_other(&target)));
    }
    let page = error_page(&req, status, marker.message).await;
    Ok(ServiceResponse::new(req, page))
}

async fn error_page(
    req: &HttpRequest,
    status: StatusCode,
    message: Option<String>,
) -> HttpResponse {
    let (title, lead) = match status.as_u16() {
        403 => (
            "Accès refusé",
            "Vous n'avez pas accès à cette page ou à cette action.",
        ),
        404 => (
            "Page introuvable",
            "Cette page n'existe pas, ou elle ne vous est pas accessible.",
        ),
        409 => (
            "Action impossible",
            "Cette action n'est pas possible en ce moment.",
        ),
        422 => (
            "Saisie refusée",
            "Le formulaire contient une valeur qui ne peut pas être enregistrée.",
        ),
        413 => (
            "Fichier trop volumineux",
            "Le fichier envoyé dépasse la taille permise.",
        ),
        429 => (
            "Trop de tentatives",
            "Patientez quelques instants avant de réessayer.",
        ),
        s if s < 500 => (
            "Demande incorrecte",
            "Cette demande n'a pas pu être traitée.",
        ),
        _ => (
            "Erreur du service",
            "Une erreur est survenue de notre côté. Réessayez dans quelques instants.",
        ),
    };
    let request_id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    let ctx = context! {
        status => status.as_u16(),
        title => title,
        lead => lead,
        message => message,
        request_id => request_id,
    };
    let html = match (
        req.app_data::<web::Data<Pages>>(),
        session::current(req).await.ok().flatten(),
    ) {
        (Some(pages), session) => pages.render(
            "error.html",
            &context! {
                // The header's sign-out form needs the session's token, even on an error page.
                csrf => session.as_ref().map(|s| s.csrf_token.clone()).unwrap_or_default(),
                user => session.map(|s| context! { full_name => s.full_name, role => s.role.as_str() }),
                path => req.path().to_owned(),
            },
            ctx,
        ),
        (None, _) => Err(AppError::Internal(anyhow::anyhow!("no pages"))),
    };
    let body = html.unwrap_or_else(|_| {
        format!("<!doctype html><html lang=\"fr\"><title>{title}</title><h1>{title}</h1></html>")
    });
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body)
}

/// The house 404 page, for a path no page answers (the composition root sends the API's
/// paths to the API's own answer).
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    error_page(&req, StatusCode::NOT_FOUND, None).await
}

/// The headers every response carries: no script, style or frame from elsewhere, no content
/// sniffing, no full URL leaked to other sites; pages (HTML) are never cached by the browser.
pub fn security_headers(res: &mut actix_web::dev::ServiceResponse<impl MessageBody>) {
    let provider = res
        .request()
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .filter(|s| s.proconnect.is_some())
        .and_then(|s| url::Url::parse(s.settings.auth.proconnect.discovery_url.trim()).ok())
        .map(|u| u.origin().ascii_serialization());
    let headers = res.headers_mut();
    let set =
        |h: &mut actix_web::http::header::HeaderMap, name: &'static str, value: &'static str| {
            let name = header::HeaderName::from_static(name);
            if !h.contains_key(&name) {
                h.insert(name, header::HeaderValue::from_static(value));
            }
        };
    // With ProConnect, the sign-out form's answer redirects to the provider's end-session
    // endpoint, which `form-action` governs too: its origin is allowed, nothing else.
    match provider {
        Some(origin) if !headers.contains_key("content-security-policy") => {
            let csp = format!(
                "default-src 'self'; frame-ancestors 'none'; form-action 'self' {origin}; base-uri 'none'"
            );
            if let Ok(v) = header::HeaderValue::from_str(&csp) {
                headers.insert(header::CONTENT_SECURITY_POLICY, v);
            }
        }
        _ => set(
            headers,
            "content-security-policy",
            "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    }
    set(headers, "x-content-type-options", "nosniff");
    set(headers, "referrer-policy", "same-origin");
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        set(headers, "cache-control", "no-store");
    }
    // A page's 503 (the database away) says when to come back, as the API's does.
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        set(res.headers_mut(), "retry-after", "5");
    }
}

/// One log line per form shown again with its errors: which page, which fields (never the
/// values typed, which may be personal).
fn log_refused_form(req: &HttpRequest, status: StatusCode, ctx: &Value) {
    let Ok(errors) = ctx.get_attr("errors") else {
        return;
    };
    let Ok(fields) = errors.get_attr("fields") else {
        return;
    };
    let names: Vec<String> = match fields.try_iter() {
        Ok(keys) => keys.map(|k| k.to_string()).collect(),
        Err(_) => return,
    };
    if names.is_empty() {
        return;
    }
    tracing::info!(
        status = status.as_u16(),
        form = %req.match_pattern().unwrap_or_else(|| req.path().to_owned()),
        fields = %names.join(","),
        "form refused"
    );
}
