//! One viewer's WebSocket: every message is size-limited (by the WebSocket
//! layer, then by the protocol before parsing), rate-limited, decoded and
//! validated; the first bad one closes this connection with its reason and
//! affects no other. Valid traits go to the aggregation task under an
//! ephemeral index that dies with the connection; decisions come back.

use std::{
    sync::{Arc, atomic::Ordering},
    time::Instant,
};

use axum::{
    extract::{
        Query, State, WebSocketUpgrade,
        ws::{CloseFrame, Message, WebSocket},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use parterre_aggregate::ViewerIndex;
use parterre_core::PermanenceReport;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;

use crate::{
    app::AppState,
    hub::{HubCommand, Sample},
    protocol::{Inbound, RejectClass, Rejection, decode},
    rate_limit::TokenBucket,
};

/// The WebSocket layer's message and frame limit (its defaults are
/// megabytes). Above the protocol's own limit so that a message between the
/// two gets the protocol's precise reason.
pub const WS_LIMIT_BYTES: usize = 4_096;

/// Close code for a server going away (RFC 6455).
const GOING_AWAY: u16 = 1001;

/// `?webinar=ID`: the only thing a viewer says when joining.
#[derive(Debug, Deserialize)]
pub struct JoinQuery {
    webinar: String,
}

/// `GET /ws/viewer?webinar=ID`.
pub async fn upgrade(
    State(state): State<Arc<AppState>>,
    Query(join): Query<JoinQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    if join.webinar != state.webinar.id {
        return (StatusCode::NOT_FOUND, "no such webinar\n").into_response();
    }
    // Buffers sized to the messages (the library's defaults are 128 KiB
    // each, allocated up front): thousands of viewers stay cheap.
    ws.max_message_size(WS_LIMIT_BYTES)
        .max_frame_size(WS_LIMIT_BYTES)
        .read_buffer_size(WS_LIMIT_BYTES)
        .write_buffer_size(WS_LIMIT_BYTES)
        .on_upgrade(move |socket| serve(socket, state))
}

/// Judges one incoming WebSocket message: `Ok(None)` for control frames.
fn judge(message: &Message, bucket: &mut TokenBucket, state: &AppState) -> Result<Option<Inbound>, Rejection> {
    if !bucket.take(Instant::now()) {
        return Err(Rejection::new(RejectClass::RateLimit, ""));
    }
    match message {
        Message::Text(text) => decode(text.as_str(), state.trait_set).map(Some),
        Message::Binary(_) => Err(Rejection::new(RejectClass::Binary, "binary messages are not accepted")),
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => Ok(None),
    }
}

/// The reason for a failed read, when the peer is at fault in a way worth
/// telling it (a message over the WebSocket limit).
fn read_failure(error: axum::Error) -> Option<Rejection> {
    let inner = error.into_inner();
    let too_large = inner
        .downcast_ref::<tokio_tungstenite::tungstenite::Error>()
        .is_some_and(|e| matches!(e, tokio_tungstenite::tungstenite::Error::Capacity(_)));
    too_large.then(|| {
        Rejection::new(
            RejectClass::TooLarge,
            format!("over the {WS_LIMIT_BYTES}-byte WebSocket limit"),
        )
    })
}

async fn close(socket: &mut WebSocket, code: u16, reason: String) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    // The peer may already be gone: nothing more to do then.
    let _ = socket.send(Message::Close(Some(frame))).await;
}

async fn serve(mut socket: WebSocket, state: Arc<AppState>) {
    let _connected = state.stats.connect();
    let viewer = ViewerIndex(state.next_viewer.fetch_add(1, Ordering::Relaxed));
    let mut bucket = TokenBucket::new(state.rate_per_s, state.burst, Instant::now());
    let mut permanence: Option<PermanenceReport> = None;
    let mut decisions = state.decisions.subscribe();
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let message = match incoming {
                    None | Some(Ok(Message::Close(_))) => return,
                    Some(Ok(message)) => message,
                    Some(Err(error)) => {
                        if let Some(rejection) = read_failure(error) {
                            state.stats.reject(rejection.class);
                            close(&mut socket, rejection.class.close_code(), rejection.reason()).await;
                        }
                        return;
                    }
                };
                match judge(&message, &mut bucket, &state) {
                    Ok(Some(Inbound::Traits(traits))) => {
                        let sample = Sample { viewer, traits, permanence: permanence.clone() };
                        if state.hub.send(HubCommand::Ingest(sample)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Some(Inbound::Permanence(report))) => permanence = Some(report),
                    Ok(None) => {}
                    Err(rejection) => {
                        state.stats.reject(rejection.class);
                        close(&mut socket, rejection.class.close_code(), rejection.reason()).await;
                        return;
                    }
                }
            }
            decision = decisions.recv() => match decision {
                Ok(json) => {
                    if socket.send(Message::text(json.as_ref())).await.is_err() {
                        return;
                    }
                }
                // A slow page misses old decisions rather than holding them.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            },
            _ = shutdown.changed() => {
                close(&mut socket, GOING_AWAY, "server shutting down".into()).await;
                return;
            }
        }
    }
}
