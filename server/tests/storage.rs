//! The SQLite file holds aggregate rows only, one per minute at most, and
//! the CSV export (panel and CLI) is exactly those rows.

mod common;

use std::{collections::BTreeSet, path::PathBuf, process::Command};

use common::*;
use parterre_server::{
    config::Config,
    server::start,
    storage::{REPORT_COLUMNS, Store},
    webinar::Context,
};
use rusqlite::Connection;

fn temp_db() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "parterre-server-test-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("reports.sqlite")
}

fn columns(connection: &Connection, table: &str) -> BTreeSet<String> {
    let mut statement = connection
        .prepare(&format!("PRAGMA table_info({table})"))
        .expect("pragma");
    statement
        .query_map([], |row| row.get::<_, String>(1))
        .expect("columns")
        .collect::<Result<_, _>>()
        .expect("names")
}

#[tokio::test]
async fn the_store_holds_only_aggregate_minutes_and_exports_them() {
    let db = temp_db();
    let mut config = Config::ephemeral(Context::General).expect("config");
    config.db = db.clone();
    let server = start(config).await.expect("server");
    let mut panel = panel(&server).await;
    let mut sockets = Vec::new();
    let mut sent = 0;
    for i in 0..12 {
        let mut socket = viewer(&server).await;
        for _ in 0..3 {
            send(&mut socket, &traits(0.5, 20.0 + i as f32)).await;
            sent += 1;
        }
        sockets.push(socket);
    }
    frame_where(&mut panel, |f| f["ingested_total"] == sent).await;
    let auth = format!("Bearer {}", server.token.as_str());
    let (status, before_shutdown) = http(&server, "GET", "/panel/export.csv", &[("Authorization", &auth)], "").await;
    assert_eq!(status, 200);
    // Nothing stored before the first minute closes: only the header.
    assert_eq!(before_shutdown.trim(), REPORT_COLUMNS.join(","));
    let webinar = server.webinar.id.clone();
    server.shutdown().await.expect("shutdown stores the minute");

    let connection = Connection::open(&db).expect("open");
    let tables: BTreeSet<String> = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .expect("tables")
        .query_map([], |row| row.get(0))
        .expect("names")
        .collect::<Result<_, _>>()
        .expect("names");
    assert_eq!(
        tables,
        BTreeSet::from(["minute_reports".to_owned(), "webinars".to_owned()])
    );
    let expected_reports: BTreeSet<String> = std::iter::once("webinar_id")
        .chain(REPORT_COLUMNS)
        .map(str::to_owned)
        .collect();
    assert_eq!(columns(&connection, "minute_reports"), expected_reports);
    let webinar_columns = columns(&connection, "webinars");
    assert_eq!(
        webinar_columns,
        [
            "budget_milli_epsilon",
            "context",
            "created_unix_s",
            "id",
            "max_stored_minutes"
        ]
        .map(str::to_owned)
        .into()
    );
    // No column anywhere could hold a viewer, a connection or an address.
    for column in expected_reports.iter().chain(&webinar_columns) {
        for word in [
            "viewer_id",
            "ip",
            "addr",
            "connection",
            "session",
            "user",
            "token",
            "index",
        ] {
            assert!(!column.contains(word) || column == "minute_index", "{column}");
        }
    }
    // 36 messages from 12 viewers in under a minute: one row, not 36 or 12.
    let rows: i64 = connection
        .query_row("SELECT COUNT(*) FROM minute_reports", [], |row| row.get(0))
        .expect("count");
    assert_eq!(rows, 1);
    let webinars: i64 = connection
        .query_row("SELECT COUNT(*) FROM webinars", [], |row| row.get(0))
        .expect("count");
    assert_eq!(webinars, 1);

    // The CLI export is the stored rows, field for field.
    let stored = Store::open(&db).expect("store").rows(&webinar).expect("rows");
    let output = Command::new(env!("CARGO_BIN_EXE_parterre-server"))
        .args(["export", "--db"])
        .arg(&db)
        .args(["--webinar", &webinar])
        .output()
        .expect("export runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let csv = String::from_utf8(output.stdout).expect("UTF-8");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], REPORT_COLUMNS.join(","));
    assert_eq!(lines.len(), stored.len() + 1);
    for (line, row) in lines[1..].iter().zip(&stored) {
        let fields: Vec<Option<i64>> = line.split(',').map(|f| f.parse().ok()).collect();
        assert_eq!(fields, row.0.to_vec());
    }
    // The viewer total is always stored; minute 0 starts at creation.
    assert!(stored[0].0[4].is_some() && stored[0].0[0] == Some(0));
    // Negative control: an unknown webinar is an error, not an empty file.
    let unknown = Command::new(env!("CARGO_BIN_EXE_parterre-server"))
        .args(["export", "--db"])
        .arg(&db)
        .args(["--webinar", "nope"])
        .output()
        .expect("export runs");
    assert!(!unknown.status.success());
    let _ = std::fs::remove_dir_all(db.parent().expect("dir"));
}
