//! The permanence budget over thousands of real frames: the generated test
//! videos (`cargo xtask fixtures`, the 640x480 set), looped, through the
//! pipelined runtime and the real `FaceAnalyzer`. No frame may outlive the
//! budget; the report's percentiles are printed for the record.
//!
//! The videos are read as fast as a 300 fps camera, not at their own 30 fps,
//! so 3000 frames take ~10 s of capture, not 100 s. Most never live long:
//! stored, they are overwritten unanalyzed (short lives); offered while the
//! finder and the reader each hold a slot, they are dropped (no life at all).
//! Every analyzed or expired frame still lives its full, measured life.
#![cfg(target_os = "linux")]

#[path = "support/face_runtime.rs"]
mod face_runtime;

use std::thread;
use std::time::{Duration, Instant};

use parterre_core::MemoryAudit;
use parterre_native::bench::Replay;
use parterre_native::runtime::RuntimeConfig;
use parterre_native::source::open_source;

/// The videos, each 90 frames of 640x480 (`xtask/src/fixtures.rs`).
const VIDEOS: [&str; 4] = ["pan", "zoom", "enter_leave", "still"];
/// Frames to offer.
const FRAMES: u64 = 3_000;
/// Frame lives to measure at least: a quarter of the frames offered (at
/// 300 fps, about two in three are dropped while both slots are leased).
const MIN_LIVES: u64 = FRAMES / 4;
/// The rate the videos are read at.
const FAST_FPS: f64 = 300.0;

fn video_paths() -> Vec<String> {
    VIDEOS
        .iter()
        .map(|video| {
            let path = face_runtime::workspace_path(&format!("fixtures-video/{video}_640x480.y4m"));
            assert!(
                path.is_file(),
                "{} is missing: `cargo xtask fixtures` makes it (`cargo xtask test` runs it first)",
                path.display()
            );
            path.display().to_string()
        })
        .collect()
}

#[test]
fn thousands_of_frame_lives_stay_within_the_budget() {
    let paths = video_paths();
    let first = open_source(&paths[0]).expect("video");
    let source = Replay::new(paths, first, FRAMES, FAST_FPS);
    let config = RuntimeConfig::default();
    let started = Instant::now();
    let runtime = face_runtime::start_with_face_analyzer(source, config);
    while !runtime.is_finished() {
        thread::sleep(Duration::from_millis(20));
    }
    let summary = runtime.stop().expect("stop");
    let (stats, report) = (&summary.stats, &summary.report);
    eprintln!(
        "permanence over {} lives in {:.1} s: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms \
         (budget {} ms, {} over); {} analyzed, {} expired under analysis, {} dropped; ended {:?}",
        report.frames,
        started.elapsed().as_secs_f64(),
        report.p50_ms,
        report.p90_ms,
        report.p99_ms,
        report.max_ms,
        report.budget_ms,
        report.over_budget,
        stats.analyzed,
        stats.expired,
        stats.dropped,
        report.ended
    );
    assert_eq!(stats.failure, None, "{stats:?}");
    assert_eq!(stats.captured + stats.dropped, FRAMES, "every frame fed once");
    assert_eq!(report.frames, stats.captured, "every stored frame's life measured");
    assert!(report.frames >= MIN_LIVES, "{report:?}");
    assert!(stats.analyzed > 0, "{stats:?}");
    assert_eq!(report.over_budget, 0, "{report:?}");
    assert!(report.max_ms <= config.pool.budget_ms as f64, "{report:?}");
    assert_eq!(
        summary.audit,
        MemoryAudit {
            frames_held: 0,
            residue_bytes: 0
        }
    );
}
