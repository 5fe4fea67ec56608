//! How long essor keeps personal data (RGPD art. 5-1-e, issue 20), as pure rules: the daily
//! job (`services::retention`) and the erasure of an account ask them what to do with each
//! row, given « now ». The delays come from `[retention]` in the configuration; docs/running.md
//! (« Données personnelles ») says why each default.

use chrono::{Duration, Months, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::domain::application_state::ApplicationState;

/// The delays, in days or months. Defaults: what a French collectivité would use (docs/running.md).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionPolicy {
    /// The body of a sent mail (text and HTML) is removed this long after sending; the
    /// outbox row keeps who, which event and when (the proof that it was sent).
    pub mail_body_days: u32,
    /// The copies the `file` mail transport writes (`data/mail/*.eml`) are removed this long
    /// after they were written.
    pub mail_file_days: u32,
    /// A draft never submitted and not changed for this long is deleted…
    pub draft_days: u32,
    /// … after a mail warned its owner this many days before.
    pub draft_warning_days: u32,
    /// The period of appeal against a decision (recours contentieux: 2 months from its
    /// notice, Code de justice administrative art. R421-1)…
    pub appeal_months: u32,
    /// … plus this margin (a recours gracieux keeps the delay open), after which the personal
    /// data of an unsuccessful or withdrawn application are minimised.
    pub appeal_margin_days: u32,
    /// The job runs at most once in this many hours (whatever the number of instances).
    pub run_every_hours: u32,
    /// How long an instance holds the job before another may take it over (it died).
    pub lease_minutes: u32,
    /// Off: no instance runs the job by itself (`essor` still exposes it to tests and tools).
    pub job_enabled: bool,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            mail_body_days: 90,
            mail_file_days: 30,
            draft_days: 365,
            draft_warning_days: 30,
            appeal_months: 2,
            appeal_margin_days: 120,
            run_every_hours: 24,
            lease_minutes: 30,
            job_enabled: true,
        }
    }
}

/// What becomes of a draft never submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DraftFate {
    Keep,
    /// Mail its owner: it will be deleted on or after this instant.
    Warn {
        deleted_after: NaiveDateTime,
    },
    Delete,
}

/// What an account's erasure does to one of its applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasureOfApplication {
    /// A draft: nothing of it is a record; it goes.
    Delete,
    /// Being examined: the erasure is refused until a decision (the collectivité must be
    /// able to reach the applicant).
    Refuse,
    /// Unsuccessful or withdrawn: kept as a record, minimised (documents, address).
    Minimise,
    /// Accepted: the record of public money, kept whole (the organisation is a legal person);
    /// only the account's name and address are replaced.
    Keep,
}

impl RetentionPolicy {
    /// Refuses delays that would purge before warning, or never warn.
    pub fn validate(&self) -> Result<(), String> {
        if self.draft_warning_days == 0 || self.draft_warning_days >= self.draft_days {
            return Err(format!(
                "retention.draft_warning_days ({}) must be at least 1 and below retention.draft_days ({})",
                self.draft_warning_days, self.draft_days
            ));
        }
        if self.appeal_months < 2 {
            return Err("retention.appeal_months must be at least 2 (the period of appeal)".into());
        }
        if self.mail_body_days == 0 || self.mail_file_days == 0 {
            return Err(
                "retention.mail_body_days and retention.mail_file_days must be at least 1".into(),
            );
        }
        if self.run_every_hours == 0 || self.lease_minutes == 0 {
            return Err(
                "retention.run_every_hours and retention.lease_minutes must be at least 1".into(),
            );
        }
        Ok(())
    }

    /// Sent mails whose `sent_at` is before this lose their body.
    pub fn mail_body_cutoff(&self, now: NaiveDateTime) -> NaiveDateTime {
        now - Duration::days(self.mail_body_days.into())
    }

    /// Mail files written before this are removed.
    pub fn mail_file_cutoff(&self, now: NaiveDateTime) -> NaiveDateTime {
        now - Duration::days(self.mail_file_days.into())
    }

