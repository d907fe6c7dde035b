//! AgeGenderNet, from face-api 1.7.15 (`age_gender_model`, 421,731
//! parameters, partly uint8-quantized and stored dequantized; MIT): apparent
//! age in years and the probabilities of the two apparent genders from a
//! 112x112 face crop.
//!
//! Unlike the expression net, its trunk is not the landmark nets' but face-api's
//! `TinyXception(2)`: a 3x3 stride-2 convolution (3→32, 112 → 56), two
//! reduction blocks (→64 at 28, →128 at 14), two residual main blocks at 128
//! channels, an exit reduction block (→256 at 7) and a separable convolution
//! to 512 with ReLU; then a 7x7 average pool to `[n, 512]` and two fully
//! connected heads, `fc/age` 512→1 (years, no activation) and `fc/gender`
//! 512→2 (softmax; index 0 is male, 1 female). No batch norm to fold.
//!
//! Like the library chain, the input is the crop of the face box aligned to
//! the landmarks (`landmarks.align()`), not the detection box.

use candle_core::{IndexOp, Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};
use parterre_core::{BoxPx, FrameView};

use crate::error::VisionError;
use crate::expression::face_input;
use crate::landmarks::feature_extractor::{InputConv, SeparableConv};
use crate::layers::relu;

/// Channels the trunk hands to the heads.
const FEATURES: usize = 512;
/// Side of the last feature map at input 112, pooled to one cell.
const POOL: usize = 7;
/// Outputs of the gender head: P(male), P(female).
const GENDERS: usize = 2;

/// A fully connected layer from `{prefix}/weights` `[in, out]` (TF order) and
/// `{prefix}/bias`.
fn fully_connected(vb: &VarBuilder, prefix: &str, in_c: usize, out_c: usize) -> Result<Linear> {
    let weights = vb.get((in_c, out_c), &format!("{prefix}/weights"))?.t()?.contiguous()?;
    Ok(Linear::new(weights, Some(vb.get(out_c, &format!("{prefix}/bias"))?)))
}

/// TF's `same` max pool, 3x3 at stride 2. TF ignores the padded cells; padding
/// with copies of the border cells gives the same maximum, because every window
/// that reaches a padded cell also holds the border cell it copies.
fn max_pool_same_3x3_s2(xs: &Tensor) -> Result<Tensor> {
    let (_, _, height, width) = xs.dims4()?;
    let padding = |len: usize| {
        let total = ((len.div_ceil(2) - 1) * 2 + 3).saturating_sub(len);
        (total / 2, total - total / 2)
    };
    let (top, bottom) = padding(height);
    let (left, right) = padding(width);
    xs.pad_with_same(2, top, bottom)?
        .pad_with_same(3, left, right)?
        .max_pool2d_with_stride(3, 2)
}

/// A 1x1 convolution with bias at stride 2 (`{prefix}/filters` `[1, 1, in,
/// out]`, `{prefix}/bias`); TF's `same` adds no padding to a 1x1 kernel, so it
/// reads every other cell from the first.
#[derive(Debug, Clone)]
struct ExpansionConv {
    /// candle layout `[out, in, 1, 1]`.
    weight: Tensor,
    /// `[1, out, 1, 1]`.
    bias: Tensor,
}

impl ExpansionConv {
    fn new(vb: &VarBuilder, prefix: &str, in_c: usize, out_c: usize) -> Result<Self> {
        let weight = vb
            .get((1, 1, in_c, out_c), &format!("{prefix}/filters"))?
            .permute((3, 2, 0, 1))?
            .contiguous()?;
        let bias = vb.get(out_c, &format!("{prefix}/bias"))?.reshape((1, out_c, 1, 1))?;
        Ok(Self { weight, bias })
    }
}

impl Module for ExpansionConv {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        xs.conv2d(&self.weight, 0, 2, 1, 1)?.broadcast_add(&self.bias)
    }
}

/// face-api's xception `reductionBlock`: (ReLU,) separable conv, ReLU,
/// separable conv, 3x3 stride-2 max pool, plus a strided 1x1 projection of
/// the block's input.
#[derive(Debug, Clone)]
struct ReductionBlock {
    activate_input: bool,
    separable_conv0: SeparableConv,
    separable_conv1: SeparableConv,
    expansion_conv: ExpansionConv,
}

