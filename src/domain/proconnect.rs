//! Who may sign in with ProConnect from where (DESIGN.md §17): ProConnect says which
//! organisation (SIRET) vouches for the person; essor's role says which it must be.

use crate::domain::account::Role;

/// Why an organisation may not sign this role in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OriginRefusal {
    /// Applicants use their password unless the service lets them use ProConnect.
    NotForApplicants,
    /// Staff and admins come from the configured SIRENs only.
    NotStaffSiren,
    /// A commune's agents come from their commune's SIREN only (`None`: the account names
    /// no commune of the MEL).
    NotCommuneSiren { commune: Option<&'static str> },
}

/// Staff and admins from `staff_sirens`; a commune's agents from their commune's SIREN;
/// reviewers from anywhere (committee members are not all agents of the MEL); applicants only
/// when `applicants` is allowed. `siret` is what ProConnect gives (spaces tolerated).
pub fn may_sign_in(
    role: Role,
    siret: Option<&str>,
    staff_sirens: &[String],
    applicants: bool,
    commune_insee: Option<&str>,
) -> Result<(), OriginRefusal> {
    let siren: String = siret
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .take(9)
        .collect();
    match role {
        Role::Applicant if !applicants => Err(OriginRefusal::NotForApplicants),
        Role::Applicant | Role::Reviewer => Ok(()),
        Role::Staff | Role::Admin if staff_sirens.iter().any(|s| s.trim() == siren) => Ok(()),
        Role::Staff | Role::Admin => Err(OriginRefusal::NotStaffSiren),
        Role::Commune => match commune_insee.and_then(crate::domain::territory::mel_commune) {
            Some(c) if c.siren == siren => Ok(()),
            Some(c) => Err(OriginRefusal::NotCommuneSiren {
                commune: Some(c.name.as_str()),
            }),
            None => Err(OriginRefusal::NotCommuneSiren { commune: None }),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Role, SIRET given, applicants allowed, the account's commune, the verdict.
    type Case<'a> = (
        Role,
        Option<&'a str>,
        bool,
        Option<&'a str>,
        Result<(), OriginRefusal>,
    );

    #[test]
    fn each_role_signs_in_from_its_own_organisation() {
        let mel = ["200093201".to_owned()];
        let roubaix = crate::domain::territory::mel_commune("59512").unwrap();
        let roubaix_siret = format!("{}00017", roubaix.siren);
        let table: [Case; 9] = [
            (Role::Staff, Some("20009320100016"), false, None, Ok(())),
            (Role::Admin, Some("200 093 201 00016"), false, None, Ok(())),
            (
                Role::Staff,
                Some("21590350100017"),
                false,
                None,
                Err(OriginRefusal::NotStaffSiren),
            ),
            (
                Role::Staff,
                None,
                false,
                None,
                Err(OriginRefusal::NotStaffSiren),
            ),
            (Role::Reviewer, Some("21590350100017"), false, None, Ok(())),
            (
                Role::Applicant,
                None,
                false,
                None,
                Err(OriginRefusal::NotForApplicants),
            ),
            (Role::Applicant, None, true, None, Ok(())),
            (
                Role::Commune,
                Some(&roubaix_siret),
                false,
                Some("59512"),
                Ok(()),
            ),
            (
                Role::Commune,
                Some("20009320100016"),
                false,
                Some("59512"),
                Err(OriginRefusal::NotCommuneSiren {
                    commune: Some("Roubaix"),
                }),
            ),
        ];
        for (role, siret, applicants, commune, expected) in table {
            assert_eq!(
                may_sign_in(role, siret, &mel, applicants, commune),
                expected,
                "{role:?} {siret:?}"
            );
        }
    }
}
