//! The OpenAPI document, generated from the handlers' annotations. `openapi.yaml` at the
//! repository root is its committed copy (`essor openapi > openapi.yaml`), kept equal by a test.

use actix_web::App;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "essor",
        description = "API de l'appel à projets « Entreprendre autrement » de la Métropole \
                       Européenne de Lille : dépôt des candidatures des structures de l'économie \
                       sociale et solidaire, contrôle d'éligibilité (loi n° 2014-856 du 31 juillet \
                       2014), instruction, notation, décisions et exports.\n\n\
                       Errors are `application/problem+json` (RFC 9457) with a French `detail`; \
                       422 answers carry an `errors` map (field path -> messages).",
        license(name = "EUPL-1.2", identifier = "EUPL-1.2"),
    ),
    components(schemas(Problem)),
    modifiers(&Security),
    tags(
        (name = "health", description = "Probes for load balancers."),
        (name = "meta", description = "The API's own description."),
        (name = "auth", description = "Registration, tokens, address verification, password reset, invitations."),
        (name = "users", description = "Accounts."),
        (name = "exports", description = "Exports of a call's applications for staff: CSV, XLSX, JSON, SCDL « subventions »."),
        (name = "grants", description = "After the decision (DESIGN.md §15): grants and the letters essor writes (PDF/UA-1)."),
        (name = "finance", description = "The finance service's list of a call's instalments, and its file imported back (DESIGN.md §15)."),
        (name = "communes", description = "A commune's account (DESIGN.md §16): the applications taking place in its commune, and its opinion on them."),
        (name = "registry", description = "The companies' register (DESIGN.md §17): a SIRET looked up, the evidence kept at submission."),
        (name = "territory", description = "The territory (DESIGN.md §16): the figures of the MEL's 95 communes."),
        (name = "admin", description = "Administration: the mail outbox."),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `POST /api/v1/auth/token` (a JWT, valid one hour), or a \
                         personal access token `essor_pat_…` from `POST /api/v1/me/tokens` \
                         (scoped, expiring, revocable), sent as `Authorization: Bearer …`. \
                         Each operation names the scope a personal token needs.",
                    ))
                    .build(),
            ),
        );
    }
}

/// OpenAPI links from a created resource to what can be done with it, so that clients (and
/// schemathesis' stateful runs) can follow a call to its applications and an application to
/// its transitions.
struct Links;

/// (operation, status, link name, target operation, [(parameter, runtime expression)]).
type LinkSpec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const CALL_ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
const APPLICATION_ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
const SAME_APPLICATION: &[(&str, &str)] = &[("id", "$request.path.id")];
const DOCUMENT: &[(&str, &str)] = &[("id", "$request.path.id"), ("doc_id", "$response.body#/id")];
const ASSIGNMENT: &[(&str, &str)] = &[("id", "$response.body#/id")];
/// The first item of a list page.
const FIRST: &[(&str, &str)] = &[("id", "$response.body#/items/0/id")];

