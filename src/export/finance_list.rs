//! The finance service's list (DESIGN.md §15): the instalments of a call to pay, one line each,
//! for the finance software — in the excel-fr dialect (`;`, decimal commas, a UTF-8 BOM), the
//! SIRET kept as text, free text defused against formulas ([`super::formula`]). Its last three
//! columns are the ones the import reads back (`domain::finance_file`): the finance service
//! fills in the mandate and the payment date, and the same file comes back.

use crate::db::instalments::OfCall;
use crate::domain::application::Organisation;
use crate::error::ServiceError;
use crate::export::CsvDialect;
use crate::export::csv::{euros, excel_fr_writer, siret_cell, text};

/// The finance list's columns: what the finance software needs to pay, then the three the
/// import reads back (the last two empty until the finance service fills them in).
pub const LIST_COLUMNS: [&str; 12] = [
    "Référence",
    "Structure",
    "SIRET",
    "IBAN",
    "BIC",
    "Titulaire du compte",
    "Montant (€)",
    "Versement",
    "État",
    "instalment_id",
    "mandate_reference",
    "paid_on",
];

pub fn write(lines: &[OfCall]) -> Result<Vec<u8>, ServiceError> {
    let dialect = CsvDialect::ExcelFr;
    let mut out = Vec::new();
    {
        let mut w = excel_fr_writer(&mut out);
        let io = |e: csv::Error| ServiceError::Internal(anyhow::anyhow!("finance list: {e}"));
        w.write_record(LIST_COLUMNS).map_err(io)?;
        for l in lines {
            let i = &l.instalment;
            let siret = l
                .org_key
                .as_deref()
                // A hosted activity is paid through its host (§16): the host's SIRET.
                .and_then(Organisation::registry_siret)
                .map(str::to_owned);
            w.write_record([
                text(&l.reference).as_ref(),
                text(&l.organisation_name).as_ref(),
                siret_cell(&siret, dialect).as_ref(),
                l.bank_iban.as_deref().unwrap_or(""),
                l.bank_bic.as_deref().unwrap_or(""),
                text(l.bank_holder.as_deref().unwrap_or("")).as_ref(),
                &euros(i.amount.value(), dialect),
                text(&i.label).as_ref(),
                i.state.label_fr(),
                i.id.as_str(),
                text(i.mandate_reference.as_deref().unwrap_or("")).as_ref(),
                &i.paid_on.map(|d| d.to_string()).unwrap_or_default(),
            ])
            .map_err(io)?;
        }
        w.flush()
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("finance list: {e}")))?;
    }
    Ok(out)
}
