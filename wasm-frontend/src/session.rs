//! One viewer's analysis session, free of JavaScript: the frame pool, the
//! analyzer, the frame being copied in, and the result of each analysis.
//! `lib.rs` wraps it for the worker; kept apart so it runs in native tests.
//!
//! A frame lives from `open_frame` (its slot is wiped and its deadline set)
//! through the browser's asynchronous copy and `commit_frame` to `analyze`,
//! which releases it, wiping it, as soon as the chain is done.

use std::collections::BTreeMap;
use std::sync::Arc;

use parterre_core::wire::{PermanenceMessage, ViewerMessage};
use parterre_core::{
    Analyzer, AnonymousTraits, Clock, CoreError, FrameLayout, FramePool, PixelFormat, TraitSet, WriteSlot,
};
use parterre_vision::analyzer::{FaceAnalyzer, ModelFile};
use parterre_vision::{VisionError, weights};
use serde::Serialize;

use crate::error::WasmError;
use crate::options::WebOptions;

/// What one analysis gives the page: the traits as they are to be sent, and
/// figures for display. Nothing here locates or identifies a face.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisReport {
    /// The traits, exactly as the page sends them.
    pub traits: AnonymousTraits,
    /// Faces found.
    pub faces: usize,
    /// The frame had not changed: the analysis was skipped and the previous
    /// traits and face count stand.
    pub skipped: bool,
    /// Time of each stage of the chain.
    pub timing_ms: BTreeMap<&'static str, f64>,
    /// From lease to wipe.
    pub total_ms: f64,
    /// What the compute governor chose.
    pub settings: String,
}

/// The analysis session of one worker.
#[derive(Debug)]
pub struct Session {
    pool: FramePool,
    analyzer: FaceAnalyzer,
    traits: TraitSet,
    open: Option<WriteSlot>,
    /// The last full analysis' traits and face count, for skipped frames.
    last: Option<(AnonymousTraits, usize)>,
}

impl Session {
    /// Builds the pool and the analyzer, with `weights` given in
    /// [`WebOptions::required_models`] order.
    pub fn new(options: &WebOptions, clock: Arc<dyn Clock>, weights: Vec<Vec<u8>>) -> Result<Self, WasmError> {
        let config = options.analyzer_config()?;
        let pool = FramePool::new(options.pool_config()?, clock)?;
        #[cfg(feature = "negative-control")]
        pool.disable_wiping_for_negative_control();
        let models = ModelFile::needed_by(&config);
        if weights.len() != models.len() {
            return Err(WasmError::WeightCount {
                expected: models.len(),
                actual: weights.len(),
            });
        }
        let mut files: Vec<(ModelFile, Option<Vec<u8>>)> =
            models.into_iter().zip(weights.into_iter().map(Some)).collect();
        let mut loading = "";
        let analyzer = FaceAnalyzer::new(config, &pool, |model| {
            loading = model.stem();
            let bytes = files
                .iter_mut()
                .find(|(file, _)| *file == model)
                .and_then(|(_, bytes)| bytes.take())
                .ok_or_else(|| VisionError::InvalidOption(format!("no weights passed for {}", model.stem())))?;
            weights::from_bytes(bytes)
        })
        .map_err(|source| WasmError::Weights { stem: loading, source })?;
        Ok(Self {
            pool,
            analyzer,
            traits: config.traits,
            open: None,
            last: None,
        })
    }

    /// The pool, for reports and audits.
    pub fn pool(&self) -> &FramePool {
        &self.pool
    }

    /// Opens the slot for a packed RGBA frame and returns the address the
    /// copy goes to (in wasm32: the byte offset in the module's memory). A
    /// frame still open is abandoned (wiped) first.
    pub fn open_frame(&mut self, width_px: u32, height_px: u32) -> Result<usize, WasmError> {
        self.abort_frame();
        let layout = FrameLayout::packed(PixelFormat::Rgba8, width_px, height_px)?;
        let slot = self.pool.open_write(layout)?.ok_or(WasmError::NoFreeSlot)?;
        let address = slot.as_mut_ptr() as usize;
        self.open = Some(slot);
        Ok(address)
    }

