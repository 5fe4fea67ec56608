//! Personal access tokens (DESIGN.md §14): the scopes, which scope each API route needs, what
//! each role may hold, the rules on what a person types when creating one, and how a secret is
//! written and hashed. Pure: the random bytes come in (`services::tokens` draws them), the
//! bearer check lives in `auth::personal_token` and the database in `services::tokens`.
//!
//! A token opens a route only when (1) the route is in `ROUTES` (an unknown route is closed
//! to tokens: a new route must be given a scope here before a token reaches it), (2) the
//! token holds the route's scope, and (3) the owner's *current* role may hold that scope. The
//! handler's own role and ownership checks then apply as for any caller.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Europe::Paris;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::account::Role;
use crate::domain::text::{Lines, Text};
use crate::error::FieldErrors;

/// What a personal token is prefixed with, so secret scanners can spot a leaked one.
pub const PREFIX: &str = "essor_pat_";
pub const NAME_MAX_CHARS: usize = 80;
/// The secret made of 256 random bits (after the prefix, in hex) and the hint shown to its
/// owner (the prefix and the first six characters).
pub fn secret_from(random: [u8; 32]) -> (String, String) {
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let hint = format!("{PREFIX}{}…", &hex[..6]);
    (format!("{PREFIX}{hex}"), hint)
}

/// What is stored of a secret: its SHA-256, in hex.
pub fn hash(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A token lives at most this many days (a year and a day, so « in a year » is accepted).
pub const MAX_DAYS: i64 = 366;
/// Tokens an account may hold at once (not revoked, not expired).
pub const MAX_ACTIVE_PER_ACCOUNT: i64 = 20;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read what the owner may see (lists, applications, assignments, reviews, ranking).
    Read,
    /// A reviewer's work: declare or recuse, save and submit reviews.
    Review,
    /// Changes to calls, applications and decisions (an agent's transitions; an applicant's
    /// own applications).
    Manage,
    /// Download a call's exports.
    Export,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Review, Scope::Manage, Scope::Export];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Review => "review",
            Self::Manage => "manage",
            Self::Export => "export",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// What the scope lets a token do, in French (pages, messages).
    pub fn label(self) -> &'static str {
        match self {
            Self::Read => "consulter",
            Self::Review => "évaluer (déclarations d'absence de conflit, évaluations)",
            Self::Manage => "gérer (appels, dossiers, transitions, décisions)",
            Self::Export => "exporter les dossiers d'un appel",
        }
    }

    /// Space-separated, as stored.
    pub fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The stored form back; unknown words are dropped (they grant nothing).
    pub fn split(stored: &str) -> Vec<Scope> {
        let mut v: Vec<Scope> = stored.split_whitespace().filter_map(Scope::parse).collect();
        v.sort();
        v.dedup();
        v
    }
}

/// The scopes a role may hold: a token never does more than its owner's role.
pub fn scopes_for_role(role: Role) -> &'static [Scope] {
    match role {
        Role::Applicant => &[Scope::Read, Scope::Manage],
        Role::Reviewer => &[Scope::Read, Scope::Review],
        // `manage`: its opinions and referrals (§16), nothing else a commune may do.
        Role::Commune => &[Scope::Read, Scope::Manage],
        Role::Staff | Role::Admin => &[Scope::Read, Scope::Manage, Scope::Export],
    }
}

/// What a route asks of a personal token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// No account involved (health, the OpenAPI document, sign-in, links from mails).
    Open,
    /// The token must hold this scope.
    Scope(Scope),
    /// Personal tokens may not use the route (their own management, passwords, accounts):
    /// a person signs in for these.
    NoToken,
}

use Need::{NoToken, Open, Scope as S};
use Scope::{Export, Manage, Read, Review};

