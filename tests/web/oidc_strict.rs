//! A strict OpenID provider standing in for ProConnect, a real HTTP server on a random port.
//! Strict as ProConnect is: it refuses any authorization parameter it does not know, a
//! `state` or `nonce` under 32 characters, a redirect URI not registered, a code older than
//! 30 s or used twice, a client authenticated otherwise than in the body; it answers the
//! userinfo as a signed JWT (`application/jwt`), signs with its own RSA key (published in its
//! JWKS) and offers an end-session endpoint. Knobs let a test make it misbehave.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "essor-test";
pub const CLIENT_SECRET: &str = "secret-de-test-proconnect-0123456789";

/// The parameters ProConnect accepts at its authorization endpoint.
const KNOWN: [&str; 11] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "claims",
    "acr_values",
    "prompt",
    "login_hint",
    "idp_hint",
];

/// Who the provider says signs in next.
#[derive(Debug, Clone)]
pub struct Person {
    pub sub: String,
    pub idp_id: String,
    pub email: String,
    pub given_name: String,
    pub usual_name: String,
    pub siret: String,
    pub acr: String,
}

impl Person {
    pub fn agent(email: &str) -> Self {
        Self {
            sub: format!("sub-{email}"),
            idp_id: "fia1v2".into(),
            email: email.into(),
            given_name: "Camille".into(),
            usual_name: "Durand".into(),
            // The MEL's SIRET (SIREN 200093201).
            siret: "20009320100016".into(),
            acr: "eidas1".into(),
        }
    }
}

/// Ways to make the provider misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// The ID token names another issuer.
    OtherIssuer,
    /// The ID token is for another client.
    OtherAudience,
    /// The ID token carries another nonce than the one asked.
    OtherNonce,
    /// The userinfo is signed with a key the JWKS does not publish.
    UserinfoOtherKey,
    /// The userinfo comes as plain JSON.
    UserinfoUnsigned,
    /// The redirect back carries a `state` of the provider's invention.
    ForgedState,
}

#[derive(Default)]
pub struct Log {
    pub authorize_params: Vec<HashMap<String, String>>,
    pub refused: Vec<String>,
    pub token_requests: usize,
    pub end_sessions: Vec<HashMap<String, String>>,
}

struct Code {
    issued: Instant,
    nonce: String,
    redirect_uri: String,
    person: Person,
    acr: String,
}

pub struct Provider {
    pub issuer: String,
    pub person: Arc<Mutex<Person>>,
    pub fault: Arc<Mutex<Fault>>,
    /// Added to a code's age when it is exchanged: 31 s makes it expired.
    pub code_age: Arc<Mutex<Duration>>,
    pub log: Arc<Mutex<Log>>,
    redirect_uris: Arc<Mutex<HashSet<String>>>,
}

impl Provider {
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    pub fn register_redirect(&self, uri: &str) {
        self.redirect_uris.lock().unwrap().insert(uri.to_owned());
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }

    pub fn set_person(&self, person: Person) {
        *self.person.lock().unwrap() = person;
    }
}

struct Shared {
    issuer: String,
    person: Arc<Mutex<Person>>,
    fault: Arc<Mutex<Fault>>,
    code_age: Arc<Mutex<Duration>>,
    log: Arc<Mutex<Log>>,
    redirect_uris: Arc<Mutex<HashSet<String>>>,
    codes: Mutex<HashMap<String, Code>>,
    tokens: Mutex<HashMap<String, (Person, String)>>,
}

fn key(name: &str) -> EncodingKey {
    let path = format!(
        "{}/tests/support/oidc/key-{name}.der",
        env!("CARGO_MANIFEST_DIR")
    );
    EncodingKey::from_rsa_der(&std::fs::read(path).expect("test key"))
}

fn sign(claims: &Value, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(format!("cle-{kid}"));
    jsonwebtoken::encode(&header, claims, &key(kid)).expect("signed")
}

fn random() -> String {
    use rand::RngCore;
    let mut b = [0u8; 24];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn refuse(s: &Shared, why: String) -> HttpResponse {
    s.log.lock().unwrap().refused.push(why.clone());
    HttpResponse::BadRequest().json(json!({"error": "invalid_request", "error_description": why}))
}

async fn discovery(s: web::Data<Shared>) -> HttpResponse {
    let i = &s.issuer;
    HttpResponse::Ok().json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/jwks"),
        "end_session_endpoint": format!("{i}/session/end"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "grant_types_supported": ["authorization_code"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "userinfo_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "scopes_supported": ["openid", "email", "given_name", "usual_name", "uid", "siret", "idp_id"],
        "claims_supported": ["sub", "email", "given_name", "usual_name", "uid", "siret", "idp_id", "acr", "amr"],
        "claims_parameter_supported": true,
        "acr_values_supported": ["eidas1", "https://proconnect.gouv.fr/assurance/self-asserted-2fa"]
    }))
}

