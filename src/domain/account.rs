//! Accounts: roles, what each may do with accounts, and the rules on what a person types
//! (email, password, name). Hashing lives in `auth::password`; these are the rules only.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    ToSchema,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[serde(rename_all = "snake_case")]
// Stored as its `as_str` text (`db::sql_types`).
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    /// Porteur de projet: registers alone, sees only their own applications.
    Applicant,
    /// Member of the selection committee or expert: sees only assigned applications.
    Reviewer,
    /// Agent of the MEL's ESS team: runs calls, screens, decides, exports.
    Staff,
    /// Manages accounts; may do everything staff may.
    Admin,
    /// An agent of one of the MEL's communes (DESIGN.md §16): reads the submitted applications
    /// whose activity takes place in its commune, what a commune needs of them and nothing
    /// more.
    Commune,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Applicant,
        Role::Reviewer,
        Role::Staff,
        Role::Admin,
        Role::Commune,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Reviewer => "reviewer",
            Self::Staff => "staff",
            Self::Admin => "admin",
            Self::Commune => "commune",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff and admins act for the authority (screen, decide, export, list accounts).
    pub fn is_staff(self) -> bool {
        matches!(self, Self::Staff | Self::Admin)
    }

    pub fn can_create_accounts(self) -> bool {
        self == Self::Admin
    }

    pub fn can_list_accounts(self) -> bool {
        self.is_staff()
    }
}

pub const PASSWORD_MIN_CHARS: usize = 12;
/// Argon2 hashes any length, but a megabyte "password" is a denial-of-service attempt.
pub const PASSWORD_MAX_CHARS: usize = 256;
pub const FULL_NAME_MAX_CHARS: usize = 200;
pub const EMAIL_MAX_CHARS: usize = 254;

/// An email address, trimmed and lower-cased so that one person has one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let normalised = input.trim().to_lowercase();
        if normalised.is_empty() {
            return Err("l'adresse électronique est obligatoire");
        }
        if normalised.chars().count() > EMAIL_MAX_CHARS {
            return Err("l'adresse électronique est trop longue (254 caractères au plus)");
        }
        if !validator::ValidateEmail::validate_email(&normalised) {
            return Err(
                "l'adresse électronique n'est pas valide (exemple : prenom.nom@exemple.fr)",
            );
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Length rules of OWASP's guidance: a long passphrase beats composition rules.
pub fn check_password(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < PASSWORD_MIN_CHARS {
        return Err(format!(
            "le mot de passe doit comporter au moins {PASSWORD_MIN_CHARS} caractères ({n} saisis)"
        ));
    }
    if n > PASSWORD_MAX_CHARS {
        return Err(format!(
            "le mot de passe ne doit pas dépasser {PASSWORD_MAX_CHARS} caractères"
        ));
    }
    if password.trim().is_empty() {
        return Err("le mot de passe ne peut pas être fait que d'espaces".into());
    }
    Ok(())
}

pub fn check_full_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("le nom complet est obligatoire".into());
    }
    if name.chars().count() > FULL_NAME_MAX_CHARS {
        return Err(format!(
            "le nom complet ne doit pas dépasser {FULL_NAME_MAX_CHARS} caractères"
        ));
    }
    // The one text rule: also bidirectional and invisible characters (the name is a mail's
    // display name).
    let name = crate::domain::text::Text::parse(name, crate::domain::text::Lines::Single)
        .map_err(|e| format!("le nom complet contient un {e}"))?;
    Ok(name.into_inner())
}

/// Submitting an application needs a verified address (DESIGN.md §14); drafting does not.
/// `Err` says, in French, what to do.
pub fn check_may_submit(email_verified: bool) -> Result<(), &'static str> {
    if email_verified {
        Ok(())
    } else {
        Err(
            "Votre adresse électronique n'est pas encore vérifiée : ouvrez le lien du courriel \
             reçu à l'inscription, puis déposez à nouveau votre dossier. Pas reçu de courriel, \
             ou lien expiré ? Demandez un nouveau lien de confirmation depuis votre compte. \
             Votre dossier reste enregistré en brouillon.",
        )
    }
}

