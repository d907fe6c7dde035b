//! face-api's face feature extractors, the trunk the 68-point landmark nets
//! (and later the expression net) put their fully connected head on (face-api's
//! `FaceProcessor`): dense blocks of depthwise-separable convolutions with ReLU
//! and residual sums, then an average pool down to one cell.
//!
//! Every convolution is 3x3 with TF's `same` padding. At stride 2 on an even
//! side TF pads one row and column at the bottom and right only, which candle's
//! symmetric `padding` cannot express: the input convolution pads explicitly,
//! the depthwise ones take every other cell of a stride-1 result.
//! The checkpoints have no batch norm or scale/offset: nothing to fold.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::conv3x3::DepthwiseConv3x3;
use crate::layers::relu;

/// Side of every spatial kernel in these nets.
const KERNEL: usize = 3;

/// Zero padding `(before, after)` TF's `same` adds to a side of `len` cells.
fn same_padding(len: usize, stride: usize) -> (usize, usize) {
    let out = len.div_ceil(stride);
    let total = ((out - 1) * stride + KERNEL).saturating_sub(len);
    (total / 2, total - total / 2)
}

/// A 3x3 depthwise convolution with TF `same` padding at stride 1 or 2, no
/// bias, on the crate's hand-written kernel (candle runs a grouped convolution
/// one group at a time, which made it most of these nets' time).
#[derive(Debug, Clone)]
struct SameDepthwise3x3 {
    /// Stride 1, zero padding 1: TF's `same` at stride 1.
    op: DepthwiseConv3x3,
    stride: usize,
}

impl Module for SameDepthwise3x3 {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let full = xs.contiguous()?.apply_op1_no_bwd(&self.op)?;
        if self.stride == 1 {
            return Ok(full);
        }
        // At stride 2, output cell i reads input cells 2i - before .. 2i - before
        // + 2, the window the stride-1 output centres on cell 2i + 1 - before.
        // So it is every other cell of the stride-1 output, from 1 - before
        // (which is 0 or 1); an odd side gets one zero cell at the end to pair up.
        let (n, channels, height, width) = full.dims4()?;
        let (top, _) = same_padding(height, 2);
        let (left, _) = same_padding(width, 2);
        let (out_height, out_width) = (height.div_ceil(2), width.div_ceil(2));
        full.pad_with_zeros(2, 0, height % 2)?
            .pad_with_zeros(3, 0, width % 2)?
            .reshape((n, channels, out_height, 2, out_width, 2))?
            .narrow(3, 1 - top, 1)?
            .narrow(5, 1 - left, 1)?
            .reshape((n, channels, out_height, out_width))
    }
}

/// The first layer of a trunk: a plain 3x3 convolution with bias, TF `same`
/// at stride 2, from `{prefix}/filters` `[3, 3, in, out]` and `{prefix}/bias`.
#[derive(Debug, Clone)]
pub(crate) struct InputConv {
    /// candle layout `[out, in, 3, 3]`.
    weight: Tensor,
    /// `[1, out, 1, 1]`, broadcast over NCHW.
    bias: Tensor,
}

impl InputConv {
    pub(crate) fn new(vb: &VarBuilder, prefix: &str, in_c: usize, out_c: usize) -> Result<Self> {
        let weight = vb
            .get((KERNEL, KERNEL, in_c, out_c), &format!("{prefix}/filters"))?
            .permute((3, 2, 0, 1))?
            .contiguous()?;
        let bias = vb.get(out_c, &format!("{prefix}/bias"))?.reshape((1, out_c, 1, 1))?;
        Ok(Self { weight, bias })
    }
}

impl Module for InputConv {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (_, _, height, width) = xs.dims4()?;
        let (top, bottom) = same_padding(height, 2);
        let (left, right) = same_padding(width, 2);
        let padded = xs.pad_with_zeros(2, top, bottom)?.pad_with_zeros(3, left, right)?;
        padded.conv2d(&self.weight, 0, 2, 1, 1)?.broadcast_add(&self.bias)
    }
}

