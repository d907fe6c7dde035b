//! SSD MobileNetV1, from face-api 1.7.15 (`ssd_mobilenetv1_model`, 5.5 M
//! parameters, uint8-quantized; MIT): the more accurate of the two face
//! detectors, a single-shot detector on a MobileNetV1 backbone at input
//! 512x512, one face class, 5118 anchors over six feature maps.
//!
//! Backbone: conv_0 (3x3, stride 2, 3→32) and 13 depthwise-separable pairs
//! (depthwise 3x3 with batch norm, pointwise 1x1), all ReLU6, strides 2 at
//! pairs 2, 4, 6 and 12. Head: four more stages (1x1 then 3x3 stride 2), and a
//! box predictor (1x1 convolutions: 4 box encodings and 3 class logits per
//! anchor) on the output of pair 11 (32x32, 3 anchors per cell), of pair 13
//! (16x16, 6 anchors) and of each head stage (8x8, 4x4, 2x2, 1x1, 6 anchors).
//! Every convolution pads TF's `same` way (at stride 2 only bottom/right).
//!
//! The depthwise batch norms are folded into the depthwise weights and bias
//! at load; the other layers' batch norms were already folded by the export
//! (their `convolution_bn_offset` is a plain bias).

mod conv;
mod decode;
mod depthwise;

use candle_core::{IndexOp, Module, Result, Tensor};
use candle_nn::VarBuilder;
use parterre_core::FrameView;

use self::conv::SameConv;
use self::decode::{Candidate, SquareBox, decode_box, sigmoid, suppress, to_image_px};
use self::depthwise::DepthwiseRelu6;
use crate::detection::Detection;
use crate::error::VisionError;
use crate::preprocess::{CropPx, Normalization, Padding, square_input};

/// The input side the network was trained at (face-api fixes it).
pub const INPUT_SIZE_PX: usize = 512;
/// Anchors in the checkpoint's `Output/extra_dim`, one per output row.
pub const ANCHOR_COUNT: usize = 5118;
/// Values per row of the network output: box encoding `ty, tx, th, tw`, then
/// the logits of the three classes (background, face, unused).
pub const OUTPUT_WIDTH: usize = 7;
/// Output column of the face logit (class 0 is the background).
const FACE_LOGIT: usize = BOX_CODE + 1;
/// face-api's fixed IoU threshold for SSD.
const IOU_THRESHOLD: f64 = 0.5;
/// TF's batch norm epsilon in the checkpoint's graph.
const BATCH_NORM_EPSILON: f64 = 0.001;
/// Output channels of conv_0 and of pointwise 1..13.
const BACKBONE_CHANNELS: [usize; 14] = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024];
/// Backbone pairs with a stride-2 depthwise layer.
const STRIDE_2_PAIRS: [usize; 4] = [2, 4, 6, 12];
/// The pair whose output feeds the first box predictor.
const FIRST_FEATURE_PAIR: usize = 11;
/// Head stages: (1x1 reduce channels, 3x3 stride-2 output channels).
const HEAD_CHANNELS: [(usize, usize); 4] = [(256, 512), (128, 256), (128, 256), (64, 128)];
/// Anchors per cell of each feature map, in output order.
const ANCHORS_PER_CELL: [usize; 6] = [3, 6, 6, 6, 6, 6];
const BOX_CODE: usize = 4;
const CLASSES: usize = 3;
/// Maps pixel levels 0..255 to -1..1 together with `INPUT_SCALE`: the
/// reference's `x / 127.5 - 1`.
const NORMALIZATION: Normalization = Normalization { mean_rgb: [127.5; 3] };
/// `square_input` divides by 255, the reference by 127.5.
const INPUT_SCALE: f64 = 255.0 / 127.5;

/// How to run the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SsdOptions {
    /// Faces scoring at or below this are dropped; in (0, 1).
    pub min_confidence: f32,
    /// At most this many faces, best first; at least 1.
    pub max_results: usize,
}

impl Default for SsdOptions {
    /// face-api's defaults.
    fn default() -> Self {
        Self {
            min_confidence: 0.5,
            max_results: 100,
        }
    }
}

impl SsdOptions {
    fn validate(&self) -> std::result::Result<(), VisionError> {
        let in_range = self.min_confidence > 0.0 && self.min_confidence < 1.0;
        if !in_range {
            return Err(VisionError::InvalidOption(format!(
                "SSD min confidence must be in (0, 1), not {}",
                self.min_confidence
            )));
        }
        if self.max_results == 0 {
            return Err(VisionError::InvalidOption(
                "SSD max results must be at least 1".to_string(),
            ));
        }
        Ok(())
    }
}

/// One backbone pair: depthwise (batch norm folded, ReLU6), then pointwise.
#[derive(Debug, Clone)]
struct SeparablePair {
    depthwise: DepthwiseRelu6,
    pointwise: SameConv,
}

