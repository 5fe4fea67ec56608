//! A commune's opinion on an application taking place there (DESIGN.md §16): what it may say,
//! until when, and who reads it.
//!
//! The window opens with the submission and closes at the end of the Europe/Paris day
//! `commune_opinion_days` after it — or with the decision, whichever comes first: once the
//! application is accepted, rejected, declared ineligible or withdrawn, an opinion would no
//! longer inform anything. Until then the commune may change it.

use chrono::{DateTime, Days, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::application_state::ApplicationState;
use crate::domain::text::{self, Lines};

/// The default number of days a commune has (DESIGN.md §16).
pub const DEFAULT_DAYS: u32 = 21;
/// The longest window a call may give.
pub const MAX_DAYS: u32 = 120;
/// The longest comment.
pub const MAX_COMMENT: usize = 4000;

/// What a commune thinks of a project taking place on its territory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Opinion {
    Favorable,
    Reserved,
    Unfavorable,
}

impl Opinion {
    pub const ALL: [Self; 3] = [Self::Favorable, Self::Reserved, Self::Unfavorable];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Favorable => "favorable",
            Self::Reserved => "reserved",
            Self::Unfavorable => "unfavorable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }

    /// « Avis favorable », as the pages and the exports write it.
    pub fn label_fr(self) -> &'static str {
        match self {
            Self::Favorable => "Avis favorable",
            Self::Reserved => "Avis réservé",
            Self::Unfavorable => "Avis défavorable",
        }
    }

    /// The adjective alone (« réservé »), for a table's cell.
    pub fn short_fr(self) -> &'static str {
        match self {
            Self::Favorable => "favorable",
            Self::Reserved => "réservé",
            Self::Unfavorable => "défavorable",
        }
    }
}

/// The last instant an opinion may be given: the end of the Europe/Paris day `days` after the
/// submission's.
pub fn deadline(submitted_at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let day = submitted_at.with_timezone(&Paris).date_naive() + Days::new(u64::from(days));
    let next_midnight = (day + Days::new(1)).and_time(NaiveTime::MIN);
    // Midnight exists every day in Paris (clocks change at 2 or 3 a.m.); the instant before
    // the next midnight is the end of `day`.
    Paris
        .from_local_datetime(&next_midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&next_midnight))
        - chrono::Duration::seconds(1)
}

/// Why a commune may not give its opinion now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Closed {
    #[error("la candidature n'est pas encore déposée")]
    NotSubmitted,
    #[error("la candidature a déjà été décidée : l'avis n'est plus recueilli")]
    Decided,
    #[error("le délai pour donner l'avis de la commune est dépassé")]
    PastDeadline,
}

