//! Amounts of money in euro cents (DESIGN.md §4: `_cents` fields, never floats).
//!
//! A grant amount is never negative, so `Cents` refuses negatives at the door and its
//! arithmetic is checked: an envelope that would go below zero is a bug to report, not a
//! number to store.

use serde::{Deserialize, Serialize};

/// The MEL's cap per project for « Entreprendre autrement »: 20 000 €.
pub const MEL_DEFAULT_MAX_AWARD: Cents = Cents(2_000_000);

/// The threshold of the loi n° 2000-321 art. 10 (décret n° 2001-495): above 23 000 €, a grant
/// needs a convention (`domain::grant::ConventionPolicy`).
pub const CONVENTION_THRESHOLD: Cents = Cents(2_300_000);

/// NO-BREAK SPACE: French thousands separator and the space before `€`, so that an amount
/// never wraps across two lines in a mail.
const NBSP: char = '\u{a0}';

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    diesel::AsExpression,
    diesel::FromSqlRow,
)]
#[serde(transparent)]
// A `BIGINT` column: `db::sql_types` reads it back through `Cents::new`.
#[diesel(sql_type = diesel::sql_types::BigInt)]
pub struct Cents(i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("un montant ne peut pas être négatif")]
    Negative,
}

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub fn new(cents: i64) -> Result<Cents, MoneyError> {
        if cents < 0 {
            Err(MoneyError::Negative)
        } else {
            Ok(Cents(cents))
        }
    }

    pub const fn value(self) -> i64 {
        self.0
    }

    /// The number of cents, borrowed (what a database bind takes).
    pub fn as_i64_ref(&self) -> &i64 {
        &self.0
    }

    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }

    /// `None` when the result would be negative (e.g. more awarded than the envelope holds).
    pub fn checked_sub(self, other: Cents) -> Option<Cents> {
        self.0
            .checked_sub(other.0)
            .filter(|&cents| cents >= 0)
            .map(Cents)
    }

    /// The smaller of two amounts, e.g. the requested amount capped by the call's maximum.
    pub fn min(self, other: Cents) -> Cents {
        Ord::min(self, other)
    }

    /// `pct` % of this amount, rounded down to the cent: a cap computed this way never lets
    /// an award exceed the share. Saturates at `i64::MAX` for shares above 100 %.
    pub fn percent_of(self, pct: u8) -> Cents {
        let share = i128::from(self.0) * i128::from(pct) / 100;
        Cents(i64::try_from(share).unwrap_or(i64::MAX))
    }

    /// The French way, for mails and what a person reads: `20 000,00 €` with no-break spaces.
    pub fn to_fr_string(self) -> String {
        let euros = group_thousands(self.0 / 100);
        format!("{euros},{:02}{NBSP}€", self.0 % 100)
    }

    /// A plain decimal number for CSV and spreadsheets: `20000.00`.
    pub fn to_decimal_string(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl TryFrom<i64> for Cents {
    type Error = MoneyError;

    fn try_from(cents: i64) -> Result<Self, Self::Error> {
        Cents::new(cents)
    }
}

impl From<Cents> for i64 {
    fn from(cents: Cents) -> i64 {
        cents.0
    }
}

/// Deserialised through `new`, so a negative `_cents` field in a request is refused with the
/// French message instead of slipping in.
impl<'de> Deserialize<'de> for Cents {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let cents = i64::deserialize(deserializer)?;
        Cents::new(cents).map_err(serde::de::Error::custom)
    }
}

