//! The pages driven by a real Chromium through WebDriver (chromedriver), over a real server on
//! a random port and a real database (SQLite and PostgreSQL), with axe-core run on every page
//! visited and screenshots at 1280 and 375 px under target/screenshots/.
//!
//! Without Chromium the tests print `WARNING … SKIPPED`; with ESSOR_REQUIRE_BROWSER=1 they
//! fail instead.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: an unwrap is an assertion

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

#[allow(dead_code)]
#[path = "../api/fakes.rs"]
mod fakes;

mod account;
mod apidocs;
mod browser;
mod commune;
mod convention;
mod creation;
mod decisions;
mod documents;
mod finance;
mod full_call;
mod http;
mod journey;
mod oidc_strict;
mod proconnect;
mod registry;
mod reviewer;
mod staff;
mod surprises;
mod territory;
mod tokens;
