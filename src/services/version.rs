//! Optimistic concurrency, the rule: a change names the version it was made from, and is refused
//! when that version is no longer the current one. How the version travels (an `If-Match`
//! header, a hidden form field) is the face's business.

use crate::error::ServiceError;

/// 412 unless `expected` (from If-Match) is the current version.
pub fn check_version(expected: Option<i32>, current: i32) -> Result<(), ServiceError> {
    match expected {
        Some(v) if v != current => Err(stale(v, current)),
        _ => Ok(()),
    }
}

/// The answer to a write that lost the race: `sent` was read, `current` is stored now.
pub fn stale(sent: i32, current: i32) -> ServiceError {
    ServiceError::StaleVersion(format!(
        "Cette ressource a été modifiée entre-temps (version {current}, vous envoyez la version \
         {sent}) : rechargez-la puis recommencez."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_compared() {
        assert!(check_version(None, 3).is_ok());
        assert!(check_version(Some(3), 3).is_ok());
        assert!(matches!(
            check_version(Some(2), 3),
            Err(ServiceError::StaleVersion(_))
        ));
    }
}