fn group_thousands(n: i64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() * 2);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(NBSP);
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(cents: i64) -> Cents {
        Cents::new(cents).unwrap()
    }

    #[test]
    fn new_refuses_negatives() {
        let cases = [
            (0, Ok(0)),
            (1, Ok(1)),
            (2_000_000, Ok(2_000_000)),
            (i64::MAX, Ok(i64::MAX)),
            (-1, Err(MoneyError::Negative)),
            (i64::MIN, Err(MoneyError::Negative)),
        ];
        for (input, expected) in cases {
            assert_eq!(Cents::new(input).map(Cents::value), expected, "{input}");
        }
        assert_eq!(
            MoneyError::Negative.to_string(),
            "un montant ne peut pas être négatif"
        );
    }

    #[test]
    fn french_formatting() {
        let cases = [
            (0, "0,00\u{a0}€"),
            (1, "0,01\u{a0}€"),
            (10, "0,10\u{a0}€"),
            (99, "0,99\u{a0}€"),
            (100, "1,00\u{a0}€"),
            (99_999, "999,99\u{a0}€"),
            (100_000, "1\u{a0}000,00\u{a0}€"),
            (2_000_000, "20\u{a0}000,00\u{a0}€"),
            (9_000_000, "90\u{a0}000,00\u{a0}€"),
            (12_345_678, "123\u{a0}456,78\u{a0}€"),
            (123_456_789, "1\u{a0}234\u{a0}567,89\u{a0}€"),
            (100_000_000_000, "1\u{a0}000\u{a0}000\u{a0}000,00\u{a0}€"),
            (
                i64::MAX,
                "92\u{a0}233\u{a0}720\u{a0}368\u{a0}547\u{a0}758,07\u{a0}€",
            ),
        ];
        for (cents, expected) in cases {
            assert_eq!(c(cents).to_fr_string(), expected, "{cents}");
        }
    }

    #[test]
    fn decimal_formatting() {
        let cases = [
            (0, "0.00"),
            (1, "0.01"),
            (10, "0.10"),
            (100, "1.00"),
            (2_000_000, "20000.00"),
            (123_456_789, "1234567.89"),
        ];
        for (cents, expected) in cases {
            assert_eq!(c(cents).to_decimal_string(), expected, "{cents}");
        }
    }

    #[test]
    fn percent_of_rounds_down() {
        let cases = [
            (9_000_000, 30, 2_700_000),
            (2_000_000, 30, 600_000),
            (1_001, 30, 300), // 300.3
            (999, 50, 499),   // 499.5
            (1, 99, 0),
            (12_345, 0, 0),
            (12_345, 100, 12_345),
            (100, 255, 255),
            (i64::MAX, 100, i64::MAX),
            (i64::MAX, 50, i64::MAX / 2),
            (i64::MAX, 255, i64::MAX),
        ];
        for (amount, pct, expected) in cases {
            assert_eq!(
                c(amount).percent_of(pct),
                c(expected),
                "{pct} % of {amount}"
            );
        }
    }

    #[test]
    fn checked_arithmetic() {
        let add = [
            (0, 0, Some(0)),
            (1_000, 2_000_000, Some(2_001_000)),
            (i64::MAX, 0, Some(i64::MAX)),
            (i64::MAX, 1, None),
        ];
        for (a, b, expected) in add {
            assert_eq!(
                c(a).checked_add(c(b)).map(Cents::value),
                expected,
                "{a} + {b}"
            );
        }
        let sub = [
            (2_000_000, 500_000, Some(1_500_000)),
            (500_000, 500_000, Some(0)),
            (500_000, 500_001, None),
            (0, i64::MAX, None),
        ];
        for (a, b, expected) in sub {
            assert_eq!(
                c(a).checked_sub(c(b)).map(Cents::value),
                expected,
                "{a} - {b}"
            );
        }
    }

    #[test]
    fn min_and_ordering() {
        let cases = [(1, 2, 1), (2, 1, 1), (5, 5, 5), (0, 2_000_000, 0)];
        for (a, b, expected) in cases {
            assert_eq!(c(a).min(c(b)), c(expected), "min({a}, {b})");
        }
        // The award cap of §9: min(requested, max award, budget share, envelope left).
        let requested = c(2_500_000);
        let share = c(9_000_000).percent_of(30);
        let envelope_left = c(10_000_000);
        let cap = requested
            .min(MEL_DEFAULT_MAX_AWARD)
            .min(share)
            .min(envelope_left);
        assert_eq!(cap, c(2_000_000));
        assert_eq!(
            [c(3), c(1), c(2)].into_iter().min(),
            Some(c(1)),
            "Ord is usable on collections"
        );
    }

    #[test]
    fn mel_default_max_award_is_20_000_euros() {
        assert_eq!(MEL_DEFAULT_MAX_AWARD.value(), 2_000_000);
        assert_eq!(
            MEL_DEFAULT_MAX_AWARD.to_fr_string(),
            "20\u{a0}000,00\u{a0}€"
        );
    }

    #[test]
    fn serde_is_a_plain_integer_and_refuses_negatives() {
        assert_eq!(serde_json::to_string(&c(2_000_000)).unwrap(), "2000000");
        assert_eq!(
            serde_json::from_str::<Cents>("2000000").unwrap(),
            c(2_000_000)
        );
        let err = serde_json::from_str::<Cents>("-1").unwrap_err();
        assert!(err.to_string().contains("négatif"), "{err}");
        assert!(serde_json::from_str::<Cents>("12.5").is_err());
        assert!(serde_json::from_str::<Cents>("\"100\"").is_err());
    }
}
