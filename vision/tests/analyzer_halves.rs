//! The analyzer's two halves (`FaceAnalyzer::into_halves`), as the native
//! runtime runs them on two threads: frame by frame they give exactly what
//! the whole chain gives, and the time a found frame waits between the halves
//! counts neither in its stage timings nor in the cost the governor sees.

mod common;

use common::{IMAGES, photo, weights};
use parterre_core::{Analyzer, Clock, FramePool, ManualClock, Observation, PixelFormat, PoolConfig};
use parterre_vision::analyzer::{AnalyzerConfig, FaceAnalyzer};
use parterre_vision::governor::GovernorConfig;

/// What a found frame waits for the reader in the test.
const WAIT_MS: u64 = 40;

fn analyzer(pool: &FramePool) -> FaceAnalyzer {
    let config = AnalyzerConfig {
        // Never skip: every photo is analyzed by both.
        governor: Some(GovernorConfig {
            unchanged_motion: 0.0,
            ..GovernorConfig::default()
        }),
        ..AnalyzerConfig::default()
    };
    FaceAnalyzer::new(config, pool, |model| Ok(weights(model.stem()))).expect("analyzer")
}

/// Everything an observation holds but its timings, as text.
fn outcome(observation: &Observation) -> String {
    format!(
        "{:?} {} {}",
        observation.faces, observation.motion, observation.unchanged
    )
}

#[test]
fn the_halves_give_what_the_whole_chain_gives_and_time_only_their_work() {
    let clock = ManualClock::new(0);
    let pool = FramePool::new(
        PoolConfig::for_max_frame(PixelFormat::Rgb8, 1920, 1600).expect("config"),
        clock.clone(),
    )
    .expect("pool");
    let mut whole = analyzer(&pool);
    let (mut finder, mut reader) = analyzer(&pool).into_halves();
    let mut faces = 0;
    // Twice over: the second round meets tracks and smoothing from the first.
    for image in IMAGES.iter().chain(&IMAGES) {
        let frame = photo(image);
        let view = frame.view().expect("frame");
        pool.capture(view.layout(), view.pixels()).expect("capture");
        let lease = pool.lease_newest().expect("lease");
        let expected = whole.analyze(&lease).expect("whole chain");
        let found = finder.find(&lease).expect("find");
        let found_at_us = clock.now_us();
        clock.advance_ms(WAIT_MS);
        let observation = reader.read(&lease, found).expect("read");
        lease.release();

        assert_eq!(outcome(&observation), outcome(&expected), "{image}");
        faces += observation.faces.len();
        let stages: Vec<_> = observation.stages.iter().map(|s| s.stage).collect();
        assert_eq!(
            stages,
            ["detect", "landmarks", "appearance", "classify", "derive"],
            "{image}"
        );
        // The manual clock moved only while the frame waited: no stage took time.
        assert!(observation.stages.iter().all(|s| s.duration_us == 0), "{image}");
        assert_eq!(clock.now_us() - found_at_us, WAIT_MS * 1_000, "the frame did wait");
        assert_eq!(finder.governor_state().expect("governor").cost_ms, 0.0, "{image}");
        assert_eq!(finder.settings(), whole.settings().expect("settings"), "{image}");
        clock.advance_ms(100);
    }
    assert!(faces >= 2 * IMAGES.len(), "every demo photo shows a face: {faces}");
    finder.wipe_all();
    reader.wipe_all();
    assert_eq!(finder.thumbnail_residue_bytes(), 0);
}