/// Where an account stands, derived from its columns (`active`, whether a password is set,
/// `email_verified_at`): the account state machine of DESIGN.md §14.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// Invited by an admin; no password until the invitation is accepted.
    Invited,
    /// Registered, address not yet verified: may sign in and draft, not submit.
    Unverified,
    /// Usable.
    Active,
    /// Deactivated by an admin: no sign-in, every token refused.
    Deactivated,
}

/// What happens to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountEvent {
    VerifyEmail,
    AcceptInvitation,
    /// A reset by mail (it also proves the address).
    ResetPassword,
    ChangePassword,
    ChangeRole,
    Deactivate,
    Reactivate,
}

/// The outcome of an allowed event: the new state, and whether credentials issued before it
/// (bearer tokens, web sessions) must stop working (the account's generation is bumped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountTransition {
    pub to: AccountState,
    pub ends_sessions: bool,
}

impl AccountState {
    pub fn derive(active: bool, has_password: bool, email_verified: bool) -> Self {
        match (active, has_password, email_verified) {
            (false, _, _) => Self::Deactivated,
            (true, false, _) => Self::Invited,
            (true, true, false) => Self::Unverified,
            (true, true, true) => Self::Active,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Unverified => "unverified",
            Self::Active => "active",
            Self::Deactivated => "deactivated",
        }
    }

    /// May this account obtain a token with its password?
    pub fn may_sign_in(self) -> bool {
        matches!(self, Self::Unverified | Self::Active)
    }

    /// May this account's applications be submitted? (Only a verified address.)
    pub fn may_submit(self) -> bool {
        self == Self::Active
    }

