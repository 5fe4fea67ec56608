//! Measuring the territory (DESIGN.md §16): per commune of the MEL, the applications, those
//! eligible, those awarded and the amounts, per 10 000 inhabitants; and, for everyone, the
//! projects supported by commune and year — what the SCDL file publishes, nothing more.

use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Europe::Paris;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::territory::{self, CountFilter};
use crate::domain::actor::Actor;
use crate::domain::call::CallState;
use crate::domain::ids::CallId;
use crate::domain::money::Cents;
use crate::domain::territory::{
    CommuneFigures, TerritoryTotals, mel_communes, mel_source, per_10k,
};
use crate::error::ServiceError;
use crate::state::AppState;

/// The years a filter may name.
const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TerritoryStats {
    /// The call counted, if one was asked for.
    pub call_id: Option<String>,
    /// The year of submission counted (Europe/Paris), if one was asked for.
    pub year: Option<i32>,
    /// Where the communes and their populations come from.
    #[schema(example = "@etalab/decoupage-administratif 6.0.0 data/epci.json, data/communes.json")]
    pub source: String,
    /// The 95 communes, by INSEE code. An application active in several communes counts in each.
    pub communes: Vec<CommuneFigures>,
    pub totals: TerritoryTotals,
}

/// What the statistics count.
#[derive(Debug, Clone, Default)]
pub struct TerritoryQuery {
    pub call_id: Option<String>,
    pub year: Option<i32>,
}

/// A query's year (`year` on the API, `annee` on the pages): absent or blank is none; what is
/// not a number is a 400 naming the parameter (the range is checked by [`paris_year`]).
pub fn parse_year(raw: Option<&str>, param: &str) -> Result<Option<i32>, ServiceError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(y) => y.parse::<i32>().map(Some).map_err(|_| {
            ServiceError::BadInput(format!(
                "Paramètre « {param} » : « {y} » n'est pas une année (par exemple 2026)."
            ))
        }),
    }
}

/// A query's call id: absent or blank is none; `Err` carries what was typed when it is not a
/// UUID (the API says 400, the pages the 404 of an unknown call).
pub fn parse_call_id(raw: Option<&str>) -> Result<Option<String>, String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(id) if uuid::Uuid::parse_str(id).is_ok() => Ok(Some(id.to_owned())),
        Some(id) => Err(id.to_owned()),
    }
}

/// The UTC instants a year in Europe/Paris begins and ends at.
pub fn paris_year(year: i32) -> Result<(NaiveDateTime, NaiveDateTime), ServiceError> {
    if !YEARS.contains(&year) {
        return Err(ServiceError::BadInput(format!(
            "Paramètre « year » : {year} n'est pas une année entre {} et {}.",
            YEARS.start(),
            YEARS.end()
        )));
    }
    let start = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .and_then(|t| Paris.from_local_datetime(&t).single())
            .map(|t| t.naive_utc())
            .ok_or_else(|| ServiceError::BadInput(format!("Paramètre « year » : {y}.")))
    };
    Ok((start(year)?, start(year + 1)?))
}

/// Per commune of the MEL (staff).
pub async fn statistics(
    state: &AppState,
    user: &Actor,
    query: TerritoryQuery,
) -> Result<TerritoryStats, ServiceError> {
    user.require_staff()?;
    let mut filter = CountFilter {
        call_id: query.call_id.clone(),
        ..Default::default()
    };
    if let Some(year) = query.year {
        let (from, before) = paris_year(year)?;
        filter.submitted_from = Some(from);
        filter.submitted_before = Some(before);
    }
    let (counts, totals, referrals) = state
        .db
        .run(move |conn| {
            if let Some(id) = &filter.call_id {
                let id = crate::services::calls::id(id)?;
                crate::db::calls::find(conn, &id)?.ok_or_else(crate::services::calls::not_found)?;
            }
            Ok((
                territory::counts(conn, &filter)?,
                territory::totals(conn, &filter)?,
                territory::referral_counts(conn, &filter)?,
            ))
        })
        .await?;
    let communes: Vec<CommuneFigures> = mel_communes()
        .iter()
        .map(|c| {
            let n = counts.iter().find(|n| n.commune_insee == c.insee);
            let applications = n.map_or(0, |n| n.applications);
            let r = referrals.iter().find(|r| r.0 == c.insee);
            Ok(CommuneFigures {
                referrals: r.map_or(0, |r| r.1),
                referred_applications: r.map_or(0, |r| r.2),
                insee: c.insee.clone(),
                name: c.name.clone(),
                population: c.population,
                applications,
                eligible: n.map_or(0, |n| n.eligible),
                awarded: n.map_or(0, |n| n.awarded),
                awarded_cents: Cents::new(n.map_or(0, |n| n.awarded_cents))
                    .map_err(|e| ServiceError::Internal(anyhow::anyhow!("awarded_cents: {e}")))?,
                per_10k_inhabitants: per_10k(applications, c.population),
            })
        })
        .collect::<Result<_, ServiceError>>()?;
    Ok(TerritoryStats {
        call_id: query.call_id,
        year: query.year,
        source: mel_source().source.clone(),
        totals: TerritoryTotals {
            applications: totals.applications,
            eligible: totals.eligible,
            awarded: totals.awarded,
            awarded_cents: Cents::new(totals.awarded_cents)
                .map_err(|e| ServiceError::Internal(anyhow::anyhow!("awarded_cents: {e}")))?,
            communes_without_application: communes.iter().filter(|c| c.applications == 0).count(),
            referrals: referrals.iter().map(|r| r.1).sum(),
            referred_applications: referrals.iter().map(|r| r.2).sum(),
        },
        communes,
    })
}

