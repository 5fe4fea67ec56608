//! The examples of docs/api.md, run against a spawned essor: the curl and Python scripts of
//! docs/examples/ (a reviewer's work, an agent's export, scoring from a CSV file), and the
//! page itself, which must show each script as it is in the folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::Duration;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Account, PASSWORD, TestApp};

both_backends!(
    the_reviewer_examples_run,
    the_export_examples_run,
    scoring_from_a_csv_file_saves_the_good_lines_only
);

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/examples")
}

fn python() -> String {
    std::env::var("ESSOR_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs a script of docs/examples with this environment; its output is printed on failure.
async fn run(program: String, script: &str, args: Vec<String>, env: Vec<(&str, String)>) -> Output {
    let script = examples().join(script);
    let env: Vec<(String, String)> = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(&program)
            .arg(&script)
            .args(&args)
            .envs(env)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap_or_else(|e| panic!("{program} {}: {e}", script.display()))
    })
    .await
    .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `n` applications under review, each assigned to `reviewer`: (reference, assignment id).
async fn assigned(
    app: &TestApp,
    staff: &str,
    applicant: &str,
    reviewer: &Account,
    n: usize,
) -> Vec<(String, String)> {
    let call = app.published_call(staff, json!({})).await;
    let mut out = Vec::new();
    for _ in 0..n {
        let application = app
            .submitted_application(applicant, call["id"].as_str().unwrap())
            .await;
        let id = application["id"].as_str().unwrap();
        let assignment = app.start_review(staff, id, &[reviewer]).await.remove(0);
        out.push((
            application["reference"].as_str().unwrap().to_owned(),
            assignment,
        ));
    }
    out
}

async fn review_of(app: &TestApp, reviewer: &Account, assignment: &str) -> reqwest::Response {
    app.get_as(
        &reviewer.token,
        &format!("/api/v1/assignments/{assignment}/review"),
    )
    .await
}

async fn personal_token(app: &TestApp, owner: &Account, scopes: &[&str]) -> String {
    let expires_on = (chrono::Utc::now().date_naive() + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let resp = app
        .post_json(
            Some(&owner.token),
            "/api/v1/me/tokens",
            &json!({"name": "Exemples", "scopes": scopes, "expires_on": expires_on}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn the_reviewer_examples_run(app: TestApp) {
    let cast = app.cast().await;
    let work = assigned(
        &app,
        &cast.staff.token,
        &cast.applicant.token,
        &cast.reviewer,
        2,
    )
    .await;
    let env = || {
        vec![
            ("ESSOR_URL", app.address.clone()),
            ("ESSOR_EMAIL", cast.reviewer.email.clone()),
            ("ESSOR_PASSWORD", PASSWORD.to_owned()),
        ]
    };
    let out = run("bash".into(), "reviewer.sh", vec![], env()).await;
    assert!(out.status.success(), "reviewer.sh: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Évaluation soumise"),
        "{}",
        text(&out)
    );
    let out = run(python(), "reviewer.py", vec![], env()).await;
    assert!(out.status.success(), "reviewer.py: {}", text(&out));
    // Both assignments now carry a submitted review, made with personal tokens.
    for (_, assignment) in &work {
        let review: Value = review_of(&app, &cast.reviewer, assignment)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(review["status"], "submitted", "{review}");
    }
    let tokens: Value = app
        .get_as(&cast.reviewer.token, "/api/v1/me/tokens")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens.as_array().unwrap().len(), 2);
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["last_used_at"].is_string())
    );
}

async fn the_export_examples_run(app: TestApp) {
    let cast = app.cast().await;
    let work = assigned(
        &app,
        &cast.staff.token,
        &cast.applicant.token,
        &cast.reviewer,
        1,
    )
    .await;
    let call: Value = app
        .get_as(&cast.staff.token, "/api/v1/calls")
        .await
        .json()
        .await
        .unwrap();
    let call_id = call["items"][0]["id"].as_str().unwrap().to_owned();
    let token = personal_token(&app, &cast.staff, &["read", "export"]).await;
    let dir = tempfile::tempdir().unwrap();
    for (program, script, file) in [
        ("bash".to_owned(), "agent_export.sh", "export.csv"),
        (python(), "agent_export.py", "export.xlsx"),
    ] {
        let out_file = dir.path().join(file);
        let env = vec![
            ("ESSOR_URL", app.address.clone()),
            ("ESSOR_TOKEN", token.clone()),
            ("ESSOR_CALL", call_id.clone()),
            ("OUT", out_file.display().to_string()),
        ];
        let out = run(program, script, vec![], env).await;
        assert!(out.status.success(), "{script}: {}", text(&out));
        let bytes = std::fs::read(&out_file).unwrap();
        if file.ends_with(".csv") {
            assert!(
                String::from_utf8_lossy(&bytes).contains(&work[0].0),
                "the export lists the application"
            );
        } else {
            assert_eq!(&bytes[..2], b"PK", "an XLSX workbook");
        }
    }
    // The same token without `export`: the script stops with essor's French refusal.
    let read_only = personal_token(&app, &cast.staff, &["read"]).await;
    let env = vec![
        ("ESSOR_URL", app.address.clone()),
        ("ESSOR_TOKEN", read_only),
        ("ESSOR_CALL", call_id.clone()),
        ("OUT", dir.path().join("no.xlsx").display().to_string()),
    ];
    let out = run(python(), "agent_export.py", vec![], env).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("« export »"),
        "{}",
        text(&out)
    );
}