/// face-api's `depthwiseSeparableConv`: a 3x3 depthwise convolution (`same`,
/// the given stride), a 1x1 pointwise convolution, then the bias; no
/// activation (the dense block applies ReLU to the sums).
#[derive(Debug, Clone)]
pub(crate) struct SeparableConv {
    depthwise: SameDepthwise3x3,
    /// `[out, in]`: the 1x1 convolution as one matrix product over the
    /// pixels, which candle runs faster than its `conv2d`.
    pointwise: Tensor,
    /// `[out, 1]`, broadcast over the pixels.
    bias: Tensor,
}

impl SeparableConv {
    /// Loads `{prefix}/depthwise_filter` `[3, 3, in, 1]`,
    /// `{prefix}/pointwise_filter` `[1, 1, in, out]` and `{prefix}/bias`.
    pub(crate) fn new(vb: &VarBuilder, prefix: &str, in_c: usize, out_c: usize, stride: usize) -> Result<Self> {
        let depthwise = vb
            .get((KERNEL, KERNEL, in_c, 1), &format!("{prefix}/depthwise_filter"))?
            .permute((2, 3, 0, 1))?
            .contiguous()?;
        let pointwise = vb
            .get((1, 1, in_c, out_c), &format!("{prefix}/pointwise_filter"))?
            .reshape((in_c, out_c))?
            .t()?
            .contiguous()?;
        Ok(Self {
            depthwise: SameDepthwise3x3 {
                op: DepthwiseConv3x3::new(&depthwise)?,
                stride,
            },
            pointwise,
            bias: vb.get(out_c, &format!("{prefix}/bias"))?.reshape((out_c, 1))?,
        })
    }
}

impl Module for SeparableConv {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let depthwise = self.depthwise.forward(xs)?;
        let (n, in_c, height, width) = depthwise.dims4()?;
        let pixels = depthwise.reshape((n, in_c, height * width))?;
        let out = self.pointwise.broadcast_matmul(&pixels)?.broadcast_add(&self.bias)?;
        out.reshape((n, (), height, width))
    }
}

/// The downsampling first convolution of a dense block.
#[derive(Debug, Clone)]
enum BlockEntry {
    /// The trunk's first block reads the RGB input with a plain convolution.
    Input(InputConv),
    /// Later blocks use a separable one.
    Separable(SeparableConv),
}

/// face-api's `denseBlock3` / `denseBlock4`: `out1 = relu(conv0(x))` at stride
/// 2, then each further convolution reads the ReLU of the sum of all outputs so
/// far, and the block returns the ReLU of the sum of all outputs.
#[derive(Debug, Clone)]
struct DenseBlock {
    entry: BlockEntry,
    /// conv1, conv2 (and conv3 in a `denseBlock4`), stride 1.
    rest: Vec<SeparableConv>,
}

impl DenseBlock {
    /// Loads `{prefix}/conv0` … `{prefix}/conv{convs - 1}`.
    fn new(vb: &VarBuilder, prefix: &str, in_c: usize, out_c: usize, convs: usize, first: bool) -> Result<Self> {
        let conv0 = format!("{prefix}/conv0");
        let entry = if first {
            BlockEntry::Input(InputConv::new(vb, &conv0, in_c, out_c)?)
        } else {
            BlockEntry::Separable(SeparableConv::new(vb, &conv0, in_c, out_c, 2)?)
        };
        let rest = (1..convs)
            .map(|i| SeparableConv::new(vb, &format!("{prefix}/conv{i}"), out_c, out_c, 1))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { entry, rest })
    }
}

impl Module for DenseBlock {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let out1 = relu(&match &self.entry {
            BlockEntry::Input(conv) => conv.forward(xs)?,
            BlockEntry::Separable(conv) => conv.forward(xs)?,
        })?;
        let mut sum = out1.clone();
        let mut input = out1;
        for conv in &self.rest {
            sum = (sum + conv.forward(&input)?)?;
            input = relu(&sum)?;
        }
        Ok(input)
    }
}