impl ReductionBlock {
    fn new(vb: &VarBuilder, prefix: &str, in_c: usize, out_c: usize, activate_input: bool) -> Result<Self> {
        Ok(Self {
            activate_input,
            separable_conv0: SeparableConv::new(vb, &format!("{prefix}/separable_conv0"), in_c, out_c, 1)?,
            separable_conv1: SeparableConv::new(vb, &format!("{prefix}/separable_conv1"), out_c, out_c, 1)?,
            expansion_conv: ExpansionConv::new(vb, &format!("{prefix}/expansion_conv"), in_c, out_c)?,
        })
    }
}

impl Module for ReductionBlock {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let input = if self.activate_input { relu(xs)? } else { xs.clone() };
        let out = relu(&self.separable_conv0.forward(&input)?)?;
        let out = max_pool_same_3x3_s2(&self.separable_conv1.forward(&out)?)?;
        out + self.expansion_conv.forward(xs)?
    }
}

/// face-api's xception `mainBlock`: three (ReLU, separable conv) and a
/// residual sum with the input.
#[derive(Debug, Clone)]
struct MainBlock {
    convs: [SeparableConv; 3],
}

impl MainBlock {
    fn new(vb: &VarBuilder, prefix: &str, channels: usize) -> Result<Self> {
        let conv = |i: usize| SeparableConv::new(vb, &format!("{prefix}/separable_conv{i}"), channels, channels, 1);
        Ok(Self {
            convs: [conv(0)?, conv(1)?, conv(2)?],
        })
    }
}

impl Module for MainBlock {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut out = xs.clone();
        for conv in &self.convs {
            out = conv.forward(&relu(&out)?)?;
        }
        out + xs
    }
}

/// The age and gender network.
#[derive(Debug, Clone)]
pub struct AgeGenderNet {
    conv_in: InputConv,
    entry_reductions: [ReductionBlock; 2],
    main_blocks: [MainBlock; 2],
    exit_reduction: ReductionBlock,
    exit_conv: SeparableConv,
    age: Linear,
    gender: Linear,
}

impl AgeGenderNet {
    /// Builds the network from the checkpoint's tensors
    /// (`entry_flow/conv_in/filters`, `entry_flow/reduction_block_{0,1}/…`,
    /// `middle_flow/main_block_{0,1}/…`, `exit_flow/…`, `fc/age/…`,
    /// `fc/gender/…`).
    pub fn new(vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            conv_in: InputConv::new(&vb, "entry_flow/conv_in", 3, 32)?,
            entry_reductions: [
                ReductionBlock::new(&vb, "entry_flow/reduction_block_0", 32, 64, false)?,
                ReductionBlock::new(&vb, "entry_flow/reduction_block_1", 64, 128, true)?,
            ],
            main_blocks: [
                MainBlock::new(&vb, "middle_flow/main_block_0", 128)?,
                MainBlock::new(&vb, "middle_flow/main_block_1", 128)?,
            ],
            exit_reduction: ReductionBlock::new(&vb, "exit_flow/reduction_block", 128, 256, true)?,
            exit_conv: SeparableConv::new(&vb, "exit_flow/separable_conv", 256, FEATURES, 1)?,
            age: fully_connected(&vb, "fc/age", FEATURES, 1)?,
            gender: fully_connected(&vb, "fc/gender", FEATURES, GENDERS)?,
        })
    }

    /// The `[1, 3, 112, 112]` input for the face in `box_px` (image pixels).
    pub fn input(view: &FrameView<'_>, box_px: &BoxPx) -> std::result::Result<Tensor, VisionError> {
        face_input(view, box_px)
    }

    /// `(age_years, gender_female)` of the face in `box_px`, the box aligned
    /// to the landmarks, in image pixels: apparent age in years and the
    /// probability that the face appears female. A box with no whole pixel
    /// inside the frame is an [`VisionError::InvalidOption`].
    pub fn age_gender(&self, view: &FrameView<'_>, box_px: &BoxPx) -> std::result::Result<(f32, f32), VisionError> {
        self.age_gender_from_input(&face_input(view, box_px)?)
    }

    /// `(age_years, gender_female)` from [`AgeGenderNet::input`].
    pub fn age_gender_from_input(&self, input: &Tensor) -> std::result::Result<(f32, f32), VisionError> {
        let out = self.forward(input)?.i(0)?;
        let age_years = out.i(0)?.to_scalar::<f32>()?;
        let gender_female = out.i(2)?.to_scalar::<f32>()?;
        Ok((age_years, gender_female))
    }
}

