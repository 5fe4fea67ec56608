//! Use cases. Each runs in one transaction: load, apply a domain rule, persist, audit, queue mail.

pub mod accounts;