/// Dense blocks then an average pool (kernel `pool`, stride 2, `valid`),
/// flattened to `[n, channels]`.
#[derive(Debug, Clone)]
pub(crate) struct FeatureExtractor {
    blocks: Vec<DenseBlock>,
    pool: usize,
}

impl FeatureExtractor {
    /// face-api's `FaceFeatureExtractor`: four `denseBlock4` (3→32→64→128→256)
    /// and a 7x7 pool; at input 112 the result is `[n, 256]`.
    pub(crate) fn full(vb: &VarBuilder) -> Result<Self> {
        Self::new(vb, &[32, 64, 128, 256], 4, 7)
    }

    /// face-api's `TinyFaceFeatureExtractor`: three `denseBlock3`
    /// (3→32→64→128) and a 14x14 pool; at input 112 the result is `[n, 128]`.
    pub(crate) fn tiny(vb: &VarBuilder) -> Result<Self> {
        Self::new(vb, &[32, 64, 128], 3, 14)
    }

    fn new(vb: &VarBuilder, channels: &[usize], convs: usize, pool: usize) -> Result<Self> {
        let blocks = channels
            .iter()
            .enumerate()
            .map(|(i, &out_c)| {
                let in_c = if i == 0 { 3 } else { channels[i - 1] };
                DenseBlock::new(vb, &format!("dense{i}"), in_c, out_c, convs, i == 0)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { blocks, pool })
    }
}

impl Module for FeatureExtractor {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let mut xs = xs.clone();
        for block in &self.blocks {
            xs = block.forward(&xs)?;
        }
        // At input 112 the pool covers the whole last map: one cell per channel.
        xs.avg_pool2d_with_stride(self.pool, 2)?.flatten_from(1)
    }
}

/// face-api's `fullyConnectedLayer` head, from `fc/weights` `[in, out]` (TF
/// order; candle's `Linear` wants `[out, in]`) and `fc/bias`.
pub(crate) fn fully_connected(vb: &VarBuilder, in_c: usize, out_c: usize) -> Result<Linear> {
    let weights = vb.get((in_c, out_c), "fc/weights")?.t()?.contiguous()?;
    Ok(Linear::new(weights, Some(vb.get(out_c, "fc/bias")?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn same_padding_is_tf_s() {
        // Stride 2 on an even side: one cell, after. On an odd side: one each.
        assert_eq!(same_padding(112, 2), (0, 1));
        assert_eq!(same_padding(7, 2), (1, 1));
        // Stride 1: one each side, whatever the length.
        assert_eq!(same_padding(56, 1), (1, 1));
        assert_eq!(same_padding(7, 1), (1, 1));
    }

    #[test]
    fn strided_depthwise_matches_a_padded_grouped_convolution() {
        // Odd height, even width: both ways TF splits the padding.
        let (channels, height, width) = (3, 7, 8);
        let values: Vec<f32> = (0..channels * height * width)
            .map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0)
            .collect();
        let xs = Tensor::from_vec(values, (1, channels, height, width), &Device::Cpu).expect("xs");
        let taps: Vec<f32> = (0..channels * 9).map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0).collect();
        let weight = Tensor::from_vec(taps, (channels, 1, 3, 3), &Device::Cpu).expect("weight");
        let (top, bottom) = same_padding(height, 2);
        let (left, right) = same_padding(width, 2);
        let expected = xs
            .pad_with_zeros(2, top, bottom)
            .and_then(|t| t.pad_with_zeros(3, left, right))
            .and_then(|t| t.conv2d(&weight, 0, 2, 1, channels))
            .expect("reference");
        let layer = SameDepthwise3x3 {
            op: DepthwiseConv3x3::new(&weight).expect("op"),
            stride: 2,
        };
        let ours = layer.forward(&xs).expect("forward");
        assert_eq!(ours.dims(), &[1, channels, 4, 4]);
        let diff = (ours - expected)
            .and_then(|d| d.abs())
            .and_then(|d| d.flatten_all())
            .and_then(|d| d.max(0))
            .and_then(|d| d.to_scalar::<f32>())
            .expect("diff");
        assert!(diff < 1e-5, "differs by {diff}");
    }
}
