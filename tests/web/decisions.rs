//! The agents' calls forms, the ranking board with its decisions, the exports and the outbox,
//! in a real Chromium over both databases (axe-core and screenshots on every page).

use std::time::Duration;

use essor::domain::account::Role;
use fantoccini::Locator;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::browser::Browser;
use crate::helpers::{Account, PASSWORD, TestApp, sample_application};

/// One Chromium at a time (the machine's cores are few).
static BROWSER: Mutex<()> = Mutex::const_new(());

fn backend_name(app: &TestApp) -> &'static str {
    if app.settings.database.url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

/// A valid SIRET: `prefix` (13 digits) and its Luhn key.
fn siret(prefix: &str) -> String {
    (0..10)
        .map(|key| format!("{prefix}{key}"))
        .find(|s| {
            let sum: u32 = s
                .chars()
                .rev()
                .enumerate()
                .map(|(i, c)| {
                    let d = c.to_digit(10).unwrap();
                    match i % 2 {
                        1 if d * 2 > 9 => d * 2 - 9,
                        1 => d * 2,
                        _ => d,
                    }
                })
                .sum();
            sum.is_multiple_of(10)
        })
        .unwrap()
}

/// A submitted application of its own structure (SIRET, RNA, name), asking `requested`.
async fn submitted_of(
    app: &TestApp,
    applicant: &Account,
    call_id: &str,
    n: u32,
    name: &str,
    requested: i64,
) -> Value {
    let mut body = sample_application();
    body["organisation"]["name"] = json!(name);
    body["organisation"]["siret"] = json!(siret(&format!("7328293200{n:03}")));
    body["organisation"]["rna"] = json!(format!("W5950123{n:02}"));
    body["project"]["requested_cents"] = json!(requested);
    let draft = app
        .draft_application(&applicant.token, call_id, &body)
        .await;
    let id = draft["id"].as_str().unwrap();
    app.submit_with_documents(&applicant.token, id).await
}

/// An application brought to « reviews complete » through the API: submitted, reviewed by
/// each of `reviewers`.
#[allow(clippy::too_many_arguments)]
async fn reviewed(
    app: &TestApp,
    staff: &Account,
    applicant: &Account,
    reviewers: &[&Account],
    call_id: &str,
    n: u32,
    name: &str,
    requested: i64,
    scores: [i64; 5],
) -> Value {
    let a = submitted_of(app, applicant, call_id, n, name, requested).await;
    let id = a["id"].as_str().unwrap();
    let assignments = app.start_review(&staff.token, id, reviewers).await;
    for (r, asg) in reviewers.iter().zip(&assignments) {
        app.review(r, asg, scores).await;
    }
    a
}

async fn sign_in(b: &Browser, email: &str) {
    b.goto("/connexion").await;
    b.fill("email", email).await;
    b.fill("password", PASSWORD).await;
    b.press("Se connecter").await;
    assert!(
        !b.path().await.starts_with("/connexion"),
        "{email} signed in"
    );
}

