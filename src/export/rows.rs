//! The rows every export format writes: one [`ExportRow`] per application, with the
//! aggregate of its submitted reviews, read [`CHUNK`] applications at a time in
//! `(created_at, id)` order (keyset pagination: each page starts after the last row of the
//! previous one, so a page costs the same at the end of a large call as at its start).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::schema::{applications, grants, instalments, reviews, users};
use crate::db::{Db, DbConnection};
use crate::domain::application::{LegalForm, Stage};
use crate::domain::application_state::ApplicationState;
use crate::domain::commune_opinion::Opinion;
use crate::domain::eligibility::Verdict;
use crate::domain::registry::{EvidenceStatus, Flag};
use crate::domain::scoring::{self, Aggregate, Recommendation};

/// Applications read per database round trip.
pub const CHUNK: i64 = 1000;

/// Which applications of the call an export holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportFilter {
    pub states: Vec<ApplicationState>,
    /// Decided on or after this day, Europe/Paris.
    pub decided_from: Option<NaiveDate>,
    /// Decided on or before this day, Europe/Paris.
    pub decided_to: Option<NaiveDate>,
}

/// One application, as every format exports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub id: String,
    pub reference: String,
    pub organisation_name: String,
    pub legal_form: Option<LegalForm>,
    pub siret: Option<String>,
    pub rna: Option<String>,
    /// A hosted activity's host (§16): who is paid, and so who the SCDL names.
    pub host_siret: Option<String>,
    pub commune_insee: Option<String>,
    pub project_title: String,
    pub stage: Option<Stage>,
    pub requested_cents: i64,
    pub awarded_cents: Option<i64>,
    pub state: ApplicationState,
    pub eligibility_verdict: Option<Verdict>,
    /// Over the submitted reviews; `None` without any.
    pub aggregate: Option<Aggregate>,
    pub review_count: u32,
    pub favorable_count: u32,
    pub reserved_count: u32,
    pub unfavorable_count: u32,
    pub committee_date: Option<NaiveDate>,
    pub decision_reference: Option<String>,
    pub decision_motivation: Option<String>,
    /// Europe/Paris day of the (last) submission.
    pub submitted_on: Option<NaiveDate>,
    /// Europe/Paris day the decision was recorded.
    pub decided_on: Option<NaiveDate>,
    /// Europe/Paris day staff countersigned the grant's convention (§15), if they have.
    pub countersigned_on: Option<NaiveDate>,
    /// How many instalments the grant is paid in (0 without a grant).
    pub instalment_count: u32,
    /// The days its instalments were paid, earliest first.
    pub paid_on: Vec<NaiveDate>,
    /// The communes' opinions (§16): (INSEE code, opinion), by code.
    pub commune_opinions: Vec<(String, Opinion)>,
    /// What the companies' register said at submission (§17), with its flags; `None` when
    /// nothing was kept.
    pub registry: Option<(EvidenceStatus, Vec<Flag>)>,
}

/// One submitted review, for the reviews sheet of the workbook.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewLine {
    pub reviewer_name: String,
    pub recommendation: Option<Recommendation>,
    pub score_hundredths: Option<i32>,
    /// Criterion key -> points, in key order.
    pub scores: Vec<(String, i64)>,
    pub comment: String,
    pub submitted_on: Option<NaiveDate>,
}

/// A page of applications; `reviews` is filled only when the reviews were asked for.
#[derive(Debug, Default)]
pub struct Chunk {
    pub rows: Vec<ExportRow>,
    pub reviews: HashMap<String, Vec<ReviewLine>>,
}

impl Chunk {
    pub fn reviews_of(&self, application_id: &str) -> &[ReviewLine] {
        self.reviews
            .get(application_id)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = applications)]
struct Selected {
    id: String,
    reference: String,
    state: String,
    body: String,
    organisation_name: String,
    project_title: String,
    requested_cents: i64,
    eligibility_verdict: Option<String>,
    awarded_cents: Option<i64>,
    decision_motivation: Option<String>,
    committee_date: Option<NaiveDate>,
    decision_reference: Option<String>,
    created_at: NaiveDateTime,
    submitted_at: Option<NaiveDateTime>,
    decided_at: Option<NaiveDateTime>,
}

