//! The grants export of a call (DESIGN.md §15): each grant with its instalments and where its
//! report stands, for the agents' follow-up and the auditors.
//! - CSV (excel-fr: `;`, decimal commas, a UTF-8 BOM, the SIRET kept as text, free text
//!   defused against formulas): one line per instalment, the grant's columns repeated;
//! - XLSX: « Financements », one row per grant; « Versements », one row per instalment;
//!   amounts as numbers in a euro format, dates as dates, a frozen header.
//!
//! A call holds a few hundred grants: the file is built in memory.

use chrono::NaiveDate;
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use crate::db::instalments::Instalment;
use crate::domain::grant::GrantState;
use crate::domain::money::Cents;
use crate::error::ServiceError;
use crate::export::CsvDialect;
use crate::export::csv::{euros, excel_fr_writer, siret_cell, text};

/// One grant, as the export writes it.
#[derive(Debug, Clone)]
pub struct GrantLine {
    pub reference: String,
    pub organisation_name: String,
    pub siret: Option<String>,
    pub awarded: Cents,
    pub state: GrantState,
    pub countersigned_on: Option<NaiveDate>,
    pub report_due_on: NaiveDate,
    pub report_submitted_on: Option<NaiveDate>,
    /// Due and not submitted, on the day of the export.
    pub report_late: bool,
    pub recovery: Option<Cents>,
    pub instalments: Vec<Instalment>,
}

impl GrantLine {
    pub fn paid(&self) -> Cents {
        crate::domain::instalment::paid_total(self.instalments.iter().map(|i| (i.state, i.amount)))
    }

    fn report_fr(&self) -> String {
        match (self.report_submitted_on, self.state) {
            (_, GrantState::ReportApproved | GrantState::Closed)
                if self.report_submitted_on.is_some() =>
            {
                "approuvé".into()
            }
            (Some(_), GrantState::ReportChangesRequested) => "corrections demandées".into(),
            (Some(_), _) => "déposé".into(),
            (None, _) if self.report_late => "en retard".into(),
            (None, _) => "attendu".into(),
        }
    }
}

/// The CSV's columns.
pub const CSV_COLUMNS: [&str; 17] = [
    "Référence",
    "Structure",
    "SIRET",
    "Montant attribué (€)",
    "Montant payé (€)",
    "État du financement",
    "Convention contresignée le",
    "Compte rendu attendu le",
    "Compte rendu déposé le",
    "Compte rendu",
    "Reversement demandé (€)",
    "Versement",
    "Part (%)",
    "Montant du versement (€)",
    "État du versement",
    "Mandat",
    "Payé le",
];

