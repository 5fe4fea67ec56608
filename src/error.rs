//! The two error types and the one mapping between them.
//!
//! [`ServiceError`] is what a use case, a query or the mail outbox says went wrong: a stable
//! machine [`code`](ServiceError::code), a French message a person can act on (naming no
//! endpoint nor form: the caller may be the JSON API, a web page or the command line), and, for
//! invalid input, the faulty fields. It knows no HTTP.
//!
//! [`AppError`] is the JSON face's answer: its variants are HTTP statuses, and `From<ServiceError>`
//! below is the one place where a service's refusal becomes one. It renders as RFC 9457
//! `application/problem+json`. 500s never carry the cause: it goes to the log with the request id,
//! which the client sees in the `x-request-id` header.

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// Field path -> French messages, for 422 answers.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// What a use case refuses or fails on, in the words of the domain.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input that is wrong as a whole (a list's paging, an export's parameters), not one field.
    #[error("entrée invalide : {0}")]
    BadInput(String),
    /// Input with faulty fields, each with its French messages.
    #[error("données invalides")]
    Invalid {
        message: String,
        fields: FieldErrors,
        /// A structured companion of the refusal (e.g. an eligibility report).
        extra: Option<(String, Value)>,
    },
    /// The credentials are wrong or no longer valid.
    #[error("identification refusée")]
    Unauthenticated(String),
    /// The caller is known but may not do this.
    #[error("action refusée")]
    Forbidden(String),
    /// Nothing of that name, or nothing the caller may see (the two are not told apart).
    #[error("introuvable : {0}")]
    NotFound(String),
    /// The thing exists but its state forbids the action (a transition, a duplicate).
    #[error("conflit : {message}")]
    Conflict {
        message: String,
        /// What the caller needs to recover (current state, allowed actions…).
        extra: serde_json::Map<String, Value>,
    },
    /// The change was made from a version that is no longer the current one.
    #[error("version périmée")]
    StaleVersion(String),
    /// A file or a text over its size limit.
    #[error("trop volumineux")]
    TooLarge(String),
    /// A file whose content is not of an accepted type.
    #[error("type de contenu refusé")]
    UnsupportedContent(String),
    /// Too many attempts (sign-in failures, account requests): wait this long.
    #[error("trop de tentatives")]
    Throttled { retry_after_seconds: u64 },
    /// The database cannot be reached; retrying later may work.
    #[error("base de données indisponible: {0}")]
    Unavailable(String),
    /// One of the State's services essor calls (the companies' register, data.gouv.fr) is
    /// down, slow or refusing: the French message says which and what to do.
    #[error("service externe : {0}")]
    Upstream(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ServiceError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            extra: Default::default(),
        }
    }

    /// A refusal naming one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut fields = FieldErrors::new();
        fields.insert(field.into(), vec![message.into()]);
        Self::invalid(fields)
    }

    pub fn invalid(fields: FieldErrors) -> Self {
        Self::Invalid {
            message: summarize(&fields),
            fields,
            extra: None,
        }
    }

    /// The stable machine code of the refusal, the same on every face (the API's problem
    /// `type` is `urn:essor:problem:<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadInput(_) => "bad-request",
            Self::Invalid { .. } => "validation",
            Self::Unauthenticated(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not-found",
            Self::Conflict { .. } => "conflict",
            Self::StaleVersion(_) => "precondition-failed",
            Self::TooLarge(_) => "payload-too-large",
            Self::UnsupportedContent(_) => "unsupported-media-type",
            Self::Throttled { .. } => "too-many-requests",
            Self::Unavailable(_) => "service-unavailable",
            Self::Upstream(_) => "upstream",
            Self::Internal(_) => "internal",
        }
    }

    /// The French message to show; for internal and availability failures, a generic one (the
    /// cause goes to the log, never to the user).
    pub fn message(&self) -> String {
        match self {
            Self::BadInput(m)
            | Self::Unauthenticated(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::StaleVersion(m)
            | Self::TooLarge(m)
            | Self::UnsupportedContent(m)
            | Self::Upstream(m) => m.clone(),
            Self::Invalid { message, .. } | Self::Conflict { message, .. } => message.clone(),
            Self::Throttled {
                retry_after_seconds,
            } => throttled_message(*retry_after_seconds),
            Self::Unavailable(_) => UNAVAILABLE.into(),
            Self::Internal(_) => INTERNAL.into(),
        }
    }

    /// The faulty fields, for a face that shows them next to its inputs.
    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            Self::Invalid { fields, .. } => Some(fields),
            _ => None,
        }
    }
}

fn throttled_message(seconds: u64) -> String {
    format!("Trop de tentatives. Réessayez dans {seconds} secondes.")
}

