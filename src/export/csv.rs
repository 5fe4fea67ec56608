//! The CSV export: one line per application, the columns of [`super::COLUMNS`], written with
//! the `csv` crate (RFC 4180 quoting, CRLF line ends).
//!
//! Dialects: `rfc4180` (`,`, `20000.00`, no BOM) for programs; `excel-fr` for Excel in French:
//! `;` between fields (French Excel's list separator), decimal commas (`20000,00`, read as a
//! number), a UTF-8 BOM (without it Excel reads the file as Windows-1252 and garbles the
//! accents). In both dialects, free text a spreadsheet would take for a formula is prefixed
//! with `'` (CSV injection, [`super::formula`]).

use std::borrow::Cow;
use std::io::Write;

use serde::Serialize;

use crate::domain::money::Cents;
use crate::domain::territory;
use crate::export::rows::{ExportRow, Pages};
use crate::export::{COLUMNS, CsvDialect, ExportStats};

pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The snake_case code a value has in the API (`association`, `under_review`…).
pub fn code<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Euros with two decimals: `20000.00` (`20000,00` in the excel-fr dialect).
pub fn euros(cents: i64, dialect: CsvDialect) -> String {
    let s = Cents::new(cents).unwrap_or_default().to_decimal_string();
    match dialect {
        CsvDialect::Rfc4180 => s,
        CsvDialect::ExcelFr => s.replace('.', ","),
    }
}

/// A score or spread with two decimals.
pub fn decimal2(v: f64, dialect: CsvDialect) -> String {
    let s = format!("{v:.2}");
    match dialect {
        CsvDialect::Rfc4180 => s,
        CsvDialect::ExcelFr => s.replace('.', ","),
    }
}

/// Free text, defused against CSV injection whatever the dialect: a file meant for programs
/// is opened in a spreadsheet sooner or later.
pub fn text(s: &str) -> Cow<'_, str> {
    super::formula::defuse(s)
}

fn date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// The fields of a row, in the order of [`COLUMNS`].
pub fn fields(row: &ExportRow, dialect: CsvDialect) -> Vec<Cow<'_, str>> {
    let opt = |s: &'static str| Cow::Borrowed(s);
    let owned = Cow::Owned;
    fn opt_text(s: &Option<String>) -> Cow<'_, str> {
        s.as_deref().map(text).unwrap_or(Cow::Borrowed(""))
    }
    vec![
        Cow::Borrowed(row.reference.as_str()),
        text(&row.organisation_name),
        owned(row.legal_form.as_ref().map(code).unwrap_or_default()),
        opt_text(&row.siret),
        opt_text(&row.rna),
        opt_text(&row.commune_insee),
        opt(row
            .commune_insee
            .as_deref()
            .and_then(territory::commune_name)
            .unwrap_or("")),
        text(&row.project_title),
        owned(row.stage.as_ref().map(code).unwrap_or_default()),
        owned(euros(row.requested_cents, dialect)),
        owned(
            row.awarded_cents
                .map(|c| euros(c, dialect))
                .unwrap_or_default(),
        ),
        opt(row.state.as_str()),
        owned(
            row.eligibility_verdict
                .as_ref()
                .map(code)
                .unwrap_or_default(),
        ),
        owned(
            row.aggregate
                .map(|a| decimal2(a.score, dialect))
                .unwrap_or_default(),
        ),
        owned(
            row.aggregate
                .map(|a| decimal2(a.spread, dialect))
                .unwrap_or_default(),
        ),
        owned(row.review_count.to_string()),
        owned(row.favorable_count.to_string()),
        owned(row.reserved_count.to_string()),
        owned(row.unfavorable_count.to_string()),
        owned(date(row.committee_date)),
        opt_text(&row.decision_reference),
        opt_text(&row.decision_motivation),
        owned(date(row.submitted_on)),
        owned(date(row.decided_on)),
    ]
}

pub fn write<W: Write>(
    mut pages: Pages<'_>,
    dialect: CsvDialect,
    out: &mut W,
) -> anyhow::Result<ExportStats> {
    if dialect == CsvDialect::ExcelFr {
        out.write_all(UTF8_BOM)?;
    }
    let mut w = ::csv::WriterBuilder::new()
        .delimiter(match dialect {
            CsvDialect::Rfc4180 => b',',
            CsvDialect::ExcelFr => b';',
        })
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(COLUMNS.iter().map(|c| c.key))?;
    let mut stats = ExportStats::default();
    while let Some(chunk) = pages.next_chunk()? {
        for row in &chunk.rows {
            w.write_record(fields(row, dialect).iter().map(|f| f.as_bytes()))?;
            stats.applications += 1;
        }
        w.flush()?;
    }
    w.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::fixtures::sample_row;

    #[test]
    fn a_row_has_a_field_per_column() {
        let row = sample_row();
        for dialect in [CsvDialect::Rfc4180, CsvDialect::ExcelFr] {
            assert_eq!(fields(&row, dialect).len(), COLUMNS.len());
        }
        let f = fields(&row, CsvDialect::Rfc4180);
        let by_key = |k: &str| {
            let i = COLUMNS.iter().position(|c| c.key == k).unwrap();
            f[i].to_string()
        };
        assert_eq!(by_key("legal_form"), "local_law_association");
        assert_eq!(by_key("commune_name"), "Villeneuve-d'Ascq");
        assert_eq!(by_key("requested_eur"), "20000.00");
        assert_eq!(by_key("awarded_eur"), "15000.50");
        assert_eq!(by_key("score"), "78.34");
        assert_eq!(by_key("spread"), "3.33");
        assert_eq!(by_key("eligibility_verdict"), "needs_review");
        assert_eq!(by_key("committee_date"), "2026-03-12");
        assert_eq!(by_key("organisation_name"), "'=HYPERLINK(\"x\")");
        assert_eq!(by_key("decision_motivation"), "'-10 % du budget");
    }

    #[test]
    fn excel_fr_uses_decimal_commas_and_defuses_formulas() {
        let row = sample_row();
        let f = fields(&row, CsvDialect::ExcelFr);
        let by_key = |k: &str| f[COLUMNS.iter().position(|c| c.key == k).unwrap()].to_string();
        assert_eq!(by_key("awarded_eur"), "15000,50");
        assert_eq!(by_key("score"), "78,34");
        assert_eq!(by_key("organisation_name"), "'=HYPERLINK(\"x\")");
        assert_eq!(by_key("decision_motivation"), "'-10 % du budget");
        assert_eq!(by_key("committee_date"), "2026-03-12");
    }
}
