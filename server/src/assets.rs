//! The static files the server sends, all compiled into the binary so it
//! serves its pages offline and alone: our own HTML, CSS and JS, and uPlot
//! (installed from npm by `cargo xtask` into `server/node_modules`, copied
//! by `build.rs`; a stand-in that says how to install it when missing).

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

/// The viewer page (a placeholder until the consent and wasm page).
pub const VIEWER_HTML: &str = include_str!("../assets/viewer.html");
/// The host's panel.
pub const PANEL_HTML: &str = include_str!("../assets/panel.html");

/// `/assets/<name>`: (name, content type, bytes).
const FILES: [(&str, &str, &str); 5] = [
    (
        "panel.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/panel.js"),
    ),
    (
        "panel.css",
        "text/css; charset=utf-8",
        include_str!("../assets/panel.css"),
    ),
    (
        "viewer.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/viewer.js"),
    ),
    (
        "uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_str!(concat!(env!("OUT_DIR"), "/uPlot.iife.min.js")),
    ),
    (
        "uPlot.min.css",
        "text/css; charset=utf-8",
        include_str!(concat!(env!("OUT_DIR"), "/uPlot.min.css")),
    ),
];

/// Headers every page carries: no caching of host pages, no framing, and
/// no script, style or connection from anywhere but this server.
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
    ),
];

/// An HTML page with the security headers.
pub fn page(html: &'static str) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    for (name, value) in SECURITY_HEADERS {
        response
            .headers_mut()
            .insert(name, header::HeaderValue::from_static(value));
    }
    response
}

/// `GET /assets/{name}`.
pub async fn serve(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => ([(header::CONTENT_TYPE, *content_type)], *body).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
