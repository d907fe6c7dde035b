//! The whole chain, `FaceAnalyzer`, on leased frames: against the reference
//! library's own chain (detect → landmarks → align → expression and
//! age/gender) on the demo photos, the feature policy (a switched-off trait's
//! model is never loaded and its field never sent), the permanence budget
//! checked between stages, tracking across frames, and the wipe of the
//! motion thumbnails.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::{IMAGES, box_px, max_abs_diff, photo, reference, weights};
use parterre_core::traits::Expression;
use parterre_core::{Analyzer, Clock, FramePool, ManualClock, PixelFormat, PoolConfig, TraitSet};
use parterre_vision::analyzer::{AnalyzerConfig, DetectorChoice, FaceAnalyzer, ModelFile, Preset};
use parterre_vision::{LandmarkModel, TinyOptions, VisionError, iou};

const PROBABILITY_TOLERANCE: f32 = 0.01;
const AGE_TOLERANCE_YEARS: f32 = 0.5;

/// A pool for the demo photos (at most 1920x1537 RGB).
fn pool(clock: Arc<dyn Clock>) -> FramePool {
    FramePool::new(
        PoolConfig::for_max_frame(PixelFormat::Rgb8, 1920, 1600).expect("config"),
        clock,
    )
    .expect("pool")
}

/// The analyzer, recording which models it asked for.
fn build(config: AnalyzerConfig, pool: &FramePool) -> (FaceAnalyzer, Vec<ModelFile>) {
    let mut loaded = Vec::new();
    let analyzer = FaceAnalyzer::new(config, pool, |model| {
        loaded.push(model);
        Ok(weights(model.stem()))
    })
    .expect("analyzer");
    (analyzer, loaded)
}

/// The reference chain's configuration: tiny detector at 416, the full
/// landmark net (the library's default alignment).
fn as_reference() -> AnalyzerConfig {
    AnalyzerConfig {
        detector: DetectorChoice::Tiny(TinyOptions::default()),
        landmarks: LandmarkModel::Full,
        max_faces: 8,
        ..AnalyzerConfig::default()
    }
}

fn capture(pool: &FramePool, image: &str) {
    let frame = photo(image);
    let view = frame.view().expect("frame");
    pool.capture(view.layout(), view.pixels()).expect("capture");
}

#[test]
fn the_chain_matches_the_reference_chain_on_every_demo_face() {
    let clock: Arc<dyn Clock> = ManualClock::new(0);
    let pool = pool(clock);
    let (mut failures, mut faces, mut max_probability, mut max_age_years) = (Vec::new(), 0, 0f32, 0f32);
    for image in IMAGES {
        // A new analyzer per photo: the first frame of a track is not smoothed.
        let (mut analyzer, _) = build(as_reference(), &pool);
        capture(&pool, image);
        let lease = pool.lease_newest().expect("lease");
        let observation = analyzer.analyze(&lease).expect("analysis");
        lease.release();
        let fixture = reference(&format!("{image}.json"));
        let theirs = fixture["detectors"]["tiny"]["faces"].as_array().expect("faces");
        assert_eq!(observation.faces.len(), theirs.len(), "{image}: faces found");
        for their_face in theirs {
            let their_box = box_px(&their_face["box"]);
            let ours = observation
                .faces
                .iter()
                .max_by(|a, b| {
                    let overlap = |f: &parterre_core::FaceObservation| iou(&f.box_px.expect("box"), &their_box);
                    overlap(a).total_cmp(&overlap(b))
                })
                .expect("a face");
            let label = format!("{image} face at {their_box:?}");
            let aligned = &their_face["aligned"]["full"];
            let expression = ours.expression_raw.expect("raw expression").probabilities();
            let reference_probabilities: Vec<f32> = Expression::CLASSES
                .iter()
                .map(|name| aligned["expressions"][name].as_f64().expect("probability") as f32)
                .collect();
            let diff = max_abs_diff(&expression, &reference_probabilities);
            max_probability = max_probability.max(diff);
            if diff > PROBABILITY_TOLERANCE {
                failures.push(format!("{label}: expression differs by {diff}"));
            }
            let age_diff_years = (ours.age_years.expect("age") - aligned["age"].as_f64().expect("age") as f32).abs();
            max_age_years = max_age_years.max(age_diff_years);
            if age_diff_years > AGE_TOLERANCE_YEARS {
                failures.push(format!("{label}: age differs by {age_diff_years} years"));
            }
            let female = ours.gender_female.expect("gender");
            let reported = aligned["genderProbability"].as_f64().expect("p") as f32;
            let their_female = if aligned["gender"] == "female" {
                reported
            } else {
                1.0 - reported
            };
            if (female - their_female).abs() > PROBABILITY_TOLERANCE {
                failures.push(format!("{label}: P(female) {female} vs {their_female}"));
            }
            // Traits of the reference's chain that we add: all present and in range.
            assert!(
                ours.head_pose.is_some() && ours.attention.is_some() && ours.quality.is_some(),
                "{label}"
            );
            faces += 1;
        }
        observation
            .traits(TraitSet::ALL)
            .validate(TraitSet::ALL)
            .expect("valid traits");
    }
    eprintln!("{faces} faces: expression within {max_probability:.2e}, age within {max_age_years:.2e} years");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(faces >= 18, "{faces} faces");
}