impl SeparablePair {
    fn new(vb: &VarBuilder, index: usize, in_c: usize, out_c: usize) -> Result<Self> {
        let prefix = format!("MobilenetV1/Conv2d_{index}_depthwise");
        let get = |name: &str| -> Result<Vec<f64>> {
            let values = vb.get(in_c, &format!("{prefix}/BatchNorm/{name}"))?.to_vec1::<f32>()?;
            Ok(values.into_iter().map(f64::from).collect())
        };
        let (gamma, beta, mean, variance) = (
            get("gamma")?,
            get("beta")?,
            get("moving_mean")?,
            get("moving_variance")?,
        );
        // [3, 3, in, 1] → [in][ky][kx].
        let filters = vb
            .get((3, 3, in_c, 1), &format!("{prefix}/depthwise_weights"))?
            .permute((2, 3, 0, 1))?
            .flatten_all()?
            .to_vec1::<f32>()?;
        // batch_norm(y) = (y - mean) * gamma / sqrt(variance + eps) + beta,
        // linear in y, so it moves into the weights and a bias (in f64, once).
        let scales: Vec<f64> = gamma
            .iter()
            .zip(&variance)
            .map(|(g, v)| g / (v + BATCH_NORM_EPSILON).sqrt())
            .collect();
        let weights = filters
            .chunks_exact(9)
            .zip(&scales)
            .flat_map(|(kernel, scale)| kernel.iter().map(move |&w| (f64::from(w) * scale) as f32))
            .collect();
        let bias = (0..in_c).map(|c| (beta[c] - mean[c] * scales[c]) as f32).collect();
        let stride = if STRIDE_2_PAIRS.contains(&index) { 2 } else { 1 };
        Ok(Self {
            depthwise: DepthwiseRelu6::new(weights, bias, stride)?,
            pointwise: SameConv::pointwise(vb, &format!("MobilenetV1/Conv2d_{index}"), (in_c, out_c), 1, 1)?,
        })
    }
}

impl Module for SeparablePair {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        self.pointwise.forward(&self.depthwise.forward(xs)?)
    }
}

/// The box encoding and class convolutions on one feature map.
#[derive(Debug, Clone)]
struct BoxPredictor {
    box_encoding: SameConv,
    class: SameConv,
}

impl BoxPredictor {
    fn new(vb: &VarBuilder, index: usize, in_c: usize, anchors: usize) -> Result<Self> {
        let prefix = format!("Prediction/BoxPredictor_{index}");
        Ok(Self {
            box_encoding: SameConv::predictor(vb, &format!("{prefix}/BoxEncodingPredictor"), in_c, anchors * BOX_CODE)?,
            class: SameConv::predictor(vb, &format!("{prefix}/ClassPredictor"), in_c, anchors * CLASSES)?,
        })
    }

    /// `[1, c, h, w]` → `[1, h * w * anchors, 7]`, rows in the reference's
    /// order (row, column, anchor), as its NHWC reshape gives them.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let rows = |conv: &SameConv, width: usize| -> Result<Tensor> {
            let ys = conv.forward(xs)?.permute((0, 2, 3, 1))?;
            ys.reshape((ys.dim(0)?, (), width))
        };
        Tensor::cat(&[rows(&self.box_encoding, BOX_CODE)?, rows(&self.class, CLASSES)?], 2)
    }
}

/// The SSD MobileNetV1 network.
#[derive(Debug, Clone)]
pub struct SsdMobilenetV1 {
    conv0: SameConv,
    pairs: Vec<SeparablePair>,
    head: Vec<(SameConv, SameConv)>,
    predictors: Vec<BoxPredictor>,
    /// `[ymin, xmin, ymax, xmax]` in the unit square, one per output row.
    anchors: Vec<SquareBox>,
}