const UNAVAILABLE: &str =
    "Le service est momentanément indisponible. Réessayez dans quelques instants.";
const INTERNAL: &str = "Une erreur interne est survenue. Si elle persiste, communiquez \
                        l'identifiant de requête (en-tête x-request-id) au support.";

/// The one mapping from a service's refusal to an HTTP answer.
impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::BadInput(m) => Self::BadRequest(m),
            ServiceError::Invalid {
                message,
                fields,
                extra,
            } => Self::Validation {
                detail: message,
                errors: fields,
                extra,
            },
            ServiceError::Unauthenticated(m) => Self::Unauthorized(m),
            ServiceError::Forbidden(m) => Self::Forbidden(m),
            ServiceError::NotFound(m) => Self::NotFound(m),
            ServiceError::Conflict { message, extra } => Self::Conflict {
                detail: message,
                extra,
            },
            ServiceError::StaleVersion(m) => Self::PreconditionFailed(m),
            ServiceError::TooLarge(m) => Self::PayloadTooLarge(m),
            ServiceError::UnsupportedContent(m) => Self::UnsupportedMediaType(m),
            ServiceError::Throttled {
                retry_after_seconds,
            } => Self::TooManyRequests {
                retry_after_seconds,
            },
            ServiceError::Unavailable(m) => Self::DatabaseUnavailable(m),
            ServiceError::Upstream(m) => Self::Upstream(m),
            ServiceError::Internal(e) => Self::Internal(e),
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => Self::NotFound("Ressource introuvable.".into()),
            other => Self::Internal(anyhow::Error::new(other).context("database error")),
        }
    }
}

impl From<validator::ValidationErrors> for ServiceError {
    fn from(e: validator::ValidationErrors) -> Self {
        Self::invalid(field_errors(&e))
    }
}

/// validator's errors as `a.b[0].c` paths with their French messages.
pub fn field_errors(e: &validator::ValidationErrors) -> FieldErrors {
    let mut fields = FieldErrors::new();
    flatten_validation(e, "", &mut fields);
    fields
}

/// The JSON face's error: one variant per HTTP status it answers with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("requête invalide : {0}")]
    BadRequest(String),
    #[error("données invalides")]
    Validation {
        detail: String,
        errors: FieldErrors,
        /// Extra members of the problem body (e.g. an eligibility report).
        extra: Option<(String, Value)>,
    },
    #[error("authentification requise")]
    Unauthorized(String),
    #[error("accès refusé")]
    Forbidden(String),
    #[error("introuvable : {0}")]
    NotFound(String),
    #[error("conflit : {detail}")]
    Conflict {
        detail: String,
        /// Members added to the problem body (current state, allowed actions…).
        extra: serde_json::Map<String, Value>,
    },
    #[error("version périmée")]
    PreconditionFailed(String),
    #[error("en-tête If-Match manquant")]
    PreconditionRequired(String),
    #[error("fichier trop volumineux")]
    PayloadTooLarge(String),
    #[error("type de fichier refusé")]
    UnsupportedMediaType(String),
    #[error("trop de requêtes")]
    TooManyRequests { retry_after_seconds: u64 },
    #[error("base de données indisponible: {0}")]
    DatabaseUnavailable(String),
    /// A State's service essor depends on for this answer failed (502).
    #[error("service externe : {0}")]
    Upstream(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound(what.into())
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
            extra: Default::default(),
        }
    }

    /// A 422 naming one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::new();
        errors.insert(field.into(), vec![message.into()]);
        Self::validation(errors)
    }

    pub fn validation(errors: FieldErrors) -> Self {
        let detail = summarize(&errors);
        Self::Validation {
            detail,
            errors,
            extra: None,
        }
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest(_) => ("bad-request", "Requête invalide"),
            Self::Validation { .. } => ("validation", "Données invalides"),
            Self::Unauthorized(_) => ("unauthorized", "Authentification requise"),
            Self::Forbidden(_) => ("forbidden", "Accès refusé"),
            Self::NotFound(_) => ("not-found", "Ressource introuvable"),
            Self::Conflict { .. } => ("conflict", "Conflit avec l'état de la ressource"),
            Self::PreconditionFailed(_) => ("precondition-failed", "Version périmée"),
            Self::PreconditionRequired(_) => ("precondition-required", "En-tête If-Match requis"),
            Self::PayloadTooLarge(_) => ("payload-too-large", "Contenu trop volumineux"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Type de contenu refusé"),
            Self::TooManyRequests { .. } => ("too-many-requests", "Trop de requêtes"),
            Self::DatabaseUnavailable(_) => ("service-unavailable", "Service indisponible"),
            Self::Upstream(_) => ("upstream", "Service externe indisponible"),
            Self::Internal(_) => ("internal", "Erreur interne"),
        }
    }

    /// The refusal in a few words for the log: its code, its detail and, for invalid input,
    /// the names of the faulty fields (an eligibility refusal: `eligibility.<criterion>` and
    /// `documents`), never the report or the values sent.
    pub fn log_reason(&self) -> String {
        let (slug, _) = self.kind();
        match self {
            Self::Validation { detail, errors, .. } => format!(
                "{slug}: {detail} [{}]",
                errors
                    .keys()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::Internal(_) => slug.to_owned(),
            other => format!("{slug}: {}", other.detail()),
        }
    }

    /// The French sentence a person reads (the problem's `detail`).
    pub fn detail(&self) -> String {
        match self {
            Self::BadRequest(d)
            | Self::Unauthorized(d)
            | Self::Forbidden(d)
            | Self::NotFound(d)
            | Self::PreconditionFailed(d)
            | Self::PreconditionRequired(d)
            | Self::PayloadTooLarge(d)
            | Self::UnsupportedMediaType(d)
            | Self::Upstream(d) => d.clone(),
            Self::Validation { detail, .. } | Self::Conflict { detail, .. } => detail.clone(),
            Self::TooManyRequests {
                retry_after_seconds,
            } => throttled_message(*retry_after_seconds),
            Self::DatabaseUnavailable(_) => UNAVAILABLE.into(),
            Self::Internal(_) => INTERNAL.into(),
        }
    }
}

