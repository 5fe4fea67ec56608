//! The territory's table as a CSV file (DESIGN.md §16), in the excel-fr dialect (`;`, decimal
//! commas, a UTF-8 BOM) the agents open in their spreadsheet: one line per commune, as the
//! page's table shows it.

use crate::domain::territory::CommuneFigures;
use crate::error::ServiceError;
use crate::export::CsvDialect;
use crate::export::csv::{euros, excel_fr_writer, text};

pub const COLUMNS: [&str; 10] = [
    "Code INSEE",
    "Commune",
    "Population",
    "Candidatures déposées",
    "Éligibles",
    "Lauréates",
    "Montant attribué (€)",
    "Candidatures pour 10 000 habitants",
    "Recommandations de la commune",
    "Candidatures recommandées",
];

pub fn write(communes: &[CommuneFigures]) -> Result<Vec<u8>, ServiceError> {
    let dialect = CsvDialect::ExcelFr;
    let mut out = Vec::new();
    {
        let mut w = excel_fr_writer(&mut out);
        let io = |e: csv::Error| ServiceError::Internal(anyhow::anyhow!("territory csv: {e}"));
        w.write_record(COLUMNS).map_err(io)?;
        for c in communes {
            w.write_record([
                c.insee.as_str(),
                text(&c.name).as_ref(),
                &c.population.to_string(),
                &c.applications.to_string(),
                &c.eligible.to_string(),
                &c.awarded.to_string(),
                &euros(c.awarded_cents.value(), dialect),
                &c.per_10k_inhabitants
                    .map(|v| format!("{v:.1}").replace('.', ","))
                    .unwrap_or_default(),
                &c.referrals.to_string(),
                &c.referred_applications.to_string(),
            ])
            .map_err(io)?;
        }
        w.flush()
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("territory csv: {e}")))?;
    }
    Ok(out)
}
