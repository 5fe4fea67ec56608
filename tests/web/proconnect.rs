//! Signing in with ProConnect (DESIGN.md §17), on both databases.
//!
//! Against the tests' strict provider (`oidc_strict.rs`), over plain HTTP with a cookie jar: an
//! invited agent claims the invitation and signs out through the provider; strangers, other
//! organisations, forged or replayed states, mismatched nonces, ID tokens from another issuer
//! or audience, expired codes, userinfo signed with another key or not signed, a flow left too
//! long: a French page each, and no account, no link, no session. A decision asks the
//! stronger level when `decision_acr` is set.
//!
//! Against a real certified provider (npm `oidc-provider` 9, `tests/support/oidc_provider.mjs`),
//! in Chromium: an invited agent signs in, reaches `/gestion`, and signs out through it.

use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use essor::domain::account::Role;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, spawn_app_clocked};
use crate::oidc_strict::{self, CLIENT_ID, CLIENT_SECRET, Fault, Person, Provider};

/// A browser's cookie jar reduced to what these tests need.
#[derive(Default, Clone)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let pair = v.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.retain(|(n, _)| n != name);
            if !value.is_empty() && !v.contains("Max-Age=0") {
                self.0.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// essor on a known port (its redirect URI follows `frontend.base_url`), pointed at `discovery`.
async fn essor_with(
    backend: Backend,
    discovery: &str,
    extra: &[(&str, String)],
) -> Option<TestApp> {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut settings: Vec<(&str, String)> = vec![
        ("APP__SERVER__PORT", port.to_string()),
        ("APP__FRONTEND__BASE_URL", base),
        ("APP__AUTH__PROCONNECT__DISCOVERY_URL", discovery.to_owned()),
        ("APP__AUTH__PROCONNECT__CLIENT_ID", CLIENT_ID.to_owned()),
        (
            "APP__AUTH__PROCONNECT__CLIENT_SECRET",
            CLIENT_SECRET.to_owned(),
        ),
        (
            "APP__MAIL__STAFF_ADDRESSES",
            "ess@lillemetropole.fr".to_owned(),
        ),
    ];
    settings.extend(extra.iter().cloned());
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let clock = essor::clock::Clock::set_at(chrono::Utc::now());
    spawn_app_clocked(backend, &refs, clock).await
}

async fn with_strict<F, Fut>(backend: Backend, extra: &[(&str, String)], test: F)
where
    F: FnOnce(TestApp, Provider) -> Fut,
    Fut: Future<Output = ()>,
{
    let provider = oidc_strict::start().await;
    let Some(app) = essor_with(backend, &provider.discovery_url(), extra).await else {
        return;
    };
    provider.register_redirect(&format!("{}/connexion/proconnect/retour", app.address));
    test(app, provider).await;
}

macro_rules! with_strict {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::helpers::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::with_strict(Backend::Sqlite, &[], super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::with_strict(Backend::Postgres, &[], super::$name).await;
            }
        }
    )*};
}

with_strict!(
    an_invited_agent_signs_in_and_out_with_proconnect,
    strangers_and_forgeries_get_no_session,
    a_commune_agent_signs_in_from_the_communes_siren,
);

const MFA: &str = "https://proconnect.gouv.fr/assurance/self-asserted-2fa";

mod decisions_ask_the_stronger_level {
    use crate::helpers::Backend;
    fn extra() -> Vec<(&'static str, String)> {
        vec![("APP__AUTH__PROCONNECT__DECISION_ACR", super::MFA.to_owned())]
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::with_strict(
            Backend::Sqlite,
            &extra(),
            super::decisions_ask_the_stronger_level,
        )
        .await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::with_strict(
            Backend::Postgres,
            &extra(),
            super::decisions_ask_the_stronger_level,
        )
        .await;
    }
}

