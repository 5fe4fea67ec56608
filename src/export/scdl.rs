//! The SCDL « subventions » 2.1.1 open-data file (décret n° 2017-779: an authority publishes
//! the grants above 23 000 € it awards; many publish them all): a CSV in UTF-8 with `,`, one
//! line per accepted application, the fields in the schema's order and formats
//! (`data/scdl-subventions-2.1.1.schema.json` in the shared folder).
//!
//! What essor fills in, field by field:
//! - `nomAttribuant`, `idAttribuant`: the authority, from `authority.name` / `authority.siret`;
//! - `dateConvention`: the day staff countersigned the convention (§15) when the grant has
//!   one; otherwise the committee's date (the deliberation the award follows), else the day
//!   the decision was recorded;
//! - `referenceDecision`: the decision's reference;
//! - `nomBeneficiaire`, `idBeneficiaire` (SIRET), `rnaBeneficiaire`: the organisation;
//! - `objet`: the project's title (256 characters at most);
//! - `montant`: the amount awarded, in euros (`15000.00`);
//! - `nature`: `aide en numéraire`; `conditionsVersement`: `échelonné` when the grant is paid
//!   in more than one instalment (the call's schedule, §15), `unique` otherwise;
//! - `datesPeriodeVersement`: the day the instalment was paid, or the period from the first
//!   payment to the last (`AAAA-MM-JJ/AAAA-MM-JJ`); before any payment, the day the decision
//!   was recorded (the field is required, and the payment follows the decision);
//! - `idRAE`: empty; `notificationUE`: `non`; `pourcentageSubvention`: `1.00` (one
//!   beneficiary takes the whole grant); `dispositifAide`: `authority.grant_scheme`.

use std::io::Write;

use crate::config::AuthoritySettings;
use crate::domain::application_state::ApplicationState;
use crate::domain::identifiers::{Rna, Siret};
use crate::domain::money::Cents;
use crate::export::ExportStats;
use crate::export::rows::{ExportRow, Pages};

/// The schema's fields, in its order.
pub const FIELDS: [&str; 16] = [
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "referenceDecision",
    "nomBeneficiaire",
    "idBeneficiaire",
    "rnaBeneficiaire",
    "objet",
    "montant",
    "nature",
    "conditionsVersement",
    "datesPeriodeVersement",
    "idRAE",
    "notificationUE",
    "pourcentageSubvention",
    "dispositifAide",
];

pub const NATURE: &str = "aide en numéraire";
pub const CONDITIONS_VERSEMENT: &str = "unique";
pub const CONDITIONS_ECHELONNE: &str = "échelonné";
pub const NOTIFICATION_UE: &str = "non";
pub const POURCENTAGE_SUBVENTION: &str = "1.00";
/// `objet` holds at most this many characters.
pub const OBJET_MAX_CHARS: usize = 256;

/// One line of text: control characters (line breaks) become spaces, runs of spaces one; then
/// defused against CSV injection ([`crate::export::formula`]): the file is meant for
/// open-data portals, where anyone opens it in a spreadsheet.
fn one_line(s: &str) -> String {
    let line = s
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    crate::export::formula::defuse(&line).into_owned()
}

fn truncate_chars(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out = out.trim_end().to_owned();
    out.push('…');
    out
}

/// The line of an accepted application, or `None` (with the reason) when it cannot make one.
pub fn record(row: &ExportRow, authority: &AuthoritySettings) -> Result<[String; 16], String> {
    if row.state != ApplicationState::Accepted {
        return Err(format!("{} is not accepted", row.reference));
    }
    let awarded = row
        .awarded_cents
        .ok_or_else(|| format!("{} has no amount awarded", row.reference))?;
    let decided = row.decided_on.or(row.committee_date);
    let convention = row
        .countersigned_on
        .or(row.committee_date)
        .or(row.decided_on)
        .ok_or_else(|| format!("{} has no decision date", row.reference))?;
    let payment = match (row.paid_on.first(), row.paid_on.last()) {
        (Some(first), Some(last)) if first != last => {
            format!("{}/{}", first.format("%Y-%m-%d"), last.format("%Y-%m-%d"))
        }
        (Some(day), _) => day.format("%Y-%m-%d").to_string(),
        _ => decided.unwrap_or(convention).format("%Y-%m-%d").to_string(),
    };
    let conditions = if row.instalment_count > 1 {
        CONDITIONS_ECHELONNE
    } else {
        CONDITIONS_VERSEMENT
    };
    // A hosted activity is paid through its host (§16): the host's SIRET identifies it.
    let siret = row
        .siret
        .as_deref()
        .or(row.host_siret.as_deref())
        .and_then(|s| Siret::parse(s).ok())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    let rna = row
        .rna
        .as_deref()
        .and_then(|s| Rna::parse(s).ok())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    Ok([
        one_line(&authority.name),
        authority.siret.clone(),
        convention.format("%Y-%m-%d").to_string(),
        row.decision_reference
            .as_deref()
            .map(one_line)
            .unwrap_or_default(),
        one_line(&row.organisation_name),
        siret,
        rna,
        truncate_chars(one_line(&row.project_title), OBJET_MAX_CHARS),
        Cents::new(awarded).unwrap_or_default().to_decimal_string(),
        NATURE.to_owned(),
        conditions.to_owned(),
        payment,
        String::new(),
        NOTIFICATION_UE.to_owned(),
        POURCENTAGE_SUBVENTION.to_owned(),
        one_line(&authority.grant_scheme),
    ])
}