const LINKS: &[LinkSpec] = &[
    ("list_calls", "200", "GetCall", "get_call", FIRST),
    (
        "list_calls",
        "200",
        "CreateApplication",
        "create_application",
        FIRST,
    ),
    ("list_calls", "200", "Ranking", "call_ranking", FIRST),
    (
        "list_applications",
        "200",
        "GetApplication",
        "get_application",
        FIRST,
    ),
    (
        "list_applications",
        "200",
        "UpdateApplication",
        "update_application",
        FIRST,
    ),
    (
        "list_applications",
        "200",
        "Eligibility",
        "application_eligibility",
        FIRST,
    ),
    (
        "list_applications",
        "200",
        "History",
        "application_history",
        FIRST,
    ),
    (
        "list_applications",
        "200",
        "ListDocuments",
        "list_documents",
        FIRST,
    ),
    ("list_applications", "200", "Submit", "submit", FIRST),
    ("list_applications", "200", "Withdraw", "withdraw", FIRST),
    (
        "list_applications",
        "200",
        "RequestChanges",
        "request_changes",
        FIRST,
    ),
    (
        "list_applications",
        "200",
        "DeclareIneligible",
        "declare_ineligible",
        FIRST,
    ),
    (
        "list_applications",
        "200",
        "StartReview",
        "start_review",
        FIRST,
    ),
    ("list_applications", "200", "Decision", "decision", FIRST),
    (
        "list_applications",
        "200",
        "Reviews",
        "application_reviews",
        FIRST,
    ),
    (
        "list_applications",
        "200",
        "AssignReviewer",
        "assign_reviewer",
        FIRST,
    ),
    (
        "list_assignments",
        "200",
        "AcceptAssignment",
        "accept_assignment",
        FIRST,
    ),
    (
        "list_assignments",
        "200",
        "RecuseAssignment",
        "recuse_assignment",
        FIRST,
    ),
    (
        "list_assignments",
        "200",
        "SaveReview",
        "save_review",
        FIRST,
    ),
    ("list_assignments", "200", "GetReview", "get_review", FIRST),
    (
        "list_assignments",
        "200",
        "SubmitReview",
        "submit_review",
        FIRST,
    ),
    ("list_outbox", "200", "RetryOutbox", "retry_outbox", FIRST),
    ("create_call", "201", "GetCall", "get_call", CALL_ID),
    ("create_call", "201", "UpdateCall", "update_call", CALL_ID),
    ("create_call", "201", "PublishCall", "publish_call", CALL_ID),
    (
        "publish_call",
        "200",
        "CreateApplication",
        "create_application",
        CALL_ID,
    ),
    ("publish_call", "200", "CloseCall", "close_call", CALL_ID),
    ("publish_call", "200", "Ranking", "call_ranking", CALL_ID),
    ("publish_call", "200", "Export", "export_call", CALL_ID),
    ("list_calls", "200", "Export", "export_call", FIRST),
    (
        "publish_call",
        "200",
        "FinanceList",
        "export_instalments",
        CALL_ID,
    ),
    (
        "create_application",
        "201",
        "GetApplication",
        "get_application",
        APPLICATION_ID,
    ),
    (
        "create_application",
        "201",
        "UpdateApplication",
        "update_application",
        APPLICATION_ID,
    ),
    (
        "create_application",
        "201",
        "Eligibility",
        "application_eligibility",
        APPLICATION_ID,
    ),
    (
        "create_application",
        "201",
        "History",
        "application_history",
        APPLICATION_ID,
    ),
    (
        "create_application",
        "201",
        "UploadDocument",
        "upload_document",
        APPLICATION_ID,
    ),
    (
        "create_application",
        "201",
        "ListDocuments",
        "list_documents",
        APPLICATION_ID,
    ),
    (
        "create_application",
        "201",
        "Submit",
        "submit",
        APPLICATION_ID,
    ),
    (
        "create_application",
        "201",
        "Withdraw",
        "withdraw",
        APPLICATION_ID,
    ),
    (
        "submit",
        "200",
        "RequestChanges",
        "request_changes",
        APPLICATION_ID,
    ),
    (
        "submit",
        "200",
        "DeclareIneligible",
        "declare_ineligible",
        APPLICATION_ID,
    ),
    (
        "submit",
        "200",
        "StartReview",
        "start_review",
        APPLICATION_ID,
    ),
    ("submit", "200", "Withdraw", "withdraw", APPLICATION_ID),
    (
        "start_review",
        "200",
        "AssignReviewer",
        "assign_reviewer",
        APPLICATION_ID,
    ),
    (
        "start_review",
        "200",
        "Reviews",
        "application_reviews",
        APPLICATION_ID,
    ),
    (
        "start_review",
        "200",
        "Decision",
        "decision",
        APPLICATION_ID,
    ),
    (
        "request_changes",
        "200",
        "UpdateApplication",
        "update_application",
        APPLICATION_ID,
    ),
    ("request_changes", "200", "Submit", "submit", APPLICATION_ID),
    (
        "upload_document",
        "201",
        "DownloadDocument",
        "download_document",
        DOCUMENT,
    ),
    (
        "upload_document",
        "201",
        "DeleteDocument",
        "delete_document",
        DOCUMENT,
    ),
    (
        "upload_document",
        "201",
        "Submit",
        "submit",
        SAME_APPLICATION,
    ),
    (
        "assign_reviewer",
        "201",
        "AcceptAssignment",
        "accept_assignment",
        ASSIGNMENT,
    ),
    (
        "assign_reviewer",
        "201",
        "RecuseAssignment",
        "recuse_assignment",
        ASSIGNMENT,
    ),
    (
        "accept_assignment",
        "200",
        "SaveReview",
        "save_review",
        ASSIGNMENT,
    ),
    (
        "accept_assignment",
        "200",
        "GetReview",
        "get_review",
        ASSIGNMENT,
    ),
    (
        "accept_assignment",
        "200",
        "SubmitReview",
        "submit_review",
        ASSIGNMENT,
    ),
];

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::link::LinkBuilder;
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let Some(op_id) = op.operation_id.clone() else {
                    continue;
                };
                for (_, status, name, target, params) in LINKS.iter().filter(|l| l.0 == op_id) {
                    if let Some(RefOr::T(resp)) = op.responses.responses.get_mut(*status) {
                        let mut link = LinkBuilder::new()
                            .operation_id(*target)
                            .description(format!("Follow with `{target}`."));
                        for (param, expr) in params.iter() {
                            link = link.parameter(*param, *expr);
                        }
                        resp.links
                            .insert((*name).to_owned(), RefOr::T(link.build()));
                    }
                }
            }
        }
    }
}

