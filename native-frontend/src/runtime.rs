//! The threaded runtime: a capture thread writes frames into the pool, an
//! analysis thread leases the newest and analyzes it, a watchdog wipes what
//! outlives its budget. Frames are dropped, never queued.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{RecvTimeoutError, TrySendError};
use parterre_core::{
    Analyzer, AnonymousTraits, Capture, Clock, CoreError, FramePool, MemoryAudit, MonotonicClock, PermanenceReport,
    PoolConfig, StageTiming, TraitSet, Watchdog,
};

use crate::error::NativeError;
use crate::source::FrameSource;

/// How the runtime is set up.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeConfig {
    /// Frame pool size and budget; its capacity is fitted to the source.
    pub pool: PoolConfig,
    /// Longest the watchdog sleeps between sweeps.
    pub watchdog_period_ms: u64,
    /// Traits the deployment computes and sends.
    pub traits: TraitSet,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            pool: PoolConfig::default(),
            // The watchdog wipes up to min(period, budget / 10) ahead of a
            // deadline: 30 ms of slack for a late wake-up on a loaded
            // machine, while no frame lives longer than it must by more.
            watchdog_period_ms: 30,
            traits: TraitSet::ALL,
        }
    }
}

/// Counters of a running runtime.
#[derive(Debug, Clone, Default)]
pub struct RuntimeStats {
    /// Frames stored in the pool.
    pub captured: u64,
    /// Frames dropped because every slot was leased.
    pub dropped: u64,
    /// Frames analyzed to the end.
    pub analyzed: u64,
    /// Analyses abandoned because the frame expired under them.
    pub expired: u64,
    /// Analyses the analyzer skipped because the frame had not changed.
    pub skipped: u64,
    /// Faces in the last analyzed frame.
    pub last_faces: usize,
    /// Stage timings of the last analyzed frame.
    pub last_stages: Vec<StageTiming>,
    /// The settings the analyzer chose for itself (its compute governor).
    pub settings: Option<String>,
    /// Permanence of what the analyzer keeps between frames (its motion
    /// thumbnails), filled in when the analysis thread ends.
    pub derived_report: Option<PermanenceReport>,
    /// Duration of the last analysis.
    pub last_analysis_ms: f64,
    /// The traits of the last analyzed frame: what would be sent.
    pub last_traits: Option<AnonymousTraits>,
    /// Why the runtime stopped early, if it did.
    pub failure: Option<String>,
}

/// What is left when the runtime has stopped: numbers only.
#[derive(Debug, Clone)]
pub struct RuntimeSummary {
    /// Final counters.
    pub stats: RuntimeStats,
    /// The permanence report over every frame.
    pub report: PermanenceReport,
    /// The frame memory after the final wipe: must hold nothing.
    pub audit: MemoryAudit,
}

/// A running capture → analysis pipeline.
#[derive(Debug)]
pub struct Runtime {
    pool: FramePool,
    stats: Arc<Mutex<RuntimeStats>>,
    stop: Arc<AtomicBool>,
    capture: Option<JoinHandle<()>>,
    analysis: Option<JoinHandle<()>>,
    watchdog: Option<Watchdog>,
}

