//! essor: the grant-application workflow of the MEL's call for projects « Entreprendre
//! autrement ». See README.md and DESIGN.md for the whole picture.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod gateways;
pub mod input;
pub mod input_guard;
pub mod letters;
pub mod notify;
pub mod openapi;
pub mod secrets;
pub mod seed;
pub mod services;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod trusted_proxies;
pub mod web;