/// The few body fields the exports need, read without the whole body's validation (a body
/// written under an older version of the form still exports).
#[derive(Deserialize, Default)]
#[serde(default)]
struct BodyFields {
    organisation: OrganisationFields,
    project: ProjectFields,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct OrganisationFields {
    legal_form: Option<LegalForm>,
    siret: Option<String>,
    rna: Option<String>,
    host_siret: Option<String>,
    commune_insee: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProjectFields {
    stage: Option<Stage>,
}

/// The UTC instant a Europe/Paris day starts.
fn paris_midnight_utc(day: NaiveDate) -> NaiveDateTime {
    let local = day.and_time(chrono::NaiveTime::MIN);
    Paris
        .from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
        // Midnight always exists in Paris (clocks change at 2 or 3 a.m.).
        .unwrap_or(local)
}

/// The Europe/Paris day of a stored UTC instant.
pub fn paris_day(utc: NaiveDateTime) -> NaiveDate {
    Utc.from_utc_datetime(&utc)
        .with_timezone(&Paris)
        .date_naive()
}

/// The communes' opinions in one cell: `59512:reserved,59350:favorable` for programs,
/// « Roubaix : réservé, Lille : favorable » for Excel.
pub fn opinions_cell(opinions: &[(String, Opinion)], dialect: crate::export::CsvDialect) -> String {
    opinions
        .iter()
        .map(|(insee, o)| match dialect {
            crate::export::CsvDialect::Rfc4180 => format!("{insee}:{}", o.as_str()),
            crate::export::CsvDialect::ExcelFr => format!(
                "{} : {}",
                crate::domain::territory::commune_name(insee).unwrap_or(insee),
                o.short_fr()
            ),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The register's columns: its status and its flags, as codes for programs and in French for
/// Excel.
pub fn registry_cells(
    registry: &Option<(EvidenceStatus, Vec<Flag>)>,
    dialect: crate::export::CsvDialect,
) -> (String, String) {
    let Some((status, flags)) = registry else {
        return (String::new(), String::new());
    };
    match dialect {
        crate::export::CsvDialect::Rfc4180 => (
            status.as_str().to_owned(),
            flags
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        crate::export::CsvDialect::ExcelFr => (
            status.label_fr().to_owned(),
            flags
                .iter()
                .map(|f| f.label_fr())
                .collect::<Vec<_>>()
                .join(" ; "),
        ),
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Reads a call's applications page after page.
pub struct Pages<'a> {
    db: &'a Db,
    call_id: &'a str,
    states: Vec<String>,
    decided_from: Option<NaiveDateTime>,
    decided_before: Option<NaiveDateTime>,
    after: Option<(NaiveDateTime, String)>,
    done: bool,
    with_reviews: bool,
    chunk_size: i64,
}

impl<'a> Pages<'a> {
    pub fn new(db: &'a Db, call_id: &'a str, filter: &ExportFilter) -> Self {
        Self {
            db,
            call_id,
            states: filter
                .states
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect(),
            decided_from: filter.decided_from.map(paris_midnight_utc),
            decided_before: filter
                .decided_to
                .and_then(|d| d.succ_opt())
                .map(paris_midnight_utc),
            after: None,
            done: false,
            with_reviews: false,
            chunk_size: CHUNK,
        }
    }

    /// Also read each application's submitted reviews in full (the workbook's second sheet).
    pub fn with_reviews(mut self) -> Self {
        self.with_reviews = true;
        self
    }

    pub fn chunk_size(mut self, n: i64) -> Self {
        self.chunk_size = n.max(1);
        self
    }

    /// The next page, `None` after the last. The pooled connection is taken for the page's
    /// two queries only, and given back before the caller writes anything.
    pub fn next_chunk(&mut self) -> anyhow::Result<Option<Chunk>> {
        if self.done {
            return Ok(None);
        }
        let mut conn = self
            .db
            .get()
            .map_err(|e| anyhow::anyhow!("no database connection: {e}"))?;
        let started = std::time::Instant::now();
        let chunk = self.load(&mut conn)?;
        drop(conn);
        tracing::debug!(
            rows = chunk.rows.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "export page read"
        );
        if (chunk.rows.len() as i64) < self.chunk_size {
            self.done = true;
        }
        match chunk.rows.last() {
            None => Ok(None),
            Some(_) => Ok(Some(chunk)),
        }
    }

    fn load(&mut self, conn: &mut DbConnection) -> anyhow::Result<Chunk> {
        let mut q = applications::table
            .filter(applications::call_id.eq(self.call_id.to_owned()))
            .filter(applications::state.eq_any(self.states.clone()))
            .into_boxed();
        if let Some(from) = self.decided_from {
            q = q.filter(applications::decided_at.ge(from));
        }
        if let Some(before) = self.decided_before {
            q = q.filter(applications::decided_at.lt(before));
        }
        if let Some((at, id)) = self.after.clone() {
            // (created_at, id) > (at, id), written so that both databases start an index
            // range scan at `at` (`created_at >= at`) instead of filtering the call's rows
            // from the first one, which would make each page slower than the one before.
            q = q
                .filter(applications::created_at.ge(at))
                .filter(applications::created_at.gt(at).or(applications::id.gt(id)));
        }
        let selected: Vec<Selected> = q
            .order((applications::created_at.asc(), applications::id.asc()))
            .limit(self.chunk_size)
            .select(Selected::as_select())
            .load(conn)?;
        if let Some(last) = selected.last() {
            self.after = Some((last.created_at, last.id.clone()));
        }
        let ids: Vec<String> = selected.iter().map(|s| s.id.clone()).collect();

        // Submitted reviews only: a draft may still change, and is not the committee's.
        let mut summaries: HashMap<String, (Vec<i32>, [u32; 3])> = HashMap::new();
        let mut details: HashMap<String, Vec<ReviewLine>> = HashMap::new();
        if !ids.is_empty() && self.with_reviews {
            type Line = (
                String,
                String,
                Option<String>,
                Option<i32>,
                String,
                String,
                Option<NaiveDateTime>,
            );
            let lines: Vec<Line> = reviews::table
                .inner_join(users::table.on(users::id.eq(reviews::reviewer_id)))
                .filter(reviews::application_id.eq_any(&ids))
                .filter(reviews::status.eq("submitted"))
                .order((reviews::submitted_at.asc(), reviews::id.asc()))
                .select((
                    reviews::application_id,
                    users::full_name,
                    reviews::recommendation,
                    reviews::score_hundredths,
                    reviews::scores,
                    reviews::comment,
                    reviews::submitted_at,
                ))
                .load(conn)?;
            for (app_id, name, rec, score, scores, comment, at) in lines {
                let recommendation = rec.as_deref().and_then(Recommendation::parse);
                tally(
                    summaries.entry(app_id.clone()).or_default(),
                    score,
                    recommendation,
                );
                let scores: std::collections::BTreeMap<String, i64> =
                    serde_json::from_str(&scores).unwrap_or_default();
                details.entry(app_id).or_default().push(ReviewLine {
                    reviewer_name: name,
                    recommendation,
                    score_hundredths: score,
                    scores: scores.into_iter().collect(),
                    comment,
                    submitted_on: at.map(paris_day),
                });
            }
        } else if !ids.is_empty() {
            let lines: Vec<(String, Option<i32>, Option<String>)> = reviews::table
                .filter(reviews::application_id.eq_any(&ids))
                .filter(reviews::status.eq("submitted"))
                .select((
                    reviews::application_id,
                    reviews::score_hundredths,
                    reviews::recommendation,
                ))
                .load(conn)?;
            for (app_id, score, rec) in lines {
                tally(
                    summaries.entry(app_id).or_default(),
                    score,
                    rec.as_deref().and_then(Recommendation::parse),
                );
            }
        }

        // The conventions countersigned: the SCDL's dateConvention.
        let mut countersigned: HashMap<String, NaiveDateTime> = HashMap::new();
        if !ids.is_empty() {
            let signed: Vec<(String, Option<NaiveDateTime>)> = grants::table
                .filter(grants::application_id.eq_any(&ids))
                .filter(grants::countersigned_at.is_not_null())
                .select((grants::application_id, grants::countersigned_at))
                .load(conn)?;
            countersigned.extend(signed.into_iter().filter_map(|(id, at)| Some((id, at?))));
        }

        // The instalments: how many, and the days they were paid (SCDL conditionsVersement
        // and datesPeriodeVersement).
        let mut instalments_of: HashMap<String, (u32, Vec<NaiveDate>)> = HashMap::new();
        if !ids.is_empty() {
            let lines: Vec<(String, String, Option<NaiveDate>)> = instalments::table
                .inner_join(grants::table)
                .filter(grants::application_id.eq_any(&ids))
                .select((
                    grants::application_id,
                    instalments::state,
                    instalments::paid_on,
                ))
                .load(conn)?;
            for (app_id, state, paid_on) in lines {
                let entry = instalments_of.entry(app_id).or_default();
                if state != "cancelled" {
                    entry.0 += 1;
                }
                entry.1.extend(paid_on);
            }
            for (_, dates) in instalments_of.values_mut() {
                dates.sort();
            }
        }

        // The communes' opinions.
        let mut opinions_of: HashMap<String, Vec<(String, Opinion)>> = HashMap::new();
        let app_ids: Vec<crate::domain::ids::ApplicationId> = ids
            .iter()
            .cloned()
            .map(crate::domain::ids::ApplicationId::from_stored)
            .collect();
        for o in crate::db::commune_opinions::for_applications(conn, &app_ids)? {
            let opinion = Opinion::parse(&o.opinion).ok_or_else(|| {
                anyhow::anyhow!("application {}: opinion {}", o.application_id, o.opinion)
            })?;
            opinions_of
                .entry(o.application_id.into_string())
                .or_default()
                .push((o.commune_insee, opinion));
        }

        // The companies' register's evidence (§17), read again against the declared form.
        let mut evidence_of: HashMap<String, crate::db::registry::EvidenceRow> =
            crate::db::registry::evidence_of_many(conn, &ids)?
                .into_iter()
                .map(|e| (e.application_id.clone(), e))
                .collect();

        let mut rows = Vec::with_capacity(selected.len());
        for s in selected {
            let body: BodyFields = serde_json::from_str(&s.body).unwrap_or_default();
            let registry = evidence_of.remove(&s.id).map(|e| {
                let (_, flags) = crate::domain::registry::read_kept(
                    &e.siret,
                    e.answer.as_deref(),
                    body.organisation.legal_form,
                );
                (e.status(), flags)
            });
            let (scores, counts) = summaries.remove(&s.id).unwrap_or_default();
            let state: ApplicationState = s
                .state
                .parse()
                .map_err(|e| anyhow::anyhow!("application {}: {e}", s.id))?;
            rows.push(ExportRow {
                reference: s.reference,
                organisation_name: s.organisation_name,
                legal_form: body.organisation.legal_form,
                siret: non_empty(body.organisation.siret),
                rna: non_empty(body.organisation.rna),
                host_siret: non_empty(body.organisation.host_siret),
                commune_insee: non_empty(body.organisation.commune_insee),
                project_title: s.project_title,
                stage: body.project.stage,
                requested_cents: s.requested_cents,
                awarded_cents: s.awarded_cents,
                state,
                eligibility_verdict: s
                    .eligibility_verdict
                    .and_then(|v| serde_json::from_value(serde_json::Value::String(v)).ok()),
                aggregate: scoring::aggregate(&scores),
                review_count: scores.len() as u32,
                favorable_count: counts[0],
                reserved_count: counts[1],
                unfavorable_count: counts[2],
                committee_date: s.committee_date,
                decision_reference: non_empty(s.decision_reference),
                decision_motivation: s.decision_motivation,
                submitted_on: s.submitted_at.map(paris_day),
                decided_on: s.decided_at.map(paris_day),
                countersigned_on: countersigned.remove(&s.id).map(paris_day),
                instalment_count: instalments_of.get(&s.id).map_or(0, |i| i.0),
                paid_on: instalments_of
                    .remove(&s.id)
                    .map(|i| i.1)
                    .unwrap_or_default(),
                commune_opinions: opinions_of.remove(&s.id).unwrap_or_default(),
                registry,
                id: s.id,
            });
        }
        Ok(Chunk {
            rows,
            reviews: details,
        })
    }
}

fn tally(
    entry: &mut (Vec<i32>, [u32; 3]),
    score: Option<i32>,
    recommendation: Option<Recommendation>,
) {
    if let Some(h) = score {
        entry.0.push(h);
    }
    match recommendation {
        Some(Recommendation::Favorable) => entry.1[0] += 1,
        Some(Recommendation::Reserved) => entry.1[1] += 1,
        Some(Recommendation::Unfavorable) => entry.1[2] += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_days_follow_summer_and_winter_time() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let t = |y, m, day, h, min| d(y, m, day).and_hms_opt(h, min, 0).unwrap();
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(paris_midnight_utc(d(2026, 1, 15)), t(2026, 1, 14, 23, 0));
        assert_eq!(paris_midnight_utc(d(2026, 7, 15)), t(2026, 7, 14, 22, 0));
        // The day clocks go forward (29 March 2026) still starts at 23:00 UTC the day before.
        assert_eq!(paris_midnight_utc(d(2026, 3, 29)), t(2026, 3, 28, 23, 0));
        assert_eq!(paris_day(t(2026, 7, 14, 22, 30)), d(2026, 7, 15));
        assert_eq!(paris_day(t(2026, 7, 14, 21, 59)), d(2026, 7, 14));
        assert_eq!(paris_day(t(2026, 12, 31, 23, 0)), d(2027, 1, 1));
    }
}