impl SsdMobilenetV1 {
    /// Builds the network from the checkpoint's tensors.
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let conv0 = SameConv::pointwise(&vb, "MobilenetV1/Conv2d_0", (3, BACKBONE_CHANNELS[0]), 3, 2)?;
        let pairs = BACKBONE_CHANNELS
            .windows(2)
            .enumerate()
            .map(|(i, pair)| SeparablePair::new(&vb, i + 1, pair[0], pair[1]))
            .collect::<Result<Vec<_>>>()?;
        let mut in_c = BACKBONE_CHANNELS[13];
        let mut head = Vec::with_capacity(HEAD_CHANNELS.len());
        for (stage, &(reduce_c, out_c)) in HEAD_CHANNELS.iter().enumerate() {
            let prefix = |index: usize| format!("Prediction/Conv2d_{index}");
            let reduce = SameConv::pointwise(&vb, &prefix(2 * stage), (in_c, reduce_c), 1, 1)?;
            let expand = SameConv::pointwise(&vb, &prefix(2 * stage + 1), (reduce_c, out_c), 3, 2)?;
            head.push((reduce, expand));
            in_c = out_c;
        }
        let feature_channels = [BACKBONE_CHANNELS[FIRST_FEATURE_PAIR], BACKBONE_CHANNELS[13]]
            .into_iter()
            .chain(HEAD_CHANNELS.iter().map(|&(_, out_c)| out_c));
        let predictors = feature_channels
            .zip(ANCHORS_PER_CELL)
            .enumerate()
            .map(|(i, (channels, anchors))| BoxPredictor::new(&vb, i, channels, anchors))
            .collect::<Result<Vec<_>>>()?;
        let anchors = vb
            .get((1, ANCHOR_COUNT, 4), "Output/extra_dim")?
            .i(0)?
            .to_vec2::<f32>()?
            .into_iter()
            .map(|row| [row[0], row[1], row[2], row[3]])
            .collect();
        Ok(Self {
            conv0,
            pairs,
            head,
            predictors,
            anchors,
        })
    }

    /// The network's input for a frame: the whole frame padded bottom-right
    /// to a square, resized to 512, mapped to -1..1.
    pub fn input(view: &FrameView<'_>) -> std::result::Result<Tensor, VisionError> {
        let layout = view.layout();
        let whole = CropPx {
            x: 0,
            y: 0,
            width: layout.width_px,
            height: layout.height_px,
        };
        let centred = square_input(view, whole, Padding::BottomRight, INPUT_SIZE_PX, NORMALIZATION)?;
        Ok((centred * INPUT_SCALE)?)
    }

    /// Finds faces in a frame, best first, boxes in image pixels.
    pub fn detect(
        &self,
        view: &FrameView<'_>,
        options: SsdOptions,
    ) -> std::result::Result<Vec<Detection>, VisionError> {
        let input = Self::input(view)?;
        let layout = view.layout();
        self.detect_input(&input, layout.width_px, layout.height_px, options)
    }

    /// Finds faces in [`SsdMobilenetV1::input`] of a `width_px` x `height_px`
    /// frame, best first: the analyzer reads the frame only to make the
    /// input, so the frame can be wiped while the net runs.
    pub fn detect_input(
        &self,
        input: &Tensor,
        width_px: u32,
        height_px: u32,
        options: SsdOptions,
    ) -> std::result::Result<Vec<Detection>, VisionError> {
        options.validate()?;
        let output = self.forward(input)?.i(0)?.to_vec2::<f32>()?;
        let candidates = output
            .iter()
            .zip(&self.anchors)
            .filter_map(|(row, &anchor)| {
                let score = sigmoid(row[FACE_LOGIT]);
                (score > options.min_confidence).then(|| Candidate {
                    square: decode_box(anchor, [row[0], row[1], row[2], row[3]]),
                    score,
                })
            })
            .collect();
        Ok(suppress(candidates, IOU_THRESHOLD, options.max_results)
            .into_iter()
            .filter_map(|kept| {
                let box_px = to_image_px(kept.square, width_px, height_px, INPUT_SIZE_PX)?;
                Some(Detection {
                    box_px,
                    score: kept.score,
                })
            })
            .collect())
    }
}

impl Module for SsdMobilenetV1 {
    /// `[1, 3, 512, 512]` input → `[1, ANCHOR_COUNT, OUTPUT_WIDTH]`: per
    /// anchor, the raw box encoding `ty, tx, th, tw` and the three class
    /// logits (before sigmoid).
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut xs = self.conv0.forward(xs)?;
        let mut features = Vec::with_capacity(self.predictors.len());
        for (i, pair) in self.pairs.iter().enumerate() {
            xs = pair.forward(&xs)?;
            if i + 1 == FIRST_FEATURE_PAIR {
                features.push(xs.clone());
            }
        }
        features.push(xs.clone());
        for (reduce, expand) in &self.head {
            xs = expand.forward(&reduce.forward(&xs)?)?;
            features.push(xs.clone());
        }
        let rows = self
            .predictors
            .iter()
            .zip(&features)
            .map(|(predictor, feature)| predictor.forward(feature))
            .collect::<Result<Vec<_>>>()?;
        Tensor::cat(&rows, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        assert!(SsdOptions::default().validate().is_ok());
        for min_confidence in [0.0, 1.0, -0.1, 1.5, f32::NAN] {
            let options = SsdOptions {
                min_confidence,
                ..SsdOptions::default()
            };
            let error = options.validate().expect_err("out of range");
            assert!(error.to_string().contains("min confidence"), "{error}");
        }
        let options = SsdOptions {
            max_results: 0,
            ..SsdOptions::default()
        };
        assert!(
            options
                .validate()
                .expect_err("zero")
                .to_string()
                .contains("max results")
        );
        let options = SsdOptions {
            min_confidence: 0.01,
            max_results: 1,
        };
        assert!(options.validate().is_ok());
    }

    #[test]
    fn the_feature_maps_hold_exactly_the_checkpoint_anchors() {
        // 512 input: conv_0 and four stride-2 pairs leave 16x16 after pair
        // 13 and 32x32 after pair 11; each head stage halves.
        let sides = [32, 16, 8, 4, 2, 1];
        let rows: usize = sides.iter().zip(ANCHORS_PER_CELL).map(|(s, a)| s * s * a).sum();
        assert_eq!(rows, ANCHOR_COUNT);
    }
}
