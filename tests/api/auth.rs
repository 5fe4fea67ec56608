use essor::domain::account::Role;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{PASSWORD, TestApp, assert_problem};

both_backends!(
    register_then_sign_in_then_me,
    register_refuses_bad_input_and_changes_nothing,
    unknown_email_and_wrong_password_get_the_same_answer,
    bad_tokens_are_refused,
    no_route_takes_a_password_chosen_for_someone_else,
    admins_and_staff_list_accounts_by_role,
    create_user_command_makes_the_first_admin,
);

async fn register_then_sign_in_then_me(app: TestApp) {
    let resp = app
        .post_json(None, "/api/v1/auth/register", &json!({
            "email": "  Jeanne.Dupont@Exemple.FR ", "password": PASSWORD, "full_name": " Jeanne Dupont "
        }))
        .await;
    assert_eq!(resp.status(), 202);
    let accepted: Value = resp.json().await.unwrap();
    assert!(accepted["message"].as_str().unwrap().contains("courriel"));

    let resp = app
        .post_json(
            None,
            "/api/v1/auth/token",
            &json!({"email": "JEANNE.DUPONT@exemple.fr", "password": PASSWORD}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("cache-control").unwrap(), "no-store");
    let tok: Value = resp.json().await.unwrap();
    assert_eq!(tok["token_type"], "Bearer");
    assert_eq!(tok["expires_in"], 3600);
    let token = tok["access_token"].as_str().unwrap();

    // An unverified applicant signs in (to draft); `/me` says what is missing.
    let user: Value = app.get_as(token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(user["email"], "jeanne.dupont@exemple.fr");
    assert_eq!(user["full_name"], "Jeanne Dupont");
    assert_eq!(user["role"], "applicant");
    assert_eq!(user["status"], "unverified");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["active"], true);
    assert!(user.get("password_hash").is_none());

    // The claims say who, what role, which generation of the account, when, by whom and for
    // whom.
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&base64_url_decode(payload)).unwrap();
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["role"], "applicant");
    assert_eq!(claims["gen"], 0);
    assert_eq!(claims["iss"], "essor");
    assert_eq!(claims["aud"], "essor-api");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).unwrap() as u32;
        buf = (buf << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    out
}

async fn register_refuses_bad_input_and_changes_nothing(app: TestApp) {
    let cases: Vec<(Value, u16, Vec<&str>)> = vec![
        (
            json!({"email": "a@exemple.fr", "password": "trop court", "full_name": "A"}),
            422,
            vec!["password"],
        ),
        (
            json!({"email": "pas-une-adresse", "password": PASSWORD, "full_name": "A"}),
            422,
            vec!["email"],
        ),
        (
            json!({"email": "", "password": "x", "full_name": " "}),
            422,
            vec!["email", "password", "full_name"],
        ),
        (
            json!({"password": PASSWORD, "full_name": "A"}),
            422,
            vec!["email"],
        ),
        (
            json!({"email": 12, "password": PASSWORD, "full_name": "A"}),
            422,
            vec!["email"],
        ),
        (
            json!({"email": "a@exemple.fr", "password": PASSWORD, "full_name": "A", "role": "admin"}),
            422,
            vec!["role"],
        ),
        (json!([1, 2, 3]), 422, vec!["corps"]),
    ];
    for (body, status, fields) in cases {
        let resp = app.post_json(None, "/api/v1/auth/register", &body).await;
        let problem = assert_problem(resp, status).await;
        for f in fields {
            assert!(problem["errors"][f].is_array(), "{body}: {problem}");
            assert!(!problem["errors"][f][0].as_str().unwrap().is_empty());
        }
    }
    let short = app
        .post_json(
            None,
            "/api/v1/auth/register",
            &json!({"email": "a@exemple.fr", "password": "court", "full_name": "A"}),
        )
        .await;
    let problem = assert_problem(short, 422).await;
    assert!(
        problem["errors"]["password"][0]
            .as_str()
            .unwrap()
            .contains("12 caractères"),
        "{problem}"
    );

    // Not JSON at all, and JSON sent as something else.
    let resp = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(resp, 400).await;
    assert!(problem["detail"].as_str().unwrap().contains("JSON"));
    let resp = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "text/plain")
        .body("email=a@b.fr")
        .send()
        .await
        .unwrap();
    assert_problem(resp, 415).await;

    assert_eq!(
        app.count("users").await,
        0,
        "a refused registration creates nothing"
    );
}

