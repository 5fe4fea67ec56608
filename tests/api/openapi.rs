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