    /// The copy is complete. False: no frame was open, or its budget ran out
    /// during the copy and it was wiped.
    pub fn commit_frame(&mut self) -> Result<bool, WasmError> {
        let Some(slot) = self.open.take() else {
            return Ok(false);
        };
        match slot.commit() {
            Ok(_) => Ok(true),
            Err(CoreError::Expired) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// The copy failed: wipes the open slot.
    pub fn abort_frame(&mut self) {
        if let Some(slot) = self.open.take() {
            slot.abort();
        }
    }

    /// Analyzes the committed frame and wipes it at once. `None` when there
    /// was no frame, or its budget ran out during the analysis.
    pub fn analyze(&mut self) -> Result<Option<AnalysisReport>, WasmError> {
        let clock = Arc::clone(self.pool.clock());
        let started_us = clock.now_us();
        let Some(lease) = self.pool.lease_newest() else {
            return Ok(None);
        };
        let result = self.analyzer.analyze(&lease);
        lease.release();
        let total_us = clock.now_us().saturating_sub(started_us);
        let observation = match result {
            Ok(observation) => observation,
            Err(error) if FaceAnalyzer::budget_spent(&error) => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let (traits, faces) = match (&self.last, observation.unchanged) {
            (Some(last), true) => last.clone(),
            _ => (observation.traits(self.traits), observation.faces.len()),
        };
        if !observation.unchanged {
            self.last = Some((traits.clone(), faces));
        }
        let mut timing_ms = BTreeMap::new();
        for stage in &observation.stages {
            *timing_ms.entry(stage.stage).or_insert(0.0) += ms(stage.duration_us);
        }
        Ok(Some(AnalysisReport {
            traits,
            faces,
            skipped: observation.unchanged,
            timing_ms,
            total_ms: ms(total_us),
            settings: self.analyzer.settings().unwrap_or_default(),
        }))
    }

    /// When the compute governor allows the next analysis, on the clock's timeline.
    pub fn next_start_us(&self) -> u64 {
        self.analyzer.next_start_us()
    }

    /// Wipes whatever is past its deadline: frames and the motion thumbnail.
    pub fn sweep(&mut self) {
        self.pool.sweep();
        self.analyzer.wipe_expired();
    }

    /// Wipes everything: the open frame, every slot, the motion thumbnail.
    pub fn wipe_all(&mut self) {
        self.abort_frame();
        self.pool.wipe_all();
        self.analyzer.wipe_all();
    }

    /// The pool's permanence report as the wire message, ready to send.
    pub fn permanence_json(&self) -> Result<String, WasmError> {
        let message = ViewerMessage::Permanence(PermanenceMessage::from_report(&self.pool.report()));
        Ok(serde_json::to_string(&message)?)
    }

    /// Runs the chain once on a blank frame of the largest size, so the heap
    /// grows to its working size now rather than while a camera frame is
    /// held; then wipes what the analyzer kept. The blank frame goes through
    /// a pool of its own, freed afterwards, so the viewer's permanence report
    /// counts camera frames only.
    pub fn warm_up(&mut self, options: &WebOptions) -> Result<(), WasmError> {
        let pool = FramePool::new(options.pool_config()?, Arc::clone(self.pool.clock()))?;
        let layout = FrameLayout::packed(PixelFormat::Rgba8, options.max_width_px, options.max_height_px)?;
        pool.capture_with(layout, |_blank| Ok::<(), std::convert::Infallible>(()))?;
        if let Some(lease) = pool.lease_newest() {
            let result = self.analyzer.analyze(&lease);
            lease.release();
            match result {
                Err(error) if !FaceAnalyzer::budget_spent(&error) => return Err(error.into()),
                _ => {}
            }
        }
        self.analyzer.wipe_all();
        Ok(())
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1_000.0
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use parterre_core::{ManualClock, MemoryAudit};

    use super::*;

    fn models_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
    }

    /// A session with only the detector (every other trait off): small and
    /// quick, the frame lifecycle is the same.
    fn session(clock: &Arc<ManualClock>) -> Session {
        let options = WebOptions::parse(
            r#"{"max_width_px":64,"max_height_px":48,"budget_ms":100,"traits":{"expression":false,"age":false,
            "gender":false,"glasses":false,"beard":false,"head_pose":false,"attention":false}}"#,
        )
        .expect("options");
        let weights = options
            .required_models()
            .expect("models")
            .into_iter()
            .map(|model| std::fs::read(models_dir().join(format!("{}.safetensors", model.stem()))))
            .collect::<Result<Vec<_>, _>>()
            .expect("weights: run `cargo xtask models`");
        Session::new(&options, clock.clone(), weights).expect("session")
    }

    #[allow(unsafe_code)]
    fn copy_in(address: usize, bytes: &[u8]) {
        // SAFETY: `address` is the open slot's, which holds at least one frame
        // of this size and is reserved for this write; nothing borrows it.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), address as *mut u8, bytes.len()) };
    }

    fn clean() -> MemoryAudit {
        MemoryAudit {
            frames_held: 0,
            residue_bytes: 0,
        }
    }

    #[test]
    fn a_frame_is_copied_committed_analyzed_and_wiped() {
        let clock = ManualClock::new(1_000);
        let mut session = session(&clock);
        assert!(session.analyze().expect("analyze").is_none(), "no frame yet");
        let address = session.open_frame(32, 24).expect("open");
        copy_in(address, &[200; 32 * 24 * 4]);
        assert!(session.commit_frame().expect("commit"));
        assert_eq!(session.pool().audit().frames_held, 1);
        let report = session.analyze().expect("analyze").expect("a frame");
        assert_eq!(
            (report.faces, report.skipped, report.traits.face_present),
            (0, false, false)
        );
        assert!(report.timing_ms.contains_key("detect"), "{report:?}");
        assert!(report.settings.starts_with("tiny@"), "{}", report.settings);
        assert_eq!(session.pool().audit(), clean());
        let message: serde_json::Value =
            serde_json::from_str(&session.permanence_json().expect("json")).expect("parses");
        assert_eq!(
            (message["type"].as_str(), message["frames"].as_u64()),
            (Some("permanence"), Some(1))
        );
    }

    #[test]
    fn the_warm_up_leaves_no_trace_in_the_viewers_report() {
        let clock = ManualClock::new(1_000);
        let mut session = session(&clock);
        let options = WebOptions {
            max_width_px: 64,
            max_height_px: 48,
            ..WebOptions::default()
        };
        session.warm_up(&options).expect("warm-up");
        assert_eq!(session.pool().report().frames, 0);
    }

    #[test]
    fn a_copy_outliving_the_budget_is_wiped_not_analyzed() {
        let clock = ManualClock::new(1_000);
        let mut session = session(&clock);
        let address = session.open_frame(32, 24).expect("open");
        clock.advance_ms(100);
        session.sweep();
        // The browser's copy lands after the sweep.
        copy_in(address, &[7; 32 * 24 * 4]);
        assert!(!session.commit_frame().expect("commit"));
        assert_eq!(session.pool().audit(), clean());
        assert!(session.analyze().expect("analyze").is_none());
        assert_eq!(session.pool().report().ended.expired, 1);
    }

    #[test]
    fn abort_and_wipe_all_leave_nothing() {
        let clock = ManualClock::new(1_000);
        let mut session = session(&clock);
        let address = session.open_frame(32, 24).expect("open");
        copy_in(address, &[9; 32 * 24 * 4]);
        session.abort_frame();
        assert_eq!(session.pool().audit(), clean());
        assert!(!session.commit_frame().expect("nothing open"));
        let address = session.open_frame(32, 24).expect("open");
        copy_in(address, &[9; 32 * 24 * 4]);
        session.wipe_all();
        assert_eq!(session.pool().audit(), clean());
        let ended = session.pool().report().ended;
        // Both writes were abandoned: the second by `wipe_all`, before it wiped the slots.
        assert_eq!((ended.write_failed, ended.shutdown), (2, 0));
    }

    #[test]
    fn frames_larger_than_the_slot_and_wrong_weights_are_refused() {
        let clock = ManualClock::new(1_000);
        let mut session = session(&clock);
        assert!(matches!(
            session.open_frame(640, 480),
            Err(WasmError::Core(CoreError::FrameTooLarge { .. }))
        ));
        let options = WebOptions::default();
        let error = Session::new(&options, clock.clone(), vec![vec![1, 2, 3]]).expect_err("one file for four");
        assert!(
            matches!(error, WasmError::WeightCount { expected: 4, actual: 1 }),
            "{error}"
        );
        let error = Session::new(&options, clock.clone(), vec![vec![1, 2, 3]; 4]).expect_err("not safetensors");
        assert!(error.to_string().starts_with("model tiny_face_detector:"), "{error}");
    }
}