async fn unknown_email_and_wrong_password_get_the_same_answer(app: TestApp) {
    app.account(Role::Applicant, "connu@exemple.fr").await;
    let attempt = |email: &'static str| {
        let app = &app;
        async move {
            let started = std::time::Instant::now();
            let resp = app
                .post_json(
                    None,
                    "/api/v1/auth/token",
                    &json!({"email": email, "password": "mauvais mot de passe"}),
                )
                .await;
            let elapsed = started.elapsed();
            assert_eq!(
                resp.headers().get("www-authenticate").unwrap(),
                "Bearer realm=\"essor\""
            );
            let body = assert_problem(resp, 401).await;
            (body, elapsed)
        }
    };
    let (wrong_pw, t_wrong) = attempt("connu@exemple.fr").await;
    let (unknown, t_unknown) = attempt("inconnu@exemple.fr").await;
    assert_eq!(
        wrong_pw, unknown,
        "the body must not tell which emails exist"
    );
    // Both run one argon2 verification; neither answers in a fraction of the other's time.
    let (a, b) = (t_wrong.as_secs_f64(), t_unknown.as_secs_f64());
    assert!(
        a.min(b) / a.max(b) > 0.2,
        "wrong password {a:.3}s vs unknown email {b:.3}s"
    );
}

async fn bad_tokens_are_refused(app: TestApp) {
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let good = app.account(Role::Staff, "agent@exemple.fr").await;
    assert_eq!(app.get_as(&good.token, "/api/v1/me").await.status(), 200);

    let secret = secrecy::ExposeSecret::expose_secret(&app.settings.auth.jwt_secret).as_bytes();
    let now = chrono::Utc::now().timestamp();
    let claims = |tweak: &dyn Fn(&mut Value)| {
        let mut c = json!({"sub": good.id, "role": "admin", "iat": now, "exp": now + 600,
                           "iss": "essor", "aud": "essor-api"});
        tweak(&mut c);
        c
    };
    let sign = |alg: Algorithm, c: &Value, key: &[u8]| {
        encode(&Header::new(alg), c, &EncodingKey::from_secret(key)).unwrap()
    };
    let b64 = |s: &str| {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = s.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n =
                chunk.iter().fold(0u32, |acc, &b| (acc << 8) | b as u32) << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    };
    let unsigned = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&claims(&|_| {}).to_string())
    );
    let cases: Vec<(&str, String)> = vec![
        (
            "expired",
            sign(
                Algorithm::HS256,
                &claims(&|c| c["exp"] = json!(now - 300)),
                secret,
            ),
        ),
        (
            "wrong issuer",
            sign(
                Algorithm::HS256,
                &claims(&|c| c["iss"] = json!("evil")),
                secret,
            ),
        ),
        (
            "wrong audience",
            sign(
                Algorithm::HS256,
                &claims(&|c| c["aud"] = json!("other-api")),
                secret,
            ),
        ),
        (
            "no expiry",
            sign(
                Algorithm::HS256,
                &claims(&|c| {
                    c.as_object_mut().unwrap().remove("exp");
                }),
                secret,
            ),
        ),
        (
            "other algorithm",
            sign(Algorithm::HS512, &claims(&|_| {}), secret),
        ),
        (
            "other key",
            sign(
                Algorithm::HS256,
                &claims(&|_| {}),
                b"another-secret-of-enough-length!!",
            ),
        ),
        ("alg none", unsigned),
        ("tampered", {
            let t = good.token.clone();
            let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
            parts[1] = b64(&claims(&|_| {}).to_string());
            parts.join(".")
        }),
        ("garbage", "abc.def.ghi".into()),
    ];
    for (name, token) in cases {
        let resp = app.get_as(&token, "/api/v1/me").await;
        let body = assert_problem(resp, 401).await;
        assert!(body["detail"].as_str().unwrap().len() > 10, "{name}");
    }
    for header in [
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Bearer",
        "Bearer ",
        "Token abc",
    ] {
        let resp = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_problem(resp, 401).await;
    }
    assert_problem(app.get("/api/v1/me").await, 401).await;
}

