//! The problem+json answers many routes share, described once for the OpenAPI document
//! (`responses(NeedsToken, ReadsJson, …)` in a handler's annotation) instead of the same lines
//! on every handler. A route's own refusals (its 403, 404, 409, 422) keep their own words.

use utoipa::IntoResponses;

use crate::error::Problem;

/// 401: a route that needs a bearer token.
#[derive(IntoResponses)]
pub enum NeedsToken {
    #[response(
        status = 401,
        description = "Missing, invalid or expired token.",
        content_type = "application/problem+json"
    )]
    Unauthorized(Problem),
}

/// 400 and 415: a route that reads a JSON body.
#[derive(IntoResponses)]
pub enum ReadsJson {
    #[response(
        status = 400,
        description = "Unreadable JSON.",
        content_type = "application/problem+json"
    )]
    Unreadable(Problem),
    #[response(
        status = 415,
        description = "The body is not JSON.",
        content_type = "application/problem+json"
    )]
    NotJson(Problem),
}

/// 412: a change that names, in `If-Match`, the version it was made from.
#[derive(IntoResponses)]
pub enum Versioned {
    #[response(
        status = 412,
        description = "`If-Match` names an older version.",
        content_type = "application/problem+json"
    )]
    Stale(Problem),
}
