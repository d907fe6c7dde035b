//! The analyzer's command-line options, shared by every command that runs the
//! vision chain (`analyze`, `join`, `camera`, `bench`): one definition, so
//! `--detector` or `--disable` mean the same everywhere. They turn into
//! vision's `AnalyzerConfig`, a pool configuration with the permanence budget,
//! and the analyzer itself with its weights loaded.

use std::path::PathBuf;

use parterre_core::{FrameLayout, FramePool, MAX_BUDGET_MS, PoolConfig, TraitSet};
use parterre_vision::analyzer::{AnalyzerConfig, DetectorChoice, FaceAnalyzer, Preset};
use parterre_vision::{LandmarkModel, SsdOptions, TinyOptions};

use crate::error::NativeError;
use crate::models;

/// Which face detector runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DetectorArg {
    /// TinyFaceDetector: fast, for live video.
    Tiny,
    /// SSD MobileNet v1: slower, finds smaller and turned faces.
    Ssd,
}

/// Which landmark net runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LandmarksArg {
    /// The tiny net: faster.
    Tiny,
    /// The full net: what the classifiers were run on in face-api.
    Full,
}

/// Where the analyzer is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PresetArg {
    /// Every trait.
    General,
    /// Workplaces and education: no expression, its model never loaded.
    Workplace,
}

/// A trait that can be switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TraitArg {
    /// Facial expression.
    Expression,
    /// Apparent age.
    Age,
    /// Apparent gender.
    Gender,
    /// Glasses.
    Glasses,
    /// Beard.
    Beard,
    /// Head pose (yaw, pitch, roll).
    HeadPose,
    /// Attention to the screen.
    Attention,
}

/// The options of the vision chain.
#[derive(Debug, Clone, clap::Args)]
pub struct AnalyzerOptions {
    /// Face detector.
    #[arg(long, value_enum, default_value_t = DetectorArg::Tiny)]
    pub detector: DetectorArg,
    /// Tiny detector's input side in pixels, 128 to 608 in steps of 32 [default: the preset's, 320].
    #[arg(long, value_name = "PX")]
    pub input_size: Option<usize>,
    /// Detections scoring at or below this are dropped, 0..1 [default: 0.5].
    #[arg(long, value_name = "SCORE")]
    pub min_score: Option<f32>,
    /// Landmark net.
    #[arg(long, value_enum, default_value_t = LandmarksArg::Full)]
    pub landmarks: LandmarksArg,
    /// Permanence budget: no frame lives longer, analyzed or not (1 to 300).
    #[arg(long, value_name = "MS", default_value_t = MAX_BUDGET_MS)]
    pub budget_ms: u64,
    /// Traits not to compute, comma-separated; their models are not loaded.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "TRAITS")]
    pub disable: Vec<TraitArg>,
    /// Deployment context: `workplace` forbids expression (EU AI Act, art. 5).
    #[arg(long, value_enum, default_value_t = PresetArg::General)]
    pub preset: PresetArg,
    /// Directory of the model weights [default: $PARTERRE_MODELS, ./models, the workspace's models/].
    #[arg(long, value_name = "DIR")]
    pub models: Option<PathBuf>,
}

impl Default for AnalyzerOptions {
    /// What the command line gives with no option.
    fn default() -> Self {
        Self {
            detector: DetectorArg::Tiny,
            input_size: None,
            min_score: None,
            landmarks: LandmarksArg::Full,
            budget_ms: MAX_BUDGET_MS,
            disable: Vec::new(),
            preset: PresetArg::General,
            models: None,
        }
    }
}

impl AnalyzerOptions {
    /// The analyzer configuration these options describe.
    pub fn config(&self) -> Result<AnalyzerConfig, NativeError> {
        let mut config = AnalyzerConfig::preset(match self.preset {
            PresetArg::General => Preset::General,
            PresetArg::Workplace => Preset::Workplace,
        });
        config.detector = self.detector_choice(config.detector)?;
        config.landmarks = match self.landmarks {
            LandmarksArg::Tiny => LandmarkModel::Tiny,
            LandmarksArg::Full => LandmarkModel::Full,
        };
        config.traits = without(config.traits, &self.disable);
        config.validate()?;
        Ok(config)
    }

    fn detector_choice(&self, preset: DetectorChoice) -> Result<DetectorChoice, NativeError> {
        if let Some(score) = self.min_score
            && !(score.is_finite() && score > 0.0 && score < 1.0)
        {
            return Err(NativeError::InvalidArgument(format!(
                "--min-score must be between 0 and 1 (exclusive), not {score}"
            )));
        }
        if let Some(side_px) = self.input_size
            && !((128..=608).contains(&side_px) && side_px % 32 == 0)
        {
            return Err(NativeError::InvalidArgument(format!(
                "--input-size must be 128 to 608 in steps of 32, not {side_px}"
            )));
        }
        let preset_tiny = match preset {
            DetectorChoice::Tiny(options) => options,
            DetectorChoice::Ssd(_) => TinyOptions::default(),
        };
        match self.detector {
            DetectorArg::Tiny => Ok(DetectorChoice::Tiny(TinyOptions {
                input_size_px: self.input_size.unwrap_or(preset_tiny.input_size_px),
                score_threshold: self.min_score.unwrap_or(preset_tiny.score_threshold),
            })),
            DetectorArg::Ssd if self.input_size.is_some() => Err(NativeError::InvalidArgument(
                "--input-size applies to the tiny detector only: SSD always runs at 512".into(),
            )),
            DetectorArg::Ssd => {
                let defaults = SsdOptions::default();
                Ok(DetectorChoice::Ssd(SsdOptions {
                    min_confidence: self.min_score.unwrap_or(defaults.min_confidence),
                    ..defaults
                }))
            }
        }
    }

