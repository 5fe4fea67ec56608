//! Pure rules of the call: no I/O, no clock. Everything a rule needs comes in as arguments, so
//! each rule is unit-tested with tables of cases.

pub mod account;
pub mod actor;
pub mod amount_words;
pub mod application;
pub mod application_state;
pub mod assignment;
pub mod audience;
pub mod audit_chain;
pub mod bank;
pub mod call;
pub mod dashboard;
pub mod dates;
pub mod decision;
pub mod eligibility;
pub mod finance_file;
pub mod grant;
pub mod history;
pub mod identifiers;
pub mod ids;
pub mod instalment;
pub mod letter;
pub mod machine;
pub mod money;
pub mod outbox;
pub mod password_policy;
pub mod report;
pub mod retention;
pub mod review;
pub mod scoring;
pub mod search;
pub mod territory;
pub mod territory_map;
pub mod text;
pub mod tokens;
pub mod upload;
