//! The HTTP surface: routes, the state they share, and the host-token gate.
//!
//! Public: `/` (the viewer page), `/assets/*` (static code, no data),
//! `/webinar` (the webinar's id and context, which the viewer page needs),
//! `/ws/viewer?webinar=ID`. Host only (token as `Authorization: Bearer` or
//! `?token=`): `/panel`, `/panel/live`, `/panel/history`,
//! `/panel/override`, `/panel/export.csv`. No handler reads the peer's address, and nothing
//! here logs requests.

use std::sync::{Arc, atomic::AtomicU64};

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use parterre_core::TraitSet;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};

use crate::{assets, auth::HostToken, hub::HubCommand, panel, stats::Stats, viewer, webinar::Webinar};

/// What every handler may read.
#[derive(Debug)]
pub struct AppState {
    /// The webinar.
    pub webinar: Webinar,
    /// The traits its viewers may send.
    pub trait_set: TraitSet,
    /// The host's token.
    pub token: HostToken,
    /// Per-connection average rate.
    pub rate_per_s: u32,
    /// Per-connection burst.
    pub burst: u32,
    /// To the aggregation task.
    pub hub: mpsc::Sender<HubCommand>,
    /// Decisions for viewers.
    pub decisions: broadcast::Sender<Arc<str>>,
    /// The latest panel frame.
    pub panel: watch::Receiver<Arc<str>>,
    /// Turns true when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
    /// Shared counters.
    pub stats: Arc<Stats>,
    /// The next ephemeral viewer index.
    pub next_viewer: AtomicU64,
}

/// The `?token=` of a host request.
#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

impl AppState {
    /// `None` for the host, else the 401 to answer.
    pub fn refusal(&self, headers: &HeaderMap, query: &TokenQuery) -> Option<Response> {
        (!self.token.admits(headers, query.token.as_deref()))
            .then(|| (StatusCode::UNAUTHORIZED, "the host token is missing or wrong\n").into_response())
    }
}

/// The router over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(|| async { assets::page(assets::VIEWER_HTML) }))
        .route("/assets/{name}", get(assets::serve))
        .route("/webinar", get(webinar))
        .route("/ws/viewer", get(viewer::upgrade))
        .route("/panel", get(panel::page))
        .route("/panel/live", get(panel::live))
        .route("/panel/history", get(panel::history))
        .route("/panel/override", post(panel::override_))
        .route("/panel/export.csv", get(panel::export_csv))
        .with_state(state)
}

async fn webinar(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "id": state.webinar.id, "context": state.webinar.context })),
    )
        .into_response()
}
