//! The CSV export: one line per application, the columns of [`super::COLUMNS`], written with
//! the `csv` crate (RFC 4180 quoting, CRLF line ends).
//!
//! Dialects: `rfc4180` (`,`, `20000.00`, no BOM) for programs; `excel-fr` for Excel in French:
//! `;` between fields (French Excel's list separator), decimal commas (`20000,00`, read as a
//! number), a UTF-8 BOM (without it Excel reads the file as Windows-1252 and garbles the
//! accents), French headers and values as in the workbook (« Montant demandé », « accepté »,
//! « démarrage »), dates as jj/mm/aaaa, the SIRET written as `="73282932000074"` so Excel keeps it as 14 digits of
//! text (not `7,32829E+13`). In both dialects, free text a spreadsheet would take for a
//! formula is prefixed with `'` (CSV injection, [`super::formula`]).

use std::borrow::Cow;
use std::io::Write;

use serde::Serialize;

use crate::domain::money::Cents;
use crate::domain::territory;
use crate::export::rows::{ExportRow, Pages};
use crate::export::xlsx::verdict_label;
use crate::export::{COLUMNS, CsvDialect, ExportStats};

pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A CSV writer in the excel-fr dialect over `out`, the UTF-8 BOM written first: `;` between
/// fields, CRLF line ends — the agents' files (the territory's table, the finance list, the
/// grants), opened in French Excel.
pub fn excel_fr_writer(out: &mut Vec<u8>) -> ::csv::Writer<&mut Vec<u8>> {
    out.extend_from_slice(UTF8_BOM);
    ::csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out)
}

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
/// is opened in a spreadsheet sooner or later ([`super::formula`]).
pub fn text(s: &str) -> Cow<'_, str> {
    super::formula::defuse(s)
}

/// A SIRET: as is for programs; for Excel, a text formula so the 14 digits are neither shown in
/// scientific notation nor stripped of leading zeros. Only a string of digits is wrapped, so
/// no text of an applicant's ever becomes a formula.
pub fn siret_cell<'a>(s: &'a Option<String>, dialect: CsvDialect) -> Cow<'a, str> {
    match (s.as_deref(), dialect) {
        (Some(s), CsvDialect::ExcelFr)
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Cow::Owned(format!("=\"{s}\""))
        }
        (Some(s), _) => text(s),
        (None, _) => Cow::Borrowed(""),
    }
}

/// A coded value: its API code for programs, its French label for Excel.
fn coded<'a>(code_: String, label: &'static str, dialect: CsvDialect) -> Cow<'a, str> {
    match dialect {
        CsvDialect::Rfc4180 => Cow::Owned(code_),
        CsvDialect::ExcelFr => Cow::Borrowed(label),
    }
}

/// ISO for programs; jj/mm/aaaa for French Excel, which reads it as a date.
fn date(d: Option<chrono::NaiveDate>, dialect: CsvDialect) -> String {
    let format = match dialect {
        CsvDialect::Rfc4180 => "%Y-%m-%d",
        CsvDialect::ExcelFr => "%d/%m/%Y",
    };
    d.map(|d| d.format(format).to_string()).unwrap_or_default()
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
        coded(
            row.legal_form.as_ref().map(code).unwrap_or_default(),
            row.legal_form.map(|l| l.label_fr()).unwrap_or(""),
            dialect,
        ),
        siret_cell(&row.siret, dialect),
        opt_text(&row.rna),
        opt_text(&row.commune_insee),
        opt(row
            .commune_insee
            .as_deref()
            .and_then(territory::commune_name)
            .unwrap_or("")),
        text(&row.project_title),
        coded(
            row.stage.as_ref().map(code).unwrap_or_default(),
            row.stage.map(|s| s.label_fr()).unwrap_or(""),
            dialect,
        ),
        owned(euros(row.requested_cents, dialect)),
        owned(
            row.awarded_cents
                .map(|c| euros(c, dialect))
                .unwrap_or_default(),
        ),
        coded(row.state.as_str().to_owned(), row.state.label_fr(), dialect),
        coded(
            row.eligibility_verdict
                .as_ref()
                .map(code)
                .unwrap_or_default(),
            row.eligibility_verdict.map(verdict_label).unwrap_or(""),
            dialect,
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
        owned(date(row.committee_date, dialect)),
        opt_text(&row.decision_reference),
        opt_text(&row.decision_motivation),
        owned(date(row.submitted_on, dialect)),
        owned(date(row.decided_on, dialect)),
        owned(crate::export::rows::opinions_cell(
            &row.commune_opinions,
            dialect,
        )),
        {
            let (status, _) = crate::export::rows::registry_cells(&row.registry, dialect);
            owned(status)
        },
        {
            let (_, flags) = crate::export::rows::registry_cells(&row.registry, dialect);
            owned(flags)
        },
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
    match dialect {
        CsvDialect::Rfc4180 => w.write_record(COLUMNS.iter().map(|c| c.key))?,
        CsvDialect::ExcelFr => w.write_record(COLUMNS.iter().map(|c| c.label))?,
    }
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
        // Dates the French way (issue 26), which French Excel reads as dates.
        assert_eq!(by_key("committee_date"), "12/03/2026");
    }
}