/// "Le champ « x » : … ; …" — one sentence summing up a 422 for clients that only show `detail`.
fn summarize(errors: &FieldErrors) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|(field, msgs)| format!("« {field} » : {}", msgs.join(", ")))
        .collect();
    match parts.len() {
        0 => "Les données envoyées sont invalides.".into(),
        1 => format!("Les données envoyées sont invalides : {}.", parts[0]),
        _ => format!(
            "Les données envoyées sont invalides ({} champs) : {}.",
            parts.len(),
            parts.join(" ; ")
        ),
    }
}

/// The body of every error answer (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:essor:problem:validation",
    "title": "Données invalides",
    "status": 422,
    "detail": "Les données envoyées sont invalides : « email » : adresse électronique invalide.",
    "errors": {"email": ["adresse électronique invalide"]}
}))]
pub struct Problem {
    /// A URI identifying the kind of problem (`urn:essor:problem:<kind>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// A short French summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// A French explanation of this occurrence: what is wrong and how to fix it.
    pub detail: String,
    /// For 422: field path -> French messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
    /// Extension members (e.g. `current_state` and `allowed_actions` on a 409).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: serde_json::Map<String, Value>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired(_) => StatusCode::PRECONDITION_REQUIRED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Upstream(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        match self {
            Self::Internal(e) => tracing::error!(error = ?e, "internal error"),
            Self::DatabaseUnavailable(e) => tracing::error!(error = %e, "database unavailable"),
            _ => tracing::debug!(status = status.as_u16(), error = %self, "request refused"),
        }
        let (slug, title) = self.kind();
        let mut extra = serde_json::Map::new();
        let errors = match self {
            Self::Validation {
                errors,
                extra: more,
                ..
            } => {
                if let Some((k, v)) = more {
                    extra.insert(k.clone(), v.clone());
                }
                Some(errors.clone())
            }
            Self::Conflict { extra: more, .. } => {
                extra.extend(more.clone());
                None
            }
            _ => None,
        };
        let problem = Problem {
            kind: format!("urn:essor:problem:{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: self.detail(),
            errors,
            extra,
        };
        let mut resp = HttpResponse::build(status);
        resp.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            Self::Unauthorized(_) => {
                resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"essor\""));
            }
            Self::TooManyRequests {
                retry_after_seconds,
            } => {
                resp.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            Self::DatabaseUnavailable(_) => {
                resp.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        resp.body(serde_json::to_string(&problem).unwrap_or_default())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(e: validator::ValidationErrors) -> Self {
        ServiceError::from(e).into()
    }
}

/// Turns validator's nested errors into `a.b[0].c` paths with their French messages.
fn flatten_validation(e: &validator::ValidationErrors, prefix: &str, out: &mut FieldErrors) {
    use validator::ValidationErrorsKind as K;
    for (field, kind) in e.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            K::Field(errs) => {
                let msgs = out.entry(path).or_default();
                for err in errs {
                    msgs.push(
                        err.message
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_else(|| format!("valeur invalide ({})", err.code)),
                    );
                }
            }
            K::Struct(inner) => flatten_validation(inner, &path, out),
            K::List(items) => {
                for (i, inner) in items {
                    flatten_validation(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn body_of(e: AppError) -> (StatusCode, Value) {
        let resp = e.error_response();
        let status = resp.status();
        assert_eq!(
            resp.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_JSON
        );
        let bytes = to_bytes(resp.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[actix_web::test]
    async fn each_error_maps_to_its_status_with_a_problem_body() {
        let cases: Vec<(AppError, u16, &str)> = vec![
            (AppError::BadRequest("x".into()), 400, "bad-request"),
            (
                AppError::invalid_field("email", "adresse invalide"),
                422,
                "validation",
            ),
            (AppError::Unauthorized("x".into()), 401, "unauthorized"),
            (AppError::Forbidden("x".into()), 403, "forbidden"),
            (AppError::not_found("x"), 404, "not-found"),
            (AppError::conflict("x"), 409, "conflict"),
            (
                AppError::PreconditionFailed("x".into()),
                412,
                "precondition-failed",
            ),
            (
                AppError::PreconditionRequired("x".into()),
                428,
                "precondition-required",
            ),
            (
                AppError::PayloadTooLarge("x".into()),
                413,
                "payload-too-large",
            ),
            (
                AppError::UnsupportedMediaType("x".into()),
                415,
                "unsupported-media-type",
            ),
            (
                AppError::TooManyRequests {
                    retry_after_seconds: 7,
                },
                429,
                "too-many-requests",
            ),
            (
                AppError::Internal(anyhow::anyhow!("secret cause")),
                500,
                "internal",
            ),
        ];
        for (err, status, slug) in cases {
            let (st, body) = body_of(err).await;
            assert_eq!(st.as_u16(), status);
            assert_eq!(body["status"], status);
            assert_eq!(body["type"], format!("urn:essor:problem:{slug}"));
            assert!(!body["title"].as_str().unwrap().is_empty());
            assert!(!body["detail"].as_str().unwrap().is_empty());
        }
    }

    #[actix_web::test]
    async fn internal_errors_do_not_leak_their_cause() {
        let (_, body) = body_of(AppError::Internal(anyhow::anyhow!(
            "password=hunter2 at db.rs:12"
        )))
        .await;
        let text = body.to_string();
        assert!(!text.contains("hunter2"));
        assert!(!text.contains("db.rs"));
    }

    #[actix_web::test]
    async fn validation_lists_fields_and_conflict_carries_extras() {
        let (_, body) = body_of(AppError::invalid_field(
            "organisation.siret",
            "clé invalide",
        ))
        .await;
        assert_eq!(body["errors"]["organisation.siret"][0], "clé invalide");
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("organisation.siret")
        );

        let mut extra = serde_json::Map::new();
        extra.insert("current_state".into(), "accepted".into());
        let (_, body) = body_of(AppError::Conflict {
            detail: "non".into(),
            extra,
        })
        .await;
        assert_eq!(body["current_state"], "accepted");
        assert!(body.get("errors").is_none());
    }

    #[actix_web::test]
    async fn a_service_refusal_keeps_its_code_and_message_on_the_wire() {
        let cases: Vec<(ServiceError, u16)> = vec![
            (ServiceError::BadInput("page 0".into()), 400),
            (
                ServiceError::invalid_field("email", "adresse invalide"),
                422,
            ),
            (ServiceError::Unauthenticated("non".into()), 401),
            (ServiceError::Forbidden("non".into()), 403),
            (ServiceError::not_found("aucun dossier"), 404),
            (ServiceError::conflict("déjà déposé"), 409),
            (ServiceError::StaleVersion("version 2".into()), 412),
            (ServiceError::TooLarge("10 Mo".into()), 413),
            (ServiceError::UnsupportedContent("exe".into()), 415),
            (ServiceError::Unavailable("pool timeout".into()), 503),
            (ServiceError::Internal(anyhow::anyhow!("secret cause")), 500),
        ];
        for (err, status) in cases {
            let code = err.code();
            let message = err.message();
            let (st, body) = body_of(err.into()).await;
            assert_eq!(st.as_u16(), status, "{code}");
            assert_eq!(body["type"], format!("urn:essor:problem:{code}"));
            assert_eq!(body["detail"], message, "{code}");
            assert!(!message.contains("secret cause") && !message.contains("pool timeout"));
        }
    }

    #[test]
    fn retry_after_is_set_on_429() {
        let resp = AppError::TooManyRequests {
            retry_after_seconds: 42,
        }
        .error_response();
        assert_eq!(resp.headers().get(header::RETRY_AFTER).unwrap(), "42");
    }
}