pub fn write<W: Write>(
    mut pages: Pages<'_>,
    authority: &AuthoritySettings,
    out: &mut W,
) -> anyhow::Result<ExportStats> {
    let mut w = ::csv::WriterBuilder::new()
        .delimiter(b',')
        .terminator(::csv::Terminator::CRLF)
        .from_writer(out);
    w.write_record(FIELDS)?;
    let mut stats = ExportStats::default();
    while let Some(chunk) = pages.next_chunk()? {
        for row in &chunk.rows {
            match record(row, authority) {
                Ok(fields) => {
                    w.write_record(&fields)?;
                    stats.applications += 1;
                }
                // The decision service guarantees both; a row without them is left out of
                // the open data rather than published wrong.
                Err(why) => {
                    tracing::warn!(application_id = %row.id, why, "left out of the SCDL file")
                }
            }
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

    fn authority() -> AuthoritySettings {
        AuthoritySettings {
            name: "Métropole Européenne de Lille".into(),
            siret: "20009320100016".into(),
            grant_scheme: "Entreprendre autrement".into(),
            logo: String::new(),
            color: "#1d4f91".into(),
            address: vec!["2 boulevard des Cités Unies".into()],
            city: "Lille".into(),
            signatory_name: String::new(),
            signatory_quality: "Le Président".into(),
            letters_templates_dir: String::new(),
        }
    }

    #[test]
    fn an_accepted_application_makes_a_line() {
        let mut row = sample_row();
        row.project_title = format!("Ligne 1\nLigne 2 {}", "x".repeat(300));
        let r = record(&row, &authority()).unwrap();
        assert_eq!(r[0], "Métropole Européenne de Lille");
        assert_eq!(r[2], "2026-03-12");
        assert_eq!(r[5], "73282932000074");
        assert_eq!(r[6], "");
        assert!(r[7].starts_with("Ligne 1 Ligne 2 x"));
        assert_eq!(r[7].chars().count(), OBJET_MAX_CHARS);
        assert!(r[7].ends_with('…'));
        assert_eq!(r[8], "15000.50");
        assert_eq!(r[11], "2026-03-13");
        assert_eq!(r[13], "non");
        assert_eq!(r[14], "1.00");
    }

    #[test]
    fn a_hosted_activity_is_identified_by_its_host() {
        let mut row = sample_row();
        row.siret = None;
        row.host_siret = Some("44306184100047".into());
        let r = record(&row, &authority()).unwrap();
        assert_eq!(r[5], "44306184100047");
    }

    #[test]
    fn the_countersignature_dates_the_convention() {
        let mut row = sample_row();
        row.countersigned_on = chrono::NaiveDate::from_ymd_opt(2026, 4, 2);
        let r = record(&row, &authority()).unwrap();
        assert_eq!(r[2], "2026-04-02");
        // Without one, the committee's date (tested above).
    }

    #[test]
    fn instalments_say_how_and_when_the_grant_is_paid() {
        let d = |m, day| chrono::NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        // (instalments, paid days) -> (conditionsVersement, datesPeriodeVersement)
        let cases = [
            (1, vec![], ("unique", "2026-03-13")),
            (2, vec![], ("échelonné", "2026-03-13")),
            (2, vec![d(4, 20)], ("échelonné", "2026-04-20")),
            (
                2,
                vec![d(4, 20), d(11, 5)],
                ("échelonné", "2026-04-20/2026-11-05"),
            ),
            (1, vec![d(4, 20)], ("unique", "2026-04-20")),
        ];
        let pattern =
            regex::Regex::new(r"^[0-9]{4}\-[0-9]{2}\-[0-9]{2}(\/[0-9]{4}\-[0-9]{2}\-[0-9]{2})?$")
                .unwrap();
        for (count, paid, (conditions, dates)) in cases {
            let mut row = sample_row();
            row.instalment_count = count;
            row.paid_on = paid;
            let r = record(&row, &authority()).unwrap();
            assert_eq!((r[10].as_str(), r[11].as_str()), (conditions, dates));
            // The schema's own pattern for the field.
            assert!(pattern.is_match(&r[11]), "{}", r[11]);
        }
    }

    #[test]
    fn formulas_are_defused_in_the_open_data_file() {
        let mut row = sample_row();
        row.project_title = "+cmd|' /C calc'!A0".into();
        row.decision_reference = Some("@SUM(A1:A2)".into());
        let r = record(&row, &authority()).unwrap();
        assert_eq!(r[4], "'=HYPERLINK(\"x\")");
        assert_eq!(r[3], "'@SUM(A1:A2)");
        assert_eq!(r[7], "'+cmd|' /C calc'!A0");
        row.project_title = format!("＝{}", "x".repeat(400));
        let r = record(&row, &authority()).unwrap();
        assert!(r[7].starts_with("'＝x"));
        assert_eq!(r[7].chars().count(), OBJET_MAX_CHARS);
    }

    #[test]
    fn rows_without_an_award_are_left_out() {
        let mut row = sample_row();
        row.awarded_cents = None;
        assert!(record(&row, &authority()).is_err());
        let mut row = sample_row();
        row.state = ApplicationState::Rejected;
        assert!(record(&row, &authority()).is_err());
        let mut row = sample_row();
        row.committee_date = None;
        row.decided_on = None;
        assert!(record(&row, &authority()).is_err());
    }
}
