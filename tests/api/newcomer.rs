//! Issue 17 (« What a newcomer hit »), API side: each point's test, on both databases.

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    PDF, SAMPLE_SIRET, TestApp, assert_problem, distinct_siret, sample_application, spawn_app_with,
};

both_backends!(
    one_application_per_structure_and_call,
    created_resources_carry_their_location,
    an_unquoted_if_match_is_a_400_saying_how_to_quote_it,
    conflicts_say_the_state_and_the_action_in_french,
    staff_are_mailed_on_a_recusal_and_when_all_reviews_are_in,
    validation_messages_are_french_whatever_the_bad_body,
    a_second_document_of_a_kind_replaces_the_first_and_names_keep_their_accents,
);

async fn create(app: &TestApp, token: &str, call_id: &str, body: &Value) -> reqwest::Response {
    app.post_json(
        Some(token),
        &format!("/api/v1/calls/{call_id}/applications"),
        body,
    )
    .await
}

fn of_structure(siret: Option<&str>, rna: Option<&str>) -> Value {
    let mut body = sample_application();
    body["organisation"]["siret"] = json!(siret);
    body["organisation"]["rna"] = json!(rna);
    body
}

/// A second application of one SIRET (or, without SIRET, one RNA) to one call is refused
/// with the first's reference, on creation, on a PATCH that changes the identifier, and under
/// concurrent creations; a withdrawn application frees the structure; another call is free.
async fn one_application_per_structure_and_call(app: TestApp) {
    let cast = app.cast().await;
    let (staff, owner, other) = (
        &cast.staff.token,
        &cast.applicant.token,
        &cast.other_applicant.token,
    );
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let sample = of_structure(Some(SAMPLE_SIRET), Some("W595012345"));
    let first = app.draft_application(owner, call_id, &sample).await;
    let first_ref = first["reference"].as_str().unwrap();

    // The same structure again, by its holder or by another account, spaces or not.
    for (token, siret) in [(owner, SAMPLE_SIRET), (other, "732 829 320 00074")] {
        let body = of_structure(Some(siret), None);
        let problem = assert_problem(create(&app, token, call_id, &body).await, 409).await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(first_ref), "{detail}");
        assert!(detail.contains("SIRET 73282932000074"), "{detail}");
        assert_eq!(problem["existing_reference"], first_ref);
        assert_eq!(problem["field"], "organisation.siret");
    }

    // Without a SIRET, the RNA number is the structure's key.
    let rna_only = of_structure(None, Some("W591234567"));
    let by_rna = app.draft_application(other, call_id, &rna_only).await;
    let problem = assert_problem(create(&app, owner, call_id, &rna_only).await, 409).await;
    assert_eq!(problem["existing_reference"], by_rna["reference"]);
    assert_eq!(problem["field"], "organisation.rna");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("RNA W591234567")
    );

    // A PATCH that turns another draft into the first's structure is refused too.
    let second = app
        .draft_application(owner, call_id, &sample_application())
        .await;
    let second_id = second["id"].as_str().unwrap();
    let resp = app
        .patch_json(
            owner,
            &format!("/api/v1/applications/{second_id}"),
            Some("\"1\""),
            &json!({"organisation": {"siret": SAMPLE_SIRET}}),
        )
        .await;
    let problem = assert_problem(resp, 409).await;
    assert_eq!(problem["existing_reference"], first_ref);

    // Another call takes the same structure.
    let other_call = app.published_call(staff, json!({})).await;
    app.draft_application(owner, other_call["id"].as_str().unwrap(), &sample)
        .await;

    // Withdrawn, the first frees its structure for a new application.
    let first_id = first["id"].as_str().unwrap();
    let resp = app
        .post_json(
            Some(owner),
            &format!("/api/v1/applications/{first_id}/withdraw"),
            &json!({"reason": "Dossier refait."}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let again = app.draft_application(owner, call_id, &sample).await;
    assert_ne!(again["reference"], first["reference"]);

    // Concurrent creations of one structure: exactly one wins, the others name it.
    let race_call = app.published_call(staff, json!({})).await;
    let race_id = race_call["id"].as_str().unwrap().to_owned();
    let body = of_structure(Some(&distinct_siret()), None);
    let attempts = (0..8).map(|_| create(&app, owner, &race_id, &body));
    let answers = futures_util::future::join_all(attempts).await;
    let mut created = Vec::new();
    let mut refused = Vec::new();
    for resp in answers {
        match resp.status().as_u16() {
            201 => created.push(resp.json::<Value>().await.unwrap()),
            409 => refused.push(assert_problem(resp, 409).await),
            other => panic!("unexpected {other}: {}", resp.text().await.unwrap()),
        }
    }
    assert_eq!(created.len(), 1, "one creation wins");
    assert_eq!(refused.len(), 7);
    for problem in refused {
        assert_eq!(problem["existing_reference"], created[0]["reference"]);
    }
}

fn location(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("location")
        .unwrap_or_else(|| panic!("201 without Location: {}", resp.url()))
        .to_str()
        .unwrap()
        .to_owned()
}

/// Every 201 carries `Location`, and it names the created resource (a GET there answers it).
async fn created_resources_carry_their_location(app: TestApp) {
    let cast = app.cast().await;
    let (staff, owner) = (&cast.staff.token, &cast.applicant.token);

    let resp = app
        .post_json(
            Some(staff),
            "/api/v1/calls",
            &json!({
                "title": "Entreprendre autrement 2027", "description": "Appel permanent.",
                "budget_cents": 20_000_000
            }),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let at = location(&resp);
    let call: Value = resp.json().await.unwrap();
    assert_eq!(
        at,
        format!("/api/v1/calls/{}", call["id"].as_str().unwrap())
    );
    let read: Value = app.get_as(staff, &at).await.json().await.unwrap();
    assert_eq!(read["id"], call["id"]);

    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let resp = create(&app, owner, call_id, &sample_application()).await;
    assert_eq!(resp.status(), 201);
    let at = location(&resp);
    let draft: Value = resp.json().await.unwrap();
    let id = draft["id"].as_str().unwrap();
    assert_eq!(at, format!("/api/v1/applications/{id}"));
    assert_eq!(app.get_as(owner, &at).await.status(), 200);

    let resp = app.upload(owner, id, "statuts", PDF, "statuts.pdf").await;
    assert_eq!(resp.status(), 201);
    let at = location(&resp);
    let doc: Value = resp.json().await.unwrap();
    assert_eq!(
        at,
        format!(
            "/api/v1/applications/{id}/documents/{}",
            doc["id"].as_str().unwrap()
        )
    );
    assert_eq!(app.get_as(owner, &at).await.status(), 200);

    let submitted = app.submitted_application(owner, call_id).await;
    let sub_id = submitted["id"].as_str().unwrap();
    app.start_review(staff, sub_id, &[&cast.reviewer]).await;
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{sub_id}/assignments"),
            &json!({"reviewer_id": cast.spare_reviewer.id}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let at = location(&resp);
    let assignment: Value = resp.json().await.unwrap();
    assert_eq!(
        at,
        format!("/api/v1/assignments/{}", assignment["id"].as_str().unwrap())
    );
    let read: Value = app.get_as(staff, &at).await.json().await.unwrap();
    assert_eq!(read["id"], assignment["id"]);
    let read: Value = app
        .get_as(&cast.spare_reviewer.token, &at)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(read["reviewer_id"], cast.spare_reviewer.id);
    // Another reviewer's assignment does not exist for them.
    assert_problem(app.get_as(&cast.reviewer.token, &at).await, 404).await;

    let resp = app
        .post_json(
            Some(&cast.admin.token),
            "/api/v1/users/invitations",
            &json!({"email": "nouvel.agent@lillemetropole.fr", "full_name": "Nouvel Agent", "role": "staff"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let at = location(&resp);
    let user: Value = resp.json().await.unwrap();
    assert_eq!(
        at,
        format!("/api/v1/users/{}", user["id"].as_str().unwrap())
    );
}

/// The spec says so: every documented 201 has a `Location` header.
#[test]
fn every_201_in_the_spec_documents_location() {
    let spec = serde_json::to_value(essor::openapi::spec()).unwrap();
    let mut seen = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if let Some(created) = op["responses"].get("201") {
                seen += 1;
                assert!(
                    created["headers"].get("Location").is_some(),
                    "{method} {path}: 201 without a Location header"
                );
            }
        }
    }
    assert!(seen >= 5, "the 201 answers: {seen}");
}

/// `If-Match: 2` (no quotes) is a 400 that shows the quoted form, on a PATCH and on a
/// transition; the quoted form works.
async fn an_unquoted_if_match_is_a_400_saying_how_to_quote_it(app: TestApp) {
    let cast = app.cast().await;
    let owner = &cast.applicant.token;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let draft = app
        .draft_application(owner, call["id"].as_str().unwrap(), &sample_application())
        .await;
    let id = draft["id"].as_str().unwrap();
    let path = format!("/api/v1/applications/{id}");
    let patch = json!({"project": {"title": "Recyclerie du Sart"}});
    let problem = assert_problem(app.patch_json(owner, &path, Some("1"), &patch).await, 400).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("If-Match: \"1\""), "{detail}");
    assert!(detail.contains("guillemets"), "{detail}");
    let resp = app
        .client
        .post(app.url(&format!("{path}/withdraw")))
        .bearer_auth(owner)
        .header("If-Match", "1")
        .json(&json!({"reason": "Projet reporté."}))
        .send()
        .await
        .unwrap();
    assert_problem(resp, 400).await;
    let resp = app.patch_json(owner, &path, Some("\"1\""), &patch).await;
    assert_eq!(resp.status(), 200);
}

/// « La candidature est déposée : l'action « déposer » n'est pas possible. Actions possibles :
/// retirer. » — the state agrees with « la candidature », the actions are French words.
async fn conflicts_say_the_state_and_the_action_in_french(app: TestApp) {
    let cast = app.cast().await;
    let staff = &cast.staff.token;
    let owner: &'static str = cast.applicant.token.clone().leak();
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap();
    let submitted = app.submitted_application(owner, call_id).await;
    let id = submitted["id"].as_str().unwrap();
    let post = |token: &'static str, action: &'static str| {
        let (app, id) = (&app, id.to_owned());
        async move {
            app.post_json(
                Some(token),
                &format!("/api/v1/applications/{id}/{action}"),
                &json!({"reason": "Projet reporté."}),
            )
            .await
        }
    };
    let problem = assert_problem(post(owner, "submit").await, 409).await;
    assert_eq!(
        problem["detail"],
        "La candidature est déposée : l'action « déposer » n'est pas possible. \
         Actions possibles : retirer."
    );
    assert_eq!(problem["allowed_actions"], json!(["withdraw"]));
    let resp = app
        .patch_json(
            owner,
            &format!("/api/v1/applications/{id}"),
            Some("\"2\""),
            &json!({"project": {"title": "Autre titre"}}),
        )
        .await;
    let problem = assert_problem(resp, 409).await;
    assert_eq!(
        problem["detail"],
        "La candidature est déposée : elle ne peut plus être modifiée."
    );
    assert_eq!(post(owner, "withdraw").await.status(), 200);
    let problem = assert_problem(post(owner, "withdraw").await, 409).await;
    assert_eq!(
        problem["detail"],
        "La candidature est retirée : l'action « retirer » n'est pas possible. \
         Aucune action ne vous est ouverte dans cet état."
    );
    // The call: « L'appel à projets est clos ».
    let closed = app
        .post_json(
            Some(staff),
            &format!("/api/v1/calls/{call_id}/close"),
            &json!({}),
        )
        .await;
    assert_eq!(closed.status(), 200);
    let problem = assert_problem(
        app.post_json(
            Some(staff),
            &format!("/api/v1/calls/{call_id}/close"),
            &json!({}),
        )
        .await,
        409,
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains("celui-ci est clos"), "{detail}");
    for problem_text in [detail] {
        for english in ["submit", "withdraw", "« déposé »", "closed", "published"] {
            assert!(!problem_text.contains(english), "{problem_text}");
        }
    }
}

/// A recusal mails the agents with its reason; the last review in mails them that all are in.
/// Both are queued with the change (outbox rows in the same transaction).
async fn staff_are_mailed_on_a_recusal_and_when_all_reviews_are_in(app: TestApp) {
    let cast = app.cast().await;
    let (staff, owner) = (&cast.staff.token, &cast.applicant.token);
    let call = app.published_call(staff, json!({"min_reviews": 1})).await;
    let submitted = app
        .submitted_application(owner, call["id"].as_str().unwrap())
        .await;
    let id = submitted["id"].as_str().unwrap();
    let reference = submitted["reference"].as_str().unwrap();
    let assignments = app
        .start_review(staff, id, &[&cast.reviewer, &cast.spare_reviewer])
        .await;
    let before = staff_mails(&app, "reviewer_recused").await;
    assert!(before.is_empty());
    let resp = app
        .post_json(
            Some(&cast.spare_reviewer.token),
            &format!("/api/v1/assignments/{}/recuse", assignments[1]),
            &json!({"reason": "J'ai conseillé cette structure l'an dernier."}),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let recused = staff_mails(&app, "reviewer_recused").await;
    assert_eq!(recused.len(), 1, "one staff address in the test settings");
    let (recipient, subject, text) = &recused[0];
    assert_eq!(recipient, "ess@lillemetropole.fr");
    assert!(subject.contains(reference), "{subject}");
    assert!(subject.contains("récusé"), "{subject}");
    assert!(
        text.contains("J'ai conseillé cette structure l'an dernier."),
        "{text}"
    );

    // The remaining reviewer submits: every review not recused is in.
    assert!(staff_mails(&app, "reviews_complete").await.is_empty());
    app.review(&cast.reviewer, &assignments[0], [4, 4, 4, 4, 4])
        .await;
    let complete = staff_mails(&app, "reviews_complete").await;
    assert_eq!(complete.len(), 1);
    let (_, subject, text) = &complete[0];
    assert!(subject.contains("toutes les évaluations"), "{subject}");
    assert!(
        text.contains("1 évaluation(s), pour 1 requise(s)"),
        "{text}"
    );
}

/// The staff mails of one event in the outbox: `(recipient, subject, text)`.
async fn staff_mails(app: &TestApp, event: &'static str) -> Vec<(String, String, String)> {
    use diesel::prelude::*;
    use essor::db::schema::outbox;
    app.db
        .run(move |conn| {
            Ok(outbox::table
                .filter(outbox::event.eq(event))
                .filter(outbox::audience.eq("staff"))
                .select((outbox::recipient, outbox::subject, outbox::body_text))
                .load::<(String, String, String)>(conn)?)
        })
        .await
        .unwrap()
}

/// English words of serde, chrono and the standard library that must never reach a user.
const ENGLISH: &[&str] = &[
    "i64",
    "i32",
    "u32",
    "u64",
    "u8",
    "f64",
    "floating point",
    "premature end",
    "invalid type",
    "invalid value",
    "invalid length",
    "expected",
    "input contains",
    "missing field",
    "unknown variant",
    "unknown field",
    "at line",
    "integer `",
    "a string",
    "struct ",
    "invalid digit",
    "EOF",
    "trailing",
];

/// Many bad bodies and parameters, each refused (400/422) with a French message naming what
/// is expected: a date its format, a `_cents` field a whole number of cents.
async fn validation_messages_are_french_whatever_the_bad_body(app: TestApp) {
    let cast = app.cast().await;
    let (staff, owner) = (&cast.staff.token, &cast.applicant.token);
    let call = app.published_call(staff, json!({})).await;
    let call_id = call["id"].as_str().unwrap().to_owned();
    let apply = format!("/api/v1/calls/{call_id}/applications");
    let with = |pointer: &str, value: Value| {
        let mut body = sample_application();
        *body.pointer_mut(pointer).unwrap() = value;
        body
    };
    let cases: Vec<(String, Value, Option<&str>)> = vec![
        (
            apply.clone(),
            with("/organisation/created_on", json!("15/05/2024")),
            Some("date attendue au format AAAA-MM-JJ"),
        ),
        (
            apply.clone(),
            with("/organisation/created_on", json!("2024-05")),
            Some("date attendue au format AAAA-MM-JJ"),
        ),
        (
            apply.clone(),
            with("/organisation/created_on", json!(20240515)),
            Some("date au format AAAA-MM-JJ"),
        ),
        (
            apply.clone(),
            with("/project/starts_on", json!("2027-13-45")),
            Some("date attendue au format AAAA-MM-JJ"),
        ),
        (
            apply.clone(),
            with("/project/requested_cents", json!(20000.5)),
            Some("nombre entier"),
        ),
        (
            apply.clone(),
            with("/project/requested_cents", json!("20000")),
            Some("centimes d'euro"),
        ),
        (
            apply.clone(),
            with("/project/total_budget_cents", json!(1e20)),
            Some("centimes d'euro"),
        ),
        (
            apply.clone(),
            with("/organisation/employees", json!(-1)),
            None,
        ),
        (
            apply.clone(),
            with("/organisation/employees", json!(2.5)),
            None,
        ),
        (
            apply.clone(),
            with("/ess/democratic_governance", json!("oui")),
            Some("true ou false"),
        ),
        (
            apply.clone(),
            with("/project/activity_communes", json!("59009")),
            Some("une liste"),
        ),
        (apply.clone(), with("/organisation", json!(null)), None),
        (
            apply.clone(),
            with("/organisation/legal_form", json!("sarl")),
            Some("valeurs possibles"),
        ),
        (apply.clone(), json!({"organisation": {}}), None),
        (apply.clone(), json!([1, 2]), None),
        (apply.clone(), json!({"unknown": 1}), None),
        (
            "/api/v1/calls".into(),
            json!({"title": "T", "description": "D", "budget_cents": 10.5}),
            Some("centimes d'euro"),
        ),
        (
            "/api/v1/calls".into(),
            json!({"title": "T", "description": "D", "budget_cents": 1000, "opens_at": "demain"}),
            Some("AAAA-MM-JJTHH:MM:SS"),
        ),
        (
            "/api/v1/calls".into(),
            json!({"title": "T", "description": "D", "budget_cents": 1000, "min_reviews": "deux"}),
            None,
        ),
    ];
    for (path, body, wanted) in cases {
        let token = if path == "/api/v1/calls" {
            staff
        } else {
            owner
        };
        let resp = app.post_json(Some(token), &path, &body).await;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        assert!(
            status == 400 || status == 422,
            "{path} {body}: {status} {text}"
        );
        for english in ENGLISH {
            assert!(!text.contains(english), "{body}: « {english} » in {text}");
        }
        if let Some(wanted) = wanted {
            assert!(
                text.contains(wanted),
                "{body}: wanted « {wanted} » in {text}"
            );
        }
    }
    // A committee date typed the French way, in a decision.
    let submitted = app.submitted_application(owner, &call_id).await;
    let id = submitted["id"].as_str().unwrap();
    app.start_review(staff, id, &[&cast.reviewer]).await;
    let resp = app
        .post_json(
            Some(staff),
            &format!("/api/v1/applications/{id}/decision"),
            &json!({"outcome": "rejected", "motivation": "Non.", "committee_date": "15/05/2024"}),
        )
        .await;
    let problem = assert_problem(resp, 422).await;
    let text = problem.to_string();
    assert!(
        text.contains("date attendue au format AAAA-MM-JJ"),
        "{text}"
    );
    for english in ENGLISH {
        assert!(!text.contains(english), "« {english} » in {text}");
    }
    // Query parameters.
    for query in [
        "page=abc",
        "per_page=-1",
        "page=99999999999999999999",
        "state=nope",
    ] {
        let resp = app
            .get_as(staff, &format!("/api/v1/applications?{query}"))
            .await;
        let text = resp.text().await.unwrap();
        for english in ENGLISH {
            assert!(!text.contains(english), "{query}: « {english} » in {text}");
        }
    }
    // A `call_id` that is no id is named; an id of no call is an empty page.
    let problem = assert_problem(
        app.get_as(staff, "/api/v1/applications?call_id=appel-2026")
            .await,
        400,
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("« call_id »") && detail.contains("appel-2026"),
        "{detail}"
    );
    let empty: Value = app
        .get_as(
            staff,
            "/api/v1/applications?call_id=01936f4e-0000-7000-8000-000000000009",
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty["total"], 0, "{empty}");
}

/// A second `statuts` replaces the first (one per kind); annexes add up; the name keeps its
/// accents and apostrophes, and the download says it in `filename*` (RFC 6266).
async fn a_second_document_of_a_kind_replaces_the_first_and_names_keep_their_accents(app: TestApp) {
    let cast = app.cast().await;
    let owner = &cast.applicant.token;
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let draft = app
        .draft_application(owner, call["id"].as_str().unwrap(), &sample_application())
        .await;
    let id = draft["id"].as_str().unwrap();
    let first = app
        .upload(owner, id, "statuts", PDF, "statuts-2024.pdf")
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let name = "Statuts de l'Œuvre – révisés.pdf";
    let second = app.upload(owner, id, "statuts", PDF, name).await;
    assert_eq!(second.status(), 201);
    let second: Value = second.json().await.unwrap();
    assert_eq!(second["filename"], name);
    for annexe in ["a.pdf", "b.pdf"] {
        assert_eq!(
            app.upload(owner, id, "annexe", PDF, annexe).await.status(),
            201
        );
    }
    let docs: Value = app
        .get_as(owner, &format!("/api/v1/applications/{id}/documents"))
        .await
        .json()
        .await
        .unwrap();
    let docs = docs.as_array().unwrap();
    let statuts: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "statuts").collect();
    assert_eq!(statuts.len(), 1, "{docs:?}");
    assert_eq!(statuts[0]["id"], second["id"]);
    assert_eq!(docs.iter().filter(|d| d["kind"] == "annexe").count(), 2);
    let gone = app
        .get_as(
            owner,
            &format!(
                "/api/v1/applications/{id}/documents/{}",
                first["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_problem(gone, 404).await;
    let resp = app
        .get_as(
            owner,
            &format!(
                "/api/v1/applications/{id}/documents/{}",
                second["id"].as_str().unwrap()
            ),
        )
        .await;
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.contains(
            "filename*=UTF-8''Statuts%20de%20l%27%C5%92uvre%20%E2%80%93%20r%C3%A9vis%C3%A9s.pdf"
        ),
        "{disposition}"
    );
    // The history says what replaced what.
    let history: Value = app
        .get_as(owner, &format!("/api/v1/applications/{id}/history"))
        .await
        .json()
        .await
        .unwrap();
    let replaced = history
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "delete-document")
        .expect("the replaced document's deletion");
    assert_eq!(replaced["payload"]["replaced_by"], second["id"]);
}

/// No staff address: a WARN at start-up (the binary, on this database) and a line in
/// `/health/ready`'s body; with one, the body says the mails have a recipient.
async fn staff_mail_nowhere_is_said_at_start_up_and_in_health(backend: crate::helpers::Backend) {
    let app = spawn_app_with(backend, &[("APP__MAIL__STAFF_ADDRESSES", "")])
        .await
        .expect("a server");
    let health: Value = app.get("/health/ready").await.json().await.unwrap();
    assert_eq!(health["staff_mail"], "none", "{health}");
    assert!(
        health["warnings"][0]
            .as_str()
            .unwrap()
            .contains("APP__MAIL__STAFF_ADDRESSES"),
        "{health}"
    );
    let log = run_server_briefly(&app, &[("APP__MAIL__STAFF_ADDRESSES", "")], |_| async {}).await;
    let warn = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("APP__MAIL__STAFF_ADDRESSES"))
        .unwrap_or_else(|| panic!("no WARN about staff addresses in:\n{log}"));
    assert!(warn.contains("mail.staff_addresses"), "{warn}");

    let configured = spawn_app_with(backend, &[]).await.expect("a server");
    let health: Value = configured.get("/health/ready").await.json().await.unwrap();
    assert_eq!(health["staff_mail"], "configured");
    assert!(health.get("warnings").is_none(), "{health}");
}

/// Runs `essor serve` on `app`'s database until `during` has talked to it; returns its log.
async fn run_server_briefly<F, Fut>(app: &TestApp, env: &[(&str, &str)], during: F) -> String
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_essor"));
    cmd.arg("serve")
        .env("APP_ENV", "test")
        .env("DATABASE_URL", &app.settings.database.url)
        .env("APP__DATA_DIR", &app.settings.data_dir)
        .env("APP__SERVER__PORT", "0")
        .env("RUST_LOG", "info")
        .env_remove("APP__MAIL__STAFF_ADDRESSES")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("essor serve starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // The log is read as written: a pipe is not a terminal, so it carries no colours.
    let plain = |line: String| line;
    let mut log = String::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let address = loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .map(plain)
            .unwrap_or_else(|_| panic!("essor serve never listened:\n{log}"));
        log.push_str(&line);
        log.push('\n');
        if let Some(at) = line.find("http://") {
            let addr: String = line[at..]
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '"')
                .collect();
            if line.contains("listening") {
                break addr;
            }
        }
    };
    during(address).await;
    // Let the last events reach the pipe, then stop the server this test started.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    child.kill().expect("stop the server");
    child.wait().expect("reaped");
    reader.join().unwrap();
    while let Ok(line) = rx.try_recv().map(plain) {
        log.push_str(&line);
        log.push('\n');
    }
    log
}

/// 4xx answers are logged at INFO (a refused submission with its reason's codes, not its
/// report), never WARN; the server is the real binary, on this database.
async fn refusals_are_logged_at_info_with_their_reason(backend: crate::helpers::Backend) {
    let app = crate::helpers::spawn_app(backend).await.expect("a server");
    let cast = app.cast().await;
    let owner = cast.applicant.token.clone();
    let call = app.published_call(&cast.staff.token, json!({})).await;
    let draft = app
        .draft_application(&owner, call["id"].as_str().unwrap(), &sample_application())
        .await;
    let id = draft["id"].as_str().unwrap().to_owned();
    let client = app.client.clone();
    let log = run_server_briefly(&app, &[], |address| async move {
        // Incomplete: the required documents are missing.
        let resp = client
            .post(format!("{address}/api/v1/applications/{id}/submit"))
            .bearer_auth(&owner)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422);
        let resp = client
            .get(format!(
                "{address}/api/v1/applications/01936f4e-0000-7000-8000-000000000000"
            ))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
    })
    .await;
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("request refused"))
        .collect();
    assert_eq!(refused.len(), 2, "{log}");
    for line in &refused {
        assert!(line.contains("INFO"), "{line}");
        assert!(line.len() < 1500, "a short line, not a report: {line}");
    }
    let submission = refused
        .iter()
        .find(|l| l.contains("status=422"))
        .expect("the 422");
    assert!(submission.contains("documents"), "{submission}");
    assert!(!submission.contains("criteria"), "{submission}");
    assert!(
        !log.lines()
            .any(|l| l.contains("WARN") && l.contains("HTTP request")),
        "{log}"
    );
}

