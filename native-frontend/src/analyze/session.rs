//! One frame at a time through the whole lifecycle, synchronously: the
//! source writes into a pool slot, the analyzer leases and analyzes it, the
//! lease is released (the frame wiped), and the frame's measured life is
//! kept with the result. The watchdog thread still wipes a frame at its
//! deadline while a net runs, as in live mode. Shared by `analyze` (every frame of a file) and
//! `join` (a camera, paced by the camera itself).

use std::sync::{Arc, Mutex, PoisonError};

use parterre_core::{
    Analyzer, Capture, Clock, FrameLayout, FrameLife, FramePool, LifeObserver, MonotonicClock, Observation, Watchdog,
};
use parterre_vision::VisionError;
use parterre_vision::analyzer::{AnalyzerConfig, FaceAnalyzer};

use crate::error::NativeError;
use crate::options::AnalyzerOptions;
use crate::source::FrameSource;

/// What became of one frame.
#[derive(Debug)]
pub enum Outcome {
    /// Analyzed.
    Analyzed(Observation),
    /// Not analyzed, and why: the budget ran out, or the frame was wiped
    /// before the analysis could lease it.
    Skipped(String),
}

/// One frame's result, with where it came from and how long it lived.
#[derive(Debug)]
pub struct AnalyzedFrame {
    /// The source's name for it (a file; for a folder, the picture).
    pub source: String,
    /// Its 0-based index in the source.
    pub frame: u64,
    /// Its size.
    pub layout: FrameLayout,
    /// The analysis, or why there is none.
    pub outcome: Outcome,
    /// From its first pixel written to its wipe, as the pool measured it.
    pub permanence_ms: Option<f64>,
}

/// How often the watchdog wakes at the least: as the live runtime does.
const WATCHDOG_PERIOD_MS: u64 = 5;

/// A frame pool and an analyzer for one source; wiped when dropped.
#[derive(Debug)]
pub struct FrameSession {
    pool: FramePool,
    analyzer: FaceAnalyzer,
    /// Wipes frames at their deadline even while the analysis holds them;
    /// stopped when the session is dropped.
    _watchdog: Watchdog,
    /// The life of the frame that ended last, from the pool's own observer.
    last_life: Arc<Mutex<Option<FrameLife>>>,
}

impl FrameSession {
    /// A pool sized for frames up to `max_layout` with the options' budget,
    /// and the analyzer `config` describes, on the monotonic clock.
    pub fn open(
        options: &AnalyzerOptions,
        config: AnalyzerConfig,
        max_layout: FrameLayout,
    ) -> Result<Self, NativeError> {
        let last_life = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&last_life);
        let observer: LifeObserver = Arc::new(move |life: &FrameLife| {
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(*life);
        });
        let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::new());
        let pool = FramePool::with_observer(options.pool_config(max_layout)?, clock, observer)?;
        let analyzer = options.analyzer(config, &pool)?;
        let watchdog = Watchdog::spawn(pool.clone(), WATCHDOG_PERIOD_MS)?;
        Ok(Self {
            pool,
            analyzer,
            _watchdog: watchdog,
            last_life,
        })
    }

    /// The pool: its permanence report, its audit.
    pub fn pool(&self) -> &FramePool {
        &self.pool
    }

    /// Captures the source's next frame (call after `has_next` said true),
    /// analyzes it and wipes it.
    pub fn next(&mut self, source: &mut dyn FrameSource) -> Result<AnalyzedFrame, NativeError> {
        let layout = source.layout();
        let mut source_error = None;
        let captured = self.pool.capture_with(layout, |dst| {
            source.write_next(dst).map_err(|error| {
                let text = error.to_string();
                source_error = Some(error);
                text
            })
        });
        // The source's own error names the file and says what is wrong.
        let captured = match (captured, source_error) {
            (Err(_), Some(error)) => return Err(error),
            (captured, _) => captured?,
        };
        let (source_name, frame) = (source.name(), source.frame_index().unwrap_or(0));
        let outcome = match (captured, self.pool.lease_newest()) {
            (Capture::Stored { generation }, Some(lease)) if lease.generation() == generation => {
                let analysis = self.analyzer.analyze_lease(&lease);
                lease.release();
                match analysis {
                    Ok(observation) => Outcome::Analyzed(observation),
                    Err(spent @ VisionError::BudgetSpent { .. }) => Outcome::Skipped(spent.to_string()),
                    Err(other) => return Err(other.into()),
                }
            }
            // Nothing else captures into this pool, so these only happen when
            // the frame expired between its write and the lease.
            _ => Outcome::Skipped("the frame expired before it could be analyzed".into()),
        };
        // Whatever the outcome, the frame is gone now; wipe anything older too.
        self.pool.sweep();
        self.analyzer.wipe_expired();
        let life = self.last_life.lock().unwrap_or_else(PoisonError::into_inner).take();
        Ok(AnalyzedFrame {
            source: source_name,
            frame,
            layout,
            outcome,
            permanence_ms: life.map(|life| life.life_us() as f64 / 1_000.0),
        })
    }
}

impl Drop for FrameSession {
    fn drop(&mut self) {
        self.analyzer.wipe_all();
        self.pool.wipe_all();
    }
}
