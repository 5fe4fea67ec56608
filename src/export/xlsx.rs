//! The XLSX export, with `rust_xlsxwriter` in constant-memory mode (each sheet's rows go to a
//! temporary file under `<data_dir>/tmp` as they are written; the zip is then streamed out):
//! - « Candidatures »: one row per application, the columns of [`super::COLUMNS`] with French
//!   headers and labels, amounts as numbers in a euro format, dates as dates;
//! - « Évaluations »: one row per submitted review and criterion of the grid (continued on
//!   « Évaluations (2) »… past Excel's 1 048 576 rows).
//!
//! Both sheets have a frozen, filterable header row and set column widths.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use rust_xlsxwriter::{Color, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use crate::domain::call::ScoringCriterion;
use crate::domain::eligibility::Verdict;
use crate::domain::scoring::SPREAD_FLAG_ABOVE;
use crate::domain::territory;
use crate::export::rows::{ExportRow, Pages, ReviewLine};
use crate::export::{COLUMNS, ExportStats};

pub const APPLICATIONS_SHEET: &str = "Candidatures";
pub const REVIEWS_SHEET: &str = "Évaluations";

/// Excel's last row index (1 048 576 rows).
const MAX_ROW: u32 = 1_048_575;

/// The reviews sheet's columns: (header, width).
pub const REVIEW_COLUMNS: [(&str, f64); 13] = [
    ("Référence", 16.0),
    ("Structure", 32.0),
    ("Projet", 40.0),
    ("Évaluateur", 24.0),
    ("Avis", 12.0),
    ("Note de l'évaluation /100", 14.0),
    ("Évaluée le", 12.0),
    ("Critère", 22.0),
    ("Libellé du critère", 40.0),
    ("Pondération", 12.0),
    ("Note", 8.0),
    ("Note maximale", 10.0),
    ("Commentaire", 60.0),
];

pub fn verdict_label(v: Verdict) -> &'static str {
    match v {
        Verdict::Eligible => "éligible",
        Verdict::Ineligible => "inéligible",
        Verdict::NeedsReview => "à examiner",
    }
}

struct Formats {
    header: Format,
    euro: Format,
    date: Format,
    decimal: Format,
    flagged: Format,
}

impl Formats {
    fn new() -> Self {
        let decimal = Format::new().set_num_format("0.00");
        Self {
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Top)
                .set_background_color(Color::RGB(0xDDEBF7))
                .set_border_bottom(FormatBorder::Thin),
            // Shown `20 000,00 €` by a French Excel.
            euro: Format::new().set_num_format("#,##0.00 \"€\""),
            date: Format::new().set_num_format("dd/mm/yyyy"),
            flagged: decimal
                .clone()
                .set_background_color(Color::RGB(0xFCE4D6))
                .set_font_color(Color::RGB(0x9C0006)),
            decimal,
        }
    }
}