async fn call_of(app: &TestApp, staff: &Account, id: &str) -> Value {
    app.get_as(&staff.token, &format!("/api/v1/calls/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

fn key(reference: &str) -> String {
    reference
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

async fn count(b: &Browser, css: &str) -> usize {
    b.client.find_all(Locator::Css(css)).await.unwrap().len()
}

/// An agent creates, edits and publishes a call through the forms; with applications brought
/// to « reviews complete » through the API, accepts one on the board (after a refused try),
/// downloads the export through the page's link (it holds the decision), and closes the call.
async fn an_agent_runs_a_call_from_the_forms_to_the_export(app: TestApp) {
    let _one = BROWSER.lock().await;
    let label = format!("decisions-{}", backend_name(&app));
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    sign_in(&b, "agent@lillemetropole.fr").await;

    // Create: first with mistakes, which come back beside their fields with what was typed.
    b.goto("/gestion/appels/nouveau").await;
    assert_eq!(b.h1().await, "Nouvel appel à projets");
    b.visit("appel-nouveau").await;
    b.fill("title", "").await;
    b.fill("budget", "beaucoup").await;
    b.fill("closes_on", "31/02/2027").await;
    b.press("Créer l'appel").await;
    assert!(b.title().await.starts_with("Erreur : "));
    let links = b
        .client
        .find_all(Locator::Css(".error-summary a"))
        .await
        .unwrap();
    let mut targets = Vec::new();
    for l in &links {
        targets.push(l.attr("href").await.unwrap().unwrap());
    }
    assert_eq!(targets, vec!["#closes_on", "#budget"], "type errors first");
    assert_eq!(
        b.value("budget").await,
        "beaucoup",
        "the typed value is kept"
    );
    b.visit("appel-nouveau-erreurs").await;
    // The domain's own rules next (the title is required), in page order.
    b.fill("budget", "30 000").await;
    b.fill("closes_on", "31/12/2027").await;
    b.press("Créer l'appel").await;
    assert!(
        b.text("#title-error")
            .await
            .contains("Le titre est obligatoire (200 caractères au plus)")
    );
    b.fill("title", "Entreprendre autrement 2027").await;
    b.fill(
        "description",
        "Pour les structures de l'ESS de la Métropole.",
    )
    .await;
    b.fill("max_award", "20 000").await;
    // After the decision: a convention for every grant; a report due in 40 months is refused
    // beside its field, the values kept.
    b.select("convention", "always").await;
    b.fill("report_due_months", "40").await;
    b.press("Créer l'appel").await;
    assert!(b.title().await.starts_with("Erreur : "));
    assert!(
        b.text("#report_due_months-error").await.contains("36 mois"),
        "{}",
        b.body().await
    );
    assert_eq!(b.value("convention").await, "always");
    b.fill("report_due_months", "9").await;
    b.press("Créer l'appel").await;
    let path = b.path().await;
    assert!(
        path.ends_with("/modifier?cree=1"),
        "after creation, the call's settings: {path}"
    );
    let call_id = path
        .trim_start_matches("/gestion/appels/")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    b.visit("appel-cree").await;
    let call = call_of(&app, &staff, &call_id).await;
    assert_eq!(call["state"], "draft");
    assert_eq!(call["budget_cents"], 3_000_000, "euros typed → cents");
    assert_eq!(call["max_award_cents"], 2_000_000);
    assert_eq!(call["min_reviews"], 2);
    assert_eq!(call["convention"], "always");
    assert_eq!(call["convention_threshold_cents"], 2_300_000);
    assert_eq!(call["report_due_months"], 9);
    assert_eq!(
        call["closes_at"], "2027-12-31T12:00:00+01:00",
        "a deadline typed in Paris time"
    );
    assert_eq!(call["territory"].as_array().unwrap().len(), 95);

    // Edit: the envelope grows to 40 000 €; the deadline stays as it was.
    b.fill("budget", "40 000").await;
    b.press("Enregistrer les modifications").await;
    assert!(b.path().await.ends_with("/modifier?enregistre=1"));
    let call = call_of(&app, &staff, &call_id).await;
    assert_eq!(call["budget_cents"], 4_000_000);
    assert_eq!(call["closes_at"], "2027-12-31T12:00:00+01:00");
    assert_eq!(call["version"], 2);
    assert_eq!(b.value("closes_on").await, "31/12/2027");

    // A draft call's dashboard offers « Publier » (issue 26); publish, after its
    // confirmation page.
    b.goto(&format!("/gestion/appels/{call_id}")).await;
    b.visit("tableau-de-bord-brouillon").await;
    b.click("Publier l'appel").await;
    assert_eq!(b.path().await, format!("/gestion/appels/{call_id}/publier"));
    b.visit("appel-publier").await;
    b.press("Publier l'appel").await;
    assert!(b.path().await.ends_with("/modifier?publie=1"));
    assert_eq!(call_of(&app, &staff, &call_id).await["state"], "published");
    b.visit("appel-publie").await;

    // Two applications brought to « reviews complete » through the API.
    let one = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let two = app
        .account(Role::Applicant, "autre.porteur@exemple.fr")
        .await;
    let r1 = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let r2 = app.account(Role::Reviewer, "experte2@exemple.fr").await;
    let a = reviewed(
        &app,
        &staff,
        &one,
        &[&r1, &r2],
        &call_id,
        1,
        "Les Ateliers du Sart",
        2_000_000,
        [5, 5, 4, 4, 4],
    )
    .await;
    let c = reviewed(
        &app,
        &staff,
        &two,
        &[&r1, &r2],
        &call_id,
        2,
        "La Recyclerie de Fives",
        1_800_000,
        [3, 3, 3, 3, 3],
    )
    .await;
    let (a_ref, c_ref) = (
        a["reference"].as_str().unwrap().to_owned(),
        c["reference"].as_str().unwrap().to_owned(),
    );

    // Submissions freeze the rules: a new cap is refused at the top of the form, as typed.
    b.goto(&format!("/gestion/appels/{call_id}/modifier")).await;
    b.fill("max_award", "15 000").await;
    b.press("Enregistrer les modifications").await;
    assert!(b.title().await.starts_with("Erreur : "));
    assert!(
        b.text(".error-summary")
            .await
            .contains("Des candidatures ont déjà été déposées")
    );
    assert_eq!(b.value("max_award").await, "15 000");
    b.visit("appel-regles-figees").await;
    assert_eq!(
        call_of(&app, &staff, &call_id).await["max_award_cents"],
        2_000_000
    );

    b.goto(&format!("/gestion/appels/{call_id}/classement"))
        .await;
    assert!(b.h1().await.starts_with("Classement et décisions"));
    let body = b.body().await;
    for needle in [
        "Les Ateliers du Sart",
        "La Recyclerie de Fives",
        "2 sur 2",
        "20 000 €",
        "18 000 €",
        "38 000 €",
    ] {
        assert!(body.contains(needle), "the board shows « {needle} »");
    }
    let row = b.text(&format!("#ligne-{}", key(&a_ref))).await;
    assert!(row.starts_with('1'), "A ranks first: {row}");
    let amount = format!("accept-{}-amount", key(&a_ref));
    assert_eq!(
        b.value(&amount).await,
        "20000",
        "pre-filled with min(requested, cap, envelope left)"
    );
    b.visit("classement").await;
    b.fits_at_375("le classement").await;

    // A refused decision: no reference. The board comes back with the error and the values.
    b.fill(&amount, "15 000").await;
    b.fill(
        &format!("accept-{}-motivation", key(&a_ref)),
        "Projet solide.",
    )
    .await;
    b.press(&format!("Accepter {a_ref}")).await;
    assert!(b.title().await.starts_with("Erreur : "));
    assert_eq!(
        b.text(".error-summary a").await,
        "Indiquez la référence de la décision (100 caractères au plus)"
    );
    assert_eq!(b.value(&amount).await, "15 000");
    b.visit("classement-erreur").await;
    assert_eq!(
        call_of(&app, &staff, &call_id).await["envelope"]["awarded_cents"],
        0
    );

    b.fill(
        &format!("accept-{}-decision_reference", key(&a_ref)),
        "DEL-2027-031",
    )
    .await;
    b.press(&format!("Accepter {a_ref}")).await;
    // Accepting asks to confirm, with the amount and the envelope left (issue 26); nothing
    // is recorded yet.
    assert!(
        b.h1()
            .await
            .starts_with(&format!("Accepter la candidature {a_ref}")),
        "{}",
        b.h1().await
    );
    assert_eq!(
        b.text("#confirm-amount")
            .await
            .replace(['\u{202f}', '\u{a0}'], " "),
        "15 000 €"
    );
    assert_eq!(
        b.text("#confirm-left-after")
            .await
            .replace(['\u{202f}', '\u{a0}'], " "),
        "25 000 €"
    );
    assert!(
        b.body().await.contains("40 000 €"),
        "the envelope left today"
    );
    assert_eq!(
        call_of(&app, &staff, &call_id).await["envelope"]["awarded_cents"],
        0
    );
    b.visit("decision-confirmer").await;
    b.press(&format!("Confirmer l'acceptation de {a_ref}"))
        .await;
    assert!(
        b.path().await.contains(&format!("?decision={a_ref}")),
        "{}",
        b.path().await
    );
    let body = b.body().await;
    assert!(body.contains(&format!(
        "La décision sur la candidature {a_ref} est enregistrée"
    )));
    assert!(body.contains("Acceptée : 15 000 €"));
    assert_eq!(
        b.text("#envelope-left")
            .await
            .replace(['\u{202f}', '\u{a0}'], " "),
        "25 000 €"
    );
    // C's ceiling is its request (18 000 €, less than the 25 000 € left).
    assert_eq!(
        b.value(&format!("accept-{}-amount", key(&c_ref))).await,
        "18000"
    );
    b.visit("classement-decide").await;
    let call = call_of(&app, &staff, &call_id).await;
    assert_eq!(call["envelope"]["awarded_cents"], 1_500_000);

    // Exports: every format, and the excel-fr dialect; its link downloads the decision.
    b.click("Exporter les candidatures et les décisions").await;
    assert_eq!(b.path().await, format!("/gestion/appels/{call_id}/exports"));
    b.visit("exports").await;
    let mut hrefs = Vec::new();
    for l in b
        .client
        .find_all(Locator::Css(".downloads a"))
        .await
        .unwrap()
    {
        hrefs.push(l.attr("href").await.unwrap().unwrap());
    }
    for format in ["xlsx", "csv&dialect=excel-fr", "csv", "json", "scdl"] {
        assert!(
            hrefs
                .iter()
                .any(|h| h.ends_with(&format!("format={format}"))),
            "a link for {format}: {hrefs:?}"
        );
    }
    let link = b
        .client
        .find(Locator::XPath(
            "//a[contains(., 'CSV pour Excel en français')]",
        ))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let session = b
        .client
        .get_named_cookie("essor_session")
        .await
        .expect("the browser's session cookie");
    let resp = client()
        .get(app.url(&link))
        .header(COOKIE, format!("essor_session={}", session.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "the page's link downloads");
    let disposition = resp
        .headers()
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.contains("attachment"), "{disposition}");
    let bytes = resp.bytes().await.unwrap();
    let csv = String::from_utf8_lossy(&bytes);
    let line = csv
        .lines()
        .find(|l| l.contains(&a_ref))
        .unwrap_or_else(|| panic!("{a_ref} in the export: {csv}"));
    assert!(line.contains("DEL-2027-031"), "{line}");
    assert!(line.contains("15000,00"), "{line}");
    assert!(line.contains("Projet solide."), "{line}");

    // Close, after its confirmation page.
    b.goto(&format!("/gestion/appels/{call_id}/clore")).await;
    b.visit("appel-clore").await;
    b.press("Clore l'appel").await;
    assert!(b.path().await.ends_with("/classement?clos=1"));
    assert_eq!(call_of(&app, &staff, &call_id).await["state"], "closed");
    // A closed call takes no edit: the form is gone.
    b.goto(&format!("/gestion/appels/{call_id}/modifier")).await;
    assert!(
        b.body()
            .await
            .contains("Un appel clos ne peut plus être modifié.")
    );
    assert_eq!(count(&b, "form[action$='/modifier']").await, 0);
    b.visit("appel-clos").await;

    // Not an agent: no page of theirs.
    let outsider = app.account(Role::Applicant, "curieux@exemple.fr").await;
    let jar = http_sign_in(&app, &outsider.email).await;
    for path in [
        format!("/gestion/appels/{call_id}/classement"),
        format!("/gestion/appels/{call_id}/exports"),
        format!("/gestion/appels/{call_id}/modifier"),
        "/gestion/appels/nouveau".to_owned(),
        "/gestion/envois".to_owned(),
    ] {
        let resp = get(&app, &jar, &path).await;
        assert_eq!(resp.status(), 403, "{path}");
        let page = resp.text().await.unwrap();
        assert!(!page.contains("Les Ateliers du Sart"), "{path}");
    }
    b.close().await;
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP sessions: what a second agent's browser sends (the session cookie and the
// CSRF token of its forms).

#[derive(Clone, Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (name, value) = v.split(';').next().unwrap().split_once('=').unwrap();
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
}

fn hidden_csrf(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("a CSRF field") + marker.len();
    html[start..start + 64].to_owned()
}

/// A client that keeps no idle connection: a connection the server closes at the end of its
/// keep-alive, while the browser part of a test runs, is never picked up again (hyper's race
/// between reuse and close would fail a request that never reached the server).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

async fn get(app: &TestApp, jar: &Jar, path: &str) -> reqwest::Response {
    client()
        .get(app.url(path))
        .header(COOKIE, jar.header())
        .send()
        .await
        .unwrap()
}

async fn post(app: &TestApp, jar: &Jar, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    client()
        .post(app.url(path))
        .header(COOKIE, jar.header())
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn http_sign_in(app: &TestApp, email: &str) -> Jar {
    let mut jar = Jar::default();
    let resp = get(app, &jar, "/connexion").await;
    jar.take(&resp);
    let csrf = hidden_csrf(&resp.text().await.unwrap());
    let resp = post(
        app,
        &jar,
        "/connexion",
        &[("_csrf", &csrf), ("email", email), ("password", PASSWORD)],
    )
    .await;
    assert_eq!(resp.status(), 303, "sign-in of {email}");
    jar.take(&resp);
    jar
}

/// Two agents deciding at once never overshoot the envelope: a stale pre-filled amount is
/// refused on the board with the envelope's error, and concurrent form posts of two agents
/// (with their sessions and CSRF tokens) award exactly what the envelope holds.
async fn two_agents_deciding_at_once_never_overshoot_the_envelope(app: TestApp) {
    let _one = BROWSER.lock().await;
    let label = format!("decisions-concurrence-{}", backend_name(&app));
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    app.account(Role::Staff, "agente2@lillemetropole.fr").await;
    app.account(Role::Admin, "admin@lillemetropole.fr").await;
    let reviewer = app.account(Role::Reviewer, "expert@exemple.fr").await;
    let call = app
        .published_call(
            &staff.token,
            json!({"budget_cents": 3_000_000, "max_award_cents": 2_000_000, "min_reviews": 1}),
        )
        .await;
    let call_id = call["id"].as_str().unwrap().to_owned();
    let mut apps = Vec::new();
    for n in 1..=5u32 {
        let applicant = app
            .account(Role::Applicant, &format!("porteur{n}@exemple.fr"))
            .await;
        let scores = [5, 5, 5, 5, (5 - n as i64).max(0)];
        let a = reviewed(
            &app,
            &staff,
            &applicant,
            &[&reviewer],
            &call_id,
            n,
            &format!("Structure numéro {n}"),
            if n == 1 { 2_000_000 } else { 1_000_000 },
            scores,
        )
        .await;
        apps.push((
            a["id"].as_str().unwrap().to_owned(),
            a["reference"].as_str().unwrap().to_owned(),
        ));
    }

    // Agent A opens the board: the first row is pre-filled with 20 000 €.
    sign_in(&b, "agent@lillemetropole.fr").await;
    let board = format!("/gestion/appels/{call_id}/classement");
    b.goto(&board).await;
    let (first_id, first_ref) = apps[0].clone();
    assert_eq!(
        b.value(&format!("accept-{}-amount", key(&first_ref))).await,
        "20000"
    );
    b.visit("classement-concurrence").await;

    // Meanwhile agent B, on their own board, accepts the second for 15 000 € … too much
    // (it asked 10 000 €): refused beside the field; then 10 000 €.
    let jar_b = http_sign_in(&app, "agente2@lillemetropole.fr").await;
    let page = get(&app, &jar_b, &board).await.text().await.unwrap();
    let csrf_b = hidden_csrf(&page);
    let (second_id, second_ref) = apps[1].clone();
    let accept = |id: &str| format!("{board}/{id}/accepter");
    let fields = |csrf: &str, amount: &str| -> Vec<(String, String)> {
        vec![
            ("_csrf".into(), csrf.to_owned()),
            ("amount".into(), amount.to_owned()),
            ("committee_date".into(), "15/01/2026".into()),
            ("decision_reference".into(), "DEL-2026-007".into()),
            ("motivation".into(), "Retenu par le comité.".into()),
            ("confirme".into(), "oui".into()),
        ]
    };
    let send = |jar: Jar, path: String, form: Vec<(String, String)>| {
        let app = &app;
        async move {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            post(app, &jar, &path, &pairs).await
        }
    };
    let resp = send(jar_b.clone(), accept(&second_id), fields(&csrf_b, "15 000")).await;
    assert_eq!(resp.status(), 422);
    let page = resp.text().await.unwrap();
    assert!(
        page.contains("dépasse le montant demandé"),
        "the API's words"
    );
    assert!(
        page.contains("value=\"15 000\""),
        "the typed amount is kept"
    );
    let resp = send(jar_b.clone(), accept(&second_id), fields(&csrf_b, "10 000")).await;
    assert_eq!(resp.status(), 303);
    assert!(
        resp.headers()[LOCATION]
            .to_str()
            .unwrap()
            .contains(&format!("decision={second_ref}"))
    );

    // Agent A, with the stale 20 000 € still in the form, presses « Accepter »: the envelope
    // (20 000 € left) would still hold it … so B takes 10 000 € more first, through a third
    // application, leaving 10 000 €.
    let (third_id, _) = apps[2].clone();
    let resp = send(jar_b.clone(), accept(&third_id), fields(&csrf_b, "10 000")).await;
    assert_eq!(resp.status(), 303);
    b.fill(
        &format!("accept-{}-decision_reference", key(&first_ref)),
        "DEL-2026-008",
    )
    .await;
    b.fill(
        &format!("accept-{}-motivation", key(&first_ref)),
        "Projet structurant.",
    )
    .await;
    b.press(&format!("Accepter {first_ref}")).await;
    b.press(&format!("Confirmer l'acceptation de {first_ref}"))
        .await;
    let body = b.body().await;
    assert!(
        body.contains("dépasse le reste de l'enveloppe de l'appel (10 000,00 €)"),
        "the envelope's refusal, as the API says it: {body}"
    );
    assert_eq!(
        b.value(&format!("accept-{}-amount", key(&first_ref))).await,
        "20000",
        "the typed amount is kept"
    );
    assert_eq!(
        b.text("#envelope-left")
            .await
            .replace(['\u{202f}', '\u{a0}'], " "),
        "10 000 €"
    );
    b.visit("classement-enveloppe-depassee").await;

    // Now both agents post at once, for every application left, 10 000 € each: 10 000 € are
    // left, so exactly one award goes through, whatever the interleaving.
    let jar_a = http_sign_in(&app, "agent@lillemetropole.fr").await;
    let page = get(&app, &jar_a, &board).await.text().await.unwrap();
    let csrf_a = hidden_csrf(&page);
    let mut posts = Vec::new();
    for (id, _) in [&apps[0], &apps[3], &apps[4]] {
        posts.push(send(jar_a.clone(), accept(id), fields(&csrf_a, "10 000")));
        posts.push(send(jar_b.clone(), accept(id), fields(&csrf_b, "10 000")));
    }
    let answers = futures_util::future::join_all(posts).await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "exactly one award fits: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 303 || *s == 409),
        "the others are refused as conflicts: {statuses:?}"
    );
    let call = call_of(&app, &staff, &call_id).await;
    assert_eq!(call["envelope"]["awarded_cents"], 3_000_000);
    assert_eq!(call["envelope"]["left_cents"], 0);
    // The sum of the awards is the envelope, not more.
    let ranking: Value = app
        .get_as(&staff.token, &format!("/api/v1/calls/{call_id}/ranking"))
        .await
        .json()
        .await
        .unwrap();
    let awarded: i64 = ranking["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["awarded_cents"].as_i64())
        .sum();
    assert_eq!(awarded, 3_000_000);
    let _ = first_id;

    b.goto(&board).await;
    assert_eq!(
        b.text("#envelope-left")
            .await
            .replace(['\u{202f}', '\u{a0}'], " "),
        "0 €"
    );
    // Nothing can be awarded any more: no « Accepter » form, « Refuser » still there.
    let last = ranking["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["state"] == "under_review")
        .expect("applications left undecided")["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        b.client
            .find(Locator::XPath(&format!(
                "//button[contains(., 'Accepter {last}')]"
            )))
            .await
            .is_err()
    );
    assert!(
        b.body()
            .await
            .contains("L'enveloppe de l'appel est entièrement attribuée")
    );
    b.client
        .find(Locator::XPath(&format!(
            "//button[contains(., 'Refuser {last}')]"
        )))
        .await
        .expect("a refusal is still possible");
    b.visit("classement-enveloppe-epuisee").await;
    b.close().await;
}

/// The outbox: staff read it without a retry button; an admin re-queues an abandoned mail.
async fn staff_read_the_outbox_and_an_admin_requeues(app: TestApp) {
    let _one = BROWSER.lock().await;
    let label = format!("envois-{}", backend_name(&app));
    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    let staff = app.account(Role::Staff, "agent@lillemetropole.fr").await;
    app.account(Role::Admin, "admin@lillemetropole.fr").await;
    let applicant = app.account(Role::Applicant, "porteur@exemple.fr").await;
    let call = app.published_call(&staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    submitted_of(
        &app,
        &applicant,
        call_id,
        1,
        "Les Ateliers du Sart",
        2_000_000,
    )
    .await;
    // The receipt is sent; then (as after a mail server's permanent refusal) it is marked
    // abandoned, so that there is something to re-queue.
    app.wait_for_mails(1).await;
    let dead = mark_dead(&app, "porteur@exemple.fr").await;

    sign_in(&b, "agent@lillemetropole.fr").await;
    b.goto("/gestion/envois").await;
    assert_eq!(b.h1().await, "Envois de courriels");
    let body = b.body().await;
    assert!(body.contains("porteur@exemple.fr"));
    assert!(body.contains("abandonné"));
    assert!(body.contains("550 5.1.1 boîte inconnue"));
    assert_eq!(
        count(&b, "form[action$='/renvoyer']").await,
        0,
        "no retry for staff"
    );
    b.visit("envois-agent").await;
    // A staff member's POST is refused all the same.
    let jar = http_sign_in(&app, "agent@lillemetropole.fr").await;
    let page = get(&app, &jar, "/gestion/envois")
        .await
        .text()
        .await
        .unwrap();
    let csrf = hidden_csrf(&page);
    let resp = post(
        &app,
        &jar,
        &format!("/gestion/envois/{dead}/renvoyer"),
        &[("_csrf", &csrf)],
    )
    .await;
    assert_eq!(resp.status(), 403);
    // Filtered by state.
    b.select("statut", "dead").await;
    b.press("Filtrer").await;
    assert_eq!(b.path().await, "/gestion/envois?statut=dead");
    assert!(b.body().await.contains("1 message."));
    b.close().await;

    let Some(mut b) = Browser::open(&app.address, &label, true).await else {
        return;
    };
    sign_in(&b, "admin@lillemetropole.fr").await;
    b.goto("/gestion/envois").await;
    assert_eq!(
        count(&b, "form[action$='/renvoyer']").await,
        1,
        "one to retry"
    );
    b.visit("envois-admin").await;
    b.press("Renvoyer").await;
    assert_eq!(b.path().await, "/gestion/envois?renvoye=1");
    assert!(b.body().await.contains("Le message est remis dans la file"));
    b.visit("envois-admin-renvoye").await;
    // It goes again.
    let mut status = String::new();
    for _ in 0..100 {
        status = outbox_status(&app, &dead).await;
        if status == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, "sent");
    b.close().await;
}

async fn mark_dead(app: &TestApp, recipient: &str) -> String {
    use diesel::prelude::*;
    use essor::db::schema::outbox;
    let recipient = recipient.to_owned();
    let mut id = String::new();
    for _ in 0..100 {
        let r = recipient.clone();
        let found: Option<String> = app
            .db
            .run(move |conn| {
                Ok(outbox::table
                    .filter(outbox::recipient.eq(r))
                    .filter(outbox::status.eq("sent"))
                    .select(outbox::id)
                    .first::<String>(conn)
                    .optional()?)
            })
            .await
            .unwrap();
        if let Some(f) = found {
            id = f;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!id.is_empty(), "the receipt was sent");
    let target = id.clone();
    app.db
        .run(move |conn| {
            diesel::update(outbox::table.filter(outbox::id.eq(target)))
                .set((
                    outbox::status.eq("dead"),
                    outbox::attempts.eq(5),
                    outbox::last_error.eq(Some("550 5.1.1 boîte inconnue")),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    id
}

async fn outbox_status(app: &TestApp, id: &str) -> String {
    use diesel::prelude::*;
    use essor::db::schema::outbox;
    let id = id.to_owned();
    app.db
        .run(move |conn| {
            Ok(outbox::table
                .filter(outbox::id.eq(id))
                .select(outbox::status)
                .first::<String>(conn)?)
        })
        .await
        .unwrap()
}

crate::both_backends!(
    an_agent_runs_a_call_from_the_forms_to_the_export,
    two_agents_deciding_at_once_never_overshoot_the_envelope,
    staff_read_the_outbox_and_an_admin_requeues,
);
