//! Use cases. Each runs in one transaction: load, apply a domain rule, persist, audit, queue mail.

pub mod accounts;
pub mod applications;
pub mod calls;
pub mod documents;
pub mod outbox;
pub mod reviews;
pub mod runner;
pub mod staff;
pub mod transitions;
pub mod version;