fn date_fr(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

fn io(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(anyhow::anyhow!("grants export: {e}"))
}

/// The CSV: one line per instalment (a grant without any: one line, its instalment's columns
/// empty).
pub fn csv(lines: &[GrantLine]) -> Result<Vec<u8>, ServiceError> {
    let dialect = CsvDialect::ExcelFr;
    let mut out = Vec::new();
    {
        let mut w = excel_fr_writer(&mut out);
        w.write_record(CSV_COLUMNS).map_err(io)?;
        for g in lines {
            let grant_cells = [
                text(&g.reference).into_owned(),
                text(&g.organisation_name).into_owned(),
                siret_cell(&g.siret, dialect).into_owned(),
                euros(g.awarded.value(), dialect),
                euros(g.paid().value(), dialect),
                g.state.label_fr().to_owned(),
                date_fr(g.countersigned_on),
                date_fr(Some(g.report_due_on)),
                date_fr(g.report_submitted_on),
                g.report_fr(),
                g.recovery
                    .map(|r| euros(r.value(), dialect))
                    .unwrap_or_default(),
            ];
            let instalment_cells = |i: &Instalment| {
                [
                    text(&i.label).into_owned(),
                    i.percent.to_string(),
                    euros(i.amount.value(), dialect),
                    i.state.label_fr().to_owned(),
                    text(i.mandate_reference.as_deref().unwrap_or("")).into_owned(),
                    date_fr(i.paid_on),
                ]
            };
            if g.instalments.is_empty() {
                let mut row = grant_cells.to_vec();
                row.extend(std::iter::repeat_n(String::new(), 6));
                w.write_record(&row).map_err(io)?;
            }
            for i in &g.instalments {
                let mut row = grant_cells.to_vec();
                row.extend(instalment_cells(i));
                w.write_record(&row).map_err(io)?;
            }
        }
        w.flush().map_err(io)?;
    }
    Ok(out)
}

pub const GRANTS_SHEET: &str = "Financements";
pub const INSTALMENTS_SHEET: &str = "Versements";

const GRANT_COLUMNS: [(&str, f64); 11] = [
    ("Référence", 16.0),
    ("Structure", 32.0),
    ("SIRET", 16.0),
    ("Montant attribué", 14.0),
    ("Montant payé", 14.0),
    ("État du financement", 26.0),
    ("Convention contresignée le", 14.0),
    ("Compte rendu attendu le", 14.0),
    ("Compte rendu déposé le", 14.0),
    ("Compte rendu", 20.0),
    ("Reversement demandé", 14.0),
];

const INSTALMENT_COLUMNS: [(&str, f64); 9] = [
    ("Référence", 16.0),
    ("Structure", 32.0),
    ("Versement", 16.0),
    ("Part (%)", 8.0),
    ("Montant", 14.0),
    ("État", 26.0),
    ("Mandat", 18.0),
    ("Payé le", 12.0),
    ("Identifiant du versement", 38.0),
];

fn header(sheet: &mut Worksheet, columns: &[(&str, f64)], f: &Format) -> Result<(), XlsxError> {
    for (i, (label, width)) in columns.iter().enumerate() {
        let col = i as u16;
        sheet.set_column_width(col, *width)?;
        sheet.write_string_with_format(0, col, *label, f)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    sheet.autofilter(0, 0, 0, (columns.len() - 1) as u16)?;
    Ok(())
}

fn opt_string(sheet: &mut Worksheet, r: u32, c: u16, s: &str) -> Result<(), XlsxError> {
    if !s.is_empty() {
        sheet.write_string(r, c, s)?;
    }
    Ok(())
}

fn opt_date(
    sheet: &mut Worksheet,
    r: u32,
    c: u16,
    d: Option<NaiveDate>,
    f: &Format,
) -> Result<(), XlsxError> {
    if let Some(d) = d {
        sheet.write_date_with_format(r, c, d, f)?;
    }
    Ok(())
}

fn cents_as_euros(c: Cents) -> f64 {
    // Exact for any amount below 2^53 cents: the cell shows what was stored.
    c.value() as f64 / 100.0
}

/// The workbook, as bytes.
pub fn xlsx(lines: &[GrantLine]) -> Result<Vec<u8>, ServiceError> {
    build(lines).map_err(io)
}

fn build(lines: &[GrantLine]) -> Result<Vec<u8>, XlsxError> {
    let heading = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Top)
        .set_background_color(Color::RGB(0xDDEBF7))
        .set_border_bottom(FormatBorder::Thin);
    let euro = Format::new().set_num_format("#,##0.00 \"€\"");
    let date = Format::new().set_num_format("dd/mm/yyyy");
    let mut wb = Workbook::new();
    {
        let sheet = wb.add_worksheet();
        sheet.set_name(GRANTS_SHEET)?;
        header(sheet, &GRANT_COLUMNS, &heading)?;
        for (n, g) in lines.iter().enumerate() {
            let r = n as u32 + 1;
            opt_string(sheet, r, 0, &g.reference)?;
            opt_string(sheet, r, 1, &g.organisation_name)?;
            opt_string(sheet, r, 2, g.siret.as_deref().unwrap_or(""))?;
            sheet.write_number_with_format(r, 3, cents_as_euros(g.awarded), &euro)?;
            sheet.write_number_with_format(r, 4, cents_as_euros(g.paid()), &euro)?;
            opt_string(sheet, r, 5, g.state.label_fr())?;
            opt_date(sheet, r, 6, g.countersigned_on, &date)?;
            opt_date(sheet, r, 7, Some(g.report_due_on), &date)?;
            opt_date(sheet, r, 8, g.report_submitted_on, &date)?;
            opt_string(sheet, r, 9, &g.report_fr())?;
            if let Some(rec) = g.recovery {
                sheet.write_number_with_format(r, 10, cents_as_euros(rec), &euro)?;
            }
        }
    }
    {
        let sheet = wb.add_worksheet();
        sheet.set_name(INSTALMENTS_SHEET)?;
        header(sheet, &INSTALMENT_COLUMNS, &heading)?;
        let mut r = 0u32;
        for g in lines {
            for i in &g.instalments {
                r += 1;
                opt_string(sheet, r, 0, &g.reference)?;
                opt_string(sheet, r, 1, &g.organisation_name)?;
                opt_string(sheet, r, 2, &i.label)?;
                sheet.write_number(r, 3, f64::from(i.percent))?;
                sheet.write_number_with_format(r, 4, cents_as_euros(i.amount), &euro)?;
                opt_string(sheet, r, 5, i.state.label_fr())?;
                opt_string(sheet, r, 6, i.mandate_reference.as_deref().unwrap_or(""))?;
                opt_date(sheet, r, 7, i.paid_on, &date)?;
                opt_string(sheet, r, 8, i.id.as_str())?;
            }
        }
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::grant::InstalmentTrigger;
    use crate::domain::ids::{GrantId, InstalmentId};
    use crate::domain::instalment::InstalmentState;

    fn instalment(
        label: &str,
        cents: i64,
        state: InstalmentState,
        paid_on: Option<NaiveDate>,
    ) -> Instalment {
        Instalment {
            id: InstalmentId::new(),
            grant_id: GrantId::new(),
            position: 1,
            label: label.into(),
            percent: 50,
            trigger: InstalmentTrigger::Signature,
            amount: Cents::new(cents).unwrap(),
            state,
            mandate_reference: paid_on.map(|_| "M-1".into()),
            paid_on,
            requested_at: None,
        }
    }

    fn line() -> GrantLine {
        let d = |m, day| NaiveDate::from_ymd_opt(2027, m, day);
        GrantLine {
            reference: "EA-2026-00042".into(),
            organisation_name: "=HYPERLINK(\"x\")".into(),
            siret: Some("73282932000074".into()),
            awarded: Cents::new(1_850_000).unwrap(),
            state: GrantState::ReportSubmitted,
            countersigned_on: d(4, 2),
            report_due_on: d(12, 31).unwrap(),
            report_submitted_on: d(11, 5),
            report_late: false,
            recovery: None,
            instalments: vec![
                instalment("Avance", 925_000, InstalmentState::Paid, d(4, 20)),
                instalment("Solde", 925_000, InstalmentState::Planned, None),
            ],
        }
    }

    #[test]
    fn the_csv_has_a_line_per_instalment_and_defuses_formulas() {
        let bytes = csv(&[line()]).unwrap();
        assert!(bytes.starts_with(crate::export::csv::UTF8_BOM));
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        let rows: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(rows.len(), 3, "{text}");
        assert_eq!(rows[0], CSV_COLUMNS.join(";"));
        assert!(rows[1].starts_with("EA-2026-00042;\"'=HYPERLINK(\"\"x\"\")\";\"=\"\"73282932000074\"\"\";18500,00;9250,00;en attente de l'examen du compte rendu;02/04/2027;31/12/2027;05/11/2027;déposé;;Avance;50;9250,00;payé;M-1;20/04/2027"), "{}", rows[1]);
        assert!(
            rows[2].ends_with(";Solde;50;9250,00;prévu;;"),
            "{}",
            rows[2]
        );
    }

    #[test]
    fn the_workbook_has_a_sheet_of_grants_and_one_of_instalments() {
        let bytes = xlsx(&[line(), line()]).unwrap();
        // An XLSX is a zip whose workbook names both sheets.
        assert!(bytes.starts_with(b"PK"));
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut workbook = String::new();
        std::io::Read::read_to_string(&mut zip.by_name("xl/workbook.xml").unwrap(), &mut workbook)
            .unwrap();
        assert!(workbook.contains("name=\"Financements\""), "{workbook}");
        assert!(workbook.contains("name=\"Versements\""), "{workbook}");
    }

    #[test]
    fn the_report_is_named_by_where_it_stands() {
        let mut g = line();
        let cases = [
            (GrantState::Running, None, false, "attendu"),
            (GrantState::Running, None, true, "en retard"),
            (GrantState::ReportSubmitted, Some(1), false, "déposé"),
            (
                GrantState::ReportChangesRequested,
                Some(1),
                false,
                "corrections demandées",
            ),
            (GrantState::ReportApproved, Some(1), false, "approuvé"),
            (GrantState::Closed, Some(1), false, "approuvé"),
        ];
        for (state, submitted, late, expected) in cases {
            g.state = state;
            g.report_late = late;
            g.report_submitted_on = submitted.and_then(|d| NaiveDate::from_ymd_opt(2027, 11, d));
            assert_eq!(g.report_fr(), expected, "{state:?}");
        }
    }
}