    /// A draft last changed at `last_change`, whose owner was warned at `warned_at` (a
    /// warning given before the last change no longer counts: the owner came back). It is
    /// deleted only once a warning is at least `draft_warning_days` old, so no draft goes
    /// without its owner having had that long to act, even if the job did not run for a while.
    pub fn draft_fate(
        &self,
        last_change: NaiveDateTime,
        warned_at: Option<NaiveDateTime>,
        now: NaiveDateTime,
    ) -> DraftFate {
        let expires = last_change + Duration::days(self.draft_days.into());
        let notice = Duration::days(self.draft_warning_days.into());
        match warned_at.filter(|w| *w >= last_change) {
            Some(w) if now >= expires && now >= w + notice => DraftFate::Delete,
            Some(_) => DraftFate::Keep,
            None if now >= expires - notice => DraftFate::Warn {
                deleted_after: std::cmp::max(expires, now + notice),
            },
            None => DraftFate::Keep,
        }
    }

    /// When the personal data of an application closed at `closed_at` (decision notice, or
    /// withdrawal) may be minimised.
    pub fn minimise_after(&self, closed_at: NaiveDateTime) -> NaiveDateTime {
        closed_at
            .checked_add_months(Months::new(self.appeal_months))
            .unwrap_or(closed_at)
            + Duration::days(self.appeal_margin_days.into())
    }

    /// Whether an application in `state`, closed at `closed_at`, is minimised at `now`.
    pub fn minimise_now(
        &self,
        state: ApplicationState,
        closed_at: NaiveDateTime,
        now: NaiveDateTime,
    ) -> bool {
        is_unsuccessful(state) && now >= self.minimise_after(closed_at)
    }
}

/// Unsuccessful (refused, ineligible) or withdrawn: no public money behind it.
pub fn is_unsuccessful(state: ApplicationState) -> bool {
    matches!(
        state,
        ApplicationState::Rejected | ApplicationState::Ineligible | ApplicationState::Withdrawn
    )
}

/// What erasing its owner's account does to an application in `state`.
pub fn erasure_of(state: ApplicationState) -> ErasureOfApplication {
    use ApplicationState as S;
    match state {
        S::Draft => ErasureOfApplication::Delete,
        S::Submitted | S::ChangesRequested | S::UnderReview => ErasureOfApplication::Refuse,
        S::Rejected | S::Ineligible | S::Withdrawn => ErasureOfApplication::Minimise,
        S::Accepted => ErasureOfApplication::Keep,
    }
}

/// The address an erased account's row keeps (unique, never deliverable: `.invalid`, RFC 2606).
pub fn erased_email(user_id: &str) -> String {
    format!("compte-supprime-{user_id}@essor.invalid")
}

/// The name an erased account's row keeps.
pub const ERASED_NAME: &str = "Compte supprimé";

/// What replaces the organisation's address in a minimised application.
pub const MINIMISED_ADDRESS: &str = "(adresse effacée)";

