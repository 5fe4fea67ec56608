//! The authorization matrix: every operation of the generated OpenAPI document, called by
//! each kind of caller, gets the status this table expects — and never a 5xx. An operation
//! missing from the table fails the test, so a new route cannot be forgotten.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Cast, PASSWORD, PDF, TestApp, review_body, sample_application};

both_backends!(
    every_route_answers_each_role_as_expected,
    every_route_answers_each_personal_token_scope_as_expected
);

/// Callers, in the order of the `expect` columns.
const CALLERS: [&str; 7] = [
    "anonymous",
    "applicant",
    "other_applicant",
    "reviewer",
    "staff",
    "admin",
    "commune",
];

/// What a row needs to exist before it is called.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fix {
    /// Nothing, or the shared world (a published call, a draft with a document).
    Shared,
    /// A new draft call, per caller.
    DraftCall,
    /// A new published call, per caller.
    PublishedCall,
    /// A new draft application of the applicant, with a document, per caller.
    Draft,
    /// A new complete draft (every required document), per caller.
    CompleteDraft,
    /// A new submitted application, per caller.
    Submitted,
    /// Under review, with a pending assignment of the cast's reviewer.
    UnderReview,
    /// The reviewer accepted the assignment.
    Accepted,
    /// The reviewer saved a draft review.
    Drafted,
    /// The reviewer submitted the review (enough for a decision: the call asks for one).
    Reviewed,
    /// Reviewed, then awarded 100 € by staff: a grant and its award letter.
    Decided,
    /// Decided in a call that requires a convention: the grant waits for its signature.
    AwaitingSignature,
    /// AwaitingSignature, then signed by the applicant: the grant waits for staff.
    Signed,
    /// A new applicant registered over HTTP: the verification link of its mail.
    VerifyLink,
    /// A new account that asked for a reset: the link of its mail.
    ResetLink,
    /// A new invitation by the admin: the link of its mail.
    InviteLink,
    /// A new account for the admin to change (`{id}` of `/users/{id}`).
    OtherAccount,
    /// A personal access token of the applicant (revoked at once, so that the many the
    /// matrix makes stay under the per-account limit of active tokens).
    ApplicantToken,
}

struct Row {
    method: &'static str,
    path: &'static str,
    fix: Fix,
    /// Expected status for anonymous, applicant (owner), other applicant, reviewer, staff,
    /// admin, and the account of a commune where the row's application takes place. The
    /// reviewer is assigned to the row's application in the review fixtures (UnderReview and
    /// later), and to nothing otherwise.
    expect: [u16; 7],
}

const fn row(method: &'static str, path: &'static str, fix: Fix, expect: [u16; 7]) -> Row {
    Row {
        method,
        path,
        fix,
        expect,
    }
}

use Fix::*;

