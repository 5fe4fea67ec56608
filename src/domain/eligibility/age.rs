//! Age of a structure in whole years, as the call's rules count it (DESIGN.md §8, MEL-5 and
//! ESUS-1).

use chrono::{Datelike, NaiveDate};

/// Full years elapsed from `from` (e.g. the creation date) to `to` (e.g. the filing date).
///
/// A year is complete on the anniversary itself: a structure created on 15 June 2023 is
/// exactly 3 on 15 June 2026 (so it is no longer « under 3 years »), and still 2 on 14 June.
///
/// A structure created on 29 February reaches its anniversary on 1 March in common years: the
/// comparison is made on (month, day), and in a common year 28 February still comes before
/// (2, 29) while 1 March comes after it. The year is therefore complete the day after
/// 28 February, never on 28 February itself, which is what counting « a full year » means
/// when the anniversary date does not exist (the same reading as the « de quantième à
/// quantième » rule of the code civil, where a period falls due the day after the last
/// day that exists).
///
/// When `to` is before `from` the result is negative (the whole years counted backwards),
/// so a future creation date never looks older than it is.
pub fn whole_years(from: NaiveDate, to: NaiveDate) -> i32 {
    if to < from {
        return -whole_years(to, from);
    }
    let mut years = to.year() - from.year();
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years
}

#[cfg(test)]
mod tests {
    use super::whole_years;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn whole_years_table() {
        let cases: &[(&str, &str, &str, i32)] = &[
            ("same day", "2025-03-01", "2025-03-01", 0),
            ("one day later", "2025-03-01", "2025-03-02", 0),
            (
                "day before first anniversary",
                "2025-03-01",
                "2026-02-28",
                0,
            ),
            ("first anniversary", "2025-03-01", "2026-03-01", 1),
            (
                "day before third anniversary",
                "2023-06-15",
                "2026-06-14",
                2,
            ),
            (
                "third anniversary to the day",
                "2023-06-15",
                "2026-06-15",
                3,
            ),
            ("day after third anniversary", "2023-06-15", "2026-06-16", 3),
            ("fifth anniversary", "2021-06-15", "2026-06-15", 5),
            (
                "day before fifth anniversary",
                "2021-06-16",
                "2026-06-15",
                4,
            ),
            (
                "29 Feb -> 28 Feb of a common year",
                "2024-02-29",
                "2025-02-28",
                0,
            ),
            (
                "29 Feb -> 1 Mar of a common year",
                "2024-02-29",
                "2025-03-01",
                1,
            ),
            (
                "29 Feb -> 28 Feb three years on",
                "2024-02-29",
                "2027-02-28",
                2,
            ),
            (
                "29 Feb -> 1 Mar three years on",
                "2024-02-29",
                "2027-03-01",
                3,
            ),
            (
                "29 Feb -> 29 Feb of the next leap year",
                "2024-02-29",
                "2028-02-29",
                4,
            ),
            (
                "29 Feb -> 28 Feb of the next leap year",
                "2024-02-29",
                "2028-02-28",
                3,
            ),
            ("28 Feb -> 28 Feb", "2023-02-28", "2024-02-28", 1),
            (
                "1 Mar -> 29 Feb of a leap year",
                "2023-03-01",
                "2024-02-29",
                0,
            ),
            ("31 Dec -> 1 Jan", "2025-12-31", "2026-01-01", 0),
            ("to before from: one day", "2026-06-16", "2026-06-15", 0),
            (
                "to before from: one year to the day",
                "2027-06-15",
                "2026-06-15",
                -1,
            ),
            (
                "to before from: just under two years",
                "2028-06-14",
                "2026-06-15",
                -1,
            ),
        ];
        for (name, from, to, expected) in cases {
            assert_eq!(
                whole_years(d(from), d(to)),
                *expected,
                "{name}: {from} -> {to}"
            );
        }
    }
}
