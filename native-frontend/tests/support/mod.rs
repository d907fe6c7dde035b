//! Shared by the runtime canary test and its negative control: the canary
//! camera, the needles that find its marks, and the scenario both binaries
//! run (bursts of frames through the real runtime, a memory scan once each
//! burst's frames are past their budget, one more after shutdown). The two
//! binaries differ only in their global allocator and whether the pool wipes.

pub mod canary_camera;
pub mod face_runtime;

use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parterre_native::memscan::{Needle, ScanReport, canary, scan_process_memory};
use parterre_native::runtime::{RuntimeConfig, RuntimeSummary};

use canary_camera::{CanaryCamera, End};

/// The tiny face detector's per-channel means (vision's
/// `tiny_face_detector.rs`), which its input planes are normalised with.
const TINY_DETECTOR_MEAN_RGB: [f32; 3] = [117.001, 114.697, 97.404];

/// Time allowed past the budget for the watchdog's sweep and a stage of the
/// analysis in flight to end (the analyzer checks the budget between stages).
pub const MARGIN_MS: u64 = 200;

/// A seed no earlier run shares, so no stale copy from another process or
/// test can be mistaken for this run's row.
pub fn fresh_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// Needles for every form the marks take: the exact row (frame and exact
/// copies), the flat block as RGB8 (copies and 8-bit resizes), and the block
/// in each of the detector's normalised f32 planes.
pub fn needles(seed: u64) -> Vec<Needle> {
    let mut needles = vec![canary::row_needle(seed), canary::block_needle()];
    needles.extend(
        TINY_DETECTOR_MEAN_RGB
            .iter()
            .enumerate()
            .map(|(channel, &mean)| canary::block_plane_needle(channel, mean)),
    );
    needles
}

/// What the scenario saw.
#[derive(Debug)]
pub struct BurstScans {
    /// One scan per burst, taken budget + margin after its last frame.
    pub after_budget: Vec<ScanReport>,
    /// The scan after `Runtime::stop`.
    pub after_stop: ScanReport,
    /// What the runtime reported at the end.
    pub summary: RuntimeSummary,
}

/// Runs `bursts` bursts of `frames_per_burst` canary frames through the
/// runtime and the real analyzer, scanning as described in the module doc.
/// `disable_wiping` is for the negative control only.
pub fn run_bursts(seed: u64, frames_per_burst: u64, bursts: u64, disable_wiping: bool) -> BurstScans {
    let needles = needles(seed);
    let (camera, control) = CanaryCamera::new(seed, frames_per_burst, bursts, End::Finish).with_pauses();
    let config = RuntimeConfig::default();
    let budget = Duration::from_millis(config.pool.budget_ms + MARGIN_MS);
    let runtime = face_runtime::start_with_face_analyzer(camera, config);
    if disable_wiping {
        runtime.pool().disable_wiping_for_negative_control();
    }
    let after_budget = (0..bursts)
        .map(|burst| {
            let written = control.paused.recv().expect("the camera pauses after each burst");
            assert_eq!(written, (burst + 1) * frames_per_burst);
            thread::sleep(budget);
            let report = scan_process_memory(&needles).expect("scan");
            control.resume.send(()).expect("the camera waits");
            report
        })
        .collect();
    // After the last pause the camera ends, and with it both threads.
    while !runtime.is_finished() {
        thread::sleep(Duration::from_millis(10));
    }
    let summary = runtime.stop().expect("stop");
    let after_stop = scan_process_memory(&needles).expect("scan");
    BurstScans {
        after_budget,
        after_stop,
        summary,
    }
}
