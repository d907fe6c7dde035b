//! TinyFaceDetector, from face-api 1.7.15 (`tiny_face_detector_model`, 193,321
//! parameters, uint8-quantized; MIT): a TinyYOLOv2 with depthwise-separable
//! convolutions and one class, predicting 5 anchor boxes per cell of a 13x13
//! grid at input 416.
//!
//! conv0 (3x3 valid, 3→16, leaky) then separable conv1..conv5 (16→32→…→512),
//! each after a 2x2 max pool (stride 2, the last stride 1), then conv8 (1x1,
//! 512→25). The checkpoint has no batch norm to fold.

use candle_core::{IndexOp, Module, Result, Tensor};
use candle_nn::{Conv2d, VarBuilder};
use parterre_core::{BoxPx, FrameView};

use crate::conv3x3::Conv3x3LeakyPool;
use crate::detection::{Detection, non_max_suppression};
use crate::error::VisionError;
use crate::layers::{SeparableConv, conv_weights, conv2d, max_pool_same};
use crate::preprocess::{CropPx, Normalization, Padding, square_input};

/// Anchor box sizes in grid cells (width, height).
const ANCHORS: [(f32, f32); 5] = [
    (1.603231, 2.094468),
    (6.041143, 7.080126),
    (2.882459, 3.518061),
    (4.266906, 5.178857),
    (9.041765, 10.66308),
];
/// Values per anchor: x, y, w, h, score.
const BOX_ENCODING: usize = 5;
const IOU_THRESHOLD: f32 = 0.4;
const NORMALIZATION: Normalization = Normalization {
    mean_rgb: [117.001, 114.697, 97.404],
};
const CHANNELS: [usize; 6] = [16, 32, 64, 128, 256, 512];

/// How to run the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TinyOptions {
    /// Square input side: 128 to 608 in steps of 32 (smaller is faster, larger
    /// finds smaller faces).
    pub input_size_px: usize,
    /// Detections scoring at or below this are dropped.
    pub score_threshold: f32,
}

impl Default for TinyOptions {
    fn default() -> Self {
        Self {
            input_size_px: 416,
            score_threshold: 0.5,
        }
    }
}

impl TinyOptions {
    /// Checks the input size and the score threshold.
    pub(crate) fn validate(&self) -> std::result::Result<(), VisionError> {
        if !(128..=608).contains(&self.input_size_px) || self.input_size_px % 32 != 0 {
            return Err(VisionError::InvalidOption(format!(
                "tiny detector input size must be 128 to 608 in steps of 32, not {}",
                self.input_size_px
            )));
        }
        if !(0.0..1.0).contains(&self.score_threshold) {
            return Err(VisionError::InvalidOption(format!(
                "score threshold must be in [0, 1), not {}",
                self.score_threshold
            )));
        }
        Ok(())
    }
}

/// The TinyFaceDetector network.
#[derive(Debug, Clone)]
pub struct TinyFaceDetector {
    /// conv0 with the pool after it.
    conv0: Conv3x3LeakyPool,
    separable: Vec<SeparableConv>,
    conv8: Conv2d,
}

impl TinyFaceDetector {
    /// Builds the network from the checkpoint's tensors.
    pub fn new(vb: VarBuilder) -> Result<Self> {
        let (weights, bias) = conv_weights(&vb, "conv0", 3, CHANNELS[0], 3)?;
        let conv0 = Conv3x3LeakyPool::new(&weights, &bias)?;
        let separable = CHANNELS
            .windows(2)
            .enumerate()
            .map(|(i, pair)| SeparableConv::new(&vb, &format!("conv{}", i + 1), pair[0], pair[1]))
            .collect::<Result<Vec<_>>>()?;
        let conv8 = conv2d(&vb, "conv8", CHANNELS[5], ANCHORS.len() * BOX_ENCODING, 1, 0)?;
        Ok(Self {
            conv0,
            separable,
            conv8,
        })
    }

