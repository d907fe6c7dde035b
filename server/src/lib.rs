//! parterre-server: ingest of the viewers' anonymous trait messages, the host's
//! control panel, the viewer page, and storage of k-anonymous aggregates.
//!
//! Must never depend on: vision or either frontend (the server never sees a
//! frame, a box or a landmark), and it must never store or log anything per
//! person (no IP addresses, no viewer identifiers beyond a live connection).
//!
//! The path of a message: [`viewer`] (size limit, rate limit, [`protocol`]
//! decode and validation) → [`hub`] (live views, decisions, minute
//! [`reports`]) → the panel ([`panel`]) and the viewers (decisions), and
//! once a minute [`storage`]. [`server::start`] wires it up; [`simulate`]
//! and [`loadtest`] drive it over loopback.

pub mod app;
pub mod assets;
pub mod auth;
pub mod config;
mod error;
pub mod hub;
pub mod loadtest;
pub mod panel;
pub mod protocol;
pub mod rate_limit;
pub mod reports;
pub mod served_dir;
pub mod server;
pub mod simulate;
pub mod stats;
pub mod storage;
pub mod viewer;
pub mod webinar;

pub use error::ServerError;
