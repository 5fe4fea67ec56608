//! CSV injection (OWASP "CSV Injection"): a spreadsheet opening a CSV runs a cell that starts
//! with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(…)`, `+cmd|' /C calc'!A0`, `@SUM(…)`),
//! and a leading tab or carriage return can smuggle one past a naive check. Every CSV essor
//! writes (the `rfc4180` and `excel-fr` dialects, the SCDL open-data file) passes its free
//! text through [`defuse`], which prefixes such a cell with `'` so it is read as text.
//!
//! The fullwidth forms `＝＋－＠` are included: some spreadsheets normalise them to their ASCII
//! forms before parsing. Leading spaces are looked through, since some spreadsheets trim them.
//! Only text goes through here: amounts, scores and dates are written by essor itself.

use std::borrow::Cow;

/// The first characters that make a spreadsheet read a cell as a formula.
const TRIGGERS: [char; 10] = [
    '=', '+', '-', '@', '\t', '\r', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}',
];

/// Whether a spreadsheet could run this cell as a formula.
pub fn is_risky(cell: &str) -> bool {
    cell.trim_start_matches(' ').starts_with(TRIGGERS)
}

/// The cell, prefixed with `'` when a spreadsheet could run it as a formula.
pub fn defuse(cell: &str) -> Cow<'_, str> {
    if is_risky(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_triggers_are_prefixed_and_plain_text_is_not() {
        let cases = [
            (
                "=HYPERLINK(\"http://x\",\"clic\")",
                "'=HYPERLINK(\"http://x\",\"clic\")",
            ),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
            ("\t=1+1", "'\t=1+1"),
            ("\r=1+1", "'\r=1+1"),
            ("  =1+1", "'  =1+1"),
            ("＝HYPERLINK(\"x\")", "'＝HYPERLINK(\"x\")"),
            ("＋1", "'＋1"),
            ("－1", "'－1"),
            ("＠SUM(A1)", "'＠SUM(A1)"),
            ("Recyclerie solidaire", "Recyclerie solidaire"),
            ("Café = lien social", "Café = lien social"),
            ("a-b", "a-b"),
            ("contact@asso.fr", "contact@asso.fr"),
            ("", ""),
            ("'déjà cité", "'déjà cité"),
        ];
        for (raw, expected) in cases {
            assert_eq!(defuse(raw), expected, "{raw:?}");
        }
    }
}