impl Module for AgeGenderNet {
    /// `[n, 3, 112, 112]` normalized input → `[n, 3]`: age in years, P(male),
    /// P(female).
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut out = relu(&self.conv_in.forward(xs)?)?;
        for block in &self.entry_reductions {
            out = block.forward(&out)?;
        }
        for block in &self.main_blocks {
            out = block.forward(&out)?;
        }
        out = self.exit_reduction.forward(&out)?;
        out = relu(&self.exit_conv.forward(&out)?)?;
        let features = out.avg_pool2d_with_stride(POOL, 2)?.flatten_from(1)?;
        let age = self.age.forward(&features)?;
        let gender = candle_nn::ops::softmax_last_dim(&self.gender.forward(&features)?)?;
        Tensor::cat(&[age, gender], 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{gray_frame, max_diff};
    use candle_core::{DType, Device};

    #[test]
    fn max_pool_matches_tf_same_on_odd_and_even_sides() {
        // Odd height, even width; negative values, so zero padding would show.
        let (channels, height, width) = (2, 7, 8);
        let values: Vec<f32> = (0..channels * height * width)
            .map(|i| -(((i * 37 % 23) as f32) + 1.0))
            .collect();
        let xs = Tensor::from_vec(values.clone(), (1, channels, height, width), &Device::Cpu).expect("xs");
        let ours = max_pool_same_3x3_s2(&xs).expect("pool");
        // TF: output cell i reads input cells 2i - before .. 2i - before + 2,
        // skipping those outside.
        let (out_h, out_w) = (height.div_ceil(2), width.div_ceil(2));
        let before = |len: usize| (((len.div_ceil(2) - 1) * 2 + 3).saturating_sub(len)) / 2;
        let (top, left) = (before(height), before(width));
        let mut expected = Vec::new();
        for c in 0..channels {
            for oy in 0..out_h {
                for ox in 0..out_w {
                    let mut best = f32::NEG_INFINITY;
                    for dy in 0..3 {
                        for dx in 0..3 {
                            let (y, x) = (
                                (2 * oy + dy) as isize - top as isize,
                                (2 * ox + dx) as isize - left as isize,
                            );
                            if (0..height as isize).contains(&y) && (0..width as isize).contains(&x) {
                                best = best.max(values[(c * height + y as usize) * width + x as usize]);
                            }
                        }
                    }
                    expected.push(best);
                }
            }
        }
        let expected = Tensor::from_vec(expected, (1, channels, out_h, out_w), &Device::Cpu).expect("expected");
        assert_eq!(max_diff(&ours, &expected), 0.0);
    }

    #[test]
    fn zero_weights_give_age_zero_and_even_gender_odds_and_bad_boxes_fail() {
        let net = AgeGenderNet::new(VarBuilder::zeros(DType::F32, &Device::Cpu)).expect("net");
        let frame = gray_frame(40, 30, &[90; 40 * 30]);
        let view = frame.view().expect("view");
        let box_px = BoxPx {
            x: 3.0,
            y: 4.0,
            width: 30.0,
            height: 20.0,
        };
        let (age_years, gender_female) = net.age_gender(&view, &box_px).expect("age/gender");
        assert_eq!(age_years, 0.0);
        assert!((gender_female - 0.5).abs() < 1e-6);
        let outside = BoxPx {
            x: 0.0,
            y: 31.0,
            width: 10.0,
            height: 10.0,
        };
        match net.age_gender(&view, &outside) {
            Err(VisionError::InvalidOption(message)) => assert!(message.contains("face box"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
}