#[test]
fn a_switched_off_trait_is_not_loaded_computed_or_sent() {
    let clock: Arc<dyn Clock> = ManualClock::new(0);
    let pool = pool(clock);
    let workplace = AnalyzerConfig::preset(Preset::Workplace);
    let (mut analyzer, loaded) = build(workplace, &pool);
    assert!(!loaded.contains(&ModelFile::FaceExpression), "{loaded:?}");
    capture(&pool, "sample2");
    let lease = pool.lease_newest().expect("lease");
    let observation = analyzer.analyze(&lease).expect("analysis");
    lease.release();
    assert!(
        observation
            .faces
            .iter()
            .all(|f| f.expression.is_none() && f.expression_raw.is_none())
    );
    let traits = observation.traits(workplace.traits);
    traits.validate(TraitSet::WORKPLACE).expect("valid workplace traits");
    let json = serde_json::to_string(&traits).expect("json");
    assert!(
        traits.face_present && !json.contains("expression") && json.contains("age_years"),
        "{json}"
    );

    // Negative control: the general preset loads and sends expression.
    let (mut general, loaded) = build(AnalyzerConfig::default(), &pool);
    assert!(loaded.contains(&ModelFile::FaceExpression));
    capture(&pool, "sample2");
    let lease = pool.lease_newest().expect("lease");
    let json = serde_json::to_string(&general.analyze(&lease).expect("analysis").traits(TraitSet::ALL)).expect("json");
    assert!(json.contains("expression"), "{json}");

    // Everything off: the detector alone, and only presence and motion sent.
    let none = TraitSet::NONE;
    let (mut bare, loaded) = build(
        AnalyzerConfig {
            traits: none,
            ..AnalyzerConfig::default()
        },
        &pool,
    );
    assert_eq!(loaded, [ModelFile::TinyFaceDetector]);
    capture(&pool, "sample2");
    let lease = pool.lease_newest().expect("lease");
    let observation = bare.analyze(&lease).expect("analysis");
    assert!(observation.faces.iter().all(|f| f.landmarks_px.is_empty()));
    let json = serde_json::to_string(&observation.traits(none)).expect("json");
    assert!(json.contains("\"face_present\":true"), "{json}");
    for field in [
        "expression",
        "age",
        "gender",
        "glasses",
        "beard",
        "head_pose",
        "attention",
    ] {
        assert!(!json.contains(field), "{field} in {json}");
    }
}

/// A clock that moves on by a step every time it is read, so an analysis
/// sees its budget run out part-way.
#[derive(Debug)]
struct TickingClock {
    now_us: AtomicU64,
    step_us: u64,
}

impl Clock for TickingClock {
    fn now_us(&self) -> u64 {
        self.now_us.fetch_add(self.step_us, Ordering::SeqCst)
    }
}

#[test]
fn a_spent_budget_stops_the_analysis_with_the_stage_and_wipes_the_frame() {
    let clock = Arc::new(TickingClock {
        now_us: AtomicU64::new(0),
        step_us: 40_000,
    });
    let pool = pool(clock);
    let (mut analyzer, _) = build(AnalyzerConfig::default(), &pool);
    capture(&pool, "sample2");
    let lease = pool.lease_newest().expect("lease");
    match analyzer.analyze(&lease) {
        Err(VisionError::BudgetSpent { stage }) => {
            assert!(["detect", "landmarks", "classify"].contains(&stage), "{stage}");
        }
        other => panic!("expected a spent budget, got {other:?}"),
    }
    drop(lease);
    let audit = pool.audit();
    assert_eq!(
        (audit.frames_held, audit.residue_bytes),
        (0, 0),
        "{audit:?} {:?}",
        pool.report()
    );
    // Wiped: by the read that found the deadline passed, or on release.
    let ended = pool.report().ended;
    assert_eq!(ended.expired + ended.released, 1, "{ended:?}");
}