    /// The network's input for a frame: the whole frame, padded bottom-right.
    pub fn input(view: &FrameView<'_>, input_size_px: usize) -> std::result::Result<Tensor, VisionError> {
        let layout = view.layout();
        let whole = CropPx {
            x: 0,
            y: 0,
            width: layout.width_px,
            height: layout.height_px,
        };
        square_input(view, whole, Padding::BottomRight, input_size_px, NORMALIZATION)
    }

    /// Finds faces in a frame, best first.
    pub fn detect(
        &self,
        view: &FrameView<'_>,
        options: TinyOptions,
    ) -> std::result::Result<Vec<Detection>, VisionError> {
        options.validate()?;
        let input = Self::input(view, options.input_size_px)?;
        let layout = view.layout();
        self.detect_input(&input, layout.width_px, layout.height_px, options)
    }

    /// Finds faces in [`TinyFaceDetector::input`] of a `width_px` x
    /// `height_px` frame, best first: the analyzer reads the frame only to
    /// make the input, so the frame can be wiped while the net runs.
    pub fn detect_input(
        &self,
        input: &Tensor,
        width_px: u32,
        height_px: u32,
        options: TinyOptions,
    ) -> std::result::Result<Vec<Detection>, VisionError> {
        options.validate()?;
        let grid = self.forward(input)?;
        let candidates = decode(&grid, width_px, height_px, options)?;
        Ok(non_max_suppression(candidates, IOU_THRESHOLD))
    }
}

impl Module for TinyFaceDetector {
    /// `[1, 3, n, n]` input → `[1, 25, n/32, n/32]` raw grid.
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        // conv0 pools its own output; each later layer pools its input.
        let mut xs = xs.contiguous()?.apply_op1_no_bwd(&self.conv0)?;
        for (i, layer) in self.separable.iter().enumerate() {
            if i > 0 {
                xs = max_pool_same(&xs, 2)?;
            }
            xs = layer.forward(&xs)?;
        }
        xs = max_pool_same(&xs, 1)?;
        self.conv8.forward(&xs)
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Turns the raw grid into boxes in image pixels, as face-api's `extractBoxes`.
fn decode(grid: &Tensor, width_px: u32, height_px: u32, options: TinyOptions) -> Result<Vec<Detection>> {
    // [rows][cols][anchor * 5 + k], as the reference reads it.
    let grid = grid.i(0)?.permute((1, 2, 0))?.to_vec3::<f32>()?;
    let cells = grid.len() as f32;
    let input_size = options.input_size_px as f32;
    // The image was scaled so its longer side fills the input; the grid covers
    // the padded square, so positions are corrected to the image's own extent.
    let scale = input_size / width_px.max(height_px) as f32;
    let correction_x = input_size / (width_px as f32 * scale).round();
    let correction_y = input_size / (height_px as f32 * scale).round();
    let mut detections = Vec::new();
    for (row, grid_row) in grid.iter().enumerate() {
        for (col, cell) in grid_row.iter().enumerate() {
            for (anchor, &(anchor_w, anchor_h)) in ANCHORS.iter().enumerate() {
                let value = |k: usize| cell[anchor * BOX_ENCODING + k];
                let score = sigmoid(value(4));
                if score <= options.score_threshold {
                    continue;
                }
                let centre_x = (col as f32 + sigmoid(value(0))) / cells * correction_x;
                let centre_y = (row as f32 + sigmoid(value(1))) / cells * correction_y;
                let width = value(2).exp() * anchor_w / cells * correction_x;
                let height = value(3).exp() * anchor_h / cells * correction_y;
                let box_px = BoxPx {
                    x: (centre_x - width / 2.0) * width_px as f32,
                    y: (centre_y - height / 2.0) * height_px as f32,
                    width: width * width_px as f32,
                    height: height * height_px as f32,
                };
                detections.push(Detection { box_px, score });
            }
        }
    }
    Ok(detections)
}