/// Every API route (method, pattern as the router matches it) and what a token needs there.
pub const ROUTES: &[(&str, &str, Need)] = &[
    ("GET", "/health/live", Open),
    ("GET", "/health/ready", Open),
    ("GET", "/api/v1/openapi.json", Open),
    ("POST", "/api/v1/auth/register", Open),
    ("POST", "/api/v1/auth/token", Open),
    ("POST", "/api/v1/auth/verify-email", Open),
    ("POST", "/api/v1/auth/verify-email/resend", NoToken),
    ("POST", "/api/v1/auth/password-reset", Open),
    ("POST", "/api/v1/auth/password-reset/confirm", Open),
    ("POST", "/api/v1/auth/invitations/accept", Open),
    ("GET", "/api/v1/me", S(Read)),
    ("POST", "/api/v1/me/password", NoToken),
    // Everything held about a person, renaming and erasing the account: the person signs in.
    ("GET", "/api/v1/me/data", NoToken),
    ("PATCH", "/api/v1/me", NoToken),
    ("DELETE", "/api/v1/me", NoToken),
    ("GET", "/api/v1/me/tokens", NoToken),
    ("POST", "/api/v1/me/tokens", NoToken),
    ("GET", "/api/v1/me/tokens/{id}", NoToken),
    ("DELETE", "/api/v1/me/tokens/{id}", NoToken),
    ("POST", "/api/v1/users/invitations", NoToken),
    ("GET", "/api/v1/users", S(Read)),
    ("PATCH", "/api/v1/users/{id}", NoToken),
    ("POST", "/api/v1/calls", S(Manage)),
    ("GET", "/api/v1/calls", S(Read)),
    ("GET", "/api/v1/calls/{id}", S(Read)),
    ("PATCH", "/api/v1/calls/{id}", S(Manage)),
    ("POST", "/api/v1/calls/{id}/publish", S(Manage)),
    ("POST", "/api/v1/calls/{id}/close", S(Manage)),
    ("GET", "/api/v1/calls/{id}/export", S(Export)),
    ("GET", "/api/v1/calls/{id}/instalments/export", S(Export)),
    ("POST", "/api/v1/calls/{id}/instalments/import", S(Manage)),
    ("GET", "/api/v1/calls/{id}/grants/export", S(Export)),
    ("GET", "/api/v1/territory", S(Read)),
    ("GET", "/api/v1/organisations/{siret}", S(Read)),
    (
        "GET",
        "/api/v1/applications/{id}/registry-evidence",
        S(Read),
    ),
    ("POST", "/api/v1/calls/{id}/open-data", S(Export)),
    ("GET", "/api/v1/commune/applications", S(Read)),
    ("GET", "/api/v1/commune/applications/{id}", S(Read)),
    ("POST", "/api/v1/commune/referrals", S(Manage)),
    ("GET", "/api/v1/commune/referrals", S(Read)),
    ("GET", "/api/v1/commune/referrals/{id}", S(Read)),
    (
        "PUT",
        "/api/v1/applications/{id}/commune-opinion",
        S(Manage),
    ),
    ("GET", "/api/v1/applications/{id}/commune-opinions", S(Read)),
    ("GET", "/api/v1/calls/{id}/ranking", S(Read)),
    ("POST", "/api/v1/calls/{id}/applications", S(Manage)),
    ("GET", "/api/v1/applications", S(Read)),
    ("GET", "/api/v1/applications/{id}", S(Read)),
    ("PATCH", "/api/v1/applications/{id}", S(Manage)),
    ("GET", "/api/v1/applications/{id}/history", S(Read)),
    ("GET", "/api/v1/applications/{id}/eligibility", S(Read)),
    ("GET", "/api/v1/applications/{id}/letters", S(Read)),
    ("GET", "/api/v1/letters/{id}", S(Read)),
    ("GET", "/api/v1/grants", S(Read)),
    ("GET", "/api/v1/grants/{id}", S(Read)),
    // A signature binds the structure: its legal representative signs in, no script does.
    ("POST", "/api/v1/grants/{id}/sign", NoToken),
    ("POST", "/api/v1/grants/{id}/countersign", S(Manage)),
    ("POST", "/api/v1/grants/{id}/lapse", S(Manage)),
    ("POST", "/api/v1/grants/{id}/recovery", S(Manage)),
    ("POST", "/api/v1/grants/{id}/close-recovery", S(Manage)),
    ("GET", "/api/v1/grants/{id}/report", S(Read)),
    ("PUT", "/api/v1/grants/{id}/report", S(Manage)),
    ("POST", "/api/v1/grants/{id}/report/submit", S(Manage)),
    (
        "POST",
        "/api/v1/grants/{id}/report/request-changes",
        S(Manage),
    ),
    ("POST", "/api/v1/grants/{id}/report/approve", S(Manage)),
    ("POST", "/api/v1/grants/{id}/report/annexes", S(Manage)),
    (
        "DELETE",
        "/api/v1/grants/{id}/report/annexes/{doc_id}",
        S(Manage),
    ),
    // Where the money goes: a person signs in to change it, a leaked token cannot.
    ("PUT", "/api/v1/grants/{id}/bank-details", NoToken),
    ("POST", "/api/v1/applications/{id}/submit", S(Manage)),
    ("PUT", "/api/v1/applications/{id}/registration", S(Manage)),
    (
        "POST",
        "/api/v1/applications/{id}/request-changes",
        S(Manage),
    ),
    (
        "POST",
        "/api/v1/applications/{id}/declare-ineligible",
        S(Manage),
    ),
    ("POST", "/api/v1/applications/{id}/start-review", S(Manage)),
    ("POST", "/api/v1/applications/{id}/withdraw", S(Manage)),
    ("POST", "/api/v1/applications/{id}/documents", S(Manage)),
    ("GET", "/api/v1/applications/{id}/documents", S(Read)),
    (
        "GET",
        "/api/v1/applications/{id}/documents/{doc_id}",
        S(Read),
    ),
    (
        "DELETE",
        "/api/v1/applications/{id}/documents/{doc_id}",
        S(Manage),
    ),
    ("POST", "/api/v1/applications/{id}/assignments", S(Manage)),
    ("GET", "/api/v1/applications/{id}/reviews", S(Read)),
    ("POST", "/api/v1/applications/{id}/decision", S(Manage)),
    ("GET", "/api/v1/assignments", S(Read)),
    ("GET", "/api/v1/assignments/{id}", S(Read)),
    ("POST", "/api/v1/assignments/{id}/accept", S(Review)),
    ("POST", "/api/v1/assignments/{id}/recuse", S(Review)),
    ("PUT", "/api/v1/assignments/{id}/review", S(Review)),
    ("GET", "/api/v1/assignments/{id}/review", S(Read)),
    ("POST", "/api/v1/assignments/{id}/review/submit", S(Review)),
    ("GET", "/api/v1/admin/outbox", S(Read)),
    ("POST", "/api/v1/admin/outbox/{id}/retry", S(Manage)),
];