fn lock(stats: &Mutex<RuntimeStats>) -> std::sync::MutexGuard<'_, RuntimeStats> {
    stats.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Runtime {
    /// Starts capturing from `source` and analyzing with `analyzer`.
    pub fn start<S, A>(source: S, analyzer: A, config: RuntimeConfig) -> Result<Self, NativeError>
    where
        S: FrameSource + 'static,
        A: Analyzer + Send + 'static,
    {
        Self::start_with(source, |_| Ok(analyzer), config)
    }

    /// Starts capturing from `source` and analyzing with the analyzer that
    /// `make` builds for the runtime's pool (an analyzer that checks
    /// deadlines, such as vision's `FaceAnalyzer`, must share the pool's clock).
    pub fn start_with<S, A>(
        mut source: S,
        make: impl FnOnce(&FramePool) -> Result<A, NativeError>,
        config: RuntimeConfig,
    ) -> Result<Self, NativeError>
    where
        S: FrameSource + 'static,
        A: Analyzer + Send + 'static,
    {
        let pool_config = PoolConfig {
            slot_capacity_bytes: source.max_layout().to_packed().len_bytes(),
            ..config.pool
        };
        let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::new());
        let pool = FramePool::new(pool_config, clock)?;
        let mut analyzer = make(&pool)?;
        let watchdog = Watchdog::spawn(pool.clone(), config.watchdog_period_ms)?;
        let stats = Arc::new(Mutex::new(RuntimeStats::default()));
        let stop = Arc::new(AtomicBool::new(false));
        // One slot: "a frame is ready". A second notice while one is pending
        // adds nothing, since analysis always leases the newest frame.
        let (ready_tx, ready_rx) = crossbeam_channel::bounded::<()>(1);

        let capture = {
            let (pool, stats, stop) = (pool.clone(), Arc::clone(&stats), Arc::clone(&stop));
            let frame_period = Duration::from_secs_f64(1.0 / source.fps());
            spawn("parterre-capture", move || {
                let started = Instant::now();
                let mut frame = 0u32;
                while !stop.load(Ordering::SeqCst) {
                    match source.has_next() {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(error) => {
                            lock(&stats).failure = Some(error.to_string());
                            break;
                        }
                    }
                    // Valid after has_next: frames may change size.
                    let layout = source.layout();
                    match pool.capture_with(layout, |dst| source.write_next(dst)) {
                        Ok(Capture::Stored { .. }) => {
                            lock(&stats).captured += 1;
                            if let Err(TrySendError::Disconnected(())) = ready_tx.try_send(()) {
                                break;
                            }
                        }
                        Ok(Capture::Dropped) => lock(&stats).dropped += 1,
                        Err(error) => {
                            lock(&stats).failure = Some(error.to_string());
                            break;
                        }
                    }
                    frame += 1;
                    // Paced to the source's rate from the start, so a slow
                    // frame is caught up rather than delaying all after it.
                    if let Some(wait) = (frame_period * frame).checked_sub(started.elapsed()) {
                        thread::sleep(wait);
                    }
                }
            })?
        };

        let analysis = {
            let (pool, stats, stop) = (pool.clone(), Arc::clone(&stats), Arc::clone(&stop));
            let traits = config.traits;
            // Waits stay short so what the analyzer keeps between frames is
            // wiped by its deadline, like the watchdog does for frames.
            let tick = Duration::from_millis(config.watchdog_period_ms.max(1));
            spawn("parterre-analysis", move || {
                while !stop.load(Ordering::SeqCst) {
                    analyzer.wipe_expired();
                    // The analyzer's own compute budget: not before its next start.
                    let wait_us = analyzer.next_start_us().saturating_sub(pool.clock().now_us());
                    if wait_us > 0 {
                        thread::sleep(tick.min(Duration::from_micros(wait_us)));
                        continue;
                    }
                    match ready_rx.recv_timeout(tick) {
                        Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    let Some(lease) = pool.lease_newest() else { continue };
                    let started = Instant::now();
                    let result = analyzer.analyze(&lease);
                    lease.release();
                    let mut stats = lock(&stats);
                    stats.last_analysis_ms = started.elapsed().as_secs_f64() * 1_000.0;
                    stats.settings = analyzer.settings();
                    match result {
                        Ok(observation) if observation.unchanged => stats.skipped += 1,
                        Ok(observation) => {
                            stats.analyzed += 1;
                            stats.last_traits = Some(observation.traits(traits));
                            stats.last_faces = observation.faces.len();
                            stats.last_stages = observation.stages;
                        }
                        Err(error) if is_expired(&error) || A::budget_spent(&error) => stats.expired += 1,
                        Err(error) => {
                            stats.failure = Some(error.to_string());
                            break;
                        }
                    }
                }
                analyzer.wipe_all();
                lock(&stats).derived_report = analyzer.derived_permanence();
            })?
        };

        Ok(Self {
            pool,
            stats,
            stop,
            capture: Some(capture),
            analysis: Some(analysis),
            watchdog: Some(watchdog),
        })
    }

    /// The pool the runtime feeds: for reports and audits.
    pub fn pool(&self) -> &FramePool {
        &self.pool
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RuntimeStats {
        lock(&self.stats).clone()
    }

    /// True once both threads have ended (the source ran out or failed).
    pub fn is_finished(&self) -> bool {
        [&self.capture, &self.analysis]
            .into_iter()
            .all(|thread| thread.as_ref().is_none_or(JoinHandle::is_finished))
    }

    /// Stops both threads, wipes every frame, and returns the numbers.
    pub fn stop(mut self) -> Result<RuntimeSummary, NativeError> {
        self.shutdown()?;
        Ok(RuntimeSummary {
            stats: self.stats(),
            report: self.pool.report(),
            audit: self.pool.audit(),
        })
    }

    fn shutdown(&mut self) -> Result<(), NativeError> {
        self.stop.store(true, Ordering::SeqCst);
        let mut panicked = Vec::new();
        for (name, thread) in [("capture", self.capture.take()), ("analysis", self.analysis.take())] {
            if let Some(thread) = thread {
                if thread.join().is_err() {
                    panicked.push(name);
                }
            }
        }
        drop(self.watchdog.take());
        // Whatever happened above, no frame survives the runtime.
        self.pool.wipe_all();
        if panicked.is_empty() {
            Ok(())
        } else {
            Err(NativeError::Runtime(format!(
                "the {} thread panicked",
                panicked.join(" and ")
            )))
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Dropped without stop(): still stop the threads and wipe; the error
        // was already visible to whoever watched the stats.
        let _ = self.shutdown();
    }
}

fn is_expired<E: std::error::Error + 'static>(error: &E) -> bool {
    let error: &(dyn std::error::Error + 'static) = error;
    matches!(error.downcast_ref::<CoreError>(), Some(CoreError::Expired))
}

fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>, NativeError> {
    thread::Builder::new()
        .name(name.to_owned())
        .spawn(body)
        .map_err(|error| NativeError::Runtime(format!("cannot start the {name} thread: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::BrightnessProbe;
    use crate::source::SyntheticCamera;

    #[test]
    fn a_finite_source_runs_to_the_end_and_leaves_nothing() {
        let camera = SyntheticCamera::new(320, 240, 120.0, Some(60)).expect("camera");
        let config = RuntimeConfig {
            pool: PoolConfig {
                budget_ms: 100,
                ..PoolConfig::default()
            },
            ..RuntimeConfig::default()
        };
        let runtime = Runtime::start(camera, BrightnessProbe::default(), config).expect("start");
        while !runtime.is_finished() {
            thread::sleep(Duration::from_millis(10));
        }
        let summary = runtime.stop().expect("stop");
        let stats = &summary.stats;
        assert_eq!(stats.failure, None);
        assert_eq!(stats.captured + stats.dropped, 60);
        assert!(stats.analyzed > 0);
        assert_eq!(summary.report.frames, stats.captured, "every frame counted once");
        assert_eq!(
            summary.audit,
            MemoryAudit {
                frames_held: 0,
                residue_bytes: 0
            }
        );
        let traits = stats.last_traits.as_ref().expect("traits");
        assert!(!traits.face_present);
        assert!(traits.motion > 0.0, "the disc moves, so the luma changes");
    }
}
