//! The static files the server sends, all compiled into the binary so it
//! serves its pages offline and alone: our own HTML, CSS and JS, and uPlot
//! (installed from npm by `cargo xtask` into `server/node_modules`, copied
//! by `build.rs`; a stand-in that says how to install it when missing).

use axum::{
    extract::Path,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

/// The viewer page: consent, the analysis worker, the stage.
pub const VIEWER_HTML: &str = include_str!("../assets/viewer.html");
/// The host's panel.
pub const PANEL_HTML: &str = include_str!("../assets/panel.html");

/// `/assets/<name>`: (name, content type, bytes).
const FILES: [(&str, &str, &str); 6] = [
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
        "viewer.css",
        "text/css; charset=utf-8",
        include_str!("../assets/viewer.css"),
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

/// The viewer page's policy: the panel's, plus its worker (from this
/// server only) compiling WebAssembly, and the camera for this origin alone.
const VIEWER_HEADERS: [(header::HeaderName, &str); 5] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; \
         script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; frame-ancestors 'none'",
    ),
    (
        header::HeaderName::from_static("permissions-policy"),
        "camera=(self), microphone=(), geolocation=()",
    ),
];

/// An HTML page with the security headers.
pub fn page(html: &'static str) -> Response {
    with_headers(html, &SECURITY_HEADERS)
}

/// The viewer page with its security headers.
pub fn viewer_page() -> Response {
    with_headers(VIEWER_HTML, &VIEWER_HEADERS)
}

fn with_headers(html: &'static str, headers: &[(header::HeaderName, &'static str)]) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .insert(name.clone(), header::HeaderValue::from_static(value));
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
