//! The HTTP surface: routes, the state they share, and the host-token gate.
//!
//! Public: `/` (the viewer page), `/assets/*` (static code, no data),
//! `/web/*` (the viewer's WebAssembly build) and `/models/*` (the weights),
//! `/webinar` (the webinar's id, context, enabled traits and frame budget,
//! which the viewer page needs), `/ws/viewer?webinar=ID`. Host only (token
//! as `Authorization: Bearer` or `?token=`): `/panel`, `/panel/live`,
//! `/panel/history`, `/panel/override`, `/panel/export.csv`. No handler
//! reads the peer's address, and nothing here logs requests.

use std::sync::{Arc, atomic::AtomicU64};

use axum::{
    Json, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use parterre_core::TraitSet;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc, watch};

use crate::{
    assets, auth::HostToken, hub::HubCommand, panel, served_dir::ServedDir, stats::Stats, viewer, webinar::Webinar,
};

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
    /// The viewer's WebAssembly build.
    pub web_dir: ServedDir,
    /// The model weights.
    pub models: ServedDir,
    /// The frame permanence budget viewers' devices keep to.
    pub budget_ms: u64,
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
        .route("/", get(|| async { assets::viewer_page() }))
        .route("/assets/{name}", get(assets::serve))
        .route("/web/{*path}", get(web))
        .route("/models/{name}", get(models))
        .route("/webinar", get(webinar))
        .route("/ws/viewer", get(viewer::upgrade))
        .route("/panel", get(panel::page))
        .route("/panel/live", get(panel::live))
        .route("/panel/history", get(panel::history))
        .route("/panel/override", post(panel::override_))
        .route("/panel/export.csv", get(panel::export_csv))
        .with_state(state)
}

/// What the viewer page needs before asking for consent: which traits the
/// host enabled (the page offers no other), the frame budget, and whether
/// on-device analysis can run at all (its build and weights are served).
async fn webinar(State(state): State<Arc<AppState>>) -> Response {
    let available = state.web_dir.found().is_some() && state.models.found().is_some();
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({
            "id": state.webinar.id,
            "context": state.webinar.context,
            "traits": state.trait_set,
            "budget_ms": state.budget_ms,
            "analysis_available": available,
        })),
    )
        .into_response()
}

async fn web(State(state): State<Arc<AppState>>, Path(path): Path<String>, headers: HeaderMap) -> Response {
    state.web_dir.serve(&path, &headers).await
}

async fn models(State(state): State<Arc<AppState>>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    state.models.serve(&name, &headers).await
}
