//! Pages anyone may read (home, calls, legal pages) and the ones that make a visitor a
//! signed-in user (registration, sign-in, sign-out).

use actix_web::{HttpResponse, web};
use minijinja::context;

use crate::auth::client_ip::client_ip;
use crate::auth::session;
use crate::domain::account::Role;
use crate::domain::application_state::ApplicationState;
use crate::domain::territory;
use crate::error::{AppError, ServiceError};
use crate::input::Paging;
use crate::services::applications::ListFilter;
use crate::services::{accounts, applications, calls};
use crate::web::checked_form::CsrfForm;
use crate::web::forms::{Errors, Form};
use crate::web::{CSRF_FIELD, PageCtx, WebError, see_other, ser};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route("/appels", web::get().to(call_list))
        .route("/appels/{id}", web::get().to(call_page))
        .route("/compte/inscription", web::get().to(register_form))
        .route("/compte/inscription", web::post().to(register))
        .route("/compte/verifier", web::get().to(verify_form))
        .route("/compte/verifier", web::post().to(verify))
        .route("/compte/verifier/renvoyer", web::post().to(resend))
        .route("/compte/mot-de-passe/oublie", web::get().to(forgotten_form))
        .route("/compte/mot-de-passe/oublie", web::post().to(forgotten))
        .route("/compte/mot-de-passe/nouveau", web::get().to(reset_form))
        .route("/compte/mot-de-passe/nouveau", web::post().to(reset))
        .route("/compte/invitation", web::get().to(invitation_form))
        .route("/compte/invitation", web::post().to(invitation))
        .route("/connexion", web::get().to(signin_form))
        .route("/connexion", web::post().to(signin))
        .route("/deconnexion", web::post().to(signout))
        .route("/accessibilite", web::get().to(accessibility))
        .route("/donnees-personnelles", web::get().to(privacy))
        .route("/mentions-legales", web::get().to(notice));
}

async fn open_calls(ctx: &PageCtx) -> Result<Vec<calls::Call>, WebError> {
    let page = calls::list(
        &ctx.state,
        false,
        None,
        Paging {
            page: 1,
            per_page: 100,
        },
    )
    .await?;
    Ok(page.items)
}

async fn home(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    let calls = open_calls(&ctx).await?;
    ctx.render("home.html", context! { calls => ser(&calls) })
}

async fn call_list(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    let calls = open_calls(&ctx).await?;
    ctx.render("calls.html", context! { calls => ser(&calls) })
}

async fn call_page(ctx: PageCtx, id: web::Path<String>) -> Result<HttpResponse, WebError> {
    let staff = ctx
        .session
        .as_ref()
        .is_some_and(|s| matches!(s.role, Role::Staff | Role::Admin));
    let call = calls::get(&ctx.state, staff, crate::services::calls::id(&id)?).await?;
    // The territory by name: the MEL's 95 communes, or the call's own list.
    let all = territory::mel_insee_codes();
    let whole_mel =
        call.territory.len() == all.len() && call.territory.iter().all(|c| all.contains(c));
    let communes: Vec<&str> = call
        .territory
        .iter()
        .filter_map(|c| territory::commune_name(c))
        .collect();
    // The applicant's own applications to this call (newest first), so that « Candidater »
    // is not the only way on when one is already under way.
    let mine = match ctx.session.as_ref() {
        Some(s) if s.role == Role::Applicant => {
            let filter = ListFilter {
                call_id: Some(call.id.clone()),
                ..ListFilter::default()
            };
            let page = applications::list(
                &ctx.state,
                &ctx.user()?,
                filter,
                Paging {
                    page: 1,
                    per_page: 20,
                },
            )
            .await?;
            page.items
                .into_iter()
                .filter(|a| a.state != ApplicationState::Withdrawn)
                .collect()
        }
        _ => Vec::new(),
    };
    // A commune's referral (§16): the code rides along to the first step.
    let referral = ctx
        .query_value("recommandation")
        .and_then(|c| crate::domain::referral::ReferralCode::parse(&c).ok())
        .map(|c| c.as_str().to_owned());
    let start = match &referral {
        Some(code) => format!("/appels/{}/candidater?recommandation={code}", call.id),
        None => format!("/appels/{}/candidater", call.id),
    };
    let signin = format!(
        "/connexion?retour={}",
        percent_encoding::utf8_percent_encode(&start, percent_encoding::NON_ALPHANUMERIC)
    );
    ctx.render(
        "call.html",
        context! { call => ser(&call), whole_mel, communes, mine => ser(&mine), referral, start, signin },
    )
}