async fn no_route_takes_a_password_chosen_for_someone_else(app: TestApp) {
    let cast = app.cast().await;
    let before = app.count("users").await;
    let body = json!({"email": "expert2@exemple.fr", "password": PASSWORD, "full_name": "Nouvel Expert", "role": "reviewer"});
    // Gone: the admin invites (POST /api/v1/users/invitations) and the person sets the password.
    let resp = app
        .post_json(Some(&cast.admin.token), "/api/v1/users", &body)
        .await;
    assert!(
        [404, 405].contains(&resp.status().as_u16()),
        "{}",
        resp.status()
    );
    // An invitation with a password is refused, not silently stripped of it.
    let problem = assert_problem(
        app.post_json(Some(&cast.admin.token), "/api/v1/users/invitations", &body)
            .await,
        422,
    )
    .await;
    assert!(problem["errors"]["password"].is_array(), "{problem}");
    assert_eq!(app.count("users").await, before);
}

async fn admins_and_staff_list_accounts_by_role(app: TestApp) {
    let cast = app.cast().await;
    // Staff see applicants only through their applications (RGPD, issue 20).
    let refused = assert_problem(
        app.get_as(&cast.staff.token, "/api/v1/users?role=applicant")
            .await,
        403,
    )
    .await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("administrateurs")
    );
    let team: Value = app
        .get_as(&cast.staff.token, "/api/v1/users")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(team["total"], 4, "{team}");
    assert!(
        team["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["role"] != "applicant")
    );
    for token in [&cast.admin.token] {
        let page: Value = app
            .get_as(token, "/api/v1/users?role=applicant")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page["total"], 2);
        assert_eq!(page["page"], 1);
        assert_eq!(page["per_page"], 20);
        assert!(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["role"] == "applicant")
        );
        let all: Value = app
            .get_as(token, "/api/v1/users?per_page=2&page=2")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(all["total"], 6);
        assert_eq!(all["items"].as_array().unwrap().len(), 2);
    }
    for token in [&cast.applicant.token, &cast.reviewer.token] {
        assert_problem(app.get_as(token, "/api/v1/users").await, 403).await;
    }
    for query in [
        "per_page=101",
        "per_page=0",
        "page=0",
        "role=boss",
        "page=abc",
    ] {
        let resp = app
            .get_as(&cast.admin.token, &format!("/api/v1/users?{query}"))
            .await;
        assert_problem(resp, 400).await;
    }
}

async fn create_user_command_makes_the_first_admin(app: TestApp) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let run = |email: &str, password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_essor"))
            .args([
                "create-user",
                "--role",
                "admin",
                "--email",
                email,
                "--full-name",
                "Première Admin",
                "--password-stdin",
            ])
            .env("DATABASE_URL", &app.settings.database.url)
            .env("APP__DATA_DIR", &app.settings.data_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("premiere.admin@lillemetropole.fr", PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = app
        .token("premiere.admin@lillemetropole.fr", PASSWORD)
        .await;
    let me: Value = app.get_as(&token, "/api/v1/me").await.json().await.unwrap();
    assert_eq!(me["role"], "admin");

    let short = run("autre.admin@lillemetropole.fr", "court");
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("12 caractères"));
    assert_eq!(app.count("users").await, 1);
}
