//! The viewer's files from disk: the WebAssembly build under `/web/` and the
//! weights under `/models/`, with the types browsers insist on; no path
//! escapes its directory; a missing build is a 404 that says how to make it
//! and leaves the page working; `/webinar` tells the page what the host
//! enabled; the viewer page's policy admits its worker and WebAssembly.

mod common;

use std::{
    num::NonZeroU32,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
};

use common::*;
use parterre_server::{config::Settings, webinar::Context};
use serde_json::Value;

/// The traits a host can enable, as `TraitSet` names them.
const TRAIT_NAMES: [&str; 7] = [
    "expression",
    "age",
    "gender",
    "glasses",
    "beard",
    "head_pose",
    "attention",
];

/// A secret beside the served directories, reachable only by escaping them.
const SECRET: &[u8] = b"TOP-SECRET-4f7a";
/// The start of every WebAssembly module, and not UTF-8 safe to mangle.
const WASM: &[u8] = b"\0asm\x01\0\0\0\xff\xfe";

/// A fresh directory tree: `web/` (worker.js, pkg/*), `models/` (index.json,
/// one safetensors, a text file), and `secret.txt` beside both.
fn fixture() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let root = std::env::temp_dir().join(format!(
        "parterre-web-test-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let files: [(&str, &[u8]); 9] = [
        ("secret.txt", SECRET),
        ("web/worker.js", b"self.onmessage = () => {};"),
        ("web/pkg/parterre_wasm.js", b"export default function init() {}"),
        ("web/pkg/parterre_wasm_bg.wasm", WASM),
        ("web/inside.txt", SECRET),
        ("web/.hidden", SECRET),
        ("models/index.json", br#"{"format":1}"#),
        ("models/tiny_face_detector.safetensors", b"\x08\0\0\0\0\0\0\0{}      "),
        ("models/notes.txt", SECRET),
    ];
    for (path, bytes) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, bytes).expect("write");
    }
    root
}

fn dirs(root: &Path) -> Settings {
    Settings {
        web_dir: Some(root.join("web")),
        models: Some(root.join("models")),
        ..Settings::default()
    }
}

