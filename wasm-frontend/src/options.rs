//! The options the page passes as JSON: which traits, the preset, the
//! budgets and the largest frame. Parsed here, away from JavaScript, so they
//! are tested natively; they become vision's `AnalyzerConfig` (with the
//! compute governor on: a browser tab must stay responsive) and core's
//! `PoolConfig` (one slot, for the largest frame).

use parterre_core::{MAX_BUDGET_MS, PixelFormat, PoolConfig, TraitSet};
use parterre_vision::analyzer::{AnalyzerConfig, DetectorChoice, ModelFile, Preset};
use parterre_vision::governor::GovernorConfig;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::WasmError;

/// Where the analyzer is deployed (`"general"` or `"workplace"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresetOption {
    /// Every trait the page enabled.
    General,
    /// No expression: its model is neither downloaded nor loaded.
    Workplace,
}

/// The page's options; every field may be left out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebOptions {
    /// Trait switches (core's `TraitSet` fields); missing switches are on.
    pub traits: Map<String, Value>,
    /// Deployment context.
    pub preset: PresetOption,
    /// Permanence budget of a frame, 1 to 300.
    pub budget_ms: u64,
    /// Share of one core the analysis may use.
    pub cpu_share: f64,
    /// A fixed tiny detector input side (128 to 608 in steps of 32) with the
    /// compute governor off, so every frame is analyzed as configured: the
    /// browser's counterpart of `parterre bench --input-size`, for measuring
    /// against native on the same work. Unset, the governor adapts the size.
    pub detector_input_px: Option<usize>,
    /// Largest frame accepted; the frame slot is sized for it.
    pub max_width_px: u32,
    /// See `max_width_px`.
    pub max_height_px: u32,
}

impl Default for WebOptions {
    fn default() -> Self {
        Self {
            traits: Map::new(),
            preset: PresetOption::General,
            budget_ms: MAX_BUDGET_MS,
            cpu_share: GovernorConfig::default().cpu_share,
            detector_input_px: None,
            max_width_px: 1280,
            max_height_px: 720,
        }
    }
}

impl WebOptions {
    /// Parses the page's JSON.
    pub fn parse(json: &str) -> Result<Self, WasmError> {
        let options: Self = serde_json::from_str(json).map_err(|e| WasmError::Options(e.to_string()))?;
        options.trait_set()?;
        Ok(options)
    }

    /// The traits to compute: the page's switches over all traits, then the
    /// preset's restriction (a workplace never gets expression, whatever the
    /// page asked).
    pub fn trait_set(&self) -> Result<TraitSet, WasmError> {
        let Value::Object(mut merged) =
            serde_json::to_value(TraitSet::ALL).map_err(|e| WasmError::Options(e.to_string()))?
        else {
            return Err(WasmError::Options("trait set is not an object".into()));
        };
        for (name, switch) in &self.traits {
            if !merged.contains_key(name) {
                return Err(WasmError::Options(format!("unknown trait `{name}`")));
            }
            merged.insert(name.clone(), switch.clone());
        }
        let traits: TraitSet =
            serde_json::from_value(Value::Object(merged)).map_err(|e| WasmError::Options(format!("traits: {e}")))?;
        Ok(match self.preset {
            PresetOption::General => traits,
            PresetOption::Workplace => TraitSet {
                expression: false,
                ..traits
            },
        })
    }

    /// The analyzer's configuration: the preset's, with these traits and
    /// the compute governor at this CPU share, or a fixed detector size.
    pub fn analyzer_config(&self) -> Result<AnalyzerConfig, WasmError> {
        let mut config = AnalyzerConfig::preset(match self.preset {
            PresetOption::General => Preset::General,
            PresetOption::Workplace => Preset::Workplace,
        });
        config.traits = self.trait_set()?;
        match (self.detector_input_px, &mut config.detector) {
            (Some(side_px), DetectorChoice::Tiny(tiny)) => tiny.input_size_px = side_px,
            (Some(_), DetectorChoice::Ssd(_)) => {
                return Err(WasmError::Options("detector_input_px needs the tiny detector".into()));
            }
            (None, _) => {
                config.governor = Some(GovernorConfig {
                    cpu_share: self.cpu_share,
                    ..GovernorConfig::default()
                });
            }
        }
        config.validate().map_err(|e| WasmError::Options(e.to_string()))?;
        Ok(config)
    }

