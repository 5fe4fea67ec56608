//! The companies' register (DESIGN.md §17) against a local fake answering as the API Recherche
//! d'entreprises documents it: the lookup, its cache and its faults; the evidence kept at
//! submission, read by staff with its flags; the register down at submission, and the daily
//! retry; essor without a register.

use std::future::Future;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::fakes::{self, FakeRegister};
use crate::helpers::{Backend, TestApp, assert_problem, sample_application, spawn_app_clocked};

/// Runs `test` on a server pointed at a fresh fake register.
pub async fn with_register<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestApp, FakeRegister) -> Fut,
    Fut: Future<Output = ()>,
{
    let fake = fakes::register().await;
    let settings = fakes::register_settings(&fake);
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let clock = essor::clock::Clock::set_at(chrono::Utc::now());
    let Some(app) = spawn_app_clocked(backend, &extra, clock).await else {
        return;
    };
    test(app, fake).await;
}

macro_rules! with_register {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use crate::helpers::Backend;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::with_register(Backend::Sqlite, super::$name).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::with_register(Backend::Postgres, super::$name).await;
            }
        }
    )*};
}

with_register!(
    a_siret_is_looked_up_once_a_day,
    the_registers_faults_are_said_in_french,
    submission_keeps_what_the_register_said,
    the_register_down_at_submission_is_asked_again_daily,
);
crate::both_backends!(without_a_register_essor_runs_as_before);

async fn lookup(app: &TestApp, token: &str, siret: &str) -> reqwest::Response {
    app.get_as(token, &format!("/api/v1/organisations/{siret}"))
        .await
}

async fn a_siret_is_looked_up_once_a_day(app: TestApp, fake: FakeRegister) {
    let applicant = app.registered_applicant("porteuse@example.org").await;

    let resp = lookup(&app, &applicant.token, fakes::ASSOCIATION).await;
    assert_eq!(resp.status(), 200);
    let record: Value = resp.json().await.unwrap();
    assert_eq!(
        record,
        json!({
            "siret": fakes::ASSOCIATION, "name": "LES ATELIERS DU SART", "legal_form_code": "9220",
            "is_ess": true, "is_association": true, "rna": "W595012345", "active": true,
            "diffusible": true,
            "head_office": {"commune_insee": "59009", "commune": "VILLENEUVE-D'ASCQ",
                            "postal_code": "59650", "address": "12 RUE DE LANNOY"}
        })
    );
    // Asked again, with the spaces people type: the day's answer, not a second request.
    let spaced = "510 203 040 00017";
    let again: Value = lookup(&app, &applicant.token, &spaced.replace(' ', "%20"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again, record);
    assert_eq!(fake.searches(fakes::ASSOCIATION), 1);
    let agents = fake.log.lock().unwrap().user_agents.clone();
    assert!(
        agents
            .iter()
            .all(|a| a.starts_with("essor/") && a.contains("Métropole")),
        "{agents:?}"
    );

    // A day later the register is asked again.
    app.clock.advance(chrono::Duration::hours(25));
    assert_eq!(
        lookup(&app, &applicant.token, fakes::ASSOCIATION)
            .await
            .status(),
        200
    );
    assert_eq!(fake.searches(fakes::ASSOCIATION), 2);

    let coop: Value = lookup(&app, &applicant.token, fakes::COOPERATIVE)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(coop["legal_form_code"], "5458");
    assert_eq!(coop["is_association"], false);
    assert_eq!(coop["head_office"]["commune_insee"], "59350");

    let closed: Value = lookup(&app, &applicant.token, fakes::CLOSED)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(closed["active"], false);
    assert_eq!(closed["is_ess"], false);

    let hidden: Value = lookup(&app, &applicant.token, fakes::HIDDEN)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(hidden["diffusible"], false);
    assert_eq!(
        hidden["name"],
        Value::Null,
        "a non-diffusible unit's name is not shown"
    );
    assert_eq!(hidden["head_office"]["postal_code"], Value::Null);
}

async fn the_registers_faults_are_said_in_french(app: TestApp, fake: FakeRegister) {
    let applicant = app.registered_applicant("porteuse@example.org").await;
    let token = &applicant.token;

    let none = assert_problem(
        lookup(&app, token, &crate::helpers::distinct_siret()).await,
        404,
    )
    .await;
    assert!(
        none["detail"]
            .as_str()
            .unwrap()
            .contains("Aucun établissement"),
        "{none}"
    );

    let bad = assert_problem(lookup(&app, token, "12345").await, 422).await;
    assert!(
        bad["errors"]["siret"][0].as_str().unwrap().contains("14"),
        "{bad}"
    );
    let key = assert_problem(lookup(&app, token, "51020304000018").await, 422).await;
    assert!(key["errors"]["siret"].is_array(), "{key}");
    assert_eq!(
        fake.log.lock().unwrap().searches.len(),
        1,
        "bad SIRETs never reach the register"
    );

    for (siret, why) in [
        (fakes::SLOW, "n'a pas répondu dans les 1000 ms"),
        (fakes::BROKEN, "HTTP 500"),
        (fakes::GARBAGE, "pas du JSON lisible"),
    ] {
        let p = assert_problem(lookup(&app, token, siret).await, 502).await;
        assert_eq!(p["type"], "urn:essor:problem:upstream");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("Vérification impossible pour l'instant"),
            "{siret}: {detail}"
        );
        assert!(detail.contains(why), "{siret}: {detail}");
        assert_eq!(fake.searches(siret), 1, "{siret}");
    }
    // Garbage is not kept: asked again, the register is asked again.
    assert_problem(lookup(&app, token, fakes::GARBAGE).await, 502).await;
    assert_eq!(fake.searches(fakes::GARBAGE), 2);

    // A long Retry-After is honoured: the next lookups fail at once, without a request.
    let p = assert_problem(lookup(&app, token, fakes::THROTTLED).await, 502).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("demande d'attendre 30 s"),
        "{p}"
    );
    let p = assert_problem(lookup(&app, token, fakes::ASSOCIATION).await, 502).await;
    assert!(p["detail"].as_str().unwrap().contains("attendre"), "{p}");
    assert_eq!(fake.searches(fakes::ASSOCIATION), 0);
    assert_eq!(fake.searches(fakes::THROTTLED), 1);
    // Without a token: 401.
    assert_eq!(
        app.get(&format!("/api/v1/organisations/{}", fakes::ASSOCIATION))
            .await
            .status(),
        401
    );
}

