//! Use cases. Each runs in one transaction: load, apply a domain rule, persist, audit, queue mail.

pub mod accounts;
pub mod applications;
pub mod audit;
pub mod bank_details;
pub mod calls;
pub mod conventions;
pub mod documents;
pub mod finance;
pub mod grant_view;
pub mod grants;
pub mod identify;
pub mod instalments;
pub mod mail_events;
pub mod outbox;
pub mod personal_data;
pub mod recovery;
pub mod reminders;
pub mod reports;
pub mod retention;
pub mod reviews;
pub mod runner;
pub mod staff;
pub mod throttle;
pub mod tokens;
pub mod transitions;
pub mod version;
