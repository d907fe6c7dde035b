//! The threaded runtime: a capture thread writes frames into the pool, an
//! analysis thread leases the newest and analyzes it, a watchdog wipes what
//! outlives its budget. Frames are dropped, never queued.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, TrySendError};
use parterre_core::{
    Analyzer, AnonymousTraits, Capture, Clock, CoreError, FramePool, Lease, MemoryAudit, MonotonicClock, Observation,
    PermanenceReport, PoolConfig, StageTiming, TraitSet, Watchdog,
};
use parterre_vision::analyzer::FaceAnalyzer;

use crate::error::NativeError;
use crate::source::FrameSource;

mod pipeline;

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
    analysis: Vec<JoinHandle<()>>,
    watchdog: Option<Watchdog>,
}

fn lock(stats: &Mutex<RuntimeStats>) -> std::sync::MutexGuard<'_, RuntimeStats> {
    stats.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What every analysis thread shares with the runtime.
#[derive(Clone)]
struct Worker {
    pool: FramePool,
    stats: Arc<Mutex<RuntimeStats>>,
    stop: Arc<AtomicBool>,
    traits: TraitSet,
    /// Longest wait: short, so what the analyzer keeps between frames is
    /// wiped by its deadline, like the watchdog does for frames.
    tick: Duration,
}

/// What an analysis thread does after looking for a frame.
enum Next {
    /// Analyze this one.
    Frame(Lease),
    /// Nothing yet: look again.
    Wait,
    /// The capture thread is gone.
    End,
}

impl Worker {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::SeqCst)
    }

    /// Waits for the analyzer's next start (`next_start_us`, its compute
    /// budget) and a new frame, at most one tick, then leases the newest.
    fn next_frame(&self, ready_rx: &Receiver<()>, next_start_us: u64) -> Next {
        let wait_us = next_start_us.saturating_sub(self.pool.clock().now_us());
        if wait_us > 0 {
            thread::sleep(self.tick.min(Duration::from_micros(wait_us)));
            return Next::Wait;
        }
        match ready_rx.recv_timeout(self.tick) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Next::End,
        }
        self.pool.lease_newest().map_or(Next::Wait, Next::Frame)
    }

    /// Counts one analysis' outcome; false when the runtime must stop.
    fn record<A: Analyzer>(&self, result: Result<Observation, A::Error>, analysis_ms: f64) -> bool {
        let mut stats = lock(&self.stats);
        stats.last_analysis_ms = analysis_ms;
        match result {
            Ok(observation) if observation.unchanged => stats.skipped += 1,
            Ok(observation) => {
                stats.analyzed += 1;
                stats.last_traits = Some(observation.traits(self.traits));
                stats.last_faces = observation.faces.len();
                stats.last_stages = observation.stages;
            }
            Err(error) if is_expired(&error) || A::budget_spent(&error) => stats.expired += 1,
            Err(error) => {
                stats.failure = Some(error.to_string());
                return false;
            }
        }
        true
    }
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
    /// One analysis thread.
    pub fn start_with<S, A>(
        source: S,
        make: impl FnOnce(&FramePool) -> Result<A, NativeError>,
        config: RuntimeConfig,
    ) -> Result<Self, NativeError>
    where
        S: FrameSource + 'static,
        A: Analyzer + Send + 'static,
    {
        Self::launch(source, config, make, |mut analyzer: A, worker, ready_rx| {
            let thread = spawn("parterre-analysis", move || {
                while worker.running() {
                    analyzer.wipe_expired();
                    let lease = match worker.next_frame(&ready_rx, analyzer.next_start_us()) {
                        Next::Frame(lease) => lease,
                        Next::Wait => continue,
                        Next::End => break,
                    };
                    let started = Instant::now();
                    let result = analyzer.analyze(&lease);
                    lease.release();
                    lock(&worker.stats).settings = analyzer.settings();
                    if !worker.record::<A>(result, started.elapsed().as_secs_f64() * 1_000.0) {
                        break;
                    }
                }
                analyzer.wipe_all();
                lock(&worker.stats).derived_report = analyzer.derived_permanence();
            })?;
            Ok(vec![thread])
        })
    }

    /// Like [`Runtime::start_with`] for vision's `FaceAnalyzer`, on two
    /// analysis threads, one frame apart: one finds the faces of frame n + 1
    /// while the other reads the faces of frame n (the analyzer's two halves).
    /// Each frame stays leased from its detection to the end of its reading.
    /// While both slots of the default pool are leased, capture drops frames
    /// rather than keep a third waiting: a slot freed by the reader is written
    /// within one frame period, about when the finder wants its next frame.
    pub fn start_pipelined<S>(
        source: S,
        make: impl FnOnce(&FramePool) -> Result<FaceAnalyzer, NativeError>,
        config: RuntimeConfig,
    ) -> Result<Self, NativeError>
    where
        S: FrameSource + 'static,
    {
        Self::launch(source, config, make, |analyzer, worker, ready_rx| {
            let (finder, reader) = analyzer.into_halves();
            pipeline::spawn_halves(finder, reader, worker, ready_rx)
        })
    }

    /// The pool, the watchdog and the capture thread; `analysis` starts the
    /// analysis threads on what `make` builds.
    fn launch<S, T>(
        mut source: S,
        config: RuntimeConfig,
        make: impl FnOnce(&FramePool) -> Result<T, NativeError>,
        analysis: impl FnOnce(T, Worker, Receiver<()>) -> Result<Vec<JoinHandle<()>>, NativeError>,
    ) -> Result<Self, NativeError>
    where
        S: FrameSource + 'static,
    {
        let pool_config = PoolConfig {
            slot_capacity_bytes: source.max_layout().to_packed().len_bytes(),
            ..config.pool
        };
        let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::new());
        let pool = FramePool::new(pool_config, clock)?;
        let analyzer = make(&pool)?;
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

        let worker = Worker {
            pool: pool.clone(),
            stats: Arc::clone(&stats),
            stop: Arc::clone(&stop),
            traits: config.traits,
            tick: Duration::from_millis(config.watchdog_period_ms.max(1)),
        };
        let mut runtime = Self {
            pool,
            stats,
            stop,
            capture: Some(capture),
            analysis: Vec::new(),
            watchdog: Some(watchdog),
        };
        // On an error here, dropping `runtime` stops the capture thread and wipes.
        runtime.analysis = analysis(analyzer, worker, ready_rx)?;
        Ok(runtime)
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
        self.capture.iter().chain(&self.analysis).all(JoinHandle::is_finished)
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
        let analysis = self.analysis.drain(..).map(|thread| ("analysis", thread));
        for (name, thread) in self
            .capture
            .take()
            .map(|thread| ("capture", thread))
            .into_iter()
            .chain(analysis)
        {
            if thread.join().is_err() && !panicked.contains(&name) {
                panicked.push(name);
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