    /// The transition table. `Err` carries a French reason.
    pub fn apply(self, event: AccountEvent) -> Result<AccountTransition, &'static str> {
        use AccountEvent as E;
        use AccountState as S;
        let to = |to, ends_sessions| Ok(AccountTransition { to, ends_sessions });
        match (self, event) {
            (S::Unverified, E::VerifyEmail) => to(S::Active, false),
            (S::Active, E::VerifyEmail) => Err("cette adresse électronique est déjà vérifiée"),
            (S::Invited, E::AcceptInvitation) => to(S::Active, true),
            (S::Invited | S::Unverified | S::Active, E::ResetPassword) => to(S::Active, true),
            (S::Unverified | S::Active, E::ChangePassword) => to(self, true),
            (S::Invited | S::Unverified | S::Active, E::ChangeRole) => to(self, true),
            (S::Invited | S::Unverified | S::Active, E::Deactivate) => to(S::Deactivated, true),
            (S::Deactivated, E::Reactivate) => Ok(AccountTransition {
                // The columns say which: an invitation still pending, an address unverified.
                to: S::Active,
                ends_sessions: false,
            }),
            (S::Deactivated, _) => Err("ce compte est désactivé"),
            (S::Invited, _) => Err("l'invitation n'a pas encore été acceptée"),
            (_, E::AcceptInvitation) => Err("ce compte a déjà un mot de passe"),
            (_, E::Reactivate) => Err("ce compte est déjà actif"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_transition_table() {
        use AccountEvent as E;
        use AccountState as S;
        // (from, event, Some((to, ends_sessions)) or None when refused)
        type Case = (S, E, Option<(S, bool)>);
        let table: &[Case] = &[
            (S::Unverified, E::VerifyEmail, Some((S::Active, false))),
            (S::Active, E::VerifyEmail, None),
            (S::Invited, E::VerifyEmail, None),
            (S::Deactivated, E::VerifyEmail, None),
            (S::Invited, E::AcceptInvitation, Some((S::Active, true))),
            (S::Active, E::AcceptInvitation, None),
            (S::Unverified, E::AcceptInvitation, None),
            (S::Deactivated, E::AcceptInvitation, None),
            (S::Invited, E::ResetPassword, Some((S::Active, true))),
            (S::Unverified, E::ResetPassword, Some((S::Active, true))),
            (S::Active, E::ResetPassword, Some((S::Active, true))),
            (S::Deactivated, E::ResetPassword, None),
            (S::Active, E::ChangePassword, Some((S::Active, true))),
            (
                S::Unverified,
                E::ChangePassword,
                Some((S::Unverified, true)),
            ),
            (S::Invited, E::ChangePassword, None),
            (S::Deactivated, E::ChangePassword, None),
            (S::Active, E::ChangeRole, Some((S::Active, true))),
            (S::Invited, E::ChangeRole, Some((S::Invited, true))),
            (S::Deactivated, E::ChangeRole, None),
            (S::Active, E::Deactivate, Some((S::Deactivated, true))),
            (S::Invited, E::Deactivate, Some((S::Deactivated, true))),
            (S::Deactivated, E::Deactivate, None),
            (S::Deactivated, E::Reactivate, Some((S::Active, false))),
            (S::Active, E::Reactivate, None),
        ];
        for (from, event, expected) in table {
            let got = from.apply(*event).ok().map(|t| (t.to, t.ends_sessions));
            assert_eq!(got, *expected, "{from:?} + {event:?}");
            if expected.is_none() {
                assert!(!from.apply(*event).unwrap_err().is_empty());
            }
        }
    }

    #[test]
    fn only_a_verified_address_submits() {
        assert!(check_may_submit(true).is_ok());
        let why = check_may_submit(false).unwrap_err();
        assert!(
            why.contains("vérifiée") && why.contains("nouveau lien"),
            "{why}"
        );
    }

    #[test]
    fn account_state_from_columns() {
        let table = [
            ((false, true, true), AccountState::Deactivated, false, false),
            (
                (false, false, false),
                AccountState::Deactivated,
                false,
                false,
            ),
            ((true, false, false), AccountState::Invited, false, false),
            ((true, true, false), AccountState::Unverified, true, false),
            ((true, true, true), AccountState::Active, true, true),
        ];
        for ((active, pw, verified), state, sign_in, submit) in table {
            let s = AccountState::derive(active, pw, verified);
            assert_eq!(s, state);
            assert_eq!(s.may_sign_in(), sign_in, "{s:?}");
            assert_eq!(s.may_submit(), submit, "{s:?}");
        }
    }

    #[test]
    fn emails_are_normalised_or_refused() {
        let cases: &[(&str, Option<&str>)] = &[
            ("  Marie.Curie@Exemple.FR ", Some("marie.curie@exemple.fr")),
            ("a@b.fr", Some("a@b.fr")),
            ("", None),
            ("   ", None),
            ("pas-une-adresse", None),
            ("a@", None),
            ("@exemple.fr", None),
            ("a b@exemple.fr", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                EmailAddress::parse(input)
                    .ok()
                    .map(EmailAddress::into_string)
                    .as_deref(),
                *expected,
                "{input:?}"
            );
        }
        let long = format!("{}@exemple.fr", "a".repeat(250));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn passwords_need_twelve_characters() {
        let cases: &[(&str, bool)] = &[
            ("", false),
            ("court", false),
            ("onze-caract", false),  // 11
            ("douze-caract", true),  // 12
            ("éééééééééééé", true),  // 12 characters, 24 bytes
            ("            ", false), // only spaces
            ("une phrase de passe bien longue", true),
        ];
        for (pw, ok) in cases {
            assert_eq!(check_password(pw).is_ok(), *ok, "{pw:?}");
        }
        assert!(check_password(&"x".repeat(257)).is_err());
        assert!(check_password("court").unwrap_err().contains("12"));
    }

    #[test]
    fn full_names_are_trimmed_and_bounded() {
        assert_eq!(
            check_full_name("  Jeanne Dupont ").unwrap(),
            "Jeanne Dupont"
        );
        assert!(check_full_name("   ").is_err());
        assert!(check_full_name(&"x".repeat(201)).is_err());
        assert!(check_full_name("a\u{0}b").is_err());
        assert!(check_full_name("Jeanne\u{202E}tnomuD").is_err());
    }

    #[test]
    fn permissions_on_accounts() {
        let table = [
            (Role::Applicant, false, false, false),
            (Role::Reviewer, false, false, false),
            (Role::Staff, true, false, true),
            (Role::Admin, true, true, true),
        ];
        for (role, staff, create, list) in table {
            assert_eq!(role.is_staff(), staff, "{role:?}");
            assert_eq!(role.can_create_accounts(), create, "{role:?}");
            assert_eq!(role.can_list_accounts(), list, "{role:?}");
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
