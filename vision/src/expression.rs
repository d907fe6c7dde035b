//! FaceExpressionNet, from face-api 1.7.15 (`face_expression_model`, 323,687
//! parameters, partly uint8-quantized and stored dequantized; MIT): the
//! probabilities of 7 expressions from a 112x112 face crop.
//!
//! face-api's `FaceFeatureExtractor` (the full landmark net's trunk: four dense
//! blocks, 3→32→64→128→256, 112 → 7, then a 7x7 average pool to `[n, 256]`),
//! a fully connected layer 256→7 and a softmax. The checkpoint's names are the
//! landmark net's (`dense0/conv0/filters`, …, `fc/weights`, `fc/bias`), with
//! its own values.
//!
//! Like the library chain, the input is the crop of the face box aligned to
//! the landmarks (`landmarks.align()`), not the detection box.

use candle_core::{IndexOp, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use parterre_core::traits::Expression;
use parterre_core::{BoxPx, FrameView};

use crate::error::VisionError;
use crate::landmarks::feature_extractor::{FeatureExtractor, fully_connected};
use crate::landmarks::{INPUT_SIZE_PX, face_crop};
use crate::preprocess::{Normalization, Padding, square_input};

/// Channels the feature extractor hands to the head.
const FEATURES: usize = 256;
/// Expression classes, in [`Expression::CLASSES`] order (the library's).
const CLASSES: usize = Expression::CLASSES.len();
/// The face nets' normalization: `(x - mean) / 255`.
const NORMALIZATION: Normalization = Normalization {
    mean_rgb: [122.782, 117.001, 104.298],
};

/// The `[1, 3, 112, 112]` input face-api's face classifiers (expression,
/// age/gender) see for `box_px`: the box clipped to the frame and floored,
/// zero-padded centred to a square, resized and normalized. A box with no
/// whole pixel inside the frame is an [`VisionError::InvalidOption`].
pub(crate) fn face_input(view: &FrameView<'_>, box_px: &BoxPx) -> std::result::Result<Tensor, VisionError> {
    let layout = view.layout();
    let crop = face_crop(box_px, layout.width_px, layout.height_px)?;
    square_input(view, crop, Padding::Centred, INPUT_SIZE_PX, NORMALIZATION)
}

/// The expression network.
#[derive(Debug, Clone)]
pub struct FaceExpressionNet {
    features: FeatureExtractor,
    fc: Linear,
}

impl FaceExpressionNet {
    /// Builds the network from the checkpoint's tensors (`dense0/conv0/filters`,
    /// …, `fc/weights` `[256, 7]`, `fc/bias`).
    pub fn new(vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            features: FeatureExtractor::full(&vb)?,
            fc: fully_connected(&vb, FEATURES, CLASSES)?,
        })
    }

    /// The `[1, 3, 112, 112]` input for the face in `box_px` (image pixels).
    pub fn input(view: &FrameView<'_>, box_px: &BoxPx) -> std::result::Result<Tensor, VisionError> {
        face_input(view, box_px)
    }

    /// The expression probabilities of the face in `box_px`, the box aligned to
    /// the landmarks, in image pixels. A box with no whole pixel inside the
    /// frame is an [`VisionError::InvalidOption`].
    pub fn expression(&self, view: &FrameView<'_>, box_px: &BoxPx) -> std::result::Result<Expression, VisionError> {
        self.expression_from_input(&face_input(view, box_px)?)
    }

    /// The expression probabilities from [`FaceExpressionNet::input`].
    pub fn expression_from_input(&self, input: &Tensor) -> std::result::Result<Expression, VisionError> {
        let p = self.forward(input)?.i(0)?.to_vec1::<f32>()?;
        let probabilities: [f32; CLASSES] = p
            .as_slice()
            .try_into()
            .map_err(|_| candle_core::Error::Msg(format!("expected {CLASSES} probabilities, got {}", p.len())))?;
        Ok(Expression::from_probabilities(probabilities))
    }
}

impl Module for FaceExpressionNet {
    /// `[n, 3, 112, 112]` normalized input → `[n, 7]` probabilities in
    /// [`Expression::CLASSES`] order.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let logits = self.fc.forward(&self.features.forward(xs)?)?;
        candle_nn::ops::softmax_last_dim(&logits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::gray_frame;
    use candle_core::{DType, Device};

    fn zero_net() -> FaceExpressionNet {
        FaceExpressionNet::new(VarBuilder::zeros(DType::F32, &Device::Cpu)).expect("net")
    }

    #[test]
    fn outputs_are_probabilities_over_the_seven_classes() {
        // Zero weights: equal logits, so a uniform distribution.
        let frame = gray_frame(40, 30, &[128; 40 * 30]);
        let view = frame.view().expect("view");
        let box_px = BoxPx {
            x: 5.5,
            y: 2.0,
            width: 20.0,
            height: 25.0,
        };
        let p = zero_net()
            .expression(&view, &box_px)
            .expect("expression")
            .probabilities();
        for value in p {
            assert!((value - 1.0 / 7.0).abs() < 1e-6, "{p:?}");
        }
    }

    #[test]
    fn a_box_outside_the_frame_is_a_clear_error() {
        let frame = gray_frame(40, 30, &[128; 40 * 30]);
        let view = frame.view().expect("view");
        let net = zero_net();
        for box_px in [
            BoxPx {
                x: 41.0,
                y: 0.0,
                width: 10.0,
                height: 10.0,
            },
            BoxPx {
                x: 0.0,
                y: 0.0,
                width: f32::INFINITY,
                height: 10.0,
            },
            BoxPx {
                x: 0.0,
                y: 0.0,
                width: 10.0,
                height: 0.5,
            },
        ] {
            match net.expression(&view, &box_px) {
                Err(VisionError::InvalidOption(message)) => assert!(message.contains("face box"), "{message}"),
                other => panic!("{box_px:?}: {other:?}"),
            }
        }
    }
}