/// `essor create-user` with a refused password says why once, on stderr.
async fn create_user_says_its_error_once(app: TestApp) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_essor"))
        .args([
            "create-user",
            "--role",
            "admin",
            "--email",
            "admin@lillemetropole.fr",
            "--full-name",
            "Admin",
            "--password-stdin",
        ])
        .env("APP_ENV", "test")
        .env("DATABASE_URL", &app.settings.database.url)
        .env("APP__DATA_DIR", &app.settings.data_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "court").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("12 caractères").count(), 1, "{stderr}");
}

both_backends!(create_user_says_its_error_once);

/// Issue 26: the log written to a pipe has no colours; one line per request (method, route
/// template, status, duration, request id) and one per refused form; in development, a base
/// URL that is not the server's is warned about at start-up.
async fn logs_are_plain_one_line_per_request_and_per_refused_form(
    backend: crate::helpers::Backend,
) {
    let app = crate::helpers::spawn_app(backend).await.expect("a server");
    let client = app.client.clone();
    let log = run_server_briefly(
        &app,
        &[
            ("APP_ENV", "development"),
            ("APP__FRONTEND__BASE_URL", "http://localhost:9999"),
        ],
        |address| async move {
            assert_eq!(
                client
                    .get(format!("{address}/appels"))
                    .send()
                    .await
                    .unwrap()
                    .status(),
                200
            );
            let page = client
                .get(format!("{address}/compte/inscription"))
                .send()
                .await
                .unwrap();
            let cookie = page
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
                .collect::<Vec<_>>()
                .join("; ");
            let html = page.text().await.unwrap();
            let marker = "name=\"_csrf\" value=\"";
            let start = html.find(marker).expect("a CSRF field") + marker.len();
            let csrf = &html[start..start + 64];
            let resp = client
                .post(format!("{address}/compte/inscription"))
                .header("cookie", cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    url::form_urlencoded::Serializer::new(String::new())
                        .extend_pairs([
                            ("_csrf", csrf),
                            ("full_name", ""),
                            ("email", "pas-une-adresse"),
                            ("password", "x"),
                        ])
                        .finish(),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 422);
        },
    )
    .await;
    assert!(
        !log.contains('\u{1b}'),
        "no ANSI colours in a piped log:\n{log}"
    );
    let warn = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("APP__FRONTEND__BASE_URL"))
        .unwrap_or_else(|| panic!("no warning about the base URL in:\n{log}"));
    assert!(warn.contains("http://localhost:9999"), "{warn}");
    let requests: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("http.route=/appels ") || l.contains("http.route=/appels:"))
        .filter(|l| l.contains("request"))
        .collect();
    assert_eq!(requests.len(), 1, "one line for GET /appels:\n{log}");
    let r = requests[0];
    for needle in [
        "http.method=GET",
        "status=200",
        "duration_ms=",
        "request_id=",
    ] {
        assert!(r.contains(needle), "« {needle} » in {r}");
    }
    let refused: Vec<&str> = log.lines().filter(|l| l.contains("form refused")).collect();
    assert_eq!(refused.len(), 1, "{log}");
    assert!(
        refused[0].contains("form=/compte/inscription") && refused[0].contains("email"),
        "{}",
        refused[0]
    );
    assert!(
        !refused[0].contains("pas-une-adresse"),
        "never the values typed"
    );
}

mod by_backend {
    use crate::helpers::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn logs_plain_per_request_sqlite() {
        super::logs_are_plain_one_line_per_request_and_per_refused_form(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn logs_plain_per_request_postgres() {
        super::logs_are_plain_one_line_per_request_and_per_refused_form(Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn staff_mail_nowhere_sqlite() {
        super::staff_mail_nowhere_is_said_at_start_up_and_in_health(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn staff_mail_nowhere_postgres() {
        super::staff_mail_nowhere_is_said_at_start_up_and_in_health(Backend::Postgres).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refusals_logged_at_info_sqlite() {
        super::refusals_are_logged_at_info_with_their_reason(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refusals_logged_at_info_postgres() {
        super::refusals_are_logged_at_info_with_their_reason(Backend::Postgres).await;
    }
}