/// What a token needs on `method pattern`; a route not in the table is closed to tokens.
pub fn need(method: &str, pattern: &str) -> Need {
    ROUTES
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method) && *p == pattern)
        .map(|(_, _, n)| *n)
        .unwrap_or(NoToken)
}

/// Why a valid token may not use a route (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRefusal {
    NoToken,
    Missing(Scope),
    /// The token holds the scope, but the owner's current role no longer allows it.
    BeyondRole(Scope, Role),
}

impl ScopeRefusal {
    pub fn message(self) -> String {
        match self {
            Self::NoToken => {
                "Cette action n'est pas ouverte aux jetons personnels : connectez-vous \
                 avec votre adresse et votre mot de passe pour la faire."
                    .into()
            }
            Self::Missing(s) => format!(
                "Ce jeton personnel n'a pas la portée « {} » ({}) qu'exige cette action : \
                 créez un jeton qui la comporte.",
                s.as_str(),
                s.label()
            ),
            Self::BeyondRole(s, r) => format!(
                "La portée « {} » de ce jeton dépasse ce que permet votre rôle actuel ({}).",
                s.as_str(),
                r.as_str()
            ),
        }
    }
}

/// May a token holding `granted`, whose owner now has `role`, use a route needing `need`?
pub fn authorize(need: Need, granted: &[Scope], role: Role) -> Result<(), ScopeRefusal> {
    match need {
        Need::Open => Ok(()),
        Need::NoToken => Err(ScopeRefusal::NoToken),
        Need::Scope(s) if !granted.contains(&s) => Err(ScopeRefusal::Missing(s)),
        Need::Scope(s) if !scopes_for_role(role).contains(&s) => {
            Err(ScopeRefusal::BeyondRole(s, role))
        }
        Need::Scope(_) => Ok(()),
    }
}