#[tokio::test]
async fn built_files_are_served_with_their_types() {
    let root = fixture();
    let server = server_with(dirs(&root)).await;
    let cases: [(&str, &str, &[u8]); 5] = [
        (
            "/web/worker.js",
            "text/javascript; charset=utf-8",
            b"self.onmessage = () => {};",
        ),
        (
            "/web/pkg/parterre_wasm.js",
            "text/javascript; charset=utf-8",
            b"export default function init() {}",
        ),
        ("/web/pkg/parterre_wasm_bg.wasm", "application/wasm", WASM),
        ("/models/index.json", "application/json", br#"{"format":1}"#),
        (
            "/models/tiny_face_detector.safetensors",
            "application/octet-stream",
            b"\x08\0\0\0\0\0\0\0{}      ",
        ),
    ];
    for (path, content_type, body) in cases {
        let response = request(&server, "GET", path, &[], "").await;
        assert_eq!(response.status, 200, "{path}");
        assert_eq!(response.header("content-type"), Some(content_type), "{path}");
        assert_eq!(response.body, body, "{path}");
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"), "{path}");
        assert!(response.header("cache-control").is_some(), "{path}");
        // A second request with the entity tag is answered without the body.
        let tag = response.header("etag").expect("an etag").to_owned();
        let again = request(&server, "GET", path, &[("If-None-Match", &tag)], "").await;
        assert_eq!((again.status, again.body.len()), (304, 0), "{path}");
        // Negative control: another tag gets the whole file.
        let stale = request(&server, "GET", path, &[("If-None-Match", "\"0-0\"")], "").await;
        assert_eq!(stale.body, body, "{path}");
    }
    // The worker script's own policy lets it compile WebAssembly.
    let worker = request(&server, "GET", "/web/worker.js", &[], "").await;
    let csp = worker.header("content-security-policy").expect("a policy");
    assert!(
        csp.contains("'wasm-unsafe-eval'") && csp.contains("worker-src 'self'"),
        "{csp}"
    );
    server.shutdown().await.expect("shutdown");
    std::fs::remove_dir_all(root).expect("cleanup");
}

#[tokio::test]
async fn gzip_is_sent_only_to_those_who_accept_it() {
    use std::io::Read;
    let root = fixture();
    // A file worth compressing: a repetitive weight-like body.
    let weights: Vec<u8> = (0..200_000u32).map(|i| (i % 7) as u8).collect();
    std::fs::write(root.join("models/age_gender.safetensors"), &weights).expect("write");
    let server = server_with(dirs(&root)).await;
    let path = "/models/age_gender.safetensors";
    for round in 0..2 {
        // The second round is answered from the cache of compressed files.
        let zipped = request(&server, "GET", path, &[("Accept-Encoding", "br, gzip")], "").await;
        assert_eq!(zipped.header("content-encoding"), Some("gzip"), "round {round}");
        assert_eq!(zipped.header("vary"), Some("accept-encoding"));
        assert!(zipped.body.len() < weights.len() / 10, "{} bytes", zipped.body.len());
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(zipped.body.as_slice())
            .read_to_end(&mut unzipped)
            .expect("valid gzip");
        assert_eq!(unzipped, weights);
        // The two versions carry different tags: neither answers for the other.
        let plain = request(&server, "GET", path, &[], "").await;
        assert_eq!(plain.header("content-encoding"), None);
        assert_eq!(plain.body, weights);
        assert_ne!(plain.header("etag"), zipped.header("etag"));
        let refused = request(&server, "GET", path, &[("Accept-Encoding", "gzip;q=0")], "").await;
        assert_eq!(
            (refused.header("content-encoding"), refused.body.len()),
            (None, weights.len())
        );
    }
    server.shutdown().await.expect("shutdown");
    std::fs::remove_dir_all(root).expect("cleanup");
}

#[tokio::test]
async fn no_path_leaves_its_directory() {
    let root = fixture();
    let server = server_with(dirs(&root)).await;
    for path in [
        "/web/../secret.txt",
        "/web/%2e%2e/secret.txt",
        "/web/..%2fsecret.txt",
        "/web/pkg/..%2f..%2fsecret.txt",
        "/web/pkg%2f..%2f..%2fsecret.txt",
        "/web/%2fetc%2fpasswd",
        "/web/.hidden",
        "/web/pkg/../inside.txt",
        "/models/..%2fsecret.txt",
        "/models/..%2fweb%2finside.txt",
        "/models/notes.txt",
        "/models/%2e%2e",
        "/models/",
        "/web/",
    ] {
        let response = request(&server, "GET", path, &[], "").await;
        assert_eq!(response.status, 404, "{path}");
        assert!(
            !response.body.windows(SECRET.len()).any(|w| w == SECRET),
            "{path} leaked"
        );
    }
    // Negative control: the same bytes inside the web dir, by a plain name, are served.
    let inside = request(&server, "GET", "/web/inside.txt", &[], "").await;
    assert_eq!((inside.status, inside.body.as_slice()), (200, SECRET));
    server.shutdown().await.expect("shutdown");
    std::fs::remove_dir_all(root).expect("cleanup");
}

#[tokio::test]
async fn a_missing_build_is_a_helpful_404_and_the_page_still_works() {
    let root = fixture();
    let nowhere = root.join("not-built");
    let server = server_with(Settings {
        web_dir: Some(nowhere.join("web")),
        models: Some(nowhere.join("models")),
        ..Settings::default()
    })
    .await;
    for (path, dir) in [
        ("/web/worker.js", "not-built/web"),
        ("/models/index.json", "not-built/models"),
    ] {
        let (status, body) = http(&server, "GET", path, &[], "").await;
        assert_eq!(status, 404, "{path}");
        assert!(
            body.contains("cargo xtask build-all") && body.contains(dir),
            "{path}: {body}"
        );
    }
    let (status, page) = http(&server, "GET", "/", &[], "").await;
    assert_eq!(status, 200);
    assert!(page.contains("id=\"consent\"") && page.contains("id=\"unavailable\""));
    let webinar = webinar_json(&server).await;
    assert_eq!(webinar["analysis_available"], false);
    server.shutdown().await.expect("shutdown");

    // Negative control: once built, the same server configuration serves and says so.
    std::fs::create_dir_all(&nowhere).expect("mkdir");
    std::fs::rename(root.join("web"), nowhere.join("web")).expect("move web");
    std::fs::rename(root.join("models"), nowhere.join("models")).expect("move models");
    let server = server_with(Settings {
        web_dir: Some(nowhere.join("web")),
        models: Some(nowhere.join("models")),
        ..Settings::default()
    })
    .await;
    assert_eq!(http(&server, "GET", "/web/worker.js", &[], "").await.0, 200);
    assert_eq!(webinar_json(&server).await["analysis_available"], true);
    server.shutdown().await.expect("shutdown");
    std::fs::remove_dir_all(root).expect("cleanup");
}

async fn webinar_json(server: &parterre_server::server::RunningServer) -> Value {
    let (status, body) = http(server, "GET", "/webinar", &[], "").await;
    assert_eq!(status, 200);
    serde_json::from_str(&body).expect("JSON")
}

#[tokio::test]
async fn the_webinar_tells_the_page_what_the_host_enabled() {
    let all = TRAIT_NAMES;
    for (context, budget_ms, expected_budget_ms) in [
        (Context::General, None, 300),
        (Context::Workplace, NonZeroU32::new(120), 120),
    ] {
        let server = server_with(Settings {
            context: Some(context),
            budget_ms,
            ..Settings::default()
        })
        .await;
        let webinar = webinar_json(&server).await;
        assert_eq!(webinar["id"], server.webinar.id.as_str());
        assert_eq!(webinar["budget_ms"], expected_budget_ms);
        let traits = webinar["traits"].as_object().expect("traits object");
        assert_eq!(traits.len(), all.len(), "{traits:?}");
        for name in all {
            let expected = !(context == Context::Workplace && name == "expression");
            assert_eq!(traits[name], expected, "{context:?} {name}");
        }
        server.shutdown().await.expect("shutdown");
    }
}

#[tokio::test]
async fn the_viewer_page_admits_its_worker_and_the_panel_stays_strict() {
    let server = server(Context::General).await;
    let page = request(&server, "GET", "/", &[], "").await;
    let csp = page.header("content-security-policy").expect("a policy");
    for directive in [
        "worker-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "default-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let html = String::from_utf8_lossy(&page.body);
    for id in ["consent", "accept", "decline", "stop", "privacy", "stage"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "the page lacks #{id}");
    }
    for value in TRAIT_NAMES {
        assert!(
            html.contains(&format!("name=\"trait\" value=\"{value}\"")),
            "no checkbox for {value}"
        );
    }
    // CSP-clean: no inline script or style anywhere in the page.
    assert!(!html.contains("<style") && !html.contains(" style=") && !html.contains("<script>"));
    let css = request(&server, "GET", "/assets/viewer.css", &[], "").await;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    // Negative control: the panel keeps its stricter policy.
    let panel = request(
        &server,
        "GET",
        &format!("/panel?token={}", server.token.as_str()),
        &[],
        "",
    )
    .await;
    let panel_csp = panel.header("content-security-policy").expect("a policy");
    assert!(!panel_csp.contains("wasm-unsafe-eval"), "{panel_csp}");
    server.shutdown().await.expect("shutdown");
}