/// An application's stored body once minimised: the organisation's address replaced, the
/// rest (the record) kept as it was.
pub fn minimised_body(body: &str) -> Result<String, serde_json::Error> {
    let mut body: serde_json::Value = serde_json::from_str(body)?;
    if let Some(org) = body
        .get_mut("organisation")
        .and_then(serde_json::Value::as_object_mut)
        && org.contains_key("address")
    {
        org.insert("address".into(), MINIMISED_ADDRESS.into());
    }
    Ok(body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    }

    #[test]
    fn a_draft_is_warned_then_deleted_never_without_the_full_notice() {
        let p = RetentionPolicy::default(); // 365 days, warned 30 days before
        let changed = at(2025, 1, 1);
        let expires = changed + Duration::days(365);
        let cases = [
            // (warned_at, now, fate)
            (None, at(2025, 6, 1), DraftFate::Keep),
            (None, expires - Duration::days(31), DraftFate::Keep),
            (
                None,
                expires - Duration::days(30),
                DraftFate::Warn {
                    deleted_after: expires,
                },
            ),
            // The job did not run for months: the owner still gets 30 days.
            (
                None,
                expires + Duration::days(100),
                DraftFate::Warn {
                    deleted_after: expires + Duration::days(130),
                },
            ),
            (
                Some(expires - Duration::days(30)),
                expires - Duration::days(1),
                DraftFate::Keep,
            ),
            (
                Some(expires - Duration::days(30)),
                expires,
                DraftFate::Delete,
            ),
            (Some(expires - Duration::days(10)), expires, DraftFate::Keep),
            (
                Some(expires - Duration::days(10)),
                expires + Duration::days(20),
                DraftFate::Delete,
            ),
            // Warned before the owner came back to it: that warning no longer counts.
            (
                Some(changed - Duration::days(1)),
                expires,
                DraftFate::Warn {
                    deleted_after: expires + Duration::days(30),
                },
            ),
        ];
        for (warned, now, fate) in cases {
            assert_eq!(p.draft_fate(changed, warned, now), fate, "{warned:?} {now}");
        }
    }

    #[test]
    fn unsuccessful_applications_are_minimised_after_the_appeal_period_and_margin() {
        let p = RetentionPolicy {
            appeal_margin_days: 30,
            ..RetentionPolicy::default()
        };
        use ApplicationState as S;
        let notice = at(2026, 1, 31);
        // 31 January + 2 months = 31 March (calendar months, the end of month kept), + 30 days.
        assert_eq!(p.minimise_after(notice), at(2026, 4, 30));
        let cases = [
            (S::Rejected, at(2026, 4, 29), false),
            (S::Rejected, at(2026, 4, 30), true),
            (S::Ineligible, at(2026, 5, 1), true),
            (S::Withdrawn, at(2026, 5, 1), true),
            (S::Accepted, at(2030, 1, 1), false),
            (S::UnderReview, at(2030, 1, 1), false),
            (S::Draft, at(2030, 1, 1), false),
            (S::Submitted, at(2030, 1, 1), false),
        ];
        for (state, now, expected) in cases {
            assert_eq!(
                p.minimise_now(state, notice, now),
                expected,
                "{state:?} {now}"
            );
        }
    }

    #[test]
    fn erasure_refuses_while_examined_and_keeps_the_public_money_record() {
        use ApplicationState as S;
        use ErasureOfApplication as E;
        let expected = [
            (S::Draft, E::Delete),
            (S::Submitted, E::Refuse),
            (S::ChangesRequested, E::Refuse),
            (S::UnderReview, E::Refuse),
            (S::Ineligible, E::Minimise),
            (S::Rejected, E::Minimise),
            (S::Withdrawn, E::Minimise),
            (S::Accepted, E::Keep),
        ];
        for (state, fate) in expected {
            assert_eq!(erasure_of(state), fate, "{state:?}");
        }
        assert_eq!(ApplicationState::ALL.len(), expected.len());
    }

    #[test]
    fn mail_cutoffs_and_the_checks_of_the_settings() {
        let p = RetentionPolicy::default();
        let now = at(2026, 6, 30);
        assert_eq!(p.mail_body_cutoff(now), now - Duration::days(90));
        assert_eq!(p.mail_file_cutoff(now), now - Duration::days(30));
        assert!(p.validate().is_ok());
        let bad = [
            RetentionPolicy {
                draft_warning_days: 365,
                ..RetentionPolicy::default()
            },
            RetentionPolicy {
                draft_warning_days: 0,
                ..RetentionPolicy::default()
            },
            RetentionPolicy {
                appeal_months: 1,
                ..RetentionPolicy::default()
            },
            RetentionPolicy {
                mail_body_days: 0,
                ..RetentionPolicy::default()
            },
            RetentionPolicy {
                lease_minutes: 0,
                ..RetentionPolicy::default()
            },
        ];
        for p in bad {
            assert!(p.validate().is_err(), "{p:?}");
        }
        assert!(erased_email("abc").ends_with(".invalid"));
    }
}
