//! Accounts: roles, what each may do with accounts, and the rules on what a person types
//! (email, password, name). Hashing lives in `auth::password`; these are the rules only.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Porteur de projet: registers alone, sees only their own applications.
    Applicant,
    /// Member of the selection committee or expert: sees only assigned applications.
    Reviewer,
    /// Agent of the MEL's ESS team: runs calls, screens, decides, exports.
    Staff,
    /// Manages accounts; may do everything staff may.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Applicant, Role::Reviewer, Role::Staff, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applicant => "applicant",
            Self::Reviewer => "reviewer",
            Self::Staff => "staff",
            Self::Admin => "admin",
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
    crate::domain::text::check(name, crate::domain::text::Lines::Single)
        .map_err(|e| format!("le nom complet contient un {e}"))?;
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

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
