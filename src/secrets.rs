//! What production accepts as a signing secret. Anyone who knows the secret mints tokens for
//! any account, an admin's included, so production refuses:
//! - a secret published anywhere: in this repository (the development default, the old
//!   docker-compose default, the tests' and examples' secrets), hence known to everyone;
//! - a secret of low entropy: shorter than 32 bytes, a repeated pattern (`'a' * 32`,
//!   `abcabc…`), or fewer than 128 bits by the characters' own frequencies.
//!
//! `openssl rand -base64 32` (44 characters, about 230 bits by this measure) passes.

use std::collections::HashMap;

/// The secret `cargo run` signs with when none is configured: development only.
pub const DEVELOPMENT_JWT_SECRET: &str = "development-secret-not-for-production";

/// Secrets that appear, or appeared, in this repository: never valid in production.
pub const PUBLISHED: &[&str] = &[
    DEVELOPMENT_JWT_SECRET,
    // The docker-compose.yml default until it required ESSOR_JWT_SECRET.
    "change-me-to-32-random-bytes-or-more!!",
    // Unit tests and examples.
    "0123456789abcdef0123456789abcdef",
    "another-secret-another-secret-xx",
];

pub const MIN_BYTES: usize = 32;
pub const MIN_BITS: f64 = 128.0;

/// The total Shannon entropy of `s`, in bits, from its own character frequencies: a rough
/// upper bound of what a guesser faces (a random string scores near its true entropy, a
/// pattern or a word far below).
pub fn shannon_bits(s: &str) -> f64 {
    let mut counts: HashMap<char, usize> = HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&k| -(k as f64) * (k as f64 / n).log2())
        .sum()
}

/// Whether `s` is a shorter string repeated (`abab`, `0123…f0123…f`).
fn is_repetition(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    (1..=n / 2).any(|p| n.is_multiple_of(p) && chars.chunks(p).all(|c| c == &chars[..p]))
}

/// Why this secret must not sign production tokens, in words an operator acts on; `None`
/// when it may.
pub fn weakness(secret: &str) -> Option<String> {
    if PUBLISHED.contains(&secret) {
        return Some(
            "is published in the essor repository (a default or an example): anyone can mint \
             tokens with it; generate one with `openssl rand -base64 32`"
                .into(),
        );
    }
    if secret.len() < MIN_BYTES {
        return Some(format!(
            "must be at least {MIN_BYTES} bytes in production (`openssl rand -base64 32`)"
        ));
    }
    if is_repetition(secret) {
        return Some("is a repeated pattern; use random bytes (`openssl rand -base64 32`)".into());
    }
    let bits = shannon_bits(secret);
    if bits < MIN_BITS {
        return Some(format!(
            "has too little entropy (about {bits:.0} bits, {MIN_BITS:.0} needed); use random \
             bytes (`openssl rand -base64 32`)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_published_secrets_are_refused() {
        // (secret, accepted)
        let cases = [
            ("development-secret-not-for-production", false),
            ("change-me-to-32-random-bytes-or-more!!", false),
            ("0123456789abcdef0123456789abcdef", false),
            ("another-secret-another-secret-xx", false),
            (&*"a".repeat(32), false),
            (&*"a".repeat(200), false),
            (&*"ab".repeat(40), false),
            (&*"essor-secret".repeat(4), false),
            ("short-but-random-Q9x!", false),
            ("aabbccddaabbccddaabbccddaabbccdd", false),
            // Not quite a repetition, but about 70 bits.
            ("abcdabcdabcdabcdabcdabcdabcdabce", false),
            // `openssl rand -base64 32` and `openssl rand -hex 32`.
            ("q3Vd8mZ0pX1yR7tK4wB6nH2jL9cF5sG0aE8uT1iO3vM=", true),
            (
                "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829304a5b6c7d8",
                true,
            ),
            ("Le quai de la Deûle, 14 h 32, sept pigeons bleus !", true),
        ];
        for (secret, accepted) in cases {
            assert_eq!(
                weakness(secret).is_none(),
                accepted,
                "{secret:?}: {:?} ({:.0} bits)",
                weakness(secret),
                shannon_bits(secret)
            );
        }
    }

    #[test]
    fn entropy_counts_bits_by_frequency() {
        assert_eq!(shannon_bits(&"a".repeat(32)), 0.0);
        assert!((shannon_bits("abab") - 4.0).abs() < 1e-9);
        assert!((shannon_bits("abcd") - 8.0).abs() < 1e-9);
    }

    /// Every JWT secret written in the repository's configuration, compose file and docs is
    /// refused in production: a new example cannot slip through.
    #[test]
    fn secrets_written_in_the_repository_are_refused() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut found = Vec::new();
        for file in [
            "docker-compose.yml",
            "config/default.toml",
            "config/production.toml",
            "config/test.toml",
            "README.md",
            "docs/running.md",
            "docs/development.md",
            "docs/benchmarks.md",
            "docs/operations.md",
            "Dockerfile",
        ] {
            let Ok(text) = std::fs::read_to_string(root.join(file)) else {
                continue;
            };
            for line in text.lines() {
                let lower = line.to_ascii_lowercase();
                let Some(at) = lower.find("jwt_secret") else {
                    continue;
                };
                let rest = &line[at + "jwt_secret".len()..];
                let value = rest
                    .trim_start_matches(['"', ' ', ':', '='])
                    .trim_matches(['"', '\'', ' ', '`']);
                // `${ESSOR_JWT_SECRET:-default}` publishes its default.
                let value = value
                    .split_once(":-")
                    .map(|(_, d)| d.trim_end_matches('}'))
                    .unwrap_or(value);
                if value.len() >= 8 && !value.starts_with("${") && !value.contains(' ') {
                    found.push((file, value.to_owned()));
                }
            }
        }
        assert!(
            found.iter().any(|(f, _)| *f == "config/default.toml"),
            "the scan finds the development secret: {found:?}"
        );
        for (file, value) in found {
            assert!(
                weakness(&value).is_some(),
                "{file}: {value:?} is accepted in production"
            );
        }
    }
}
