//! The privacy promise on the real process: frames carrying canary marks go
//! through the whole runtime and the real `FaceAnalyzer`, and a scan of this
//! process's writable memory finds no mark once the frames' budget has passed
//! (while the runtime idles between bursts), nor after shutdown; nor after a
//! camera disappears mid-stream, which must end the run with a clear error.
//!
//! This binary installs `ZeroizingAllocator`, as the `parterre` binary does,
//! so freed tensors are wiped. `canary_runtime_control.rs` runs the same
//! scenario with the system allocator and the pool's wiping off, and finds
//! the marks, so this test can fail. Needs `models/` (`cargo xtask models`).
#![cfg(target_os = "linux")]

mod support;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::Duration;

use parterre_core::MemoryAudit;
use parterre_core::zeroizing_alloc::ZeroizingAllocator;
use parterre_native::memscan::scan_process_memory;
use parterre_native::runtime::RuntimeConfig;
use parterre_native::source::FrameSource;

use support::canary_camera::{CanaryCamera, End};
use support::{face_runtime, fresh_seed, needles};

#[global_allocator]
static ALLOC: ZeroizingAllocator = ZeroizingAllocator::new();

/// A scan sees every test's marks (the block needle is the same for all), so
/// the tests of this binary take turns.
static SCAN_TURN: Mutex<()> = Mutex::new(());

fn take_turn() -> MutexGuard<'static, ()> {
    SCAN_TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

fn hits(seed: u64) -> Vec<usize> {
    let report = scan_process_memory(&needles(seed)).expect("scan");
    report.needles.iter().map(|n| n.hits).collect()
}

const NO_RESIDUE: MemoryAudit = MemoryAudit {
    frames_held: 0,
    residue_bytes: 0,
};

#[test]
fn the_camera_paints_exactly_what_the_needles_find() {
    let _turn = take_turn();
    let seed = fresh_seed();
    let mut camera = CanaryCamera::new(seed, 1, 1, End::Finish);
    assert_eq!(hits(seed), [0; 5], "nothing before the first frame");
    assert!(camera.has_next().expect("has_next"));
    let mut frame = vec![0u8; camera.layout().len_bytes()];
    camera.write_next(&mut frame).expect("write");
    // The row once; three 32-pixel block needles in each of the block's 96
    // rows; no f32 plane, since nothing has resized the frame.
    assert_eq!(hits(seed), [1, 3 * 96, 0, 0, 0]);
    drop(frame);
    assert_eq!(hits(seed), [0; 5], "the freed frame is wiped");
}

#[test]
fn no_mark_outlives_its_budget_while_running_or_after_shutdown() {
    let _turn = take_turn();
    let (frames_per_burst, bursts) = (20, 3);
    let scans = support::run_bursts(fresh_seed(), frames_per_burst, bursts, false);
    for (burst, report) in scans.after_budget.iter().enumerate() {
        assert_eq!(report.total_hits(), 0, "burst {burst}, budget passed: {report:?}");
        assert!(report.bytes_scanned > 0, "{report:?}");
    }
    assert_eq!(scans.after_stop.total_hits(), 0, "after stop: {:?}", scans.after_stop);
    let stats = &scans.summary.stats;
    eprintln!(
        "canary run: {} captured, {} dropped, {} analyzed, {} expired; lives p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        stats.captured,
        stats.dropped,
        stats.analyzed,
        stats.expired,
        scans.summary.report.p50_ms,
        scans.summary.report.p99_ms,
        scans.summary.report.max_ms
    );
    assert_eq!(stats.failure, None);
    // A frame the pool drops (both slots leased) is offered again: every
    // frame the camera makes is stored once.
    assert_eq!(stats.captured, frames_per_burst * bursts);
    assert!(stats.analyzed > 0, "{stats:?}");
    let traits = stats.last_traits.as_ref().expect("traits");
    assert!(traits.face_present, "the analyzer found the face: it did real work");
    assert_eq!(scans.summary.audit, NO_RESIDUE);
}

#[test]
fn a_camera_that_disappears_ends_the_run_cleanly_and_leaves_no_mark() {
    let _turn = take_turn();
    for end in [End::Lost, End::LostMidFrame] {
        let seed = fresh_seed();
        let frames = 10;
        let camera = CanaryCamera::new(seed, frames, 1, end);
        let runtime = face_runtime::start_with_face_analyzer(camera, RuntimeConfig::default());
        while !runtime.is_finished() {
            thread::sleep(Duration::from_millis(10));
        }
        // Err here would mean a thread panicked.
        let summary = runtime.stop().expect("stopped without a panic");
        let failure = summary.stats.failure.as_deref().unwrap_or("");
        assert!(failure.contains("unplugged"), "{end:?}: {failure:?}");
        assert_eq!(summary.stats.captured, frames, "{end:?}");
        let write_failed = u64::from(end == End::LostMidFrame);
        assert_eq!(summary.report.ended.write_failed, write_failed, "{end:?}");
        assert_eq!(summary.audit, NO_RESIDUE, "{end:?}");
        assert_eq!(hits(seed), [0; 5], "{end:?}");
    }
}
