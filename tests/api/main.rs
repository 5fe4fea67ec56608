//! The API test binary: every test talks HTTP to a real server over a real database, and
//! runs once on SQLite and once on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: an unwrap is an assertion

mod fakes;
mod helpers;

mod accounts;
mod applications;
mod audit;
mod auth;
mod calls;
mod communes;
mod counts;
mod creation;
mod docs;
mod documents;
mod examples;
mod exports;
mod faults;
mod finance;
mod foundation;
mod grants;
mod keyset;
mod mail;
mod matrix;
mod newcomer;
mod openapi;
mod outage;
mod ranking_outbox;
mod registry;
mod reports;
mod reviews;
mod rgpd;
mod runner;
mod search;
mod seed;
mod stored_read;
mod territory;
mod tokens;
mod trust;
