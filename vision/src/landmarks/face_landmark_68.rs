//! FaceLandmark68Net, from face-api 1.7.15 (`face_landmark_68_model`, 356,840
//! parameters, uint8-quantized; MIT): 68 facial landmarks from a 112x112 face
//! crop.
//!
//! face-api's `FaceFeatureExtractor` (four dense blocks of four convolutions,
//! 3→32→64→128→256, each halving the side: 112 → 7, then a 7x7 average pool)
//! and a fully connected layer 256→136. No batch norm to fold.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use super::OUTPUTS;
use super::feature_extractor::{FeatureExtractor, fully_connected};

/// Channels the feature extractor hands to the head.
const FEATURES: usize = 256;

/// The full 68-point landmark network.
#[derive(Debug, Clone)]
pub struct FaceLandmark68Net {
    features: FeatureExtractor,
    fc: Linear,
}

impl FaceLandmark68Net {
    /// Builds the network from the checkpoint's tensors (`dense0/conv0/filters`,
    /// …, `fc/weights`, `fc/bias`).
    pub fn new(vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            features: FeatureExtractor::full(&vb)?,
            fc: fully_connected(&vb, FEATURES, OUTPUTS)?,
        })
    }
}

impl Module for FaceLandmark68Net {
    /// `[n, 3, 112, 112]` normalized input → `[n, 136]`: x0, y0, x1, y1, … in
    /// 0..1 of the padded square input.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.fc.forward(&self.features.forward(xs)?)
    }
}
