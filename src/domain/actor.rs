//! Who a use case acts for: the account as it is now (checked by the face that learnt who
//! calls, `auth/`), never the extractor, the session or the token itself. The services take an
//! `Actor`; the faces build it.

use crate::domain::account::Role;
use crate::domain::ids::UserId;
use crate::error::ServiceError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    /// The account's role now (not the one a token was issued with).
    pub role: Role,
    pub email_verified: bool,
}

impl Actor {
    /// 403 unless the actor has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ServiceError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "Votre rôle ({}) ne permet pas cette action.",
                self.role.as_str()
            )))
        }
    }

    pub fn require_staff(&self) -> Result<(), ServiceError> {
        self.require(&[Role::Staff, Role::Admin])
    }

    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role) -> Actor {
        Actor {
            id: UserId::new(),
            role,
            email_verified: true,
        }
    }

    #[test]
    fn staff_rules_by_role() {
        for (role, staff) in [
            (Role::Applicant, false),
            (Role::Reviewer, false),
            (Role::Staff, true),
            (Role::Admin, true),
        ] {
            assert_eq!(actor(role).is_staff(), staff, "{role:?}");
            assert_eq!(actor(role).require_staff().is_ok(), staff, "{role:?}");
        }
        assert!(actor(Role::Reviewer).require(&[Role::Reviewer]).is_ok());
        assert!(actor(Role::Applicant).require(&[Role::Reviewer]).is_err());
    }
}