/// What a personal access token needs on each operation (`domain::tokens::ROUTES`), said in
/// its description, with the 403 a token without it gets.
struct Scopes;

impl Modify for Scopes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use crate::domain::tokens::{Need, need};
        use utoipa::openapi::RefOr;
        use utoipa::openapi::ResponseBuilder;
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, op) in [
                ("GET", &mut item.get),
                ("POST", &mut item.post),
                ("PUT", &mut item.put),
                ("PATCH", &mut item.patch),
                ("DELETE", &mut item.delete),
            ] {
                let Some(op) = op else { continue };
                let (note, refusal) = match need(method, path) {
                    Need::Open => continue,
                    Need::Scope(s) => (
                        format!("Personal access tokens need the `{}` scope.", s.as_str()),
                        format!("A personal token without the `{}` scope.", s.as_str()),
                    ),
                    Need::NoToken => (
                        "Not open to personal access tokens: sign in with a password.".to_owned(),
                        "A personal access token (not open to them).".to_owned(),
                    ),
                };
                let description = op.description.get_or_insert_with(String::new);
                if !description.is_empty() {
                    description.push_str("\n\n");
                }
                description.push_str(&note);
                match op.responses.responses.get_mut("403") {
                    Some(RefOr::T(resp)) => {
                        if !resp.description.contains(&refusal) {
                            resp.description = format!("{} Or: {refusal}", resp.description);
                        }
                    }
                    _ => {
                        let problem = utoipa::openapi::content::ContentBuilder::new()
                            .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                            .build();
                        op.responses.responses.insert(
                            "403".to_owned(),
                            RefOr::T(
                                ResponseBuilder::new()
                                    .description(refusal)
                                    .content("application/problem+json", problem)
                                    .build(),
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// Builds the document by mounting the routes on a throw-away `App`.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::api::configure)
        .split_for_parts();
    // After the routes are mounted: `modifiers` of the derive run before there are paths.
    Links.modify(&mut api);
    Scopes.modify(&mut api);
    api
}

#[expect(
    clippy::expect_used,
    reason = "the spec is built from the code's own types; a failure is a bug the drift test shows"
)]
pub fn spec_yaml() -> String {
    let yaml = spec()
        .to_yaml()
        .expect("the OpenAPI document serialises to YAML");
    quote_yaml11_scalars(&yaml)
}

/// The YAML writer follows YAML 1.2, where `2026-01-01` is a string; a YAML 1.1 reader
/// (PyYAML, many tools) reads it as a date, and `yes`/`no`/`on`/`off` as booleans, so it
/// would not read the document the JSON is. Such plain scalars are single-quoted: the same
/// string for every reader.
pub fn quote_yaml11_scalars(yaml: &str) -> String {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out = String::with_capacity(yaml.len() + 64);
    // Inside a block scalar (`|`, `>`…) lines are text: left as they are.
    let mut block: Option<usize> = None;
    for line in yaml.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if let Some(level) = block {
            if body.trim().is_empty() || indent(body) > level {
                out.push_str(line);
                continue;
            }
            block = None;
        }
        let trimmed = body.trim_end();
        if ["|", "|-", "|+", ">", ">-", ">+"]
            .iter()
            .any(|m| trimmed.ends_with(&format!(" {m}")))
        {
            block = Some(indent(body));
            out.push_str(line);
            continue;
        }
        let (head, scalar) = split_plain_scalar(body);
        if is_yaml11_special(scalar) {
            out.push_str(head);
            out.push('\'');
            out.push_str(&scalar.replace('\'', "''"));
            out.push('\'');
        } else {
            out.push_str(body);
        }
        out.push_str(end);
    }
    out
}

/// `(everything before the value, the value)` of `  - key: value` / `  - value` /
/// `  key: value`; the value is empty when the line holds none (or a quoted one).
fn split_plain_scalar(line: &str) -> (&str, &str) {
    let mut rest = line.trim_start();
    while let Some(r) = rest.strip_prefix("- ") {
        rest = r.trim_start();
    }
    let key_char = |c: char| c.is_ascii_alphanumeric() || "_$./{}-".contains(c);
    if let Some((key, value)) = rest.split_once(": ")
        && !key.is_empty()
        && key.chars().all(key_char)
    {
        rest = value;
    }
    if rest.is_empty() || rest.starts_with(['\'', '"']) {
        return (line, "");
    }
    let at = line.len() - rest.len();
    (&line[..at], rest)
}

/// A plain scalar a YAML 1.1 reader takes for a date, a timestamp or a boolean.
pub fn is_yaml11_special(scalar: &str) -> bool {
    const BOOLEANS: &[&str] = &[
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF",
    ];
    if BOOLEANS.contains(&scalar) {
        return true;
    }
    // YYYY-M(M)-D(D), alone or followed by a time.
    let b = scalar.as_bytes();
    let digits = |from: usize, n: usize| {
        b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit)
    };
    if !(digits(0, 4) && b.get(4) == Some(&b'-')) {
        return false;
    }
    let month = if digits(5, 2) {
        2
    } else if digits(5, 1) {
        1
    } else {
        return false;
    };
    let dash = 5 + month;
    if b.get(dash) != Some(&b'-') {
        return false;
    }
    let day = if digits(dash + 1, 2) {
        2
    } else if digits(dash + 1, 1) {
        1
    } else {
        return false;
    };
    matches!(b.get(dash + 1 + day), None | Some(b'T' | b't' | b' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every documented operation has its line in the scope table: none falls through to the
    /// table's default, and no line names a route that is gone.
    #[test]
    fn the_scope_table_covers_exactly_the_documented_routes() {
        let spec = spec();
        let mut documented = std::collections::BTreeSet::new();
        for (path, item) in &spec.paths.paths {
            for (m, op) in [
                ("GET", &item.get),
                ("POST", &item.post),
                ("PUT", &item.put),
                ("PATCH", &item.patch),
                ("DELETE", &item.delete),
            ] {
                if op.is_some() {
                    documented.insert((m.to_owned(), path.clone()));
                }
            }
        }
        let table: std::collections::BTreeSet<(String, String)> = crate::domain::tokens::ROUTES
            .iter()
            .map(|(m, p, _)| ((*m).to_owned(), (*p).to_owned()))
            .collect();
        assert_eq!(
            documented.difference(&table).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "routes without a scope"
        );
        assert_eq!(
            table.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "scopes for routes that do not exist"
        );
    }

    #[test]
    fn yaml11_dates_and_booleans_are_quoted() {
        let cases = [
            (
                "        example: 2026-01-01\n",
                "        example: '2026-01-01'\n",
            ),
            (
                "  example: 2027-03-31T12:00:00\n",
                "  example: '2027-03-31T12:00:00'\n",
            ),
            ("      - 2027-01-15\n", "      - '2027-01-15'\n"),
            ("  example: no\n", "  example: 'no'\n"),
            ("  example: '2026-01-01'\n", "  example: '2026-01-01'\n"),
            ("  example: 2026\n", "  example: 2026\n"),
            (
                "  description: 2026-01-01 is a date\n",
                "  description: '2026-01-01 is a date'\n",
            ),
            ("  example: EA-2026-00042\n", "  example: EA-2026-00042\n"),
            (
                "  description: |-\n    Text\n    - 2026-01-01 stays\n  example: 2026-01-01\n",
                "  description: |-\n    Text\n    - 2026-01-01 stays\n  example: '2026-01-01'\n",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(quote_yaml11_scalars(input), expected, "{input}");
        }
    }

    /// Every link names operations that exist, so a renamed handler cannot leave a dead link.
    #[test]
    fn links_point_at_real_operations() {
        let spec = spec();
        let ids: Vec<String> = spec
            .paths
            .paths
            .values()
            .flat_map(|i| [&i.get, &i.post, &i.put, &i.patch, &i.delete])
            .flatten()
            .filter_map(|op| op.operation_id.clone())
            .collect();
        for (from, status, name, to, _) in LINKS {
            assert!(
                ids.iter().any(|i| i == from),
                "link {name}: no operation {from}"
            );
            assert!(
                ids.iter().any(|i| i == to),
                "link {name}: no operation {to}"
            );
            let json = spec.to_json().unwrap();
            assert!(
                json.contains(&format!("\"{name}\"")),
                "link {name} on {from} {status} not rendered"
            );
        }
    }
}
