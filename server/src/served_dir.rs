//! Files the server hands out from disk rather than from its binary: the
//! viewer's WebAssembly build (`/web/...`, made by `cargo xtask build-all`)
//! and the model weights (`/models/...`, made by `cargo xtask models`). Both
//! are built artifacts too large or too changeable to embed.
//!
//! Each directory is looked up on every request among its candidates (the
//! one given, else `<rel>` under the current directory, then `<rel>` beside
//! the workspace this binary was built from), so a server started before the
//! build serves the files as soon as they exist. Only plain file names made
//! of `[A-Za-z0-9_.-]` are served (and `pkg/<name>` under the web dir): no
//! dot first, so neither `..` nor hidden files; anything else is a 404.
//!
//! A browser that accepts gzip gets the files gzipped (a viewer's first
//! visit downloads the wasm and the weights: about 7 MB raw, under a third
//! of that gzipped). Each file is compressed once per version and kept.

use std::{
    collections::HashMap,
    io::Write,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::UNIX_EPOCH,
};

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// The policy of every `/web/` response: the worker script is governed by
/// its own response's policy, and it compiles WebAssembly.
pub const WEB_CSP: &str = "default-src 'self'; connect-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
                           worker-src 'self'; frame-ancestors 'none'";

/// Content types by file ending; anything else is `application/octet-stream`.
const CONTENT_TYPES: [(&str, &str); 7] = [
    (".js", "text/javascript; charset=utf-8"),
    (".mjs", "text/javascript; charset=utf-8"),
    // What `WebAssembly.instantiateStreaming` insists on.
    (".wasm", "application/wasm"),
    (".json", "application/json"),
    (".css", "text/css; charset=utf-8"),
    (".html", "text/html; charset=utf-8"),
    (".ts", "text/plain; charset=utf-8"),
];

/// Which files of a directory may be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The web build: `<name>` or `pkg/<name>`.
    Web,
    /// The weights: `<stem>.safetensors` and `index.json`.
    Models,
}

/// A directory of served files, found by its marker file.
#[derive(Debug, Clone)]
pub struct ServedDir {
    layout: Layout,
    candidates: Vec<PathBuf>,
    /// Gzipped bodies by file, with the entity tag of the version compressed.
    gzipped: Arc<Mutex<HashMap<PathBuf, (String, Bytes)>>>,
}

impl ServedDir {
    /// The web build: `given`, else `target/web` here or beside the workspace.
    pub fn web(given: Option<PathBuf>) -> Self {
        Self::search(Layout::Web, given, "target/web")
    }

    /// The weights: `given`, else `models/` here or beside the workspace.
    pub fn models(given: Option<PathBuf>) -> Self {
        Self::search(Layout::Models, given, "models")
    }

    fn search(layout: Layout, given: Option<PathBuf>, rel: &str) -> Self {
        let candidates = given.map_or_else(
            || {
                vec![
                    PathBuf::from(rel),
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel),
                ]
            },
            |dir| vec![dir],
        );
        Self {
            layout,
            candidates,
            gzipped: Arc::default(),
        }
    }

    /// The file whose presence says the directory is built.
    fn marker(&self) -> &'static str {
        match self.layout {
            Layout::Web => "worker.js",
            Layout::Models => "index.json",
        }
    }

    /// The first candidate that holds the marker, now.
    pub fn found(&self) -> Option<&Path> {
        self.candidates
            .iter()
            .find(|dir| dir.join(self.marker()).is_file())
            .map(PathBuf::as_path)
    }

    /// Why the directory is unavailable and how to fix it, in one line.
    pub fn missing_reason(&self) -> String {
        let places = self
            .candidates
            .iter()
            .map(|dir| dir.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ");
        let (what, fix) = match self.layout {
            Layout::Web => (
                "the viewer's WebAssembly build",
                "run `cargo xtask build-all` in the Web Parterre workspace, or point --web-dir or PARTERRE_WEB_DIR at its target/web",
            ),
            Layout::Models => (
                "the model weights",
                "run `cargo xtask build-all` (or `cargo xtask models`) in the Web Parterre workspace, or point --models or PARTERRE_MODELS at its models/",
            ),
        };
        format!("{what} is missing (no {} in {places}): {fix}", self.marker())
    }

    /// Whether `path` names a file this directory may serve.
    pub fn admits(&self, path: &str) -> bool {
        match self.layout {
            Layout::Web => match path.split_once('/') {
                None => plain_name(path),
                Some(("pkg", name)) => plain_name(name),
                Some(_) => false,
            },
            Layout::Models => plain_name(path) && (path.ends_with(".safetensors") || path == "index.json"),
        }
    }

    /// The response for `GET <prefix>/<path>`: the file, a 304 when the
    /// client's copy is current, a 404 naming the fix when the directory is
    /// not built, a bare 404 for anything not admitted or not there.
    pub async fn serve(&self, path: &str, request: &HeaderMap) -> Response {
        if !self.admits(path) {
            return StatusCode::NOT_FOUND.into_response();
        }
        let Some(dir) = self.found() else {
            return (StatusCode::NOT_FOUND, format!("{}\n", self.missing_reason())).into_response();
        };
        let file = dir.join(path);
        let gzip = accepts_gzip(request);
        let cache = Arc::clone(&self.gzipped);
        let client_tag = request
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        // The runtime has no async file system: read (and compress) on the blocking pool.
        let read =
            tokio::task::spawn_blocking(move || read_body(&file, gzip.then_some(&*cache), client_tag.as_deref())).await;
        let Ok(Some(Served { bytes, tag, gzipped })) = read else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let cache_control = match self.layout {
            // Rebuilt at will: revalidate every time (cheap, by ETag).
            Layout::Web => "no-cache",
            // Converted from a pinned package: stable, and large.
            Layout::Models => "public, max-age=3600",
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache_control));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        if self.layout == Layout::Web {
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(WEB_CSP));
        }
        if let Ok(value) = HeaderValue::from_str(&tag) {
            headers.insert(header::ETAG, value);
        }
        let Some(bytes) = bytes else {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        };
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(path)));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if gzipped {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        (headers, Body::from(bytes)).into_response()
    }
}