fn header_row<'a>(
    sheet: &mut Worksheet,
    columns: impl Iterator<Item = (&'a str, f64)>,
    format: &Format,
) -> Result<(), XlsxError> {
    for (i, (label, width)) in columns.enumerate() {
        let col = i as u16;
        sheet.set_column_width(col, width)?;
        sheet.write_string_with_format(0, col, label, format)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// Writes what is there; leaves the cell blank otherwise.
fn string(sheet: &mut Worksheet, row: u32, col: u16, s: &str) -> Result<(), XlsxError> {
    if !s.is_empty() {
        sheet.write_string(row, col, s)?;
    }
    Ok(())
}

fn date(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    d: Option<NaiveDate>,
    f: &Format,
) -> Result<(), XlsxError> {
    if let Some(d) = d {
        sheet.write_date_with_format(row, col, d, f)?;
    }
    Ok(())
}

fn application_row(
    sheet: &mut Worksheet,
    r: u32,
    a: &ExportRow,
    f: &Formats,
) -> Result<(), XlsxError> {
    let mut c = 0u16;
    let mut next = || {
        c += 1;
        c - 1
    };
    string(sheet, r, next(), &a.reference)?;
    string(sheet, r, next(), &a.organisation_name)?;
    string(
        sheet,
        r,
        next(),
        a.legal_form.map(|l| l.label_fr()).unwrap_or(""),
    )?;
    string(sheet, r, next(), a.siret.as_deref().unwrap_or(""))?;
    string(sheet, r, next(), a.rna.as_deref().unwrap_or(""))?;
    string(sheet, r, next(), a.commune_insee.as_deref().unwrap_or(""))?;
    let commune = a.commune_insee.as_deref().and_then(territory::commune_name);
    string(sheet, r, next(), commune.unwrap_or(""))?;
    string(sheet, r, next(), &a.project_title)?;
    string(
        sheet,
        r,
        next(),
        a.stage.map(|s| s.label_fr()).unwrap_or(""),
    )?;
    sheet.write_number_with_format(r, next(), a.requested_cents as f64 / 100.0, &f.euro)?;
    let col = next();
    if let Some(cents) = a.awarded_cents {
        sheet.write_number_with_format(r, col, cents as f64 / 100.0, &f.euro)?;
    }
    string(sheet, r, next(), a.state.label_fr())?;
    string(
        sheet,
        r,
        next(),
        a.eligibility_verdict.map(verdict_label).unwrap_or(""),
    )?;
    let (score_col, spread_col) = (next(), next());
    if let Some(agg) = a.aggregate {
        sheet.write_number_with_format(r, score_col, agg.score, &f.decimal)?;
        let fmt = if agg.spread > SPREAD_FLAG_ABOVE {
            &f.flagged
        } else {
            &f.decimal
        };
        sheet.write_number_with_format(r, spread_col, agg.spread, fmt)?;
    }
    for n in [
        a.review_count,
        a.favorable_count,
        a.reserved_count,
        a.unfavorable_count,
    ] {
        sheet.write_number(r, next(), n)?;
    }
    date(sheet, r, next(), a.committee_date, &f.date)?;
    string(
        sheet,
        r,
        next(),
        a.decision_reference.as_deref().unwrap_or(""),
    )?;
    string(
        sheet,
        r,
        next(),
        a.decision_motivation.as_deref().unwrap_or(""),
    )?;
    date(sheet, r, next(), a.submitted_on, &f.date)?;
    date(sheet, r, next(), a.decided_on, &f.date)?;
    string(
        sheet,
        r,
        next(),
        &crate::export::rows::opinions_cell(
            &a.commune_opinions,
            crate::export::CsvDialect::ExcelFr,
        ),
    )?;
    let (status, flags) =
        crate::export::rows::registry_cells(&a.registry, crate::export::CsvDialect::ExcelFr);
    string(sheet, r, next(), &status)?;
    string(sheet, r, next(), &flags)?;
    debug_assert_eq!(usize::from(c), COLUMNS.len());
    Ok(())
}

/// One criterion of a review: key, label, weight, maximum, points.
type CriterionLine<'a> = (&'a str, &'a str, Option<u32>, Option<u32>, Option<i64>);

/// The (key, label, weight, max, points) lines of a review: the grid's criteria in its order,
/// then any key the grid does not know (a grid is frozen once reviews exist, so there are
/// none in practice).
fn criteria_lines<'a>(
    review: &'a ReviewLine,
    grid: &'a [ScoringCriterion],
) -> Vec<CriterionLine<'a>> {
    let points = |key: &str| {
        review
            .scores
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, p)| *p)
    };
    let mut lines: Vec<_> = grid
        .iter()
        .map(|c| {
            (
                c.key.as_str(),
                c.label.as_str(),
                Some(c.weight),
                Some(c.max_score),
                points(&c.key),
            )
        })
        .collect();
    for (k, p) in &review.scores {
        if !grid.iter().any(|c| &c.key == k) {
            lines.push((k.as_str(), k.as_str(), None, None, Some(*p)));
        }
    }
    lines
}

/// The reviews sheet(s): a new one is started when one is full.
struct ReviewSheets {
    index: usize,
    count: usize,
    row: u32,
}

