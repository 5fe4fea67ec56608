//! Password hashing with argon2id and OWASP's parameters (19 MiB, 2 passes, 1 lane).
//! Both functions are CPU-bound: call them on the blocking pool, never on a worker thread.

use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

#[expect(
    clippy::expect_used,
    reason = "the OWASP parameters are constants argon2 accepts (a unit test hashes with them)"
)]
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Verifies against a stored PHC string; the parameters are read from the hash itself, so
/// hashes made with older parameters keep working.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the email is unknown, so that "no such account" takes as
/// long as "wrong password" and the timing does not tell which emails have accounts.
#[expect(
    clippy::expect_used,
    reason = "hashing a constant with the constant parameters cannot fail"
)]
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash("essor-dummy-password-for-timing").expect("dummy hash"));

pub fn verify_dummy(password: &str) {
    let _ = verify(password, &DUMMY_HASH);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("une phrase de passe").unwrap();
        let b = hash("une phrase de passe").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify("une phrase de passe", &a));
        assert!(!verify("une phrase de passf", &a));
        assert!(!verify("une phrase de passe", "not a hash"));
    }
}