async fn get(app: &TestApp, jar: &mut Jar, url: &str) -> reqwest::Response {
    let url = if url.starts_with("http") {
        url.to_owned()
    } else {
        app.url(url)
    };
    let resp = app
        .client
        .get(url)
        .header(COOKIE, jar.header())
        .send()
        .await
        .unwrap();
    jar.take(&resp);
    resp
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("no Location on a {}", resp.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// « S'identifier avec ProConnect » up to the provider's redirect back: returns the URL essor
/// is sent back to (`/connexion/proconnect/retour?code=…&state=…`).
async fn to_provider_and_back(app: &TestApp, jar: &mut Jar, start: &str) -> String {
    let resp = get(app, jar, start).await;
    assert_eq!(resp.status(), 303, "{start}");
    let authorize = location(&resp);
    assert!(
        jar.has("essor_proconnect"),
        "the flow is bound to this browser"
    );
    let resp = app.client.get(&authorize).send().await.unwrap();
    assert_eq!(resp.status(), 302, "{}", resp.text().await.unwrap());
    location(&resp)
}

/// A whole sign-in: the final answer of `/connexion/proconnect/retour`.
async fn sign_in(app: &TestApp, jar: &mut Jar) -> reqwest::Response {
    let back = to_provider_and_back(app, jar, "/connexion/proconnect").await;
    get(app, jar, &back).await
}

async fn count(app: &TestApp, table: &'static str) -> i64 {
    app.count(table).await
}

async fn invite(app: &TestApp, admin: &str, email: &str, role: &str) -> Value {
    let resp = app
        .post_json(
            Some(admin),
            "/api/v1/users/invitations",
            &json!({"email": email, "full_name": "Camille Durand", "role": role}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    resp.json().await.unwrap()
}

async fn an_invited_agent_signs_in_and_out_with_proconnect(app: TestApp, provider: Provider) {
    let admin = app.account(Role::Admin, "admin@lillemetropole.fr").await;
    let invited = invite(&app, &admin.token, "agent@lillemetropole.fr", "staff").await;
    assert_eq!(invited["status"], "invited");
    // The provider gives the address with capitals: the invitation is found all the same.
    provider.set_person(Person::agent("Agent@LilleMetropole.fr"));

    let mut jar = Jar::default();
    let resp = sign_in(&app, &mut jar).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/gestion");
    assert!(
        !jar.has("essor_proconnect"),
        "the flow's cookie is dropped once used"
    );
    let page = get(&app, &mut jar, "/gestion").await;
    assert_eq!(page.status(), 200);

    // What essor asked: only ProConnect's parameters, state and nonce of 32 characters or
    // more, its scopes, and the level through `claims`.
    let asked = provider.log.lock().unwrap().authorize_params[0].clone();
    let mut names: Vec<&str> = asked.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "claims",
            "client_id",
            "nonce",
            "redirect_uri",
            "response_type",
            "scope",
            "state"
        ]
    );
    assert!(
        asked["state"].len() >= 32 && asked["nonce"].len() >= 32,
        "{asked:?}"
    );
    let scopes: Vec<&str> = asked["scope"].split(' ').collect();
    for s in [
        "openid",
        "email",
        "given_name",
        "usual_name",
        "uid",
        "siret",
        "idp_id",
    ] {
        assert!(scopes.contains(&s), "{s} in {scopes:?}");
    }
    let claims: Value = serde_json::from_str(&asked["claims"]).unwrap();
    assert_eq!(claims["id_token"]["acr"]["value"], "eidas1");
    assert!(provider.log.lock().unwrap().refused.is_empty());

    // The invitation is claimed: the account is active, linked, and its role essor's.
    let users: Value = app
        .get_as(&admin.token, "/api/v1/users?role=staff")
        .await
        .json()
        .await
        .unwrap();
    let agent = users["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "agent@lillemetropole.fr")
        .cloned()
        .unwrap();
    assert_eq!(agent["status"], "active", "{agent}");
    assert_eq!(agent["role"], "staff");
    assert_eq!(count(&app, "proconnect_identities").await, 1);

    // Signing out goes through the provider, with the ID token, and comes back.
    let page = get(&app, &mut jar, "/gestion").await.text().await.unwrap();
    let csrf = hidden_csrf(&page);
    let resp = app
        .client
        .post(app.url("/deconnexion"))
        .header(COOKIE, jar.header())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf}"))
        .send()
        .await
        .unwrap();
    jar.take(&resp);
    assert_eq!(resp.status(), 303);
    let end = location(&resp);
    assert!(
        end.starts_with(&format!("{}/session/end?", provider.issuer)),
        "{end}"
    );
    assert_eq!(
        count(&app, "web_sessions").await,
        0,
        "essor's session ended first"
    );
    let resp = app.client.get(&end).send().await.unwrap();
    assert_eq!(resp.status(), 302);
    let back = location(&resp);
    assert!(
        back.starts_with(&format!("{}/connexion/proconnect/deconnecte", app.address)),
        "{back}"
    );
    let ended = provider.log.lock().unwrap().end_sessions[0].clone();
    assert!(ended["id_token_hint"].split('.').count() == 3, "{ended:?}");
    let resp = get(&app, &mut jar, &back).await;
    assert_eq!(location(&resp), "/?deconnecte=1");

    // A second sign-in finds the same account through its link, not its address.
    provider.set_person(Person {
        email: "camille.durand@lillemetropole.fr".into(),
        ..Person::agent("Agent@LilleMetropole.fr")
    });
    let mut jar = Jar::default();
    assert_eq!(location(&sign_in(&app, &mut jar).await), "/gestion");
    assert_eq!(count(&app, "proconnect_identities").await, 1);
    assert_eq!(count(&app, "users").await, 2);
}

fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..start + 64].to_owned()
}