const ROWS: &[Row] = &[
    row(
        "GET",
        "/health/live",
        Shared,
        [200, 200, 200, 200, 200, 200, 200],
    ),
    row(
        "GET",
        "/health/ready",
        Shared,
        [200, 200, 200, 200, 200, 200, 200],
    ),
    row(
        "GET",
        "/api/v1/openapi.json",
        Shared,
        [200, 200, 200, 200, 200, 200, 200],
    ),
    row(
        "POST",
        "/api/v1/auth/register",
        Shared,
        [202, 202, 202, 202, 202, 202, 202],
    ),
    // Links from mails work whoever follows them (the token is the credential).
    row(
        "POST",
        "/api/v1/auth/verify-email",
        VerifyLink,
        [204, 204, 204, 204, 204, 204, 204],
    ),
    // The cast's addresses are verified already: 409 says so, to whoever is signed in.
    row(
        "POST",
        "/api/v1/auth/verify-email/resend",
        Shared,
        [401, 409, 409, 409, 409, 409, 409],
    ),
    row(
        "POST",
        "/api/v1/auth/password-reset",
        Shared,
        [202, 202, 202, 202, 202, 202, 202],
    ),
    row(
        "POST",
        "/api/v1/auth/password-reset/confirm",
        ResetLink,
        [204, 204, 204, 204, 204, 204, 204],
    ),
    row(
        "POST",
        "/api/v1/auth/invitations/accept",
        InviteLink,
        [204, 204, 204, 204, 204, 204, 204],
    ),
    row(
        "POST",
        "/api/v1/auth/token",
        Shared,
        [200, 200, 200, 200, 200, 200, 200],
    ),
    row(
        "GET",
        "/api/v1/me",
        Shared,
        [401, 200, 200, 200, 200, 200, 200],
    ),
    row(
        "GET",
        "/api/v1/me/tokens",
        Shared,
        [401, 200, 200, 200, 200, 200, 200],
    ),
    row(
        "POST",
        "/api/v1/me/tokens",
        Shared,
        [401, 201, 201, 201, 201, 201, 201],
    ),
    // Only the owner reaches a token; anyone else is told it does not exist.
    row(
        "GET",
        "/api/v1/me/tokens/{id}",
        ApplicantToken,
        [401, 200, 404, 404, 404, 404, 404],
    ),
    row(
        "DELETE",
        "/api/v1/me/tokens/{id}",
        ApplicantToken,
        [401, 204, 404, 404, 404, 404, 404],
    ),
    row(
        "GET",
        "/api/v1/me/data",
        Shared,
        [401, 200, 200, 200, 200, 200, 200],
    ),
    // An empty name and a wrong password: 422 shows the route let the caller in without
    // renaming or erasing the cast.
    row(
        "PATCH",
        "/api/v1/me",
        Shared,
        [401, 422, 422, 422, 422, 422, 422],
    ),
    row(
        "DELETE",
        "/api/v1/me",
        Shared,
        [401, 422, 422, 422, 422, 422, 422],
    ),
    // With a wrong current password (a right one would end the cast's tokens): 422 shows the
    // route let the caller in.
    row(
        "POST",
        "/api/v1/me/password",
        Shared,
        [401, 422, 422, 422, 422, 422, 422],
    ),
    row(
        "POST",
        "/api/v1/users/invitations",
        Shared,
        [401, 403, 403, 403, 403, 201, 403],
    ),
    row(
        "PATCH",
        "/api/v1/users/{id}",
        OtherAccount,
        [401, 403, 403, 403, 403, 200, 403],
    ),
    row(
        "GET",
        "/api/v1/users",
        Shared,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    row(
        "POST",
        "/api/v1/calls",
        Shared,
        [401, 403, 403, 403, 201, 201, 403],
    ),
    row(
        "GET",
        "/api/v1/calls",
        Shared,
        [200, 200, 200, 200, 200, 200, 200],
    ),
    row(
        "GET",
        "/api/v1/calls/{id}",
        Shared,
        [200, 200, 200, 200, 200, 200, 200],
    ),
    row(
        "PATCH",
        "/api/v1/calls/{id}",
        PublishedCall,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    row(
        "POST",
        "/api/v1/calls/{id}/publish",
        DraftCall,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    row(
        "POST",
        "/api/v1/calls/{id}/close",
        PublishedCall,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    row(
        "GET",
        "/api/v1/calls/{id}/export",
        Shared,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    row(
        "POST",
        "/api/v1/calls/{id}/applications",
        Shared,
        [401, 201, 201, 403, 403, 403, 403],
    ),
    row(
        "GET",
        "/api/v1/applications",
        Shared,
        [401, 200, 200, 200, 200, 200, 200],
    ),
    row(
        "GET",
        "/api/v1/applications/{id}",
        Shared,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    row(
        "PATCH",
        "/api/v1/applications/{id}",
        Draft,
        [401, 200, 404, 404, 403, 403, 404],
    ),
    row(
        "GET",
        "/api/v1/applications/{id}/history",
        Shared,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    row(
        "GET",
        "/api/v1/applications/{id}/eligibility",
        Shared,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    row(
        "POST",
        "/api/v1/applications/{id}/submit",
        CompleteDraft,
        [401, 200, 404, 404, 403, 403, 404],
    ),
    row(
        "POST",
        "/api/v1/applications/{id}/request-changes",
        Submitted,
        [401, 403, 404, 404, 200, 200, 404],
    ),
    row(
        "POST",
        "/api/v1/applications/{id}/declare-ineligible",
        Submitted,
        [401, 403, 404, 404, 200, 200, 404],
    ),
    row(
        "POST",
        "/api/v1/applications/{id}/start-review",
        Submitted,
        [401, 403, 404, 404, 200, 200, 404],
    ),
    row(
        "POST",
        "/api/v1/applications/{id}/withdraw",
        Draft,
        [401, 200, 404, 404, 403, 403, 404],
    ),
    row(
        "POST",
        "/api/v1/applications/{id}/documents",
        Draft,
        [401, 201, 404, 404, 403, 403, 404],
    ),
    row(
        "GET",
        "/api/v1/applications/{id}/documents",
        Shared,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    row(
        "GET",
        "/api/v1/applications/{id}/documents/{doc_id}",
        Shared,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    row(
        "DELETE",
        "/api/v1/applications/{id}/documents/{doc_id}",
        Draft,
        [401, 204, 404, 404, 403, 403, 404],
    ),
    row(
        "POST",
        "/api/v1/applications/{id}/assignments",
        UnderReview,
        [401, 403, 403, 403, 201, 201, 403],
    ),
    row(
        "GET",
        "/api/v1/assignments",
        Shared,
        [401, 403, 403, 200, 200, 200, 403],
    ),
    row(
        "GET",
        "/api/v1/assignments/{id}",
        UnderReview,
        [401, 403, 403, 200, 200, 200, 403],
    ),
    row(
        "POST",
        "/api/v1/assignments/{id}/accept",
        UnderReview,
        [401, 403, 403, 200, 403, 403, 403],
    ),
    row(
        "POST",
        "/api/v1/assignments/{id}/recuse",
        UnderReview,
        [401, 403, 403, 200, 403, 403, 403],
    ),
    row(
        "PUT",
        "/api/v1/assignments/{id}/review",
        Accepted,
        [401, 403, 403, 200, 403, 403, 403],
    ),
    row(
        "GET",
        "/api/v1/assignments/{id}/review",
        Drafted,
        [401, 403, 403, 200, 403, 403, 403],
    ),
    row(
        "POST",
        "/api/v1/assignments/{id}/review/submit",
        Drafted,
        [401, 403, 403, 200, 403, 403, 403],
    ),
    row(
        "GET",
        "/api/v1/applications/{id}/reviews",
        Shared,
        [401, 403, 404, 404, 200, 200, 404],
    ),
    row(
        "GET",
        "/api/v1/calls/{id}/ranking",
        Shared,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    row(
        "POST",
        "/api/v1/applications/{id}/decision",
        Reviewed,
        [401, 403, 404, 403, 200, 200, 404],
    ),
    // The letters are the holder's and staff's: the reviewer reads the application, not them.
    row(
        "GET",
        "/api/v1/applications/{id}/letters",
        Decided,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    row(
        "GET",
        "/api/v1/letters/{id}",
        Decided,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    // Reviewers have no grants; a beneficiary lists theirs (none for the other applicant).
    row(
        "GET",
        "/api/v1/grants",
        Shared,
        [401, 200, 200, 403, 200, 200, 403],
    ),
    row(
        "GET",
        "/api/v1/grants/{id}",
        Decided,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    // The owner signs; staff countersign (their attempt to sign is a 403, the beneficiary's
    // to countersign too); staff declare a grant lapsed.
    row(
        "POST",
        "/api/v1/grants/{id}/sign",
        AwaitingSignature,
        [401, 200, 404, 404, 403, 403, 404],
    ),
    row(
        "POST",
        "/api/v1/grants/{id}/countersign",
        Signed,
        [401, 403, 404, 404, 200, 200, 404],
    ),
    row(
        "POST",
        "/api/v1/grants/{id}/lapse",
        Decided,
        [401, 403, 404, 404, 200, 200, 404],
    ),
    row(
        "PUT",
        "/api/v1/grants/{id}/bank-details",
        Decided,
        [401, 200, 404, 404, 403, 403, 404],
    ),
    // The report is the beneficiary's to write and submit (an empty one: 422, which proves
    // they reached it), staff's to read; a reviewer does not even see it.
    row(
        "GET",
        "/api/v1/grants/{id}/report",
        Decided,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    row(
        "PUT",
        "/api/v1/grants/{id}/report",
        Decided,
        [401, 200, 404, 404, 403, 403, 404],
    ),
    row(
        "POST",
        "/api/v1/grants/{id}/report/submit",
        Decided,
        [401, 422, 404, 404, 403, 403, 404],
    ),
    // Nothing submitted yet on a running grant: whoever reaches it is told it is too early
    // (409); the others do not see it.
    row(
        "POST",
        "/api/v1/grants/{id}/report/request-changes",
        Decided,
        [401, 409, 404, 404, 409, 409, 404],
    ),
    row(
        "POST",
        "/api/v1/grants/{id}/report/approve",
        Decided,
        [401, 409, 404, 404, 409, 409, 404],
    ),
    // The report's annexes: the beneficiary adds them; the delete's `{doc_id}` is one of the
    // application's own documents, which the report's route does not reach (404).
    row(
        "POST",
        "/api/v1/grants/{id}/report/annexes",
        Decided,
        [401, 201, 404, 404, 403, 403, 404],
    ),
    row(
        "DELETE",
        "/api/v1/grants/{id}/report/annexes/{doc_id}",
        Decided,
        [401, 404, 404, 404, 403, 403, 404],
    ),
    // A recovery is staff's (nothing paid yet: 409); the beneficiary may not.
    row(
        "POST",
        "/api/v1/grants/{id}/recovery",
        Decided,
        [401, 403, 404, 404, 409, 409, 404],
    ),
    row(
        "POST",
        "/api/v1/grants/{id}/close-recovery",
        Decided,
        [401, 409, 404, 404, 409, 409, 404],
    ),
    // The finance list carries bank details: staff only. The import's file names no
    // instalment of the call (422: reached, refused on its content).
    row(
        "GET",
        "/api/v1/calls/{id}/instalments/export",
        Shared,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    row(
        "GET",
        "/api/v1/calls/{id}/grants/export",
        Shared,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    row(
        "POST",
        "/api/v1/calls/{id}/instalments/import",
        Shared,
        [401, 403, 403, 403, 422, 422, 403],
    ),
    // A commune's own view of the applications taking place there (the row's application is
    // in Villeneuve-d'Ascq, the commune account's).
    row(
        "GET",
        "/api/v1/commune/applications",
        Shared,
        [401, 403, 403, 403, 403, 403, 200],
    ),
    row(
        "GET",
        "/api/v1/commune/applications/{id}",
        Submitted,
        [401, 403, 403, 403, 403, 403, 200],
    ),
    // A structure in creation gives its identifier: the row's is registered already (409);
    // reviewers and communes do not.
    row(
        "PUT",
        "/api/v1/applications/{id}/registration",
        Submitted,
        [401, 409, 404, 403, 409, 409, 403],
    ),
    // The commune's opinion: given by the commune where the application takes place; read by
    // staff in full and by the applicant as « consulted »; a stranger finds nothing.
    row(
        "PUT",
        "/api/v1/applications/{id}/commune-opinion",
        Submitted,
        [401, 403, 403, 403, 403, 403, 200],
    ),
    row(
        "GET",
        "/api/v1/applications/{id}/commune-opinions",
        Submitted,
        [401, 200, 404, 404, 200, 200, 404],
    ),
    // A commune's referrals of project holders (the shared world has a published call).
    row(
        "POST",
        "/api/v1/commune/referrals",
        Shared,
        [401, 403, 403, 403, 403, 403, 201],
    ),
    row(
        "GET",
        "/api/v1/commune/referrals",
        Shared,
        [401, 403, 403, 403, 403, 403, 200],
    ),
    row(
        "GET",
        "/api/v1/commune/referrals/{id}",
        Shared,
        [401, 403, 403, 403, 403, 403, 200],
    ),
    // The State's services (§17), not configured in this world: the register's lookup is
    // « not found » for whoever signs in; the evidence is staff's (none kept: `null`);
    // publishing is staff's, and not found without data.gouv.fr.
    row(
        "GET",
        "/api/v1/organisations/{siret}",
        Shared,
        [401, 404, 404, 404, 404, 404, 404],
    ),
    row(
        "GET",
        "/api/v1/applications/{id}/registry-evidence",
        Shared,
        [401, 404, 404, 404, 200, 200, 404],
    ),
    row(
        "POST",
        "/api/v1/calls/{id}/open-data",
        Shared,
        [401, 403, 403, 403, 404, 404, 403],
    ),
    // The territory's figures are staff's.
    row(
        "GET",
        "/api/v1/territory",
        Shared,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    row(
        "GET",
        "/api/v1/admin/outbox",
        Shared,
        [401, 403, 403, 403, 200, 200, 403],
    ),
    // `{id}` is a dead message: the admin re-queues it.
    row(
        "POST",
        "/api/v1/admin/outbox/{id}/retry",
        Shared,
        [401, 403, 403, 403, 403, 200, 403],
    ),
];

/// Calls `row` (with its ids) as the bearer of `token` (none: anonymous), with a valid body.
async fn send(
    app: &TestApp,
    cast: &Cast,
    row: &Row,
    ids: &Ids,
    token: Option<&str>,
) -> reqwest::Response {
    let url = app.url(&concrete(row.path, ids));
    let mut req = app.client.request(row.method.parse().unwrap(), &url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if row.method == "PATCH" {
        // The ETag as the resource's owner reads it (`If-Match: *` is refused).
        let reader = if row.path.starts_with("/api/v1/calls") {
            &cast.staff.token
        } else {
            &cast.applicant.token
        };
        let etag = app
            .get_as(reader, &concrete(row.path, ids))
            .await
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_else(|| "\"1\"".into());
        req = req.header("if-match", etag);
    }
    if row.path.ends_with("/documents") && row.method == "POST" {
        let form = reqwest::multipart::Form::new().text("kind", "rib").part(
            "file",
            reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("rib.pdf"),
        );
        req = req.multipart(form);
    } else if row.path.ends_with("/report/annexes") && row.method == "POST" {
        let form = reqwest::multipart::Form::new()
            .text("kind", "report_annex")
            .part(
                "file",
                reqwest::multipart::Part::bytes(PDF.to_vec()).file_name("facture.pdf"),
            );
        req = req.multipart(form);
    } else if row.path.ends_with("/instalments/import") {
        req = req.header("content-type", "text/csv").body(
            "instalment_id;mandate_reference;paid_on\r\n01936f4e-0000-7000-8000-000000000000;M-1;\r\n",
        );
    } else if let Some(body) = body_for(row.method, row.path, cast, ids) {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A valid body for the operation, so that what is checked is authorization, not input.
fn body_for(method: &str, path: &str, cast: &Cast, ids: &Ids) -> Option<Value> {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    match (method, path) {
        ("POST", "/api/v1/auth/verify-email") => Some(json!({"token": ids.link})),
        ("POST", "/api/v1/auth/password-reset") => Some(json!({"email": cast.applicant.email})),
        ("POST", "/api/v1/auth/password-reset/confirm" | "/api/v1/auth/invitations/accept") => {
            Some(json!({"token": ids.link, "password": "une toute nouvelle phrase"}))
        }
        ("POST", "/api/v1/me/password") => Some(json!({
            "current_password": "pas le bon mot de passe", "new_password": "une toute nouvelle phrase"
        })),
        ("POST", "/api/v1/users/invitations") => Some(json!({
            "email": format!("matrice-invite{n}@exemple.fr"), "full_name": "Matrice", "role": "reviewer"
        })),
        ("PATCH", "/api/v1/users/{id}") => Some(json!({"role": "reviewer"})),
        ("POST", "/api/v1/calls/{id}/open-data") => Some(json!({"dry_run": true})),
        ("POST", "/api/v1/me/tokens") => Some(json!({
            "name": format!("Matrice {n}"), "scopes": ["read"], "expires_on": in_a_month()
        })),
        ("PATCH", "/api/v1/me") => Some(json!({"full_name": "  "})),
        ("DELETE", "/api/v1/me") => Some(json!({"password": "pas le bon mot de passe"})),
        ("POST", "/api/v1/auth/register") => Some(json!({
            "email": format!("matrice{n}@exemple.fr"), "password": PASSWORD, "full_name": "Matrice"
        })),
        ("POST", "/api/v1/auth/token") => {
            Some(json!({"email": cast.applicant.email, "password": PASSWORD}))
        }
        ("POST", "/api/v1/calls") => Some(json!({"title": "Matrice", "budget_cents": 1_000_000})),
        ("PATCH", "/api/v1/calls/{id}") => Some(json!({"description": "Modifiée"})),
        ("POST", "/api/v1/calls/{id}/applications") => Some(sample_application()),
        ("PATCH", "/api/v1/applications/{id}") => Some(json!({"project": {"summary": "Modifié"}})),
        ("POST", "/api/v1/applications/{id}/request-changes") => {
            Some(json!({"message": "Précisez."}))
        }
        ("POST", "/api/v1/applications/{id}/declare-ineligible") => {
            Some(json!({"motivation": "Hors critères."}))
        }
        ("POST", "/api/v1/applications/{id}/start-review") => {
            Some(json!({"reviewer_ids": [cast.reviewer.id]}))
        }
        ("POST", "/api/v1/applications/{id}/withdraw") => Some(json!({"reason": "Reporté."})),
        ("POST", "/api/v1/applications/{id}/assignments") => {
            Some(json!({"reviewer_id": cast.spare_reviewer.id}))
        }
        ("POST", "/api/v1/assignments/{id}/accept") => Some(json!({"statement": "Aucun conflit."})),
        ("POST", "/api/v1/assignments/{id}/recuse") => Some(json!({"reason": "Conflit."})),
        ("PUT", "/api/v1/assignments/{id}/review") => {
            Some(review_body([3, 3, 3, 3, 3], "reserved"))
        }
        ("POST", "/api/v1/grants/{id}/sign") => Some(json!({
            "signatory_name": "Léa Dupont", "signatory_quality": "Présidente", "accept": true
        })),
        ("POST", "/api/v1/grants/{id}/lapse") => Some(json!({"motivation": "Projet abandonné."})),
        ("PUT", "/api/v1/grants/{id}/report") => Some(json!({"narrative": "En cours."})),
        ("POST", "/api/v1/grants/{id}/report/request-changes") => {
            Some(json!({"message": "Joignez les factures."}))
        }
        ("POST", "/api/v1/grants/{id}/recovery") => {
            Some(json!({"amount_cents": 100, "motivation": "Non employé."}))
        }
        ("POST", "/api/v1/grants/{id}/countersign") => Some(json!({})),
        ("PUT", "/api/v1/grants/{id}/bank-details") => Some(json!({
            "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "AGRIFRPP867",
            "holder": "Les Ateliers du Sart"
        })),
        ("PUT", "/api/v1/applications/{id}/registration") => {
            Some(json!({"siret": "73282932000074", "created_on": "2026-12-01"}))
        }
        ("PUT", "/api/v1/applications/{id}/commune-opinion") => {
            Some(json!({"opinion": "favorable"}))
        }
        ("POST", "/api/v1/commune/referrals") => Some(json!({
            "organisation_name": "Matrice", "email": format!("matrice-recommande{n}@exemple.fr")
        })),
        ("POST", "/api/v1/applications/{id}/decision") => Some(json!({
            "outcome": "rejected", "motivation": "Hors priorités.", "committee_date": "2026-11-02"
        })),
        (_, p) if p.contains("/publish") || p.contains("/close") || p.ends_with("/submit") => {
            Some(json!({}))
        }
        _ => None,
    }
}

/// Ids the row's path needs.
#[derive(Default, Clone)]
struct Ids {
    call: String,
    application: String,
    document: String,
    assignment: String,
    dead_mail: String,
    /// The token of a mail link (VerifyLink, ResetLink, InviteLink).
    link: String,
    /// An account id (OtherAccount).
    user: String,
    /// A personal access token's id (ApplicantToken).
    token: String,
    /// The grant and the award letter of a Decided application.
    grant: String,
    letter: String,
    /// A referral of the commune account (Shared).
    referral: String,
}

/// A referral by the commune account (the shared world has a published call).
async fn referral_of(app: &TestApp, commune: &str) -> String {
    let resp = app
        .post_json(
            Some(commune),
            "/api/v1/commune/referrals",
            &json!({"organisation_name": "Matrice", "email": "matrice-partagee@exemple.fr"}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn in_a_month() -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string()
}

async fn prepare(app: &TestApp, cast: &Cast, fix: Fix, shared: &Ids) -> Ids {
    let staff = &cast.staff.token;
    let owner = &cast.applicant.token;
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    match fix {
        Shared => shared.clone(),
        VerifyLink => {
            let email = format!("matrice-verif{n}@exemple.fr");
            let body = json!({"email": email, "password": PASSWORD, "full_name": "Matrice"});
            let resp = app.post_json(None, "/api/v1/auth/register", &body).await;
            assert_eq!(resp.status(), 202);
            Ids {
                link: app.link_token(&email, "account_verify_email").await,
                ..shared.clone()
            }
        }
        ResetLink => {
            let email = format!("matrice-reset{n}@exemple.fr");
            app.account(essor::domain::account::Role::Applicant, &email)
                .await;
            let body = json!({ "email": email });
            let resp = app
                .post_json(None, "/api/v1/auth/password-reset", &body)
                .await;
            assert_eq!(resp.status(), 202);
            Ids {
                link: app.link_token(&email, "account_password_reset").await,
                ..shared.clone()
            }
        }
        InviteLink => {
            let email = format!("matrice-invitation{n}@exemple.fr");
            let body = json!({"email": email, "full_name": "Matrice", "role": "staff"});
            let resp = app
                .post_json(Some(&cast.admin.token), "/api/v1/users/invitations", &body)
                .await;
            assert_eq!(resp.status(), 201);
            Ids {
                link: app.link_token(&email, "account_invitation").await,
                ..shared.clone()
            }
        }
        ApplicantToken => {
            let body = json!({"name": format!("Matrice {n}"), "scopes": ["read"], "expires_on": in_a_month()});
            let resp = app.post_json(Some(owner), "/api/v1/me/tokens", &body).await;
            assert_eq!(resp.status(), 201);
            let id = resp.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let resp = app
                .client
                .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
                .bearer_auth(owner)
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 204);
            Ids {
                token: id,
                ..shared.clone()
            }
        }
        OtherAccount => {
            let email = format!("matrice-compte{n}@exemple.fr");
            let account = app
                .account(essor::domain::account::Role::Staff, &email)
                .await;
            Ids {
                user: account.id,
                ..shared.clone()
            }
        }
        DraftCall => {
            let call = app.draft_call(staff, json!({})).await;
            Ids {
                call: call["id"].as_str().unwrap().into(),
                ..shared.clone()
            }
        }
        PublishedCall => {
            let call = app.published_call(staff, json!({})).await;
            Ids {
                call: call["id"].as_str().unwrap().into(),
                ..shared.clone()
            }
        }
        Draft | CompleteDraft | Submitted | UnderReview | Accepted | Drafted | Reviewed
        | Decided | AwaitingSignature | Signed => {
            let with_convention = matches!(fix, AwaitingSignature | Signed);
            let call = if with_convention {
                let call = app
                    .published_call(staff, json!({"min_reviews": 1, "convention": "always"}))
                    .await;
                call["id"].as_str().unwrap().to_owned()
            } else {
                shared.call.clone()
            };
            let draft = app
                .draft_application(owner, &call, &sample_application())
                .await;
            let id = draft["id"].as_str().unwrap().to_owned();
            let doc: Value = app
                .upload(owner, &id, "statuts", PDF, "statuts.pdf")
                .await
                .json()
                .await
                .unwrap();
            if fix != Draft {
                for kind in ["budget_previsionnel", "rib"] {
                    assert_eq!(
                        app.upload(owner, &id, kind, PDF, "x.pdf").await.status(),
                        201
                    );
                }
            }
            if !matches!(fix, Draft | CompleteDraft) {
                let path = format!("/api/v1/applications/{id}/submit");
                let resp = app.post_json(Some(owner), &path, &json!({})).await;
                assert_eq!(resp.status(), 200);
            }
            let mut assignment = String::new();
            let decided = matches!(fix, Decided | AwaitingSignature | Signed);
            if decided || matches!(fix, UnderReview | Accepted | Drafted | Reviewed) {
                assignment = app
                    .start_review(staff, &id, &[&cast.reviewer])
                    .await
                    .remove(0);
            }
            let reviewer = &cast.reviewer.token;
            if matches!(fix, Accepted | Drafted) {
                let path = format!("/api/v1/assignments/{assignment}/accept");
                let body = json!({"statement": "Aucun conflit."});
                assert_eq!(
                    app.post_json(Some(reviewer), &path, &body).await.status(),
                    200
                );
            }
            if fix == Drafted {
                let resp = app
                    .client
                    .put(app.url(&format!("/api/v1/assignments/{assignment}/review")))
                    .bearer_auth(reviewer)
                    .json(&review_body([2, 2, 2, 2, 2], "reserved"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
            }
            if decided || fix == Reviewed {
                app.review(&cast.reviewer, &assignment, [4, 4, 4, 4, 4])
                    .await;
            }
            let (mut grant, mut letter) = (String::new(), String::new());
            if decided {
                let path = format!("/api/v1/applications/{id}/decision");
                let body = json!({"outcome": "accepted", "awarded_cents": 10_000,
                    "motivation": "Bon projet.", "committee_date": "2026-11-02",
                    "decision_reference": "DEL-MATRICE"});
                assert_eq!(app.post_json(Some(staff), &path, &body).await.status(), 200);
                let path = format!("/api/v1/applications/{id}/letters");
                let letters: Value = app.get_as(staff, &path).await.json().await.unwrap();
                letter = letters[0]["id"].as_str().unwrap().to_owned();
                let grants: Value = app
                    .get_as(staff, "/api/v1/grants")
                    .await
                    .json()
                    .await
                    .unwrap();
                grant = grants
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|g| g["application_id"] == id.as_str())
                    .unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
            }
            if fix == Signed {
                let path = format!("/api/v1/grants/{grant}/sign");
                let body = json!({"signatory_name": "Léa Dupont",
                    "signatory_quality": "Présidente", "accept": true});
                assert_eq!(app.post_json(Some(owner), &path, &body).await.status(), 200);
            }
            Ids {
                grant,
                letter,
                call,
                application: id,
                document: doc["id"].as_str().unwrap().into(),
                assignment,
                dead_mail: shared.dead_mail.clone(),
                referral: shared.referral.clone(),
                ..Default::default()
            }
        }
    }
}

fn concrete(path: &str, ids: &Ids) -> String {
    let id = if path.starts_with("/api/v1/me/tokens/") {
        &ids.token
    } else if path.starts_with("/api/v1/admin/outbox/") {
        &ids.dead_mail
    } else if path.starts_with("/api/v1/users/") {
        &ids.user
    } else if path.starts_with("/api/v1/calls/") {
        &ids.call
    } else if path.starts_with("/api/v1/assignments/") {
        &ids.assignment
    } else if path.starts_with("/api/v1/grants/") {
        &ids.grant
    } else if path.starts_with("/api/v1/letters/") {
        &ids.letter
    } else if path.starts_with("/api/v1/commune/referrals/") {
        &ids.referral
    } else {
        &ids.application
    };
    path.replace("{doc_id}", &ids.document)
        .replace("{id}", id)
        .replace("{siret}", "73282932000074")
}

fn spec_operations() -> BTreeSet<(String, String)> {
    let spec: Value = serde_json::from_str(&essor::openapi::spec().to_json().unwrap()).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn the_table_covers_exactly_the_documented_routes() {
    let documented = spec_operations();
    let table: BTreeSet<(String, String)> = ROWS
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&table).collect();
    let stale: Vec<_> = table.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization matrix: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows for routes that no longer exist: {stale:?}"
    );
}

async fn every_route_answers_each_role_as_expected(app: TestApp) {
    let cast = app.cast().await;
    let commune = app
        .commune_account(&cast.admin.token, "agent@villeneuvedascq.fr", "59009")
        .await;
    let tokens: [Option<&str>; 7] = [
        None,
        Some(&cast.applicant.token),
        Some(&cast.other_applicant.token),
        Some(&cast.reviewer.token),
        Some(&cast.staff.token),
        Some(&cast.admin.token),
        Some(&commune.token),
    ];
    let shared = {
        let call = app
            .published_call(&cast.staff.token, json!({"min_reviews": 1}))
            .await;
        let ids = Ids {
            call: call["id"].as_str().unwrap().into(),
            dead_mail: crate::mail::dead_message(&app).await,
            referral: referral_of(&app, &commune.token).await,
            ..Default::default()
        };
        prepare(&app, &cast, Draft, &ids).await
    };
    let mut failures = Vec::new();
    for row in ROWS {
        for (i, token) in tokens.iter().enumerate() {
            let ids = prepare(&app, &cast, row.fix, &shared).await;
            let resp = send(&app, &cast, row, &ids, *token).await;
            let status = resp.status().as_u16();
            if status >= 500 || status != row.expect[i] {
                let text = resp.text().await.unwrap_or_default();
                failures.push(format!(
                    "{} {} as {}: expected {}, got {status} {text}",
                    row.method, row.path, CALLERS[i], row.expect[i]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The caller whose answer a personal token's is compared with: the first of applicant,
/// reviewer, staff, admin, commune whom the route lets through; else the first who reaches it and is
/// refused on the resource's state or content (a 409, a 422); else the applicant.
fn natural_caller(row: &Row) -> usize {
    let callers = [1, 3, 4, 5, 6];
    callers
        .into_iter()
        .find(|i| (200..300).contains(&row.expect[*i]))
        .or_else(|| {
            callers
                .into_iter()
                .find(|i| !matches!(row.expect[*i], 401 | 403 | 404))
        })
        .unwrap_or(1)
}

/// Every route × every scope: a personal token of the route's natural caller, holding that one
/// scope, gets the caller's own answer when the route's scope is the one held (or the route
/// needs no account), 403 otherwise — and a scope beyond the caller's role cannot be had.
async fn every_route_answers_each_personal_token_scope_as_expected(app: TestApp) {
    use essor::domain::account::Role;
    use essor::domain::tokens::{Need, Scope, need, scopes_for_role};
    let cast = app.cast().await;
    let commune = app
        .commune_account(&cast.admin.token, "agent@villeneuvedascq.fr", "59009")
        .await;
    let accounts = [
        (1, Role::Applicant, &cast.applicant),
        (3, Role::Reviewer, &cast.reviewer),
        (4, Role::Staff, &cast.staff),
        (5, Role::Admin, &cast.admin),
        (6, Role::Commune, &commune),
    ];
    // One token per (caller, scope) the role may hold; the others are refused at creation.
    let mut tokens = std::collections::HashMap::new();
    for (i, role, account) in accounts {
        for scope in Scope::ALL {
            let body = json!({"name": format!("Matrice {}", scope.as_str()), "scopes": [scope.as_str()], "expires_on": in_a_month()});
            let resp = app
                .post_json(Some(&account.token), "/api/v1/me/tokens", &body)
                .await;
            if scopes_for_role(role).contains(&scope) {
                assert_eq!(resp.status(), 201, "{role:?} {scope:?}");
                let secret = resp.json::<Value>().await.unwrap()["token"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                tokens.insert((i, scope), secret);
            } else {
                assert_eq!(resp.status(), 422, "{role:?} may not hold {scope:?}");
            }
        }
    }
    let shared = {
        let call = app
            .published_call(&cast.staff.token, json!({"min_reviews": 1}))
            .await;
        let ids = Ids {
            call: call["id"].as_str().unwrap().into(),
            dead_mail: crate::mail::dead_message(&app).await,
            referral: referral_of(&app, &commune.token).await,
            ..Default::default()
        };
        prepare(&app, &cast, Draft, &ids).await
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in ROWS {
        let caller = natural_caller(row);
        for scope in Scope::ALL {
            let Some(token) = tokens.get(&(caller, scope)) else {
                continue;
            };
            let expected = match need(row.method, row.path) {
                Need::Open => row.expect[caller],
                Need::Scope(s) if s == scope => row.expect[caller],
                Need::Scope(_) | Need::NoToken => 403,
            };
            let ids = prepare(&app, &cast, row.fix, &shared).await;
            let resp = send(&app, &cast, row, &ids, Some(token)).await;
            let status = resp.status().as_u16();
            checked += 1;
            let text = resp.text().await.unwrap_or_default();
            let names_scope = expected != 403
                || !matches!(need(row.method, row.path), Need::Scope(_))
                || text.contains("portée");
            if status != expected || !names_scope {
                failures.push(format!(
                    "{} {} as {} with a `{}` token: expected {expected}, got {status} {text}",
                    row.method,
                    row.path,
                    CALLERS[caller],
                    scope.as_str()
                ));
            }
        }
    }
    assert!(checked >= ROWS.len() * 2, "only {checked} calls checked");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
