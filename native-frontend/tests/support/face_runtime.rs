//! Starts the real runtime with the real `FaceAnalyzer`, for the tests that
//! check the privacy promise end to end (canary scans, permanence).
//!
//! `FaceAnalyzer::new` takes a pool, for its clock and budget, but
//! the runtime makes its own pool from the source's frame size, so the
//! analyzer is built on a stand-in pool first. Its clock is a [`RestartClock`]
//! restarted just before the runtime creates its clock: the two
//! origins differ by the microseconds between, and the analyzer's clock is the
//! one ahead, so it sees every deadline a little early, never late.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use parterre_core::{Clock, FramePool, PoolConfig};
use parterre_native::models;
use parterre_native::runtime::{Runtime, RuntimeConfig};
use parterre_native::source::FrameSource;
use parterre_vision::analyzer::{AnalyzerConfig, FaceAnalyzer};

/// A path under the workspace root.
pub fn workspace_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(relative)
}

/// A monotonic clock whose origin can be moved to now.
#[derive(Debug)]
struct RestartClock {
    origin: Mutex<Instant>,
}

impl RestartClock {
    fn restart(&self) {
        *self.origin.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }
}

impl Clock for RestartClock {
    fn now_us(&self) -> u64 {
        let origin = *self.origin.lock().unwrap_or_else(PoisonError::into_inner);
        origin.elapsed().as_micros() as u64
    }
}

/// Starts `source` → pipelined runtime → the default `FaceAnalyzer` (weights
/// from `models/`, which `cargo xtask test` converts first).
pub fn start_with_face_analyzer<S: FrameSource + 'static>(source: S, config: RuntimeConfig) -> Runtime {
    let clock = Arc::new(RestartClock {
        origin: Mutex::new(Instant::now()),
    });
    let stand_in = FramePool::new(
        PoolConfig {
            slots: 1,
            slot_capacity_bytes: 1,
            ..config.pool
        },
        clock.clone(),
    )
    .expect("stand-in pool");
    let dir = models::models_dir(None).expect("model weights: run `cargo xtask models`");
    let analyzer = FaceAnalyzer::new(AnalyzerConfig::default(), &stand_in, models::loader(&dir)).expect("analyzer");
    drop(stand_in);
    clock.restart();
    // The analyzer's two halves on two threads, as `parterre camera` and
    // `parterre bench` run it.
    Runtime::start_pipelined(source, |_| Ok(analyzer), config).expect("runtime")
}
