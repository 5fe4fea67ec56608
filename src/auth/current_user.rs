//! The caller, from the bearer token (API) or else the session cookie (pages). `CurrentUser`
//! requires one (401 otherwise); `MaybeUser` lets anonymous callers through but still refuses
//! a bad token. Every request checks the token against the account's current state
//! (`auth::account::check`): a deactivated account, or a token from before a role or password
//! change, is refused at once. Web sessions are deleted by the same account events, and a
//! session of a deactivated account is not loaded (`auth::session`). A personal access token
//! (`essor_pat_…`) is checked the same way, and against the route's scope
//! (`auth::personal_token`, `domain::tokens`).

use crate::domain::ids::UserId;
use futures_util::future::LocalBoxFuture;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};

use crate::auth::token::TokenError;
use crate::db::applications::ApplicationRow;
use crate::error::{AppError, ServiceError};
use crate::services::identify::Identify;
use crate::state::AppState;

/// The caller as the services know them: the domain's `Actor`, which this module extracts.
pub type CurrentUser = crate::domain::actor::Actor;

#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

/// The bearer credential of the `Authorization` header, if there is one.
fn bearer(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| invalid("en-tête Authorization illisible"))?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| invalid("en-tête Authorization attendu sous la forme « Bearer <jeton> »"))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(invalid(
            "en-tête Authorization attendu sous la forme « Bearer <jeton> »",
        ));
    }
    Ok(Some(token.trim().to_owned()))
}

fn app_state(req: &HttpRequest) -> Result<AppState, AppError> {
    req.app_data::<web::Data<AppState>>()
        .map(|s| s.get_ref().clone())
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("AppState missing")))
}

/// The token's claims, checked offline (signature, expiry): no I/O yet.
fn verify_token(req: &HttpRequest, token: &str) -> Result<crate::auth::token::Claims, AppError> {
    app_state(req)?.tokens.verify(token).map_err(|e| match e {
        TokenError::Expired => AppError::Unauthorized(
            "Votre session a expiré : reconnectez-vous pour obtenir un nouveau jeton.".into(),
        ),
        TokenError::Invalid => invalid("le jeton d'accès n'est pas valide"),
    })
}

/// The bearer token when there is an `Authorization` header, else the web session, checked
/// as far as it can be without the database (`Caller`; the account check is `identify`).
///
/// The session cookie never authorises a write of the JSON API (DESIGN.md §4): `SameSite=Lax`
/// lets a page of a sibling origin of the same site send it, with no CSRF token, and such a
/// page did submit an application through `/api/v1/…`. On `/api/` anything but GET and HEAD
/// ignores the cookie, so it needs a bearer token; the pages write through their own forms,
/// which carry the session's CSRF token, and only read the API with the cookie (downloads).
async fn credential(req: &HttpRequest) -> Result<Option<Caller>, AppError> {
    if let Some(token) = bearer(req)? {
        if crate::auth::personal_token::is_personal(&token) {
            let pattern = req.match_pattern().unwrap_or_default();
            let need = crate::domain::tokens::need(req.method().as_str(), &pattern);
            return Ok(Some(Caller(Credential::Personal {
                secret: token.into(),
                need,
            })));
        }
        let claims = verify_token(req, &token)?;
        // essor signs only account ids; anything else is not one of its tokens.
        let sub = UserId::parse(&claims.sub)
            .ok_or_else(|| invalid("le jeton d'accès n'est pas valide"))?;
        return Ok(Some(Caller(Credential::Token {
            sub,
            generation: claims.generation,
        })));
    }
    if cookie_may_not_authorise(req.path(), req.method()) {
        return Ok(None);
    }
    Ok(crate::auth::session::current(req).await?.map(|s| {
        Caller(Credential::Session(CurrentUser {
            id: s.user_id,
            role: s.role,
            email_verified: s.email_verified,
        }))
    }))
}

/// Whether a request may not be authorised by the session cookie: an API write.
fn cookie_may_not_authorise(path: &str, method: &actix_web::http::Method) -> bool {
    use actix_web::http::Method;
    path.starts_with("/api/") && !matches!(*method, Method::GET | Method::HEAD)
}