/// The answer is the French refusal page with `status` and `words`; no session was opened.
async fn refused(app: &TestApp, resp: reqwest::Response, status: u16, words: &str) {
    assert_eq!(resp.status(), status);
    assert!(
        resp.headers()
            .get(SET_COOKIE)
            .is_none_or(|c| !c.to_str().unwrap().starts_with("essor_session="))
    );
    let page = resp.text().await.unwrap().replace("&#x27;", "'");
    assert!(
        page.contains("Connexion avec ProConnect impossible"),
        "{page}"
    );
    assert!(page.contains(words), "« {words} » in {page}");
    assert_eq!(count(app, "web_sessions").await, 0);
}

async fn strangers_and_forgeries_get_no_session(app: TestApp, provider: Provider) {
    let admin = app.account(Role::Admin, "admin@lillemetropole.fr").await;
    let users = count(&app, "users").await;

    // An address essor does not know: whom to ask, and no account.
    provider.set_person(Person::agent("inconnu@lillemetropole.fr"));
    let resp = sign_in(&app, &mut Jar::default()).await;
    refused(
        &app,
        resp,
        403,
        "Aucun compte essor n'est ouvert pour l'adresse inconnu@lillemetropole.fr",
    )
    .await;
    assert_eq!(count(&app, "users").await, users);

    // A staff account signing in from another organisation's SIRET.
    invite(&app, &admin.token, "agent@lillemetropole.fr", "staff").await;
    provider.set_person(Person {
        siret: "21590350100017".into(),
        ..Person::agent("agent@lillemetropole.fr")
    });
    let resp = sign_in(&app, &mut Jar::default()).await;
    refused(&app, resp, 403, "réservé aux agents de").await;

    // An applicant: ProConnect is for public agents.
    app.account(Role::Applicant, "porteuse@exemple.fr").await;
    provider.set_person(Person::agent("porteuse@exemple.fr"));
    let resp = sign_in(&app, &mut Jar::default()).await;
    refused(&app, resp, 403, "réservé aux agents publics").await;

    provider.set_person(Person::agent("agent@lillemetropole.fr"));
    // The redirect back replayed: the state served once.
    let mut jar = Jar::default();
    let back = to_provider_and_back(&app, &mut jar, "/connexion/proconnect").await;
    let first = get(&app, &mut jar, &back).await;
    assert_eq!(first.status(), 303);
    app.db
        .run(|conn| {
            use diesel::RunQueryDsl;
            diesel::delete(essor::db::schema::web_sessions::table).execute(conn)?;
            diesel::delete(essor::db::schema::proconnect_identities::table).execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let again = get(&app, &mut jar, &back).await;
    refused(&app, again, 400, "a déjà servi").await;

    // The redirect back in another browser (no flow cookie), or with a state the provider
    // made up.
    let back = to_provider_and_back(&app, &mut Jar::default(), "/connexion/proconnect").await;
    let resp = get(&app, &mut Jar::default(), &back).await;
    refused(&app, resp, 400, "n'a pas été demandée depuis ce navigateur").await;
    provider.set_fault(Fault::ForgedState);
    let resp = sign_in(&app, &mut Jar::default()).await;
    refused(&app, resp, 400, "n'a pas été demandée depuis ce navigateur").await;

    // What the provider answers, checked: each fault is refused, nothing linked.
    for fault in [
        Fault::OtherNonce,
        Fault::OtherIssuer,
        Fault::OtherAudience,
        Fault::UserinfoOtherKey,
        Fault::UserinfoUnsigned,
    ] {
        provider.set_fault(fault);
        let resp = sign_in(&app, &mut Jar::default()).await;
        assert_eq!(resp.status(), 400, "{fault:?}");
        refused(&app, resp, 400, "n'a pas pu être vérifiée").await;
    }
    provider.set_fault(Fault::None);
    // A code older than 30 s is refused by the provider: so is the sign-in.
    *provider.code_age.lock().unwrap() = std::time::Duration::from_secs(31);
    let resp = sign_in(&app, &mut Jar::default()).await;
    refused(&app, resp, 400, "n'a pas pu être vérifiée").await;
    *provider.code_age.lock().unwrap() = std::time::Duration::ZERO;
    // A sign-in left at the provider for more than ten minutes.
    let mut jar = Jar::default();
    let back = to_provider_and_back(&app, &mut jar, "/connexion/proconnect").await;
    app.clock.advance(chrono::Duration::minutes(11));
    let resp = get(&app, &mut jar, &back).await;
    refused(&app, resp, 400, "plus de 10 minutes").await;
    // The provider says the person cancelled.
    let mut jar = Jar::default();
    let back = to_provider_and_back(&app, &mut jar, "/connexion/proconnect").await;
    let state = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let cancelled = format!("/connexion/proconnect/retour?error=access_denied&state={state}");
    let resp = get(&app, &mut jar, &cancelled).await;
    refused(
        &app,
        resp,
        400,
        "ProConnect a interrompu la connexion (access_denied)",
    )
    .await;

    assert_eq!(count(&app, "proconnect_identities").await, 0);
    // The provider refused nothing essor asked.
    assert!(
        provider.log.lock().unwrap().refused.is_empty(),
        "{:?}",
        provider.log.lock().unwrap().refused
    );
}

async fn a_commune_agent_signs_in_from_the_communes_siren(app: TestApp, provider: Provider) {
    let admin = app.account(Role::Admin, "admin@lillemetropole.fr").await;
    // Roubaix (59512): its commune's SIREN, not the MEL's.
    let roubaix = essor::domain::territory::mel_commune("59512").unwrap();
    app.commune_account(&admin.token, "agent@ville-roubaix.fr", "59512")
        .await;
    provider.set_person(Person {
        siret: format!("{}00017", roubaix.siren),
        ..Person::agent("agent@ville-roubaix.fr")
    });
    let resp = sign_in(&app, &mut Jar::default()).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(location(&resp), "/commune");
    // From the MEL's SIRET, the same commune account is refused.
    app.db
        .run(|conn| {
            use diesel::RunQueryDsl;
            diesel::delete(essor::db::schema::proconnect_identities::table).execute(conn)?;
            diesel::delete(essor::db::schema::web_sessions::table).execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    provider.set_person(Person::agent("agent@ville-roubaix.fr"));
    let resp = sign_in(&app, &mut Jar::default()).await;
    refused(&app, resp, 403, "la commune de Roubaix").await;
}

async fn decisions_ask_the_stronger_level(app: TestApp, provider: Provider) {
    let admin = app.account(Role::Admin, "admin@lillemetropole.fr").await;
    invite(&app, &admin.token, "agent@lillemetropole.fr", "staff").await;
    let mut jar = Jar::default();
    assert_eq!(sign_in(&app, &mut jar).await.status(), 303);

    // A decision asked at the ordinary level: sent to sign in again at the stronger one.
    let page = get(&app, &mut jar, "/gestion").await.text().await.unwrap();
    let csrf = hidden_csrf(&page);
    let call = uuid::Uuid::now_v7();
    let application = uuid::Uuid::now_v7();
    let decide = format!("/gestion/appels/{call}/classement/{application}/accepter");
    let post = |jar: &Jar| {
        app.client
            .post(app.url(&decide))
            .header(COOKIE, jar.header())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("_csrf={csrf}"))
            .send()
    };
    let resp = post(&jar).await.unwrap();
    assert_eq!(resp.status(), 303);
    let again = location(&resp);
    assert!(
        again.starts_with("/connexion/proconnect?niveau=decision&retour="),
        "{again}"
    );

    // The provider vouches only for eidas1: refused, said in French.
    let back = to_provider_and_back(&app, &mut jar, &again).await;
    let asked = provider
        .log
        .lock()
        .unwrap()
        .authorize_params
        .last()
        .cloned()
        .unwrap();
    let claims: Value = serde_json::from_str(&asked["claims"]).unwrap();
    assert_eq!(claims["id_token"]["acr"]["value"], MFA);
    let resp = get(&app, &mut jar, &back).await;
    assert_eq!(resp.status(), 403);
    assert!(resp.text().await.unwrap().contains("double facteur"));

    // With a second factor: back to the ranking, and the decision goes past the gate (to the
    // service, which finds no such application).
    provider.set_person(Person {
        acr: MFA.into(),
        ..Person::agent("agent@lillemetropole.fr")
    });
    let back = to_provider_and_back(&app, &mut jar, &again).await;
    let resp = get(&app, &mut jar, &back).await;
    assert_eq!(resp.status(), 303);
    assert_eq!(
        location(&resp),
        format!("/gestion/appels/{call}/classement")
    );
    let page = get(&app, &mut jar, "/gestion").await.text().await.unwrap();
    let csrf2 = hidden_csrf(&page);
    let resp = app
        .client
        .post(app.url(&decide))
        .header(COOKIE, jar.header())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("_csrf={csrf2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        404,
        "past the gate: the service's own answer"
    );
}

// ---------------------------------------------------------------------------------------------
// Interoperability with a real OpenID provider (npm oidc-provider 9), in Chromium.

/// The directory of `oidc-provider` as `.ci/run` installs it.
fn oidc_provider_dir() -> std::path::PathBuf {
    std::env::var_os("ESSOR_OIDC_PROVIDER_DIR")
        .map(Into::into)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/essor/npm/node_modules/oidc-provider")
        })
}

struct NodeProvider(Child);

impl Drop for NodeProvider {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the Node provider for essor at `essor`; `None` (the test skipped, or failed when
/// the browser is required) when Node or the package is missing.
fn start_node_provider(port: u16, essor: &str) -> Option<NodeProvider> {
    let dir = oidc_provider_dir();
    let script = format!(
        "{}/tests/support/oidc_provider.mjs",
        env!("CARGO_MANIFEST_DIR")
    );
    let missing = |why: String| {
        if std::env::var("ESSOR_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "ESSOR_REQUIRE_BROWSER=1 but {why} (npm install --prefix ~/.cache/essor/npm oidc-provider@9)"
            );
        }
        eprintln!("WARNING: {why}: the ProConnect interoperability test is SKIPPED");
    };
    if !dir.join("package.json").exists() {
        missing(format!(
            "oidc-provider is not installed in {}",
            dir.display()
        ));
        return None;
    }
    let child = Command::new("node")
        .arg(script)
        .env("ESSOR_OIDC_PROVIDER_DIR", &dir)
        .env("OIDC_PORT", port.to_string())
        .env("OIDC_CLIENT_ID", CLIENT_ID)
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env(
            "OIDC_REDIRECT_URI",
            format!("{essor}/connexion/proconnect/retour"),
        )
        .env(
            "OIDC_POST_LOGOUT_URI",
            format!("{essor}/connexion/proconnect/deconnecte"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(c) => Some(NodeProvider(c)),
        Err(e) => {
            missing(format!("node cannot start: {e}"));
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_openid_provider_signs_an_agent_in_and_out() {
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let essor_port = free_port();
    let essor_base = format!("http://127.0.0.1:{essor_port}");
    let Some(_node) = start_node_provider(port, &essor_base) else {
        return;
    };
    essor::gateways::install_crypto_provider();
    // Ready when its discovery document answers.
    let discovery = format!("{issuer}/.well-known/openid-configuration");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if http
            .get(&discovery)
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "oidc-provider did not start");
    let settings: Vec<(&str, String)> = vec![
        ("APP__SERVER__PORT", essor_port.to_string()),
        ("APP__FRONTEND__BASE_URL", essor_base.clone()),
        ("APP__AUTH__PROCONNECT__DISCOVERY_URL", discovery.clone()),
        ("APP__AUTH__PROCONNECT__CLIENT_ID", CLIENT_ID.to_owned()),
        (
            "APP__AUTH__PROCONNECT__CLIENT_SECRET",
            CLIENT_SECRET.to_owned(),
        ),
    ];
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = crate::helpers::spawn_app_with(Backend::Sqlite, &refs)
        .await
        .expect("SQLite always runs");
    let admin = app.account(Role::Admin, "admin@lillemetropole.fr").await;
    invite(&app, &admin.token, "agent@lillemetropole.fr", "staff").await;

    let Some(mut b) = crate::browser::Browser::open(&app.address, "proconnect-interop", true).await
    else {
        return;
    };
    use fantoccini::Locator;
    b.goto("/connexion").await;
    b.visit("1-connexion").await;
    b.click("S'identifier avec ProConnect").await;
    // The provider's own sign-in page: any password for the development accounts.
    let login = b
        .client
        .wait()
        .for_element(Locator::Css("input[name=login]"))
        .await
        .unwrap();
    login.send_keys("agent@lillemetropole.fr").await.unwrap();
    b.client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("nimporte")
        .await
        .unwrap();
    b.client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Its consent page, if it asks, then back to essor.
    let mut consented = false;
    for _ in 0..150 {
        if b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&essor_base)
        {
            break;
        }
        if !consented
            && let Ok(_) = b
                .client
                .find(Locator::Css("input[name=prompt][value=consent]"))
                .await
        {
            b.client
                .find(Locator::Css("button[type=submit]"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            consented = true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = b.client.wait().for_element(Locator::Css("h1")).await;
    assert_eq!(b.path().await, "/gestion", "{}", b.body().await);
    b.visit("2-gestion").await;

    // Sign-out goes through the provider's logout page and comes back.
    b.press("Se déconnecter").await;
    let yes = b
        .client
        .wait()
        .for_element(Locator::Css("button[name=logout]"))
        .await
        .unwrap();
    yes.click().await.unwrap();
    for _ in 0..100 {
        let url = b.client.current_url().await.unwrap();
        if url.as_str().starts_with(&essor_base) && url.path() == "/" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(b.path().await, "/?deconnecte=1");
    assert_eq!(app.count("web_sessions").await, 0);
    assert_eq!(app.count("proconnect_identities").await, 1);
    b.close().await;
}

mod an_unreachable_provider_is_said_in_french {
    use crate::helpers::Backend;
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::an_unreachable_provider_is_said_in_french(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::an_unreachable_provider_is_said_in_french(Backend::Postgres).await;
    }
}

async fn an_unreachable_provider_is_said_in_french(backend: Backend) {
    // Nothing listens there.
    let discovery = format!(
        "http://127.0.0.1:{}/.well-known/openid-configuration",
        free_port()
    );
    let Some(app) = essor_with(backend, &discovery, &[]).await else {
        return;
    };
    let mut jar = Jar::default();
    let page = get(&app, &mut jar, "/connexion")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("S'identifier avec ProConnect"));
    let resp = get(&app, &mut jar, "/connexion/proconnect?retour=/gestion").await;
    refused(&app, resp, 502, "ProConnect est injoignable pour l'instant").await;
    assert_eq!(
        count(&app, "proconnect_flows").await,
        0,
        "nothing is kept of it"
    );
}
