//! Dates as a French reader expects them: « 15 janvier 2027 », « 1er mars 2027 ».

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

const MONTHS: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];

pub fn french_date(d: NaiveDate) -> String {
    let day = if d.day() == 1 {
        "1er".to_owned()
    } else {
        d.day().to_string()
    };
    format!("{day} {} {}", MONTHS[d.month0() as usize], d.year())
}

/// « 20 mars 2027 à 10 h 05 », from a wall-clock time (the caller converts to Paris).
pub fn french_datetime(local: NaiveDateTime) -> String {
    format!(
        "{} à {} h {:02}",
        french_date(local.date()),
        local.hour(),
        local.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_datetimes() {
        let at = |d: (i32, u32, u32), h: u32, m: u32| {
            NaiveDate::from_ymd_opt(d.0, d.1, d.2)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
        };
        assert_eq!(
            french_datetime(at((2027, 3, 20), 10, 5)),
            "20 mars 2027 à 10 h 05"
        );
        assert_eq!(
            french_datetime(at((2027, 1, 1), 0, 0)),
            "1er janvier 2027 à 0 h 00"
        );
    }

    #[test]
    fn french_dates() {
        let cases = [
            ((2027, 1, 15), "15 janvier 2027"),
            ((2027, 3, 1), "1er mars 2027"),
            ((2026, 8, 31), "31 août 2026"),
            ((2028, 2, 29), "29 février 2028"),
            ((2026, 12, 2), "2 décembre 2026"),
        ];
        for ((y, m, d), expected) in cases {
            assert_eq!(
                french_date(NaiveDate::from_ymd_opt(y, m, d).unwrap()),
                expected
            );
        }
    }
}