    /// A pool for frames up to `max_layout`, with these options' budget.
    pub fn pool_config(&self, max_layout: FrameLayout) -> Result<PoolConfig, NativeError> {
        if !(1..=MAX_BUDGET_MS).contains(&self.budget_ms) {
            return Err(NativeError::InvalidArgument(format!(
                "--budget-ms must be between 1 and {MAX_BUDGET_MS}, not {}",
                self.budget_ms
            )));
        }
        Ok(PoolConfig {
            budget_ms: self.budget_ms,
            ..PoolConfig::for_max_frame(max_layout.format, max_layout.width_px, max_layout.height_px)?
        })
    }

    /// The analyzer for frames of `pool`, its weights loaded from `--models`
    /// (or the default places).
    pub fn analyzer(&self, config: AnalyzerConfig, pool: &FramePool) -> Result<FaceAnalyzer, NativeError> {
        let dir = models::models_dir(self.models.as_deref())?;
        Ok(FaceAnalyzer::new(config, pool, models::loader(&dir))?)
    }
}

/// `enabled` with the `disabled` traits switched off.
fn without(mut enabled: TraitSet, disabled: &[TraitArg]) -> TraitSet {
    for trait_arg in disabled {
        let switch = match trait_arg {
            TraitArg::Expression => &mut enabled.expression,
            TraitArg::Age => &mut enabled.age,
            TraitArg::Gender => &mut enabled.gender,
            TraitArg::Glasses => &mut enabled.glasses,
            TraitArg::Beard => &mut enabled.beard,
            TraitArg::HeadPose => &mut enabled.head_pose,
            TraitArg::Attention => &mut enabled.attention,
        };
        *switch = false;
    }
    enabled
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use parterre_core::PixelFormat;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        options: AnalyzerOptions,
    }

    fn parse(args: &[&str]) -> Result<AnalyzerOptions, clap::Error> {
        Cli::try_parse_from(std::iter::once("test").chain(args.iter().copied())).map(|cli| cli.options)
    }

    #[test]
    fn no_option_gives_the_general_preset() {
        let options = parse(&[]).expect("parse");
        assert_eq!(
            options.config().expect("config"),
            AnalyzerConfig::preset(Preset::General)
        );
        // `Default` is what the command line gives with no option.
        assert_eq!(format!("{options:?}"), format!("{:?}", AnalyzerOptions::default()));
    }

    #[test]
    fn options_reach_the_config() {
        let options = parse(&[
            "--input-size",
            "416",
            "--min-score",
            "0.3",
            "--landmarks",
            "tiny",
            "--disable",
            "glasses,beard,head-pose",
            "--preset",
            "workplace",
        ])
        .expect("parse");
        let config = options.config().expect("config");
        assert_eq!(
            config.detector,
            DetectorChoice::Tiny(TinyOptions {
                input_size_px: 416,
                score_threshold: 0.3
            })
        );
        assert_eq!(config.landmarks, LandmarkModel::Tiny);
        let expected = TraitSet {
            expression: false,
            age: true,
            gender: true,
            glasses: false,
            beard: false,
            head_pose: false,
            attention: true,
        };
        assert_eq!(config.traits, expected);
        let ssd = parse(&["--detector", "ssd", "--min-score", "0.7"]).expect("parse");
        assert_eq!(
            ssd.config().expect("config").detector,
            DetectorChoice::Ssd(SsdOptions {
                min_confidence: 0.7,
                max_results: SsdOptions::default().max_results
            })
        );
    }

    #[test]
    fn impossible_values_are_refused_with_the_option_named() {
        let cases: [(&[&str], &str); 4] = [
            (&["--input-size", "100"], "--input-size"),
            (&["--min-score", "1.5"], "--min-score"),
            (&["--detector", "ssd", "--input-size", "416"], "--input-size"),
            (&["--budget-ms", "301"], "--budget-ms"),
        ];
        let layout = FrameLayout::packed(PixelFormat::Rgb8, 64, 48).expect("layout");
        for (args, named) in cases {
            let options = parse(args).expect("parse");
            let error = options
                .config()
                .and_then(|_| options.pool_config(layout))
                .expect_err("refused");
            assert!(error.to_string().contains(named), "{args:?}: {error}");
        }
        assert!(parse(&["--disable", "race"]).is_err(), "no such trait to disable");
        let pool = parse(&["--budget-ms", "120"])
            .expect("parse")
            .pool_config(layout)
            .expect("pool");
        assert_eq!((pool.budget_ms, pool.slot_capacity_bytes), (120, 64 * 48 * 3));
    }
}
