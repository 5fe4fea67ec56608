//! The time essor reads: the wall clock in service, a clock set by hand where the past or the
//! future must be reached without waiting (the demo seed's history, the retention purges'
//! tests). Services ask `AppState::clock` instead of the system, so one value decides what
//! « now » is for a whole request.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SubsecRound, Utc};
use chrono_tz::Europe::Paris;

#[derive(Clone, Debug, Default)]
pub struct Clock(Inner);

#[derive(Clone, Debug, Default)]
enum Inner {
    #[default]
    System,
    /// Shared by every clone, so moving it moves the time of every service holding it.
    Set(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// The wall clock.
    pub fn system() -> Self {
        Self(Inner::System)
    }

    /// A clock that stays at `at` until it is moved.
    pub fn set_at(at: DateTime<Utc>) -> Self {
        Self(Inner::Set(Arc::new(Mutex::new(at))))
    }

    /// Now in UTC, to the microsecond (what both databases store).
    pub fn now_utc(&self) -> DateTime<Utc> {
        match &self.0 {
            Inner::System => Utc::now().trunc_subsecs(6),
            Inner::Set(at) => at.lock().map(|t| *t).unwrap_or_else(|e| *e.into_inner()),
        }
    }

    /// Now as the columns hold it (UTC without zone).
    pub fn now(&self) -> NaiveDateTime {
        self.now_utc().naive_utc()
    }

    /// Today in Lille: filing dates, reference years and committee dates follow Europe/Paris.
    pub fn paris_today(&self) -> NaiveDate {
        paris_date(self.now_utc())
    }

    /// Moves a set clock to `at`. Returns false (and changes nothing) on the wall clock, which
    /// no one moves.
    pub fn move_to(&self, at: DateTime<Utc>) -> bool {
        match &self.0 {
            Inner::System => false,
            Inner::Set(t) => {
                *t.lock().unwrap_or_else(|e| e.into_inner()) = at.trunc_subsecs(6);
                true
            }
        }
    }

    /// Moves a set clock forward by `by` (see `move_to`).
    pub fn advance(&self, by: Duration) -> bool {
        let at = self.now_utc() + by;
        self.move_to(at)
    }

    pub fn is_system(&self) -> bool {
        matches!(self.0, Inner::System)
    }
}

/// The date in Europe/Paris at the instant `at`.
pub fn paris_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&Paris).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_set_clock_moves_for_every_clone_and_the_wall_clock_does_not() {
        let at = Utc.with_ymd_and_hms(2024, 3, 1, 9, 0, 0).unwrap();
        let clock = Clock::set_at(at);
        let other = clock.clone();
        assert_eq!(other.now_utc(), at);
        assert!(clock.advance(Duration::days(400)));
        assert_eq!(other.now_utc(), at + Duration::days(400));
        assert_eq!(other.now(), (at + Duration::days(400)).naive_utc());

        let wall = Clock::system();
        assert!(!wall.move_to(at));
        assert!(wall.now_utc() > at);
        assert!(wall.is_system() && !clock.is_system());
    }

    #[test]
    fn today_is_the_date_in_paris() {
        // 23:30 UTC on 31 December is already the new year in Paris (UTC+1 in winter).
        let clock = Clock::set_at(Utc.with_ymd_and_hms(2025, 12, 31, 23, 30, 0).unwrap());
        assert_eq!(
            clock.paris_today(),
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
        );
        clock.move_to(Utc.with_ymd_and_hms(2026, 6, 30, 21, 59, 0).unwrap());
        assert_eq!(
            clock.paris_today(),
            NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
        );
    }
}