/// An application of `siret` declared as `legal_form`, submitted; returns its id.
async fn submitted_with(
    app: &TestApp,
    applicant: &str,
    call_id: &str,
    siret: &str,
    legal_form: &str,
) -> String {
    let mut body = sample_application();
    body["organisation"]["siret"] = json!(siret);
    body["organisation"]["legal_form"] = json!(legal_form);
    let draft = app.draft_application(applicant, call_id, &body).await;
    let id = draft["id"].as_str().unwrap().to_owned();
    app.submit_with_documents(applicant, &id).await;
    id
}

async fn evidence(app: &TestApp, token: &str, id: &str) -> reqwest::Response {
    app.get_as(
        token,
        &format!("/api/v1/applications/{id}/registry-evidence"),
    )
    .await
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn submission_keeps_what_the_register_said(app: TestApp, fake: FakeRegister) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let applicant = &cast.applicant.token;

    // A closed Parisian SAS declared as an association: every flag but « not ESS » (its
    // declared form is ESS by right).
    let id = submitted_with(&app, applicant, call_id, fakes::CLOSED, "association").await;
    let resp = evidence(&app, &cast.staff.token, &id).await;
    assert_eq!(resp.status(), 200);
    let e: Value = resp.json().await.unwrap();
    assert_eq!(e["status"], "found");
    assert_eq!(e["siret"], fakes::CLOSED);
    assert!(e["source"].as_str().unwrap().starts_with(&fake.url));
    let codes: Vec<&str> = e["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["closed", "legal_form_differs", "head_office_outside"]
    );
    assert_eq!(
        e["flags"][0]["label"],
        "établissement ou structure fermé au registre"
    );
    assert_eq!(e["record"]["name"], "ANCIENNE SAS");

    // The register's answer is kept as it came, with its digest, and the submission's audit
    // event records the same digest.
    let kept = id.clone();
    let (answer, digest): (String, String) = app
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use essor::db::schema::registry_evidence as r;
            Ok(r::table
                .find(&kept)
                .select((
                    r::answer.assume_not_null(),
                    r::answer_sha256.assume_not_null(),
                ))
                .first(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(sha256_hex(&answer), digest);
    assert_eq!(e["answer_sha256"], digest);
    let history: Value = app
        .get_as(
            &cast.staff.token,
            &format!("/api/v1/applications/{id}/history"),
        )
        .await
        .json()
        .await
        .unwrap();
    let submitted = history
        .as_array()
        .unwrap()
        .iter()
        .find(|ev| ev["action"] == "submit")
        .cloned()
        .expect("a submit event");
    assert_eq!(
        submitted["payload"]["registry_evidence"]["answer_sha256"], digest,
        "{submitted}"
    );

    // The exports carry it: codes for programs, French for Excel.
    let csv = app
        .get_as(
            &cast.staff.token,
            &format!("/api/v1/calls/{call_id}/export?format=csv"),
        )
        .await
        .text()
        .await
        .unwrap();
    let line = csv
        .lines()
        .find(|l| l.contains(fakes::CLOSED))
        .expect("the application's line");
    assert!(
        line.ends_with(",found,\"closed, legal_form_differs, head_office_outside\""),
        "{line}"
    );
    let excel = app
        .get_as(
            &cast.staff.token,
            &format!("/api/v1/calls/{call_id}/export?format=csv&dialect=excel-fr"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(excel.contains(";relevé au registre;"), "{excel}");
    assert!(
        excel.contains("établissement ou structure fermé au registre ; la forme juridique déclarée diffère de celle du registre ; siège hors de la Métropole européenne de Lille"),
        "{excel}"
    );
    let json: Value = app
        .get_as(
            &cast.staff.token,
            &format!("/api/v1/calls/{call_id}/export?format=json"),
        )
        .await
        .json()
        .await
        .unwrap();
    let record = json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["siret"] == fakes::CLOSED)
        .unwrap();
    assert_eq!(record["registry_status"], "found");
    assert_eq!(
        record["registry_flags"],
        json!(["closed", "legal_form_differs", "head_office_outside"])
    );

    // The applicant and a reviewer read no evidence (and cannot tell it exists).
    assert_problem(evidence(&app, applicant, &id).await, 404).await;
    assert_problem(evidence(&app, &cast.reviewer.token, &id).await, 404).await;

    // An ESS association in the MEL, declared as such: no flag. A cooperative declared as
    // an association: its form differs. A SIRET the register does not know: said so.
    let ok = submitted_with(
        &app,
        &cast.applicant.token,
        call_id,
        fakes::ASSOCIATION,
        "association",
    )
    .await;
    let ok: Value = evidence(&app, &cast.staff.token, &ok)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["flags"], json!([]));
    let other = app.registered_applicant("autre@example.org").await;
    let coop = submitted_with(
        &app,
        &other.token,
        call_id,
        fakes::COOPERATIVE,
        "association",
    )
    .await;
    let coop: Value = evidence(&app, &cast.staff.token, &coop)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(coop["flags"][0]["code"], "legal_form_differs");
    let third = app.registered_applicant("troisieme@example.org").await;
    let unknown = crate::helpers::distinct_siret();
    let unknown = submitted_with(&app, &third.token, call_id, &unknown, "association").await;
    let unknown: Value = evidence(&app, &cast.staff.token, &unknown)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unknown["status"], "not_found");
    assert_eq!(unknown["flags"][0]["code"], "unknown_siret");
}

async fn the_register_down_at_submission_is_asked_again_daily(app: TestApp, fake: FakeRegister) {
    let cast = app.cast().await;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    fake.down.store(true, std::sync::atomic::Ordering::SeqCst);

    let id = submitted_with(
        &app,
        &cast.applicant.token,
        call_id,
        fakes::ASSOCIATION,
        "association",
    )
    .await;
    let app_view: Value = app
        .get_as(&cast.applicant.token, &format!("/api/v1/applications/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        app_view["state"], "submitted",
        "the register down does not hold the submission"
    );
    let e: Value = evidence(&app, &cast.staff.token, &id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["status"], "unavailable");
    assert_eq!(e["record"], Value::Null);
    assert_eq!(e["answer_sha256"], Value::Null);
    assert!(e["error"].as_str().unwrap().contains("HTTP 503"), "{e}");

    // The daily job, while the register is still down, leaves it as it is; once back, fills it.
    let state =
        essor::state::AppState::with_clock(app.db.clone(), app.settings.clone(), app.clock.clone())
            .unwrap();
    assert_eq!(
        essor::services::registry::retry_unavailable(&state)
            .await
            .unwrap(),
        0
    );
    fake.down.store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        essor::services::registry::retry_unavailable(&state)
            .await
            .unwrap(),
        1
    );
    let e: Value = evidence(&app, &cast.staff.token, &id)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(e["status"], "found");
    assert_eq!(e["flags"], json!([]));
    assert_eq!(e["error"], Value::Null);
    assert_eq!(
        essor::services::registry::retry_unavailable(&state)
            .await
            .unwrap(),
        0,
        "nothing left"
    );
}

async fn without_a_register_essor_runs_as_before(app: TestApp) {
    let cast = app.cast().await;
    let p = assert_problem(
        lookup(&app, &cast.applicant.token, fakes::ASSOCIATION).await,
        404,
    )
    .await;
    assert!(
        p["detail"].as_str().unwrap().contains("n'est pas activée"),
        "{p}"
    );
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let id = submitted_with(
        &app,
        &cast.applicant.token,
        call["id"].as_str().unwrap(),
        fakes::ASSOCIATION,
        "association",
    )
    .await;
    let e = evidence(&app, &cast.staff.token, &id).await;
    assert_eq!(e.status(), 200);
    assert_eq!(e.json::<Value>().await.unwrap(), Value::Null);
    assert_eq!(app.count("registry_evidence").await, 0);
}