/// A token request that passed the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidTokenRequest {
    pub name: String,
    pub scopes: Vec<Scope>,
    pub expires_on: NaiveDate,
}

/// Checks a token request of an account with `role`, on `today` (Europe/Paris). Every faulty
/// field is named, in French.
pub fn check_request(
    name: &str,
    scopes: &[String],
    expires_on: Option<NaiveDate>,
    role: Role,
    today: NaiveDate,
) -> Result<ValidTokenRequest, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut err = |field: &str, msg: String| errors.entry(field.into()).or_default().push(msg);
    let name = name.trim();
    let mut valid_name = String::new();
    if name.is_empty() {
        err(
            "name",
            "le nom du jeton est obligatoire (ex. : « tableur du comité »)".into(),
        );
    } else if name.chars().count() > NAME_MAX_CHARS {
        err(
            "name",
            format!("le nom du jeton ne doit pas dépasser {NAME_MAX_CHARS} caractères"),
        );
    } else {
        match Text::parse(name, Lines::Single) {
            Ok(t) => valid_name = t.into_inner(),
            Err(e) => err("name", format!("le nom du jeton contient un {e}")),
        }
    }
    let mut valid_scopes = Vec::new();
    if scopes.is_empty() {
        err(
            "scopes",
            format!(
                "choisissez au moins une portée ({})",
                Scope::join(scopes_for_role(role)).replace(' ', ", ")
            ),
        );
    }
    for raw in scopes {
        match Scope::parse(raw.trim()) {
            None => err(
                "scopes",
                format!("portée inconnue « {raw} » : read, review, manage ou export"),
            ),
            Some(s) if !scopes_for_role(role).contains(&s) => err(
                "scopes",
                format!(
                    "votre rôle ({}) ne permet pas la portée « {} » ; il permet : {}",
                    role.as_str(),
                    s.as_str(),
                    Scope::join(scopes_for_role(role)).replace(' ', ", ")
                ),
            ),
            Some(s) => valid_scopes.push(s),
        }
    }
    valid_scopes.sort();
    valid_scopes.dedup();
    let last = today + Duration::days(MAX_DAYS);
    match expires_on {
        None => err(
            "expires_on",
            "la date d'expiration est obligatoire (AAAA-MM-JJ, dans un an au plus)".into(),
        ),
        Some(d) if d <= today => err(
            "expires_on",
            "la date d'expiration doit être postérieure à aujourd'hui".into(),
        ),
        Some(d) if d > last => err(
            "expires_on",
            format!(
                "un jeton vit un an au plus : choisissez une date d'expiration jusqu'au {}",
                crate::domain::dates::french_date(last)
            ),
        ),
        Some(_) => {}
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ValidTokenRequest {
        name: valid_name,
        scopes: valid_scopes,
        expires_on: expires_on.unwrap_or(today),
    })
}

/// The token works through `expires_on`, Paris time: it ends at the next midnight in Paris,
/// returned in UTC as stored.
pub fn expires_at(expires_on: NaiveDate) -> NaiveDateTime {
    let next = (expires_on + Duration::days(1)).and_time(NaiveTime::MIN);
    Paris
        .from_local_datetime(&next)
        .earliest()
        .map(|t| t.naive_utc())
        // Midnight always exists in Paris (the shifts happen at 2 and 3 a.m.).
        .unwrap_or(next)
}

/// Today in Paris, for a UTC instant.
pub fn paris_date(now_utc: NaiveDateTime) -> NaiveDate {
    Paris.from_utc_datetime(&now_utc).date_naive()
}

/// Where a token stands, for its owner's list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenStatus {
    Active,
    Expired,
    /// Revoked by its owner.
    Revoked,
    /// Ended by an account event (deactivation, role or password change).
    Ended,
}