/// The caller with their account checked now: a token's check (active, same generation,
/// current role; a personal token's revocation, expiry and the route's scope — 401 for a
/// token that no longer opens anything, 403 naming the scope a valid token lacks) in a
/// database call of its own; a web session was loaded with its account's state.
async fn caller(req: HttpRequest) -> Result<Option<CurrentUser>, AppError> {
    let Some(caller) = credential(&req).await? else {
        return Ok(None);
    };
    if let Credential::Session(user) = caller.0 {
        return Ok(Some(user));
    }
    let state = app_state(&req)?;
    let now = state.clock.now();
    Ok(Some(
        state.db.run(move |conn| caller.identify(conn, now)).await?,
    ))
}

/// No credential at all, where one is needed.
fn required() -> AppError {
    AppError::Unauthorized(
        "Authentification requise : envoyez un jeton d'accès (Authorization: Bearer …), \
         obtenu par POST /api/v1/auth/token."
            .into(),
    )
}

fn invalid(why: &str) -> AppError {
    AppError::Unauthorized(format!("Authentification refusée : {why}."))
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { caller(req).await?.ok_or_else(required) })
    }
}

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { caller(req).await.map(MaybeUser) })
    }
}

/// The caller of a hot read (an application, a list), checked offline when the request is
/// extracted — the token's signature and expiry, the route's scope for a personal token — with
/// the account check (the same as `CurrentUser`'s: active, at the token's generation, the
/// current role) left to `identify`, which the service runs inside its own database call. The
/// request then crosses to the blocking pool once instead of twice (bench/run, issue 19).
#[derive(Clone)]
pub struct Caller(Credential);

#[derive(Clone)]
enum Credential {
    /// A JWT whose signature and expiry were checked.
    Token { sub: UserId, generation: i32 },
    /// A personal access token, and what the route needs of its scopes.
    Personal {
        secret: secrecy::SecretString,
        need: crate::domain::tokens::Need,
    },
    /// A web session, loaded (with its account's state) by `auth::session`.
    Session(CurrentUser),
}

impl std::fmt::Debug for Caller {
    /// Never the secret of a personal token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Credential::Token { sub, .. } => write!(f, "Caller(token of {sub})"),
            Credential::Personal { .. } => write!(f, "Caller(personal token)"),
            Credential::Session(u) => write!(f, "Caller(session of {})", u.id),
        }
    }
}

impl Identify for Caller {
    fn identify(
        &self,
        conn: &mut crate::db::DbConnection,
        now: chrono::NaiveDateTime,
    ) -> Result<CurrentUser, ServiceError> {
        let account = match &self.0 {
            Credential::Session(user) => return Ok(user.clone()),
            Credential::Token { sub, generation } => {
                crate::auth::account::check(conn, sub, *generation)??
            }
            Credential::Personal { secret, need } => {
                let (account, scopes) = crate::auth::personal_token::check(
                    conn,
                    secrecy::ExposeSecret::expose_secret(secret),
                    now,
                )??;
                crate::domain::tokens::authorize(*need, &scopes, account.role)
                    .map_err(|refusal| ServiceError::Forbidden(refusal.message()))?;
                account
            }
        };
        Ok(Self::actor(account))
    }

    /// A bearer token's account check and the read of the application in one statement; the
    /// other credentials in two.
    fn identify_reading(
        &self,
        conn: &mut crate::db::DbConnection,
        now: chrono::NaiveDateTime,
        id: &crate::domain::ids::ApplicationId,
    ) -> Result<(CurrentUser, Option<Option<ApplicationRow>>), ServiceError> {
        let Credential::Token { sub, generation } = &self.0 else {
            return Ok((self.identify(conn, now)?, None));
        };
        let Some((account, row)) = crate::db::applications::find_with_account(conn, sub, id)?
        else {
            return Err(crate::auth::account::AccountRefusal::Unknown.into());
        };
        let user = Self::actor(crate::auth::account::judge(sub, *generation, account)??);
        Ok((user, Some(row)))
    }
}

impl Caller {
    fn actor(account: crate::auth::account::CurrentAccount) -> CurrentUser {
        CurrentUser {
            id: account.id,
            role: account.role,
            email_verified: account.email_verified,
        }
    }
}

impl FromRequest for Caller {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { credential(&req).await?.ok_or_else(required) })
    }
}
