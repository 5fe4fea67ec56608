//! Where applications take place (`application_communes`, DESIGN.md §16) and the figures the
//! territory's statistics read from it: one GROUP BY over the communes' index, never a body.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::DbConnection;
use crate::db::schema::{application_communes, applications, calls, referrals};
use crate::domain::application_state::ApplicationState;
use crate::domain::call::CallState;

/// Replaces the communes of an application (already canonical: Lomme and Hellemmes as Lille),
/// in the transaction that writes its body.
pub fn set_communes(
    conn: &mut DbConnection,
    application_id: &str,
    communes: &[String],
) -> QueryResult<()> {
    diesel::delete(
        application_communes::table.filter(application_communes::application_id.eq(application_id)),
    )
    .execute(conn)?;
    // One row at a time: a few communes per application, and MultiConnection has no batch
    // insert that both backends share.
    for c in communes {
        diesel::insert_into(application_communes::table)
            .values((
                application_communes::application_id.eq(application_id),
                application_communes::commune_insee.eq(c.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets the communes of applications that are deleted (drafts past their retention).
pub fn forget(
    conn: &mut DbConnection,
    application_ids: &[crate::domain::ids::ApplicationId],
) -> QueryResult<usize> {
    diesel::delete(
        application_communes::table
            .filter(application_communes::application_id.eq_any(application_ids)),
    )
    .execute(conn)
}

/// Which submitted applications the statistics count.
#[derive(Debug, Clone, Default)]
pub struct CountFilter {
    pub call_id: Option<String>,
    /// Submitted at or after this instant (UTC)…
    pub submitted_from: Option<NaiveDateTime>,
    /// …and before this one.
    pub submitted_before: Option<NaiveDateTime>,
}

/// One commune's figures, as the database counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommuneCounts {
    pub commune_insee: String,
    pub applications: i64,
    pub eligible: i64,
    pub awarded: i64,
    pub awarded_cents: i64,
}

/// The three sums every count makes: eligible, awarded, amounts awarded (see [`counts`]).
fn sums() -> [String; 3] {
    let list = |states: &[ApplicationState]| {
        states
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let reviewed = list(&[
        ApplicationState::UnderReview,
        ApplicationState::Accepted,
        ApplicationState::Rejected,
    ]);
    let waiting = list(&[
        ApplicationState::Submitted,
        ApplicationState::ChangesRequested,
    ]);
    let accepted = ApplicationState::Accepted.as_str();
    [
        format!(
            "CAST(COALESCE(SUM(CASE WHEN applications.state IN ({reviewed}) \
             OR (applications.state IN ({waiting}) \
             AND applications.eligibility_verdict = 'eligible') \
             THEN 1 ELSE 0 END), 0) AS BIGINT)"
        ),
        format!(
            "CAST(COALESCE(SUM(CASE WHEN applications.state = '{accepted}' THEN 1 ELSE 0 END), \
             0) AS BIGINT)"
        ),
        format!(
            "CAST(COALESCE(SUM(CASE WHEN applications.state = '{accepted}' \
             THEN COALESCE(applications.awarded_cents, 0) ELSE 0 END), 0) AS BIGINT)"
        ),
    ]
}

/// Per commune where at least one counted application takes place: the submitted
/// applications (never drafts), those eligible as they stand (sent to the committee — under
/// review, accepted, rejected — or not screened yet and judged eligible by the rules), those
/// awarded, and the amounts awarded. An application active in three communes counts in each.
pub fn counts(conn: &mut DbConnection, f: &CountFilter) -> QueryResult<Vec<CommuneCounts>> {
    let [eligible, awarded, awarded_cents] = sums();
    let mut q = application_communes::table
        .inner_join(applications::table)
        .filter(applications::submitted_at.is_not_null())
        .group_by(application_communes::commune_insee)
        .select((
            application_communes::commune_insee,
            diesel::dsl::count_star(),
            sql::<BigInt>(&eligible),
            sql::<BigInt>(&awarded),
            sql::<BigInt>(&awarded_cents),
        ))
        .into_boxed();
    if let Some(call) = &f.call_id {
        q = q.filter(applications::call_id.eq(call.clone()));
    }
    if let Some(from) = f.submitted_from {
        q = q.filter(applications::submitted_at.ge(from));
    }
    if let Some(before) = f.submitted_before {
        q = q.filter(applications::submitted_at.lt(before));
    }
    let rows: Vec<(String, i64, i64, i64, i64)> = q.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(commune_insee, applications, eligible, awarded, awarded_cents)| CommuneCounts {
                commune_insee,
                applications,
                eligible,
                awarded,
                awarded_cents,
            },
        )
        .collect())
}

/// Per commune, its referrals (§16) made under the filter (the call recommended; the year
/// they were sent) and the submitted applications started from one (the call; the year of
/// submission): `(commune, referrals, referred applications)`.
pub fn referral_counts(
    conn: &mut DbConnection,
    f: &CountFilter,
) -> QueryResult<Vec<(String, i64, i64)>> {
    let mut sent = referrals::table
        .group_by(referrals::commune_insee)
        .select((referrals::commune_insee, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(call) = &f.call_id {
        sent = sent.filter(referrals::call_id.eq(call.clone()));
    }
    if let Some(from) = f.submitted_from {
        sent = sent.filter(referrals::created_at.ge(from));
    }
    if let Some(before) = f.submitted_before {
        sent = sent.filter(referrals::created_at.lt(before));
    }
    let sent: Vec<(String, i64)> = sent.load(conn)?;
    let mut started = applications::table
        .filter(applications::submitted_at.is_not_null())
        .filter(applications::referred_by_commune.is_not_null())
        .group_by(applications::referred_by_commune)
        .select((applications::referred_by_commune, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(call) = &f.call_id {
        started = started.filter(applications::call_id.eq(call.clone()));
    }
    if let Some(from) = f.submitted_from {
        started = started.filter(applications::submitted_at.ge(from));
    }
    if let Some(before) = f.submitted_before {
        started = started.filter(applications::submitted_at.lt(before));
    }
    let started: Vec<(Option<String>, i64)> = started.load(conn)?;
    let mut out: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for (c, n) in sent {
        out.entry(c).or_default().0 = n;
    }
    for (c, n) in started {
        if let Some(c) = c {
            out.entry(c).or_default().1 = n;
        }
    }
    Ok(out.into_iter().map(|(c, (s, a))| (c, s, a)).collect())
}

/// The same figures over the whole filter, each application counted once.
pub fn totals(conn: &mut DbConnection, f: &CountFilter) -> QueryResult<CommuneCounts> {
    let [eligible, awarded, awarded_cents] = sums();
    let mut q = applications::table
        .filter(applications::submitted_at.is_not_null())
        .into_boxed();
    if let Some(call) = &f.call_id {
        q = q.filter(applications::call_id.eq(call.clone()));
    }
    if let Some(from) = f.submitted_from {
        q = q.filter(applications::submitted_at.ge(from));
    }
    if let Some(before) = f.submitted_before {
        q = q.filter(applications::submitted_at.lt(before));
    }
    let (applications, eligible, awarded, awarded_cents): (i64, i64, i64, i64) = q
        .select((
            diesel::dsl::count_star(),
            sql::<BigInt>(&eligible),
            sql::<BigInt>(&awarded),
            sql::<BigInt>(&awarded_cents),
        ))
        .first(conn)?;
    Ok(CommuneCounts {
        commune_insee: String::new(),
        applications,
        eligible,
        awarded,
        awarded_cents,
    })
}

/// An awarded project, with what the SCDL file publishes of it, and where it takes place.
#[derive(Debug, Clone, Queryable)]
pub struct AwardedProject {
    pub commune_insee: String,
    pub application_id: String,
    pub reference: String,
    pub organisation_name: String,
    pub project_title: String,
    pub awarded_cents: Option<i64>,
    pub committee_date: Option<NaiveDate>,
    pub decided_at: Option<NaiveDateTime>,
    pub call_id: String,
    pub call_title: String,
}

/// The accepted applications of calls that are not drafts, decided in `[from, before)` (UTC),
/// one row per commune they take place in, by commune then organisation.
pub fn awarded_projects(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    before: NaiveDateTime,
) -> QueryResult<Vec<AwardedProject>> {
    application_communes::table
        .inner_join(applications::table.inner_join(calls::table))
        .filter(applications::state.eq(ApplicationState::Accepted.as_str()))
        .filter(calls::state.ne(CallState::Draft.as_str()))
        .filter(applications::decided_at.ge(from))
        .filter(applications::decided_at.lt(before))
        .order((
            application_communes::commune_insee,
            applications::organisation_name,
            applications::reference,
        ))
        .select((
            application_communes::commune_insee,
            applications::id,
            applications::reference,
            applications::organisation_name,
            applications::project_title,
            applications::awarded_cents,
            applications::committee_date,
            applications::decided_at,
            calls::id,
            calls::title,
        ))
        .load(conn)
}

/// The years (of decision, UTC) in which at least one application was accepted: the years the
/// public page offers.
pub fn award_instants(conn: &mut DbConnection) -> QueryResult<Vec<NaiveDateTime>> {
    use diesel::dsl::{max, min};
    let (first, last): (Option<NaiveDateTime>, Option<NaiveDateTime>) = applications::table
        .inner_join(calls::table)
        .filter(applications::state.eq(ApplicationState::Accepted.as_str()))
        .filter(calls::state.ne(CallState::Draft.as_str()))
        .select((min(applications::decided_at), max(applications::decided_at)))
        .first(conn)?;
    Ok(first.into_iter().chain(last).collect())
}