impl TokenStatus {
    pub fn derive(
        revoked: bool,
        generation_matches: bool,
        expires_at: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Self {
        if revoked {
            Self::Revoked
        } else if !generation_matches {
            Self::Ended
        } else if expires_at <= now {
            Self::Expired
        } else {
            Self::Active
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "actif",
            Self::Expired => "expiré",
            Self::Revoked => "révoqué",
            Self::Ended => "révoqué par un changement du compte",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_secret_is_its_prefix_and_64_hex_digits_and_its_hash_is_sha256() {
        let (secret, hint) = secret_from([0xab; 32]);
        assert_eq!(secret, format!("{PREFIX}{}", "ab".repeat(32)));
        assert_eq!(hint, format!("{PREFIX}ababab…"));
        // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn scope_of_routes() {
        let cases = [
            ("POST", "/api/v1/assignments/{id}/review/submit", S(Review)),
            ("PUT", "/api/v1/assignments/{id}/review", S(Review)),
            ("GET", "/api/v1/assignments", S(Read)),
            ("GET", "/api/v1/calls/{id}/export", S(Export)),
            ("POST", "/api/v1/applications/{id}/decision", S(Manage)),
            ("get", "/api/v1/me", S(Read)),
            ("POST", "/api/v1/me/tokens", NoToken),
            ("DELETE", "/api/v1/me/tokens/{id}", NoToken),
            ("POST", "/api/v1/me/password", NoToken),
            ("PATCH", "/api/v1/users/{id}", NoToken),
            ("POST", "/api/v1/auth/token", Open),
            // Not in the table: closed.
            ("GET", "/api/v1/nouvelle-route", NoToken),
            ("DELETE", "/api/v1/assignments", NoToken),
        ];
        for (m, p, expected) in cases {
            assert_eq!(need(m, p), expected, "{m} {p}");
        }
    }

    #[test]
    fn every_route_appears_once() {
        let mut seen = std::collections::BTreeSet::new();
        for (m, p, _) in ROUTES {
            assert!(seen.insert((m, p)), "{m} {p} twice");
        }
    }

    #[test]
    fn authorization_cases() {
        use ScopeRefusal::{BeyondRole, Missing};
        type Case = (Need, &'static [Scope], Role, Result<(), ScopeRefusal>);
        let cases: [Case; 9] = [
            (S(Review), &[Read], Role::Reviewer, Err(Missing(Review))),
            (S(Review), &[Read, Review], Role::Reviewer, Ok(())),
            (S(Read), &[Read], Role::Applicant, Ok(())),
            (S(Export), &[Read, Export], Role::Staff, Ok(())),
            // Held, but the owner is a reviewer now.
            (
                S(Export),
                &[Export],
                Role::Reviewer,
                Err(BeyondRole(Export, Role::Reviewer)),
            ),
            (
                S(Review),
                &[Review],
                Role::Admin,
                Err(BeyondRole(Review, Role::Admin)),
            ),
            (
                NoToken,
                &Scope::ALL,
                Role::Admin,
                Err(ScopeRefusal::NoToken),
            ),
            (Open, &[], Role::Applicant, Ok(())),
            (S(Manage), &[], Role::Staff, Err(Missing(Manage))),
        ];
        for (need, granted, role, expected) in cases {
            assert_eq!(
                authorize(need, granted, role),
                expected,
                "{need:?} {granted:?} {role:?}"
            );
        }
    }

    #[test]
    fn refusals_name_the_scope_in_french() {
        let m = ScopeRefusal::Missing(Scope::Review).message();
        assert!(m.contains("« review »") && m.contains("portée"), "{m}");
        assert!(
            ScopeRefusal::NoToken
                .message()
                .contains("jetons personnels")
        );
    }

    #[test]
    fn roles_hold_only_their_scopes() {
        let cases = [
            (Role::Applicant, "read manage"),
            (Role::Reviewer, "read review"),
            (Role::Staff, "read manage export"),
            (Role::Admin, "read manage export"),
            (Role::Commune, "read manage"),
        ];
        for (role, expected) in cases {
            assert_eq!(Scope::join(scopes_for_role(role)), expected, "{role:?}");
        }
    }

    #[test]
    fn requests() {
        let today = d(2026, 11, 29);
        let long = "x".repeat(81);
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        type Case<'a> = (
            &'a str,
            Vec<String>,
            Option<NaiveDate>,
            Role,
            Result<&'a str, &'a str>,
        );
        let cases: Vec<Case> = vec![
            (
                "Tableur",
                s(&["review", "read", "read"]),
                Some(d(2027, 1, 1)),
                Role::Reviewer,
                Ok("read review"),
            ),
            (
                "  Comité  ",
                s(&["export"]),
                Some(d(2027, 11, 30)),
                Role::Staff,
                Ok("export"),
            ),
            (
                "",
                s(&["read"]),
                Some(d(2027, 1, 1)),
                Role::Staff,
                Err("name"),
            ),
            (
                &long,
                s(&["read"]),
                Some(d(2027, 1, 1)),
                Role::Staff,
                Err("name"),
            ),
            (
                "a\u{200B}b",
                s(&["read"]),
                Some(d(2027, 1, 1)),
                Role::Staff,
                Err("name"),
            ),
            ("T", s(&[]), Some(d(2027, 1, 1)), Role::Staff, Err("scopes")),
            (
                "T",
                s(&["write"]),
                Some(d(2027, 1, 1)),
                Role::Staff,
                Err("scopes"),
            ),
            (
                "T",
                s(&["manage"]),
                Some(d(2027, 1, 1)),
                Role::Reviewer,
                Err("scopes"),
            ),
            (
                "T",
                s(&["review"]),
                Some(d(2027, 1, 1)),
                Role::Staff,
                Err("scopes"),
            ),
            (
                "T",
                s(&["read"]),
                Some(today),
                Role::Staff,
                Err("expires_on"),
            ),
            (
                "T",
                s(&["read"]),
                Some(d(2027, 12, 1)),
                Role::Staff,
                Err("expires_on"),
            ),
            ("T", s(&["read"]), None, Role::Staff, Err("expires_on")),
        ];
        for (name, scopes, exp, role, expected) in cases {
            let got = check_request(name, &scopes, exp, role, today);
            match (expected, got) {
                (Ok(joined), Ok(v)) => {
                    assert_eq!(Scope::join(&v.scopes), joined, "{name}");
                    assert_eq!(v.name, name.trim());
                }
                (Err(field), Err(errors)) => {
                    assert_eq!(
                        errors.keys().collect::<Vec<_>>(),
                        vec![field],
                        "{name} {scopes:?}"
                    )
                }
                (e, g) => panic!("{name} {scopes:?} {exp:?}: expected {e:?}, got {g:?}"),
            }
        }
    }

    #[test]
    fn a_token_ends_at_midnight_in_paris() {
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(
            expires_at(d(2027, 1, 15)).to_string(),
            "2027-01-15 23:00:00"
        );
        assert_eq!(
            expires_at(d(2027, 7, 15)).to_string(),
            "2027-07-15 22:00:00"
        );
        let late = d(2027, 1, 15).and_hms_opt(23, 30, 0).unwrap();
        assert_eq!(paris_date(late), d(2027, 1, 16));
    }

    #[test]
    fn statuses() {
        let t = d(2027, 1, 1).and_hms_opt(0, 0, 0).unwrap();
        let later = t + Duration::seconds(1);
        assert_eq!(
            TokenStatus::derive(false, true, later, t),
            TokenStatus::Active
        );
        assert_eq!(TokenStatus::derive(false, true, t, t), TokenStatus::Expired);
        assert_eq!(
            TokenStatus::derive(false, false, later, t),
            TokenStatus::Ended
        );
        assert_eq!(TokenStatus::derive(true, false, t, t), TokenStatus::Revoked);
    }

    #[test]
    fn stored_scopes_round_trip() {
        assert_eq!(Scope::split("review read bogus read"), vec![Read, Review]);
        assert_eq!(Scope::join(&[Read, Export]), "read export");
    }
}