/// The statistics as the agents' CSV file, with its name.
pub async fn statistics_csv(
    state: &AppState,
    user: &Actor,
    query: TerritoryQuery,
) -> Result<(String, Vec<u8>), ServiceError> {
    let year = query.year;
    let stats = statistics(state, user, query).await?;
    let name = match year {
        Some(y) => format!("territoire-{y}.csv"),
        None => "territoire.csv".to_owned(),
    };
    Ok((name, crate::export::territory::write(&stats.communes)?))
}

/// A supported project, as the SCDL file publishes it.
#[derive(Debug, Clone, Serialize)]
pub struct SupportedProject {
    pub organisation_name: String,
    pub project_title: String,
    pub awarded_cents: Cents,
    /// The committee's date, else the day the decision was recorded (Europe/Paris).
    pub decided_on: Option<NaiveDate>,
    pub call_id: String,
    pub call_title: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct CommuneProjects {
    pub insee: String,
    pub name: String,
    /// The first [`PROJECTS_SHOWN`] projects, by organisation.
    pub projects: Vec<SupportedProject>,
    /// How many projects the commune has in all (the SCDL file lists each).
    pub project_count: usize,
    pub awarded_cents: Cents,
}

/// How many of a commune's projects the public page lists: the MEL awards a few dozen grants
/// a year, but a page must stay readable (and light) whatever the year holds.
pub const PROJECTS_SHOWN: usize = 20;

/// The projects supported in a year, by commune.
#[derive(Debug, Clone, Serialize)]
pub struct SupportedProjects {
    pub year: i32,
    /// The years with at least one project, newest first.
    pub years: Vec<i32>,
    /// Every commune of the MEL, with its projects (none for most).
    pub communes: Vec<CommuneProjects>,
    /// Projects, each counted once however many communes it acts in.
    pub project_count: usize,
    pub awarded_cents: Cents,
}

/// The projects awarded in `year` (of decision, Europe/Paris; the current year by default),
/// for anyone: only calls that are not drafts, only what the SCDL file publishes.
pub async fn supported_projects(
    state: &AppState,
    year: Option<i32>,
) -> Result<SupportedProjects, ServiceError> {
    use chrono::Datelike;
    let year = year.unwrap_or_else(|| state.clock.paris_today().year());
    let (from, before) = paris_year(year)?;
    let (rows, span) = state
        .db
        .run(move |conn| {
            Ok((
                territory::awarded_projects(conn, from, before)?,
                territory::award_instants(conn)?,
            ))
        })
        .await?;
    let paris_year_of = |t: NaiveDateTime| Paris.from_utc_datetime(&t).year();
    let mut years: Vec<i32> = match (span.first(), span.last()) {
        (Some(first), Some(last)) => (paris_year_of(*first)..=paris_year_of(*last)).collect(),
        _ => Vec::new(),
    };
    if !years.contains(&year) {
        years.push(year);
    }
    years.sort_unstable_by(|a, b| b.cmp(a));
    let mut ids = std::collections::HashSet::new();
    let mut total = Cents::ZERO;
    let mut communes: Vec<CommuneProjects> = mel_communes()
        .iter()
        .map(|c| CommuneProjects {
            insee: c.insee.clone(),
            name: c.name.clone(),
            projects: Vec::new(),
            project_count: 0,
            awarded_cents: Cents::ZERO,
        })
        .collect();
    for r in rows {
        let Some(commune) = communes.iter_mut().find(|c| c.insee == r.commune_insee) else {
            continue;
        };
        let amount = Cents::new(r.awarded_cents.unwrap_or(0))
            .map_err(|e| ServiceError::Internal(anyhow::anyhow!("awarded_cents: {e}")))?;
        if ids.insert(r.application_id.clone()) {
            total = add(total, amount)?;
        }
        commune.awarded_cents = add(commune.awarded_cents, amount)?;
        commune.project_count += 1;
        if commune.projects.len() >= PROJECTS_SHOWN {
            continue;
        }
        commune.projects.push(SupportedProject {
            organisation_name: r.organisation_name,
            project_title: r.project_title,
            awarded_cents: amount,
            decided_on: r.committee_date.or(r
                .decided_at
                .map(|t| Paris.from_utc_datetime(&t).date_naive())),
            call_id: r.call_id,
            call_title: r.call_title,
        });
    }
    Ok(SupportedProjects {
        year,
        years,
        communes,
        project_count: ids.len(),
        awarded_cents: total,
    })
}

fn add(a: Cents, b: Cents) -> Result<Cents, ServiceError> {
    a.checked_add(b)
        .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("awarded amounts overflow")))
}

/// The SCDL file of a call that is not a draft, for anyone: its name and its bytes, streamed.
pub async fn public_scdl(
    state: &AppState,
    call_id: CallId,
) -> Result<
    (
        String,
        impl futures_util::Stream<Item = std::io::Result<actix_web::web::Bytes>> + 'static,
    ),
    ServiceError,
> {
    let call = crate::services::calls::for_export(state, call_id).await?;
    if call.state == CallState::Draft {
        return Err(crate::services::calls::not_found());
    }
    let params = crate::export::ExportQuery::from_query_string("format=scdl")?.parse()?;
    let file_name = params.file_name(&call.title);
    let ctx = crate::export::ExportContext::new(
        &call,
        params,
        state.settings.authority.clone(),
        state.settings.data_dir.join("tmp"),
    );
    Ok((file_name, crate::export::stream(state.db.clone(), ctx)))
}