/// A name of `[A-Za-z0-9_.-]` not starting with a dot.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// The content type for a file name.
pub fn content_type(name: &str) -> &'static str {
    CONTENT_TYPES
        .iter()
        .find(|(ending, _)| name.ends_with(ending))
        .map_or("application/octet-stream", |(_, content_type)| content_type)
}

/// Whether the client takes gzip (`Accept-Encoding: gzip`, not `gzip;q=0`).
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            parts.next() == Some("gzip") && !parts.any(|param| matches!(param, "q=0" | "q=0.0" | "q=0.00" | "q=0.000"))
        })
}

/// What goes out for one file: its bytes (gzipped or not), `None` when the
/// client's copy is current, and its entity tag.
struct Served {
    bytes: Option<Bytes>,
    tag: String,
    gzipped: bool,
}

/// The file, gzipped through `cache` when one is given; `None` when it is
/// not a regular file or cannot be read. The tag comes from the file's
/// metadata, so a current client copy or a cached gzip costs no read.
fn read_body(
    path: &Path,
    cache: Option<&Mutex<HashMap<PathBuf, (String, Bytes)>>>,
    client_tag: Option<&str>,
) -> Option<Served> {
    let plain_tag = file_tag(path)?;
    // The gzipped version has its own tag: a cached plain copy must not
    // satisfy a request for the gzipped one, nor the other way round.
    let tag = match cache {
        Some(_) => format!("{}-gz\"", plain_tag.trim_end_matches('"')),
        None => plain_tag,
    };
    let served = |bytes| {
        Some(Served {
            bytes,
            tag: tag.clone(),
            gzipped: cache.is_some(),
        })
    };
    if client_tag == Some(tag.as_str()) {
        return served(None);
    }
    let Some(cache) = cache else {
        return served(Some(Bytes::from(std::fs::read(path).ok()?)));
    };
    let cached = lock(cache)
        .get(path)
        .filter(|(cached_tag, _)| *cached_tag == tag)
        .cloned();
    if let Some((_, compressed)) = cached {
        return served(Some(compressed));
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&std::fs::read(path).ok()?).ok()?;
    let compressed = Bytes::from(encoder.finish().ok()?);
    lock(cache).insert(path.to_path_buf(), (tag.clone(), compressed.clone()));
    served(Some(compressed))
}

/// The cache's lock; a panic while holding it left no half-written entry.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An entity tag from the file's size and modification time; `None` when
/// it is not a regular file.
fn file_tag(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok().filter(std::fs::Metadata::is_file)?;
    let modified_ns = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Some(format!("\"{:x}-{modified_ns:x}\"", metadata.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_admitted() {
        let web = ServedDir::web(Some("/nonexistent".into()));
        let models = ServedDir::models(Some("/nonexistent".into()));
        let cases = [
            (&web, "worker.js", true),
            (&web, "pkg/parterre_wasm_bg.wasm", true),
            (&web, "pkg/parterre_wasm.d.ts", true),
            (&web, "..", false),
            (&web, "../Cargo.toml", false),
            (&web, "pkg/../../etc/passwd", false),
            (&web, "pkg/.hidden", false),
            (&web, "other/x.js", false),
            (&web, "pkg/sub/x.js", false),
            (&web, "/etc/passwd", false),
            (&web, "a\\..\\b", false),
            (&web, "", false),
            (&web, "pkg/", false),
            (&models, "tiny_face_detector.safetensors", true),
            (&models, "index.json", true),
            (&models, "pkg/index.json", false),
            (&models, "demo/a.jpg", false),
            (&models, "notes.txt", false),
            (&models, "..safetensors", false),
        ];
        for (dir, path, expected) in cases {
            assert_eq!(dir.admits(path), expected, "{:?} {path}", dir.layout);
        }
    }

    #[test]
    fn content_types_follow_the_ending() {
        assert_eq!(content_type("pkg/parterre_wasm_bg.wasm"), "application/wasm");
        assert_eq!(content_type("worker.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("index.json"), "application/json");
        assert_eq!(content_type("a.safetensors"), "application/octet-stream");
        // `.js` must not match `.json`, nor `.ts` a `.safetensors`' tail.
        assert_eq!(content_type("x.jsonl"), "application/octet-stream");
    }

    #[test]
    fn the_search_order_is_given_else_here_then_the_workspace() {
        let given = ServedDir::web(Some("/srv/web".into()));
        assert_eq!(given.candidates, [PathBuf::from("/srv/web")]);
        let default = ServedDir::models(None);
        assert_eq!(default.candidates[0], PathBuf::from("models"));
        assert!(default.candidates[1].ends_with("server/../models"));
        let reason = ServedDir::web(Some("/nonexistent".into())).missing_reason();
        assert!(
            reason.contains("/nonexistent") && reason.contains("cargo xtask build-all"),
            "{reason}"
        );
    }
}