async fn register_form(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render(
        "register.html",
        context! { values => context! {}, errors => ser(&Errors::default()) },
    )
}

const REGISTER_FIELDS: [&str; 3] = ["full_name", "email", "password"];

async fn register(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    if !refused.is_empty() {
        return again(&ctx, "register.html", &form, refused);
    }
    let account = accounts::NewAccount::parse(
        form.get("email"),
        form.get("password"),
        form.get("full_name"),
        Role::Applicant,
    );
    // The same service as `POST /api/v1/auth/register`: the same page whether or not the
    // address already has an account (its owner gets a mail saying so), so the form tells a
    // stranger nothing; and no sign-in here, which would tell it too.
    let result = match account {
        Ok(account) => accounts::register(&ctx.state, client_ip(&ctx.req), account).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ctx.render(
            "register_sent.html",
            context! { email => form.get("email") },
        ),
        Err(e) => {
            let errors = Errors::from_service(
                e,
                |p| REGISTER_FIELDS.contains(&p).then(|| p.to_owned()),
                "email",
            )?
            .ordered(&REGISTER_FIELDS);
            again(&ctx, "register.html", &form, errors)
        }
    }
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The link of the verification mail. Following it only shows a button: a link checker of a
/// mail service that opens every link must not use up the single-use token.
async fn verify_form(ctx: PageCtx, q: web::Query<TokenQuery>) -> Result<HttpResponse, WebError> {
    ctx.render(
        "verify.html",
        context! { token => q.token.clone().unwrap_or_default(), errors => ser(&Errors::default()) },
    )
}

async fn verify(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    let token = form.get("token").to_owned();
    match accounts::verify_email(&ctx.state, client_ip(&ctx.req), token.clone()).await {
        Ok(()) => {
            // A signed-in applicant carries on; anyone else signs in next.
            let target = if ctx.session.is_some() {
                "/candidatures?verifiee=1"
            } else {
                "/connexion?verifiee=1"
            };
            Ok(see_other(target))
        }
        Err(ServiceError::Invalid { fields, .. })
            if fields
                .get("token")
                .is_some_and(|m| m.iter().any(|m| m == accounts::ALREADY_CONFIRMED)) =>
        {
            // A used link whose address is confirmed: nothing is wrong.
            ctx.render(
                "verify.html",
                context! { token => "", already => true, errors => ser(&Errors::default()) },
            )
        }
        Err(e @ ServiceError::Invalid { .. }) => {
            // Expired, used or unknown: said in French, with the way to get a new link.
            let errors = Errors::from_service(e, |_| Some("confirm".to_owned()), "confirm")?;
            ctx.render_status(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                "verify.html",
                context! { token, errors => ser(&errors) },
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// A new verification link, for a signed-in applicant whose link expired or was used.
async fn resend(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    let Ok(user) = ctx.user() else {
        // Back to the verification page after signing in (a POST cannot be replayed).
        return Ok(see_other("/connexion?retour=%2Fcompte%2Fverifier"));
    };
    let sent = match accounts::resend_verification(&ctx.state, client_ip(&ctx.req), &user).await {
        Ok(()) => true,
        // Already verified: nothing to send, and the page says so.
        Err(ServiceError::Conflict { .. }) => false,
        Err(e) => return Err(e.into()),
    };
    ctx.render(
        "verify.html",
        context! { token => "", errors => ser(&Errors::default()), sent, already => !sent },
    )
}

async fn forgotten_form(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render(
        "password_forgotten.html",
        context! { values => context! {}, errors => ser(&Errors::default()), sent => false },
    )
}

/// The same answer whether or not the address has an account (as `POST /auth/password-reset`).
async fn forgotten(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let refused = ctx.check_form(&form)?;
    if !refused.is_empty() {
        return again(&ctx, "password_forgotten.html", &form, refused);
    }
    match accounts::request_password_reset(&ctx.state, client_ip(&ctx.req), form.get("email"))
        .await
    {
        Ok(()) => ctx.render(
            "password_forgotten.html",
            context! { values => context! {}, errors => ser(&Errors::default()), sent => true, email => form.get("email") },
        ),
        Err(e) => {
            let errors = Errors::from_service(e, |p| (p == "email").then(|| p.to_owned()), "email")?;
            again(&ctx, "password_forgotten.html", &form, errors)
        }
    }
}

/// Which link a password form answers: a reset (1 h) or an invitation (7 days).
#[derive(Clone, Copy)]
enum PasswordLink {
    Reset,
    Invitation,
}

impl PasswordLink {
    fn action(self) -> &'static str {
        match self {
            Self::Reset => "/compte/mot-de-passe/nouveau",
            Self::Invitation => "/compte/invitation",
        }
    }
}

fn password_page(
    ctx: &PageCtx,
    link: PasswordLink,
    token: String,
    errors: Errors,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, WebError> {
    ctx.render_status(
        status,
        "password_set.html",
        context! {
            token,
            action => link.action(),
            invitation => matches!(link, PasswordLink::Invitation),
            values => context! {},
            errors => ser(&errors),
        },
    )
}

async fn reset_form(ctx: PageCtx, q: web::Query<TokenQuery>) -> Result<HttpResponse, WebError> {
    let token = q.token.clone().unwrap_or_default();
    password_page(
        &ctx,
        PasswordLink::Reset,
        token,
        Errors::default(),
        actix_web::http::StatusCode::OK,
    )
}

async fn invitation_form(
    ctx: PageCtx,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, WebError> {
    let token = q.token.clone().unwrap_or_default();
    password_page(
        &ctx,
        PasswordLink::Invitation,
        token,
        Errors::default(),
        actix_web::http::StatusCode::OK,
    )
}

async fn reset(checked: CsrfForm) -> Result<HttpResponse, WebError> {
    set_password(checked, PasswordLink::Reset).await
}

async fn invitation(checked: CsrfForm) -> Result<HttpResponse, WebError> {
    set_password(checked, PasswordLink::Invitation).await
}

/// Sets the password with the link's token; then to sign-in (every earlier session ended).
async fn set_password(
    CsrfForm { ctx, form }: CsrfForm,
    link: PasswordLink,
) -> Result<HttpResponse, WebError> {
    let token = form.get("token").to_owned();
    let password = form.get("password").to_owned();
    let ip = client_ip(&ctx.req);
    let result = match link {
        PasswordLink::Reset => {
            accounts::confirm_password_reset(&ctx.state, ip, token.clone(), password).await
        }
        PasswordLink::Invitation => {
            accounts::accept_invitation(&ctx.state, ip, token.clone(), password).await
        }
    };
    match result {
        Ok(()) => Ok(see_other("/connexion?mot-de-passe=1")),
        Err(e @ ServiceError::Invalid { .. }) => {
            // A bad password lands on its field; an expired or used link on the button.
            let errors = Errors::from_service(
                e,
                |p| Some(if p == "password" { "password" } else { "save" }.to_owned()),
                "save",
            )?;
            password_page(
                &ctx,
                link,
                token,
                errors,
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// The form again, with the values typed (never the password) and the errors.
fn again(
    ctx: &PageCtx,
    template: &str,
    form: &Form,
    errors: Errors,
) -> Result<HttpResponse, WebError> {
    let mut values = form.values();
    values.remove("password");
    ctx.render_status(
        actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
        template,
        context! { values => ser(&values), errors => ser(&errors), retour => form.get("retour") },
    )
}

/// A path of the site's own pages to come back to after sign-in, or `None`: it starts with a
/// single `/` and holds no `//`, no backslash, no whitespace, no control or bidi character, neither
/// as given nor once its %-escapes are decoded. Browsers strip a tab or a newline from a
/// `Location` (`/\t/evil.example` becomes `//evil.example`, another site), and a newline in a
/// header cannot be sent at all.
pub fn safe_return(raw: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .ok()?;
    let local = |s: &str| {
        s.starts_with('/')
            && !s.contains("//")
            && !s.contains('\\')
            && !s.chars().any(char::is_whitespace)
            // Control, bidirectional and invisible characters: the one text rule.
            && crate::domain::text::check(s, crate::domain::text::Lines::Single).is_ok()
    };
    (local(raw) && local(&decoded)).then(|| raw.to_owned())
}

#[derive(serde::Deserialize)]
struct ReturnQuery {
    retour: Option<String>,
}

async fn signin_form(ctx: PageCtx, q: web::Query<ReturnQuery>) -> Result<HttpResponse, WebError> {
    let retour = q.retour.as_deref().and_then(safe_return);
    let verified = ctx.req.query_string().contains("verifiee=1");
    let password_set = ctx.req.query_string().contains("mot-de-passe=1");
    let proconnect = ctx.state.proconnect.is_some();
    ctx.render(
        "signin.html",
        context! { values => context! {}, errors => ser(&Errors::default()), retour, verified, password_set, proconnect },
    )
}

async fn signin(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    let mut errors = ctx.check_form(&form)?;
    if form.get("email").is_empty() {
        errors.add("email", "indiquez votre adresse électronique");
    }
    if form.get("password").is_empty() {
        errors.add("password", "indiquez votre mot de passe");
    }
    if !errors.is_empty() {
        return again(&ctx, "signin.html", &form, errors);
    }
    match accounts::sign_in(
        &ctx.state,
        client_ip(&ctx.req),
        form.get("email"),
        form.get("password").to_owned(),
    )
    .await
    {
        Ok(signed_in) => {
            let target = safe_return(form.get("retour"))
                .unwrap_or_else(|| landing(signed_in.user.role).into());
            sign_in(&ctx, signed_in.user.id, signed_in.generation, &target).await
        }
        Err(ServiceError::Unauthenticated(message)) => {
            errors.add("email", message);
            again(&ctx, "signin.html", &form, errors)
        }
        Err(e) => Err(e.into()),
    }
}

/// Where a person lands after signing in (without a page to go back to): their own workspace.
pub fn landing(role: Role) -> &'static str {
    match role {
        Role::Applicant => "/candidatures",
        Role::Reviewer => "/evaluations",
        Role::Staff | Role::Admin => "/gestion",
        Role::Commune => "/commune",
    }
}

async fn sign_in(
    ctx: &PageCtx,
    user_id: crate::domain::ids::UserId,
    generation: i32,
    target: &str,
) -> Result<HttpResponse, WebError> {
    let previous = ctx
        .req
        .cookie(&session::cookie_name(&ctx.state.settings, session::COOKIE))
        .map(|c| c.value().to_owned());
    let token = session::start(&ctx.state, user_id, generation, previous).await?;
    let mut res = see_other(target);
    res.add_cookie(&session::cookie(&ctx.state.settings, token))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie: {e}")))?;
    Ok(res)
}

async fn signout(ctx: PageCtx, body: web::Bytes) -> Result<HttpResponse, WebError> {
    let form = Form::parse(&body);
    ctx.check_csrf(form.opt(CSRF_FIELD))?;
    // A session ProConnect opened ends at the provider too (its end-session endpoint, with
    // the ID token), which sends the browser back to `/connexion/proconnect/deconnecte`.
    let id_token = ctx
        .session
        .as_ref()
        .and_then(|s| s.data.get("proconnect"))
        .and_then(|p| p.get("id_token"))
        .and_then(|t| t.as_str())
        .map(str::to_owned);
    let provider = match id_token {
        Some(t) => crate::services::proconnect::sign_out_url(&ctx.state, &t)
            .await
            .map(|u| u.to_string()),
        None => None,
    };
    if let Some(s) = &ctx.session {
        session::end(&ctx.state, s.id_hash.clone()).await?;
    }
    let mut res = see_other(provider.as_deref().unwrap_or("/?deconnecte=1"));
    res.add_cookie(&session::removal(&ctx.state.settings))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cookie: {e}")))?;
    Ok(res)
}

async fn accessibility(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render("legal_accessibility.html", context! {})
}

async fn privacy(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render("legal_privacy.html", context! {})
}

async fn notice(ctx: PageCtx) -> Result<HttpResponse, WebError> {
    ctx.render("legal_notice.html", context! {})
}

#[cfg(test)]
mod tests {
    use super::safe_return;

    #[test]
    fn only_local_paths_come_back_after_sign_in() {
        assert_eq!(
            safe_return("/candidatures/1"),
            Some("/candidatures/1".into())
        );
        assert_eq!(safe_return("//evil.example"), None);
        assert_eq!(safe_return("https://evil.example"), None);
        assert_eq!(safe_return("/\\evil.example"), None);
        assert_eq!(safe_return(""), None);
        assert_eq!(
            safe_return("/candidatures?etat=brouillon"),
            Some("/candidatures?etat=brouillon".into())
        );
        for refused in [
            "/\t/evil.example",
            "/%09/evil.example",
            "/\n/x",
            "/%0A/x",
            "/%0d%0aSet-Cookie:x",
            "/%2F/evil.example",
            "/a//b",
            "/%5Cevil.example",
            "/ x",
            "/%20x",
            "/\u{202e}x",
            "/%FF",
            "candidatures",
        ] {
            assert_eq!(safe_return(refused), None, "{refused:?}");
        }
    }
}