async fn jwks() -> HttpResponse {
    let path = format!(
        "{}/tests/support/oidc/key-a.jwk.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let jwk: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    HttpResponse::Ok().json(json!({"keys": [jwk]}))
}

async fn authorize(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect();
    s.log.lock().unwrap().authorize_params.push(params.clone());
    if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return refuse(&s, format!("unknown parameter {unknown}"));
    }
    let get = |k: &str| params.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code" {
        return refuse(&s, "response_type".into());
    }
    if get("client_id") != CLIENT_ID {
        return refuse(&s, "client_id".into());
    }
    let redirect = get("redirect_uri");
    if !s.redirect_uris.lock().unwrap().contains(&redirect) {
        return refuse(&s, format!("redirect_uri {redirect}"));
    }
    for k in ["state", "nonce"] {
        if get(k).chars().count() < 32 {
            return refuse(&s, format!("{k} shorter than 32"));
        }
    }
    let scopes: HashSet<&str> = params
        .get("scope")
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    for needed in ["openid", "email", "siret", "idp_id"] {
        if !scopes.contains(needed) {
            return refuse(&s, format!("scope {needed} missing"));
        }
    }
    let person = s.person.lock().unwrap().clone();
    let code = random();
    s.codes.lock().unwrap().insert(
        code.clone(),
        Code {
            issued: Instant::now(),
            nonce: get("nonce"),
            redirect_uri: redirect.clone(),
            // The provider vouches for what the person has (the test sets it), whatever
            // was asked.
            acr: person.acr.clone(),
            person,
        },
    );
    let state = match *s.fault.lock().unwrap() {
        Fault::ForgedState => random() + &random(),
        _ => get("state"),
    };
    let mut to = url::Url::parse(&redirect).unwrap();
    to.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state);
    HttpResponse::Found()
        .insert_header(("Location", to.to_string()))
        .finish()
}

async fn token(req: HttpRequest, body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    s.log.lock().unwrap().token_requests += 1;
    if req.headers().contains_key("authorization") {
        return refuse(&s, "client_secret_basic is not supported".into());
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    if get("grant_type") != "authorization_code" {
        return refuse(&s, "grant_type".into());
    }
    let Some(code) = s.codes.lock().unwrap().remove(&get("code")) else {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    };
    let age = code.issued.elapsed() + *s.code_age.lock().unwrap();
    if age > Duration::from_secs(30) {
        return HttpResponse::BadRequest()
            .json(json!({"error": "invalid_grant", "error_description": "code expired"}));
    }
    if get("redirect_uri") != code.redirect_uri {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_grant"}));
    }
    let fault = *s.fault.lock().unwrap();
    let now = chrono::Utc::now().timestamp();
    let id_token = sign(
        &json!({
            "iss": if fault == Fault::OtherIssuer { "https://autre.example".to_owned() } else { s.issuer.clone() },
            "sub": code.person.sub,
            "aud": if fault == Fault::OtherAudience { "un-autre-client" } else { CLIENT_ID },
            "exp": now + 60, "iat": now, "auth_time": now,
            "nonce": if fault == Fault::OtherNonce { random() } else { code.nonce.clone() },
            "acr": code.acr, "amr": ["pwd"],
        }),
        "a",
    );
    let access = random();
    s.tokens
        .lock()
        .unwrap()
        .insert(access.clone(), (code.person.clone(), code.acr.clone()));
    HttpResponse::Ok().json(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": 60,
        "id_token": id_token, "scope": "openid email given_name usual_name uid siret idp_id"
    }))
}

async fn userinfo(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    let bearer = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    let Some((person, _)) = s.tokens.lock().unwrap().get(&bearer).cloned() else {
        return HttpResponse::Unauthorized().finish();
    };
    let claims = json!({
        "iss": s.issuer, "aud": CLIENT_ID, "sub": person.sub, "email": person.email,
        "given_name": person.given_name, "usual_name": person.usual_name, "uid": "42",
        "siret": person.siret, "idp_id": person.idp_id,
    });
    match *s.fault.lock().unwrap() {
        Fault::UserinfoUnsigned => HttpResponse::Ok().json(claims),
        Fault::UserinfoOtherKey => HttpResponse::Ok()
            .content_type("application/jwt")
            .body(sign(&claims, "b")),
        _ => HttpResponse::Ok()
            .content_type("application/jwt")
            .body(sign(&claims, "a")),
    }
}

async fn end_session(req: HttpRequest, s: web::Data<Shared>) -> HttpResponse {
    let params: HashMap<String, String> =
        url::form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect();
    s.log.lock().unwrap().end_sessions.push(params.clone());
    let Some(after) = params.get("post_logout_redirect_uri") else {
        return refuse(&s, "post_logout_redirect_uri".into());
    };
    if !params.contains_key("id_token_hint") {
        return refuse(&s, "id_token_hint".into());
    }
    let mut to = url::Url::parse(after).unwrap();
    if let Some(state) = params.get("state") {
        to.query_pairs_mut().append_pair("state", state);
    }
    HttpResponse::Found()
        .insert_header(("Location", to.to_string()))
        .finish()
}

pub async fn start() -> Provider {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let person = Arc::new(Mutex::new(Person::agent("agent@lillemetropole.fr")));
    let fault = Arc::new(Mutex::new(Fault::None));
    let code_age = Arc::new(Mutex::new(Duration::ZERO));
    let log = Arc::new(Mutex::new(Log::default()));
    let redirect_uris = Arc::new(Mutex::new(HashSet::new()));
    let shared = web::Data::new(Shared {
        issuer: issuer.clone(),
        person: person.clone(),
        fault: fault.clone(),
        code_age: code_age.clone(),
        log: log.clone(),
        redirect_uris: redirect_uris.clone(),
        codes: Mutex::new(HashMap::new()),
        tokens: Mutex::new(HashMap::new()),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(shared.clone())
            .route(
                "/.well-known/openid-configuration",
                web::get().to(discovery),
            )
            .route("/jwks", web::get().to(jwks))
            .route("/authorize", web::get().to(authorize))
            .route("/token", web::post().to(token))
            .route("/userinfo", web::get().to(userinfo))
            .route("/session/end", web::get().to(end_session))
    })
    .workers(1)
    .listen(listener)
    .unwrap();
    tokio::spawn(server.run());
    Provider {
        issuer,
        person,
        fault,
        code_age,
        log,
        redirect_uris,
    }
}
