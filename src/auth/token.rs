//! Bearer tokens: HS256 JWTs carrying `sub`, `role`, `gen` (the account's generation when the
//! token was issued: the extractor refuses it once the account's generation has moved on),
//! `iat`, `exp`, `iss`, `aud`. Decoding
//! checks the signature, pins the algorithm (a token signed otherwise, or `alg: none`, is
//! refused), and checks expiry (with a small leeway for clock skew), issuer and audience.

use chrono::Utc;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::config::AuthSettings;
use crate::domain::account::Role;

/// Seconds of clock skew tolerated on `exp` (and `iat`/`nbf`).
pub const LEEWAY_SECONDS: u64 = 30;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    /// The account's generation at issue (see `auth::account::check`). Tokens from before
    /// generations existed carry none and count as 0.
    #[serde(default, rename = "gen")]
    pub generation: i32,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("le jeton a expiré : demandez-en un nouveau")]
    Expired,
    #[error("le jeton n'est pas valide")]
    Invalid,
}

/// At most this many verified tokens are remembered: a few thousand people sign in to a call
/// on a busy day, and an entry is ~200 bytes.
const VERIFIED_CAPACITY: usize = 10_000;

pub struct TokenService {
    /// Tokens whose signature, issuer and audience were checked, by the SHA-256 of their text
    /// (never the text itself): the HS256 check and the parse of its JSON were about 9 % of a
    /// read's CPU (issue 33). A remembered token is still refused once expired; revocation is
    /// the account check's (its generation), which runs at every request whatever this says.
    verified: std::sync::Mutex<std::collections::HashMap<[u8; 32], Claims>>,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_seconds: i64,
}

impl TokenService {
    pub fn new(settings: &AuthSettings) -> Self {
        let secret = secrecy::ExposeSecret::expose_secret(&settings.jwt_secret).as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        Self {
            verified: Default::default(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl_seconds: settings.token_ttl_seconds,
        }
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    pub fn issue(&self, user_id: &str, role: Role, generation: i32) -> anyhow::Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            generation,
            iat: now,
            exp: now + self.ttl_seconds,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        self.sign(&claims)
    }

    pub fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("jwt encode: {e}"))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let key: [u8; 32] = sha2::Sha256::digest(token.as_bytes()).into();
        let now = Utc::now().timestamp();
        if let Some(claims) = self.remembered(&key) {
            // jsonwebtoken's own rule: expired once `exp` is more than the leeway behind now.
            if claims.exp < now - LEEWAY_SECONDS as i64 {
                return Err(TokenError::Expired);
            }
            return Ok(claims);
        }
        let claims = decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        self.remember(key, &claims, now);
        Ok(claims)
    }

    fn remembered(&self, key: &[u8; 32]) -> Option<Claims> {
        // A poisoned lock (a panic while it was held) only costs the cache.
        self.verified.lock().ok()?.get(key).cloned()
    }

    fn remember(&self, key: [u8; 32], claims: &Claims, now: i64) {
        let Ok(mut verified) = self.verified.lock() else {
            return;
        };
        if verified.len() >= VERIFIED_CAPACITY {
            verified.retain(|_, c| c.exp >= now - LEEWAY_SECONDS as i64);
            if verified.len() >= VERIFIED_CAPACITY {
                verified.clear();
            }
        }
        verified.insert(key, claims.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AuthSettings {
        AuthSettings {
            jwt_secret: "0123456789abcdef0123456789abcdef".into(),
            token_ttl_seconds: 3600,
            issuer: "essor".into(),
            audience: "essor-api".into(),
            failures_per_account: 5,
            failures_per_address: 100,
            throttle_window_seconds: 900,
            account_requests_per_address_per_hour: 20,
            password_threads: 1,
            proconnect: Default::default(),
        }
    }

    fn claims(tweak: impl FnOnce(&mut Claims)) -> Claims {
        let now = Utc::now().timestamp();
        let mut c = Claims {
            sub: "u1".into(),
            role: Role::Staff,
            generation: 0,
            iat: now,
            exp: now + 600,
            iss: "essor".into(),
            aud: "essor-api".into(),
        };
        tweak(&mut c);
        c
    }

    #[test]
    fn a_fresh_token_verifies() {
        let svc = TokenService::new(&settings());
        let token = svc.issue("u1", Role::Reviewer, 3).unwrap();
        let c = svc.verify(&token).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.role, c.generation),
            ("u1", Role::Reviewer, 3)
        );
        assert_eq!(c.exp - c.iat, 3600);
    }

    #[test]
    fn bad_tokens_are_refused() {
        let svc = TokenService::new(&settings());
        let other = TokenService::new(&AuthSettings {
            jwt_secret: "another-secret-another-secret-xx".into(),
            ..settings()
        });
        let now = Utc::now().timestamp();
        let cases: Vec<(&str, String, TokenError)> = vec![
            (
                "expired",
                svc.sign(&claims(|c| c.exp = now - 120)).unwrap(),
                TokenError::Expired,
            ),
            (
                "wrong issuer",
                svc.sign(&claims(|c| c.iss = "evil".into())).unwrap(),
                TokenError::Invalid,
            ),
            (
                "wrong audience",
                svc.sign(&claims(|c| c.aud = "other".into())).unwrap(),
                TokenError::Invalid,
            ),
            (
                "wrong key",
                other.sign(&claims(|_| {})).unwrap(),
                TokenError::Invalid,
            ),
            ("garbage", "not.a.token".into(), TokenError::Invalid),
        ];
        for (name, token, expected) in cases {
            assert_eq!(svc.verify(&token).unwrap_err(), expected, "{name}");
        }
    }

    #[test]
    fn a_remembered_token_still_expires_and_a_changed_one_is_checked_again() {
        let svc = TokenService::new(&settings());
        let token = svc.issue("u1", Role::Applicant, 0).unwrap();
        assert!(svc.verify(&token).is_ok());
        assert_eq!(svc.verified.lock().unwrap().len(), 1);
        // The same text again is answered from memory: the same claims.
        assert_eq!(svc.verify(&token).unwrap().sub, "u1");
        // One character of the signature changed: another key, checked, refused.
        let mut forged = token.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(svc.verify(&forged).unwrap_err(), TokenError::Invalid);
        // Time passes beyond the expiry and the leeway: the remembered token is refused.
        let now = Utc::now().timestamp();
        for claims in svc.verified.lock().unwrap().values_mut() {
            claims.exp = now - LEEWAY_SECONDS as i64 - 1;
        }
        assert_eq!(svc.verify(&token).unwrap_err(), TokenError::Expired);
    }

    #[test]
    fn the_memory_of_tokens_is_bounded() {
        let svc = TokenService::new(&settings());
        for i in 0..VERIFIED_CAPACITY + 5 {
            let token = svc.issue(&format!("u{i}"), Role::Applicant, 0).unwrap();
            svc.verify(&token).unwrap();
        }
        assert!(svc.verified.lock().unwrap().len() <= VERIFIED_CAPACITY);
    }

    #[test]
    fn expiry_has_a_small_leeway() {
        let svc = TokenService::new(&settings());
        let now = Utc::now().timestamp();
        assert!(
            svc.verify(&svc.sign(&claims(|c| c.exp = now - 5)).unwrap())
                .is_ok()
        );
        assert!(
            svc.verify(&svc.sign(&claims(|c| c.exp = now - 60)).unwrap())
                .is_err()
        );
    }
}