    /// The frame pool: one slot for the largest RGBA frame. One is enough:
    /// the worker copies, commits and analyzes one frame at a time, and a
    /// second slot would only let a second frame exist.
    pub fn pool_config(&self) -> Result<PoolConfig, WasmError> {
        let config = PoolConfig {
            slots: 1,
            budget_ms: self.budget_ms,
            ..PoolConfig::for_max_frame(PixelFormat::Rgba8, self.max_width_px, self.max_height_px)?
        };
        if !(1..=MAX_BUDGET_MS).contains(&self.budget_ms) {
            return Err(WasmError::Options(format!(
                "budget_ms must be between 1 and {MAX_BUDGET_MS}, not {}",
                self.budget_ms
            )));
        }
        Ok(config)
    }

    /// The models these options need, in the order the weights are passed.
    pub fn required_models(&self) -> Result<Vec<ModelFile>, WasmError> {
        Ok(ModelFile::needed_by(&self.analyzer_config()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stems(json: &str) -> Vec<&'static str> {
        let options = WebOptions::parse(json).expect("options");
        options
            .required_models()
            .expect("models")
            .into_iter()
            .map(ModelFile::stem)
            .collect()
    }

    #[test]
    fn the_models_follow_the_traits_and_the_preset() {
        let cases: [(&str, &[&str]); 5] = [
            (
                "{}",
                &[
                    "tiny_face_detector",
                    "face_landmark_68",
                    "face_expression",
                    "age_gender",
                ],
            ),
            (
                r#"{"preset":"workplace"}"#,
                &["tiny_face_detector", "face_landmark_68", "age_gender"],
            ),
            (
                r#"{"preset":"workplace","traits":{"expression":true}}"#,
                &["tiny_face_detector", "face_landmark_68", "age_gender"],
            ),
            (
                r#"{"traits":{"expression":false,"age":false,"gender":false}}"#,
                &["tiny_face_detector", "face_landmark_68"],
            ),
            (
                r#"{"traits":{"expression":false,"age":false,"gender":false,"glasses":false,
                    "beard":false,"head_pose":false,"attention":false}}"#,
                &["tiny_face_detector"],
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(stems(json), expected, "{json}");
        }
    }

    #[test]
    fn missing_fields_take_defaults_and_given_ones_apply() {
        let options = WebOptions::parse(
            r#"{"budget_ms":120,"cpu_share":0.25,"max_width_px":640,"max_height_px":480,"traits":{"beard":false}}"#,
        )
        .expect("options");
        let pool = options.pool_config().expect("pool");
        assert_eq!(
            (pool.slots, pool.budget_ms, pool.slot_capacity_bytes),
            (1, 120, 640 * 480 * 4)
        );
        let config = options.analyzer_config().expect("config");
        assert_eq!(config.governor.map(|g| g.cpu_share), Some(0.25));
        assert_eq!(
            config.traits,
            TraitSet {
                beard: false,
                ..TraitSet::ALL
            }
        );
        let fixed = WebOptions::parse(r#"{"detector_input_px":224}"#)
            .expect("options")
            .analyzer_config()
            .expect("config");
        assert_eq!(fixed.governor, None, "a fixed size analyzes every frame as configured");
        assert!(
            matches!(fixed.detector, DetectorChoice::Tiny(tiny) if tiny.input_size_px == 224),
            "{:?}",
            fixed.detector
        );
        let defaults = WebOptions::parse("{}").expect("defaults");
        assert_eq!(defaults, WebOptions::default());
        assert_eq!(
            defaults.pool_config().expect("pool").slot_capacity_bytes,
            1280 * 720 * 4
        );
    }

    #[test]
    fn bad_options_are_refused_with_a_readable_reason() {
        let cases = [
            ("not json", "expected"),
            (r#"{"colour":1}"#, "unknown field `colour`"),
            (r#"{"traits":{"race":true}}"#, "unknown trait `race`"),
            (r#"{"traits":{"age":"yes"}}"#, "traits:"),
            (r#"{"preset":"office"}"#, "unknown variant `office`"),
        ];
        for (json, reason) in cases {
            let error = WebOptions::parse(json).expect_err(json).to_string();
            assert!(error.contains(reason), "{json}: {error}");
        }
        let range_cases = [
            (r#"{"budget_ms":301}"#, "budget_ms"),
            (r#"{"budget_ms":0}"#, "budget_ms"),
            (r#"{"max_width_px":0}"#, "dimensions"),
        ];
        for (json, reason) in range_cases {
            let options = WebOptions::parse(json).expect("parses");
            let error = options.pool_config().expect_err(json).to_string();
            assert!(error.to_lowercase().contains(reason), "{json}: {error}");
        }
        let analyzer_cases = [
            (r#"{"detector_input_px":230}"#, "steps of 32"),
            (r#"{"cpu_share":0}"#, "CPU share"),
        ];
        for (json, reason) in analyzer_cases {
            let options = WebOptions::parse(json).expect("parses");
            let error = options.analyzer_config().expect_err(json).to_string();
            assert!(error.contains(reason), "{json}: {error}");
        }
    }
}
