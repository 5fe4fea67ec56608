use serde_json::Value;

use crate::both_backends;
use crate::helpers::TestApp;

both_backends!(served_spec_is_the_committed_one);

fn committed() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml at the repository root");
    serde_yaml::from_str(&text).expect("openapi.yaml is YAML")
}

/// `openapi.yaml` is what the code generates. `UPDATE_OPENAPI=1 cargo test` rewrites it.
#[test]
fn openapi_yaml_is_up_to_date() {
    let generated = essor::openapi::spec_yaml();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml");
    if std::env::var("UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
        std::fs::write(path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "openapi.yaml drifted from the code: run `cargo run -- openapi > openapi.yaml` \
         (or UPDATE_OPENAPI=1 cargo test) and commit it"
    );
}

async fn served_spec_is_the_committed_one(app: TestApp) {
    let resp = app.get("/api/v1/openapi.json").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers().get("content-type").unwrap(),
        "application/json"
    );
    let served: Value = resp.json().await.unwrap();
    assert_eq!(served, committed());
    assert!(served["openapi"].as_str().unwrap().starts_with("3."));
}

/// A YAML 1.1 reader (PyYAML) takes an unquoted `2026-01-01` for a date and `no` for false:
/// the committed document quotes every such scalar, so it reads the same as the JSON.
#[test]
fn openapi_yaml_quotes_every_yaml11_date_or_boolean() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml at the repository root");
    let mut unquoted = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line.trim_start();
        while let Some(r) = rest.strip_prefix("- ") {
            rest = r.trim_start();
        }
        let value = match rest.split_once(": ") {
            Some((_, v)) => v,
            None => rest,
        };
        if essor::openapi::is_yaml11_special(value.trim()) {
            unquoted.push(format!("{}: {line}", n + 1));
        }
    }
    assert!(
        unquoted.is_empty(),
        "unquoted YAML 1.1 scalars:\n{}",
        unquoted.join("\n")
    );
    assert!(
        text.contains("example: '2025-03-01'"),
        "the dates are there, quoted"
    );
}

/// Issue 26: every binary response (a document, an XLSX workbook) is a `string` of format
/// `binary`, never an array of integers, so that generated clients read a file.
#[test]
fn binary_bodies_are_binary_strings() {
    let spec = committed();
    let schemas = &spec["components"]["schemas"];
    let resolve = |s: &Value| -> Value {
        match s["$ref"].as_str() {
            Some(r) => schemas[r.trim_start_matches("#/components/schemas/")].clone(),
            None => s.clone(),
        }
    };
    let download = &spec["paths"]["/api/v1/applications/{id}/documents/{doc_id}"]["get"]["responses"]
        ["200"]["content"];
    let types = download.as_object().expect("the download's content types");
    assert!(types.contains_key("application/pdf"), "{download}");
    for (media, body) in types {
        let schema = resolve(&body["schema"]);
        assert_eq!(schema["type"], "string", "{media}: {schema}");
        assert_eq!(schema["format"], "binary", "{media}: {schema}");
    }
    // Nowhere in the document an array of bytes.
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(responses) = op["responses"].as_object() else {
                continue;
            };
            for (status, r) in responses {
                for (media, body) in r["content"].as_object().into_iter().flatten() {
                    if media.contains("json") || media.starts_with("text/") {
                        continue;
                    }
                    let schema = resolve(&body["schema"]);
                    assert_ne!(schema["type"], "array", "{method} {path} {status} {media}");
                }
            }
        }
    }
}
