//! The JSON export: an array of [`ExportRecord`], written one object at a time.

use std::io::Write;

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::application::{LegalForm, Stage};
use crate::domain::application_state::ApplicationState;
use crate::domain::eligibility::Verdict;
use crate::domain::territory;
use crate::export::ExportStats;
use crate::export::rows::{ExportRow, Pages};

/// One application in the JSON export: the CSV's fields, in the same order, with the API's
/// conventions (amounts in integer cents, codes in snake_case, dates `YYYY-MM-DD`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportRecord<'a> {
    #[schema(example = "EA-2026-00042")]
    pub reference: &'a str,
    #[schema(example = "Les Ateliers du Sart")]
    pub organisation_name: &'a str,
    pub legal_form: Option<LegalForm>,
    #[schema(example = "73282932000074")]
    pub siret: Option<&'a str>,
    #[schema(example = "W595012345")]
    pub rna: Option<&'a str>,
    #[schema(example = "59009")]
    pub commune_insee: Option<&'a str>,
    /// Known for the MEL's communes only.
    #[schema(example = "Villeneuve-d'Ascq")]
    pub commune_name: Option<&'a str>,
    #[schema(example = "Recyclerie de quartier")]
    pub project_title: &'a str,
    pub stage: Option<Stage>,
    #[schema(example = 2000000)]
    pub requested_cents: i64,
    #[schema(example = 1500000)]
    pub awarded_cents: Option<i64>,
    pub state: ApplicationState,
    pub eligibility_verdict: Option<Verdict>,
    /// Mean of the submitted reviews' scores, 0–100, two decimals.
    #[schema(example = 76.67)]
    pub score: Option<f64>,
    /// Highest minus lowest review score (flagged for the committee above 25).
    #[schema(example = 6.67)]
    pub spread: Option<f64>,
    /// Submitted reviews.
    pub review_count: u32,
    pub favorable_count: u32,
    pub reserved_count: u32,
    pub unfavorable_count: u32,
    pub committee_date: Option<NaiveDate>,
    pub decision_reference: Option<&'a str>,
    pub decision_motivation: Option<&'a str>,
    /// Europe/Paris day of the submission.
    pub submitted_on: Option<NaiveDate>,
    /// Europe/Paris day of the decision.
    pub decided_on: Option<NaiveDate>,
    /// The opinions of the communes where the project takes place (§16).
    pub commune_opinions: Vec<ExportOpinion<'a>>,
    /// What the companies' register said at submission (§17); absent when nothing was kept.
    pub registry_status: Option<crate::domain::registry::EvidenceStatus>,
    /// What an agent should look at, from the register's evidence (never a refusal).
    pub registry_flags: Vec<crate::domain::registry::Flag>,
}

/// A commune's opinion, in the JSON export.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExportOpinion<'a> {
    #[schema(example = "59512")]
    pub commune_insee: &'a str,
    pub opinion: crate::domain::commune_opinion::Opinion,
}

impl<'a> From<&'a ExportRow> for ExportRecord<'a> {
    fn from(r: &'a ExportRow) -> Self {
        Self {
            reference: &r.reference,
            organisation_name: &r.organisation_name,
            legal_form: r.legal_form,
            siret: r.siret.as_deref(),
            rna: r.rna.as_deref(),
            commune_insee: r.commune_insee.as_deref(),
            commune_name: r.commune_insee.as_deref().and_then(territory::commune_name),
            project_title: &r.project_title,
            stage: r.stage,
            requested_cents: r.requested_cents,
            awarded_cents: r.awarded_cents,
            state: r.state,
            eligibility_verdict: r.eligibility_verdict,
            score: r.aggregate.map(|a| a.score),
            spread: r.aggregate.map(|a| a.spread),
            review_count: r.review_count,
            favorable_count: r.favorable_count,
            reserved_count: r.reserved_count,
            unfavorable_count: r.unfavorable_count,
            committee_date: r.committee_date,
            decision_reference: r.decision_reference.as_deref(),
            decision_motivation: r.decision_motivation.as_deref(),
            submitted_on: r.submitted_on,
            decided_on: r.decided_on,
            commune_opinions: r
                .commune_opinions
                .iter()
                .map(|(insee, opinion)| ExportOpinion {
                    commune_insee: insee,
                    opinion: *opinion,
                })
                .collect(),
            registry_status: r.registry.as_ref().map(|(s, _)| *s),
            registry_flags: r
                .registry
                .as_ref()
                .map(|(_, f)| f.clone())
                .unwrap_or_default(),
        }
    }
}

pub fn write<W: Write>(mut pages: Pages<'_>, out: &mut W) -> anyhow::Result<ExportStats> {
    let mut stats = ExportStats::default();
    out.write_all(b"[")?;
    while let Some(chunk) = pages.next_chunk()? {
        for row in &chunk.rows {
            if stats.applications > 0 {
                out.write_all(b",")?;
            }
            out.write_all(b"\n")?;
            serde_json::to_writer(&mut *out, &ExportRecord::from(row))?;
            stats.applications += 1;
        }
    }
    out.write_all(b"\n]\n")?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::COLUMNS;

    /// The JSON fields are the CSV columns, in the same order, amounts in cents.
    #[test]
    fn json_fields_are_the_csv_columns() {
        let row = crate::export::fixtures::sample_row();
        let value = serde_json::to_value(ExportRecord::from(&row)).unwrap();
        let keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        let expected: Vec<String> = COLUMNS
            .iter()
            .map(|c| c.key.replace("_eur", "_cents"))
            .collect();
        let mut sorted = expected.clone();
        sorted.sort();
        // serde_json's map is sorted unless preserve_order is on: compare as sets, then the
        // order through the serialised text.
        let mut got = keys.clone();
        got.sort();
        assert_eq!(got, sorted);
        let text = serde_json::to_string(&ExportRecord::from(&row)).unwrap();
        let positions: Vec<usize> = expected
            .iter()
            .map(|k| text.find(&format!("\"{k}\":")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(value["awarded_cents"], 1_500_050);
        assert_eq!(value["score"], 78.34);
        assert_eq!(value["committee_date"], "2026-03-12");
        assert_eq!(value["legal_form"], "local_law_association");
    }
}