#[test]
fn faces_keep_their_track_across_frames_and_thumbnails_are_wiped_by_the_deadline() {
    let clock = ManualClock::new(0);
    let pool = pool(clock.clone());
    let (mut analyzer, _) = build(as_reference(), &pool);
    let mut tracks = Vec::new();
    for _ in 0..3 {
        capture(&pool, "sample1");
        let lease = pool.lease_newest().expect("lease");
        let observation = analyzer.analyze(&lease).expect("analysis");
        lease.release();
        let mut ids: Vec<u32> = observation.faces.iter().map(|f| f.track_id.expect("track")).collect();
        ids.sort_unstable();
        tracks.push(ids);
        // The same picture again: no motion.
        assert!(observation.motion < 0.05, "{}", observation.motion);
        clock.advance_ms(40);
    }
    assert_eq!(tracks[0], [1, 2, 3]);
    assert!(tracks.iter().all(|ids| ids == &tracks[0]), "{tracks:?}");
    // Each thumbnail was wiped once compared with the next frame's; the last
    // one lives until its frame's deadline, not longer.
    assert_eq!(analyzer.thumbnail_report().frames, 2);
    // The last frame was written at 80 ms, the clock reads 120 ms: its
    // deadline comes 260 ms later, and the sweep wipes 30 ms (a tenth of the
    // budget) ahead of it.
    clock.advance_ms(229);
    analyzer.wipe_expired();
    assert_eq!(analyzer.thumbnail_report().frames, 2);
    clock.advance_ms(1);
    analyzer.wipe_expired();
    let report = analyzer.thumbnail_report();
    assert_eq!(
        (report.frames, report.ended.expired, report.over_budget),
        (3, 1, 0),
        "{report:?}"
    );
    assert_eq!(analyzer.thumbnail_residue_bytes(), 0);
}

#[test]
fn with_the_governor_an_unchanged_frame_skips_the_analysis() {
    use parterre_vision::governor::GovernorConfig;
    let clock = ManualClock::new(0);
    let pool = pool(clock.clone());
    let config = AnalyzerConfig {
        governor: Some(GovernorConfig::default()),
        ..AnalyzerConfig::default()
    };
    let (mut analyzer, _) = build(config, &pool);
    let mut unchanged = Vec::new();
    for image in ["sample2", "sample2", "sample1"] {
        capture(&pool, image);
        let lease = pool.lease_newest().expect("lease");
        let observation = analyzer.analyze(&lease).expect("analysis");
        lease.release();
        unchanged.push((observation.unchanged, observation.faces.len()));
        clock.advance_ms(100);
    }
    // The same picture again is skipped; a new one is analyzed.
    assert_eq!(unchanged[..2], [(false, 1), (true, 0)]);
    assert!(!unchanged[2].0 && unchanged[2].1 >= 2, "{unchanged:?}");
    assert_eq!(analyzer.governor_state().expect("governor").skipped, 1);
    assert!(analyzer.settings().expect("settings").starts_with("tiny@320"));

    // The governor adapts the tiny detector only.
    let ssd = AnalyzerConfig {
        detector: DetectorChoice::Ssd(parterre_vision::SsdOptions::default()),
        ..config
    };
    let refused = FaceAnalyzer::new(ssd, &pool, |model| Ok(weights(model.stem())));
    assert!(matches!(refused, Err(VisionError::InvalidOption(_))));
}

#[test]
fn age_and_gender_are_re_estimated_at_most_every_slow_period() {
    // sample2, then the same picture a fifth darker: the same face, whose
    // age estimate moves a little when it is re-estimated.
    let frame = photo("sample2");
    let view = frame.view().expect("frame");
    let darker: Vec<u8> = view.pixels().iter().map(|&v| (u16::from(v) * 4 / 5) as u8).collect();
    let ages = |every_ms: u64| {
        let clock = ManualClock::new(0);
        let pool = pool(clock.clone());
        let config = AnalyzerConfig {
            slow_traits_every_ms: every_ms,
            ..AnalyzerConfig::default()
        };
        let (mut analyzer, _) = build(config, &pool);
        let mut ages = Vec::new();
        for (pixels, step_ms) in [(view.pixels(), 100), (&darker[..], 500), (&darker[..], 0)] {
            pool.capture(view.layout(), pixels).expect("capture");
            let lease = pool.lease_newest().expect("lease");
            let observation = analyzer.analyze(&lease).expect("analysis");
            lease.release();
            ages.push(observation.faces[0].age_years.expect("age"));
            clock.advance_ms(step_ms);
        }
        ages
    };
    // Every 500 ms: the darker frame 100 ms later keeps the first estimate;
    // 500 ms after that it is re-estimated.
    let slow = ages(500);
    assert_eq!(slow[0], slow[1]);
    assert_ne!(slow[1], slow[2]);
    // Negative control: estimated on every frame, the darker frame moves it.
    let every = ages(0);
    assert_ne!(every[0], every[1]);
}
