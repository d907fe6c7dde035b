//! The whole per-frame analysis in one call: a leased frame in, the
//! on-device observation out, from which the anonymous traits are taken.
//!
//! detect → landmarks → classifiers and appearance → pose, shape and
//! attention → tracking and smoothing → the viewer's neutral baseline.
//!
//! Single-threaded and synchronous, so the browser's worker calls it as it is.
//! Each stage reads the frame only to make its inputs (one short
//! [`Lease::read`]) and runs its nets on those, so the watchdog can wipe the
//! frame on time while a net runs; the budget is checked before every stage
//! and a spent budget stops the analysis with [`VisionError::BudgetSpent`].
//!
//! The chain is two halves, [`FaceFinder`] (motion and detection) and
//! [`FaceReader`] (everything per face); [`FaceAnalyzer::into_halves`] hands
//! them out so a native runtime can run them on two threads, one frame apart.

mod config;
mod finder;
mod models;
mod reader;

use std::sync::{Arc, Mutex, PoisonError};

use parterre_core::{
    Analyzer, Clock, CoreError, FramePool, FrameView, Lease, Observation, PermanenceReport, StageTiming,
};

pub use config::{AnalyzerConfig, DetectorChoice, Preset};
pub use finder::{FaceFinder, Found};
pub use models::ModelFile;
pub use reader::FaceReader;

use crate::error::VisionError;
use crate::governor::{Governor, GovernorState};

/// The whole analysis chain; one per session.
pub struct FaceAnalyzer {
    config: AnalyzerConfig,
    finder: FaceFinder,
    reader: FaceReader,
}

impl std::fmt::Debug for FaceAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceAnalyzer")
            .field("config", &self.config)
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl FaceAnalyzer {
    /// Builds the chain for frames of `pool`, whose clock and budget it
    /// shares, loading only the models `config` needs through `load` (the
    /// frontend decides where weights come from).
    pub fn new(
        config: AnalyzerConfig,
        pool: &FramePool,
        mut load: impl FnMut(ModelFile) -> Result<candle_nn::VarBuilder<'static>, VisionError>,
    ) -> Result<Self, VisionError> {
        config.validate()?;
        let governor = finder::governor_for(&config)?;
        let finder = FaceFinder::new(&config, pool, governor.clone(), &mut load)?;
        let reader = FaceReader::new(&config, pool.clock().clone(), governor, &mut load)?;
        Ok(Self { config, finder, reader })
    }

    /// The configuration in force.
    pub fn config(&self) -> &AnalyzerConfig {
        &self.config
    }

    /// How long the motion thumbnails lived: they are frame-derived pixels,
    /// so they are held to the same budget as the frames.
    pub fn thumbnail_report(&self) -> PermanenceReport {
        self.finder.thumbnail_report()
    }

    /// Non-zero bytes left in the motion thumbnails: 0 once they are wiped.
    pub fn thumbnail_residue_bytes(&self) -> usize {
        self.finder.thumbnail_residue_bytes()
    }

    /// What the compute governor has chosen, when there is one.
    pub fn governor_state(&self) -> Option<GovernorState> {
        self.finder.governor_state()
    }

    /// Runs the chain on a leased frame.
    pub fn analyze_lease(&mut self, lease: &Lease) -> Result<Observation, VisionError> {
        let found = self.finder.find(lease)?;
        self.reader.read(lease, found)
    }

    /// The two halves, to run on two threads: [`FaceFinder::find`] on frame
    /// n + 1 while [`FaceReader::read`] reads frame n. They share the compute
    /// governor; each frame must go through `find`, then `read`, in order.
    pub fn into_halves(self) -> (FaceFinder, FaceReader) {
        (self.finder, self.reader)
    }
}

impl Analyzer for FaceAnalyzer {
    type Error = VisionError;

    fn analyze(&mut self, lease: &Lease) -> Result<Observation, VisionError> {
        self.analyze_lease(lease)
    }

    fn wipe_expired(&mut self) {
        self.finder.wipe_expired();
    }

    /// Also forgets the session: tracks and the neutral baseline.
    fn budget_spent(error: &VisionError) -> bool {
        matches!(
            error,
            VisionError::BudgetSpent { .. } | VisionError::Frame(CoreError::Expired)
        )
    }

    fn next_start_us(&self) -> u64 {
        self.finder.next_start_us()
    }

    fn settings(&self) -> Option<String> {
        Some(self.finder.settings())
    }

    fn derived_permanence(&self) -> Option<PermanenceReport> {
        Some(self.finder.thumbnail_report())
    }

    fn wipe_all(&mut self) {
        self.finder.wipe_all();
        self.reader.wipe_all();
    }
}

/// The compute governor, shared by the two halves: the finder reads its
/// choices, the reader records what each frame cost. `None` without one.
#[derive(Debug, Clone)]
struct SharedGovernor(Option<Arc<Mutex<Governor>>>);

impl SharedGovernor {
    fn new(governor: Option<Governor>) -> Self {
        Self(governor.map(|g| Arc::new(Mutex::new(g))))
    }

    /// `use_it` applied to the governor, if there is one.
    fn with<R>(&self, use_it: impl FnOnce(&mut Governor) -> R) -> Option<R> {
        let governor = self.0.as_ref()?;
        // A panic elsewhere cannot leave a governor half-updated in a way
        // that matters: its fields are plain numbers.
        Some(use_it(&mut governor.lock().unwrap_or_else(PoisonError::into_inner)))
    }
}

fn check_budget(clock: &dyn Clock, lease: &Lease, stage: &'static str) -> Result<(), VisionError> {
    if clock.now_us() >= lease.deadline_us() {
        return Err(VisionError::BudgetSpent { stage });
    }
    Ok(())
}

/// Reads the frame for one stage; an expired frame means the budget ran out
/// before that stage.
fn read_stage<R>(
    lease: &Lease,
    stage: &'static str,
    read: impl FnOnce(FrameView<'_>) -> Result<R, VisionError>,
) -> Result<R, VisionError> {
    match lease.read(read) {
        Ok(result) => result,
        Err(CoreError::Expired) => Err(VisionError::BudgetSpent { stage }),
        Err(other) => Err(other.into()),
    }
}

/// A face whose box has no whole pixel in the frame is skipped for that
/// measure, not the whole frame.
fn optional_face<T>(result: Result<T, VisionError>) -> Result<Option<T>, VisionError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(VisionError::InvalidOption(_)) => Ok(None),
        Err(other) => Err(other),
    }
}

/// Stage durations from the shared clock (never `Instant`, which panics in
/// the browser).
struct StageTimer {
    clock: Arc<dyn Clock>,
    last_us: u64,
    stages: Vec<StageTiming>,
}

impl StageTimer {
    fn new(clock: Arc<dyn Clock>) -> Self {
        Self::resume(clock, Vec::with_capacity(6))
    }

    /// Goes on after `stages`, timing from now.
    fn resume(clock: Arc<dyn Clock>, stages: Vec<StageTiming>) -> Self {
        let last_us = clock.now_us();
        Self { clock, last_us, stages }
    }

    fn lap(&mut self, stage: &'static str) {
        let now_us = self.clock.now_us();
        self.stages.push(StageTiming {
            stage,
            duration_us: now_us.saturating_sub(self.last_us),
        });
        self.last_us = now_us;
    }

    fn finish(self) -> Vec<StageTiming> {
        self.stages
    }
}