impl ReviewSheets {
    fn add(wb: &mut Workbook, f: &Formats, count: usize) -> Result<usize, XlsxError> {
        let sheet = wb.add_worksheet_with_constant_memory()?;
        let name = if count == 1 {
            REVIEWS_SHEET.to_owned()
        } else {
            format!("{REVIEWS_SHEET} ({count})")
        };
        sheet.set_name(name)?;
        header_row(sheet, REVIEW_COLUMNS.iter().copied(), &f.header)?;
        Ok(wb.worksheets_mut().len() - 1)
    }

    fn next_row(&mut self, wb: &mut Workbook, f: &Formats) -> Result<u32, XlsxError> {
        if self.row == MAX_ROW {
            let last = REVIEW_COLUMNS.len() as u16 - 1;
            wb.worksheet_from_index(self.index)?
                .autofilter(0, 0, self.row, last)?;
            self.count += 1;
            self.index = Self::add(wb, f, self.count)?;
            self.row = 0;
        }
        self.row += 1;
        Ok(self.row)
    }
}

pub fn write<W: Write + Send>(
    mut pages: Pages<'_>,
    grid: &[ScoringCriterion],
    tempdir: &Path,
    out: &mut W,
) -> anyhow::Result<ExportStats> {
    std::fs::create_dir_all(tempdir)?;
    let f = Formats::new();
    let mut wb = Workbook::new();
    wb.set_tempdir(tempdir)?;

    let apps = wb.add_worksheet_with_constant_memory()?;
    apps.set_name(APPLICATIONS_SHEET)?;
    header_row(apps, COLUMNS.iter().map(|c| (c.label, c.width)), &f.header)?;
    let apps_index = 0;
    let mut reviews = ReviewSheets {
        index: ReviewSheets::add(&mut wb, &f, 1)?,
        count: 1,
        row: 0,
    };

    let mut app_row = 0u32;
    let mut stats = ExportStats::default();
    while let Some(chunk) = pages.next_chunk()? {
        let sheet = wb.worksheet_from_index(apps_index)?;
        for a in &chunk.rows {
            if app_row == MAX_ROW {
                anyhow::bail!("more applications than an Excel sheet holds");
            }
            app_row += 1;
            application_row(sheet, app_row, a, &f)?;
            stats.applications += 1;
        }
        for a in &chunk.rows {
            for review in chunk.reviews_of(&a.id) {
                for (key, label, weight, max, points) in criteria_lines(review, grid) {
                    let r = reviews.next_row(&mut wb, &f)?;
                    let sheet = wb.worksheet_from_index(reviews.index)?;
                    string(sheet, r, 0, &a.reference)?;
                    string(sheet, r, 1, &a.organisation_name)?;
                    string(sheet, r, 2, &a.project_title)?;
                    string(sheet, r, 3, &review.reviewer_name)?;
                    string(
                        sheet,
                        r,
                        4,
                        review.recommendation.map(|x| x.label_fr()).unwrap_or(""),
                    )?;
                    if let Some(h) = review.score_hundredths {
                        sheet.write_number_with_format(r, 5, f64::from(h) / 100.0, &f.decimal)?;
                    }
                    date(sheet, r, 6, review.submitted_on, &f.date)?;
                    string(sheet, r, 7, key)?;
                    string(sheet, r, 8, label)?;
                    if let Some(w) = weight {
                        sheet.write_number(r, 9, w)?;
                    }
                    if let Some(p) = points {
                        sheet.write_number(r, 10, p as f64)?;
                    }
                    if let Some(m) = max {
                        sheet.write_number(r, 11, m)?;
                    }
                    string(sheet, r, 12, &review.comment)?;
                }
            }
        }
    }
    wb.worksheet_from_index(apps_index)?
        .autofilter(0, 0, app_row, COLUMNS.len() as u16 - 1)?;
    wb.worksheet_from_index(reviews.index)?.autofilter(
        0,
        0,
        reviews.row,
        REVIEW_COLUMNS.len() as u16 - 1,
    )?;
    wb.save_to_writer(&mut *out)?;
    Ok(stats)
}