/// Whether the window is open for an application in `state`, submitted at `submitted_at`,
/// under a call giving `days`; `Ok` carries the deadline.
pub fn window(
    state: ApplicationState,
    submitted_at: Option<DateTime<Utc>>,
    days: u32,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Closed> {
    let submitted_at = submitted_at.ok_or(Closed::NotSubmitted)?;
    match state {
        ApplicationState::Draft => return Err(Closed::NotSubmitted),
        ApplicationState::Accepted
        | ApplicationState::Rejected
        | ApplicationState::Ineligible
        | ApplicationState::Withdrawn => return Err(Closed::Decided),
        ApplicationState::Submitted
        | ApplicationState::ChangesRequested
        | ApplicationState::UnderReview => {}
    }
    let until = deadline(submitted_at, days);
    if now > until {
        Err(Closed::PastDeadline)
    } else {
        Ok(until)
    }
}

/// The comment's rule: the text rule, at most [`MAX_COMMENT`] characters, and required when
/// the opinion is not favorable — a reservation says what it is about.
pub fn check_comment(opinion: Opinion, comment: &str) -> Result<(), String> {
    if opinion == Opinion::Favorable && comment.trim().is_empty() {
        return Ok(());
    }
    text::required(comment, Lines::Multi, MAX_COMMENT).map_err(|m| {
        if comment.trim().is_empty() {
            "dites en quelques mots ce qui motive un avis réservé ou défavorable".to_owned()
        } else {
            m
        }
    })
}

/// The number of days a call gives, checked.
pub fn check_days(days: u32) -> Result<(), String> {
    if (1..=MAX_DAYS).contains(&days) {
        Ok(())
    } else {
        Err(format!(
            "le délai de l'avis des communes est compris entre 1 et {MAX_DAYS} jours"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn every_opinion_reads_back_as_itself() {
        for o in Opinion::ALL {
            assert_eq!(Opinion::parse(o.as_str()), Some(o));
            let json = serde_json::to_value(o).unwrap();
            assert_eq!(json, o.as_str());
        }
        assert_eq!(Opinion::parse("neutral"), None);
        assert_eq!(Opinion::parse("Favorable"), None);
    }

    #[test]
    fn the_deadline_ends_a_paris_day() {
        // (submitted at, days, last instant)
        let cases = [
            // Winter (UTC+1): submitted on 10 January, 21 days → 31 January 23:59:59 Paris.
            ("2027-01-10T09:00:00Z", 21, "2027-01-31T22:59:59Z"),
            // Late evening in UTC is already the next day in Paris.
            ("2027-01-10T23:30:00Z", 1, "2027-01-12T22:59:59Z"),
            // Across the change to summer time (28 March 2027): UTC+2 at the end.
            ("2027-03-20T10:00:00Z", 10, "2027-03-30T21:59:59Z"),
            // Across the change back (31 October 2027).
            ("2027-10-25T10:00:00Z", 7, "2027-11-01T22:59:59Z"),
        ];
        for (at, days, until) in cases {
            assert_eq!(deadline(utc(at), days), utc(until), "{at} + {days}");
        }
    }

    #[test]
    fn the_window_opens_with_the_submission_and_closes_with_the_decision() {
        let submitted = utc("2027-01-10T09:00:00Z");
        let inside = utc("2027-01-20T12:00:00Z");
        let last = utc("2027-01-31T22:59:59Z");
        let after = utc("2027-01-31T23:00:00Z");
        use ApplicationState as S;
        // (state, submitted, now, outcome)
        let cases = [
            (S::Submitted, Some(submitted), inside, Ok(last)),
            (S::ChangesRequested, Some(submitted), inside, Ok(last)),
            (S::UnderReview, Some(submitted), last, Ok(last)),
            (
                S::UnderReview,
                Some(submitted),
                after,
                Err(Closed::PastDeadline),
            ),
            (S::Draft, None, inside, Err(Closed::NotSubmitted)),
            (S::Draft, Some(submitted), inside, Err(Closed::NotSubmitted)),
            (S::Accepted, Some(submitted), inside, Err(Closed::Decided)),
            (S::Rejected, Some(submitted), inside, Err(Closed::Decided)),
            (S::Ineligible, Some(submitted), inside, Err(Closed::Decided)),
            (S::Withdrawn, Some(submitted), inside, Err(Closed::Decided)),
        ];
        for (state, at, now, outcome) in cases {
            assert_eq!(window(state, at, 21, now), outcome, "{state:?} at {now}");
        }
    }

    #[test]
    fn a_reservation_says_why() {
        // (opinion, comment, accepted)
        let long = "x".repeat(MAX_COMMENT + 1);
        let cases = [
            (Opinion::Favorable, "", true),
            (Opinion::Favorable, "Projet attendu dans le quartier.", true),
            (Opinion::Reserved, "", false),
            (Opinion::Reserved, "   ", false),
            (Opinion::Reserved, "Le local n'est pas encore trouvé.", true),
            (Opinion::Unfavorable, "", false),
            (Opinion::Unfavorable, "Doublon d'un projet existant.", true),
            (Opinion::Favorable, long.as_str(), false),
            (Opinion::Favorable, "avec \u{0} dedans", false),
        ];
        for (opinion, comment, ok) in cases {
            assert_eq!(
                check_comment(opinion, comment).is_ok(),
                ok,
                "{opinion:?} {comment:?}"
            );
        }
        assert!(
            check_comment(Opinion::Reserved, "")
                .unwrap_err()
                .contains("réservé ou défavorable")
        );
    }

    #[test]
    fn a_call_gives_between_one_and_120_days() {
        for (days, ok) in [(0, false), (1, true), (21, true), (120, true), (121, false)] {
            assert_eq!(check_days(days).is_ok(), ok, "{days}");
        }
    }
}