async fn scoring_from_a_csv_file_saves_the_good_lines_only(app: TestApp) {
    let cast = app.cast().await;
    let work = assigned(
        &app,
        &cast.staff.token,
        &cast.applicant.token,
        &cast.reviewer,
        4,
    )
    .await;
    // Three accepted; the fourth still waits for the declaration.
    for (_, assignment) in &work[..3] {
        let resp = app
            .post_json(
                Some(&cast.reviewer.token),
                &format!("/api/v1/assignments/{assignment}/accept"),
                &json!({"statement": "Aucun conflit d'intérêts."}),
            )
            .await;
        assert_eq!(resp.status(), 200);
    }
    let r = |i: usize| work[i].0.clone();
    let csv = format!(
        "\u{feff}reference;social_utility;territorial_anchoring;governance;economic_viability;jobs;recommendation;comment\n\
         {};4;3;5;3;2;favorable;\"Projet solide ; ancrage réel.\"\n\
         {};9;3;trois;3;2;peut-être;Notes fausses.\n\
         {};1;1;1;1;1;défavorable;Pas de déclaration.\n\
         EA-1999-99999;1;1;1;1;1;favorable;Inconnu.\n\
         {};1;1;1;1;1;favorable;Sans guillemets ; deux cellules.\n\
         {};2;4;3;2;1;réservé;Gouvernance à préciser.\n",
        r(0),
        r(1),
        r(3),
        r(2),
        r(2)
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.csv");
    std::fs::write(&file, csv).unwrap();
    let token = personal_token(&app, &cast.reviewer, &["read", "review"]).await;
    let env = vec![("ESSOR_URL", app.address.clone()), ("ESSOR_TOKEN", token)];
    let out = run(
        python(),
        "score_from_csv.py",
        vec![file.display().to_string()],
        env,
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Each bad line is reported in French with all its errors.
    for needle in [
        format!("ligne 3 ({}) : refusée, rien n'a été enregistré", r(1)),
        "la note « social_utility » doit être comprise entre 0 et 5 (lu : 9)".to_owned(),
        "la note « governance » doit être un nombre entier (lu : « trois »)".to_owned(),
        "la recommandation « peut-être » est inconnue".to_owned(),
        format!("ligne 4 ({}) : refusée", r(3)),
        "déclarez d'abord l'absence de conflit d'intérêts".to_owned(),
        "ligne 5 (EA-1999-99999) : refusée".to_owned(),
        format!("ligne 6 ({}) : refusée", r(2)),
        "doit être entre guillemets".to_owned(),
        "2 évaluation(s) soumise(s), 4 ligne(s) refusée(s).".to_owned(),
    ] {
        assert!(
            stdout.contains(&needle),
            "missing « {needle} » in:\n{}",
            text(&out)
        );
    }
    // The good lines are submitted with their values; nothing was saved for the others.
    let first: Value = review_of(&app, &cast.reviewer, &work[0].1)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["status"], "submitted");
    assert_eq!(first["scores"]["governance"], 5);
    assert_eq!(first["comment"], "Projet solide ; ancrage réel.");
    let last: Value = review_of(&app, &cast.reviewer, &work[2].1)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (last["status"].as_str(), last["recommendation"].as_str()),
        (Some("submitted"), Some("reserved"))
    );
    for i in [1, 3] {
        let resp = review_of(&app, &cast.reviewer, &work[i].1).await;
        assert_ne!(resp.status(), 200, "line of {} saved nothing", r(i));
    }
    assert_eq!(app.count("reviews").await, 2);
}

/// docs/api.md shows each script of docs/examples as it is (between `<!-- example: NAME -->`
/// and the end of the fenced block that follows), so the page cannot drift from what runs.
#[test]
fn the_api_page_shows_the_scripts_that_run() {
    let page = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/api.md"))
        .expect("docs/api.md");
    let mut shown = 0;
    for part in page.split("<!-- example: ").skip(1) {
        let (name, rest) = part.split_once(" -->").expect("example marker");
        let body = rest
            .split_once("```")
            .and_then(|(_, b)| b.split_once('\n'))
            .and_then(|(_, b)| b.split_once("\n```"))
            .map(|(code, _)| code)
            .unwrap_or_else(|| panic!("no fenced block after the marker of {name}"));
        let file = std::fs::read_to_string(examples().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            body.trim_end(),
            file.trim_end(),
            "docs/api.md shows an old {name}"
        );
        shown += 1;
    }
    let scripts = std::fs::read_dir(examples()).unwrap().count();
    assert_eq!(
        shown, scripts,
        "every file of docs/examples is shown in docs/api.md"
    );
}
