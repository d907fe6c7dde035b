//! The host's panel: the page, its live feed (a WebSocket pushing the
//! latest k-anonymous frame), host overrides and the CSV export. Every
//! handler checks the host token first.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{
        Query, State, WebSocketUpgrade,
        ws::{Message, WebSocket},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use parterre_aggregate::HostOverride;
use tokio::sync::oneshot;

use crate::{
    app::{AppState, TokenQuery},
    assets,
    hub::HubCommand,
};

/// `GET /panel`.
pub async fn page(State(state): State<Arc<AppState>>, headers: HeaderMap, Query(query): Query<TokenQuery>) -> Response {
    state
        .refusal(&headers, &query)
        .unwrap_or_else(|| assets::page(assets::PANEL_HTML))
}

/// `GET /panel/live`: a WebSocket that receives every new panel frame.
pub async fn live(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    if let Some(refused) = state.refusal(&headers, &query) {
        return refused;
    }
    // The panel sends nothing: anything it does send stays small.
    ws.max_message_size(1_024).on_upgrade(move |socket| feed(socket, state))
}

async fn feed(mut socket: WebSocket, state: Arc<AppState>) {
    let mut frames = state.panel.clone();
    let mut shutdown = state.shutdown.clone();
    loop {
        let frame = frames.borrow_and_update().clone();
        if socket.send(Message::text(frame.as_ref())).await.is_err() {
            return;
        }
        tokio::select! {
            changed = frames.changed() => if changed.is_err() { return },
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
            _ = shutdown.changed() => return,
        }
    }
}

/// `POST /panel/override` with a `HostOverride` as JSON, e.g.
/// `{"pin":{"action":{"effect":"poll"},"for_s":60}}` or
/// `{"block":{"rule":"happy-moment","for_s":300}}`.
pub async fn override_(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
    body: Bytes,
) -> Response {
    if let Some(refused) = state.refusal(&headers, &query) {
        return refused;
    }
    // Parsed only after the token check, so strangers learn nothing.
    let command: HostOverride = match serde_json::from_slice(&body) {
        Ok(command) => command,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("not an override: {e}\n")).into_response(),
    };
    match ask(&state, |reply| HubCommand::Override { command, reply }).await {
        Ok(Ok(decision)) => Json(serde_json::json!({ "decision": decision })).into_response(),
        Ok(Err(refused)) => (StatusCode::BAD_REQUEST, format!("{refused}\n")).into_response(),
        Err(unavailable) => unavailable,
    }
}

/// Sends the hub a command carrying a reply channel and waits for the
/// answer; a hub that is gone (shutting down) is a 503.
async fn ask<T>(state: &AppState, command: impl FnOnce(oneshot::Sender<T>) -> HubCommand) -> Result<T, Response> {
    let (reply, answer) = oneshot::channel();
    if state.hub.send(command(reply)).await.is_err() {
        return Err(StatusCode::SERVICE_UNAVAILABLE.into_response());
    }
    answer
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE.into_response())
}

/// `GET /panel/history`: the charts' last ten minutes, for a panel opened
/// late.
pub async fn history(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    if let Some(refused) = state.refusal(&headers, &query) {
        return refused;
    }
    match ask(&state, |reply| HubCommand::History { reply }).await {
        Ok(points) => ([(header::CACHE_CONTROL, "no-store")], Json(points)).into_response(),
        Err(unavailable) => unavailable,
    }
}

/// `GET /panel/export.csv`: the stored minute reports.
pub async fn export_csv(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    if let Some(refused) = state.refusal(&headers, &query) {
        return refused;
    }
    match ask(&state, |reply| HubCommand::ExportCsv { reply }).await {
        Ok(Ok(csv)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"parterre-report.csv\"",
                ),
            ],
            csv,
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
        Err(unavailable) => unavailable,
    }
}
