//! Convolutions with TF `same` padding (at stride 2 only bottom/right), bias
//! and optional ReLU6: face-api's `pointwiseConvLayer` and the box
//! predictors' `convLayer`.
//!
//! Every convolution is one matrix product `[out, in·k·k] × [in·k·k, pixels]`
//! that lands directly in NCHW: 1x1 convolutions multiply the input as it is,
//! larger kernels first gather it into columns with the padding built in.
//! candle's `conv2d` gathers and transposes more (the 3→32 first layer at 512
//! took 37 ms through it, 6 ms this way, one thread), and its
//! broadcast add and clamp make three passes and three allocations where one
//! in-place pass does. The network spends most of its time in these layers.

use candle_core::{CpuStorage, CustomOp1, InplaceOp1, Layout, Result, Shape, Tensor, bail};
use candle_nn::VarBuilder;

use super::depthwise::same_padding;

/// Adds a per-channel bias to an NCHW tensor in place, then clamps to 0..6 if
/// `relu6`.
#[derive(Debug, Clone)]
struct BiasActivation {
    bias: Vec<f32>,
    relu6: bool,
}

impl InplaceOp1 for BiasActivation {
    fn name(&self) -> &'static str {
        "bias-relu6"
    }

    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let (_, channels, height, width) = layout.shape().dims4()?;
        if channels != self.bias.len() {
            bail!("bias: input has {channels} channels, bias {}", self.bias.len());
        }
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(candle_core::Error::RequiresContiguous { op: self.name() });
        };
        let CpuStorage::F32(values) = storage else {
            bail!("bias: f32 only");
        };
        for (plane_index, plane) in values[start..end].chunks_exact_mut(height * width).enumerate() {
            let bias = self.bias[plane_index % channels];
            if self.relu6 {
                plane.iter_mut().for_each(|v| *v = (*v + bias).clamp(0.0, 6.0));
            } else {
                plane.iter_mut().for_each(|v| *v += bias);
            }
        }
        Ok(())
    }
}

/// Gathers `[n, c, h, w]` into the columns `[n, c·k·k, out_h·out_w]` of a
/// k×k convolution with TF `same` padding: row `(c·k + ky)·k + kx`, column
/// `oy·out_w + ox` holds the input at `(oy·stride + ky − top, ox·stride + kx
/// − left)`, zero outside.
#[derive(Debug, Clone, Copy)]
struct SameColumns {
    kernel: usize,
    stride: usize,
}

impl CustomOp1 for SameColumns {
    fn name(&self) -> &'static str {
        "same-im2col"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (batch, channels, height, width) = layout.shape().dims4()?;
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(candle_core::Error::RequiresContiguous { op: self.name() });
        };
        let input = &storage.as_slice::<f32>()?[start..end];
        let Self { kernel, stride } = *self;
        let (out_h, top, _) = same_padding(height, kernel, stride);
        let (out_w, left, _) = same_padding(width, kernel, stride);
        let mut columns = vec![0f32; batch * channels * kernel * kernel * out_h * out_w];
        let rows = columns.chunks_exact_mut(out_h * out_w);
        for (row_index, row) in rows.enumerate() {
            let (plane_index, tap) = (row_index / (kernel * kernel), row_index % (kernel * kernel));
            let (ky, kx) = (tap / kernel, tap % kernel);
            let plane = &input[plane_index * height * width..][..height * width];
            for (oy, out_row) in row.chunks_exact_mut(out_w).enumerate() {
                // Rows and columns in the padding stay zero.
                let Some(y) = (oy * stride + ky).checked_sub(top).filter(|&y| y < height) else {
                    continue;
                };
                let in_row = &plane[y * width..][..width];
                for (ox, out) in out_row.iter_mut().enumerate() {
                    if let Some(&x) = (ox * stride + kx).checked_sub(left).and_then(|x| in_row.get(x)) {
                        *out = x;
                    }
                }
            }
        }
        let shape = (batch, channels * kernel * kernel, out_h * out_w);
        Ok((CpuStorage::F32(columns), Shape::from(shape)))
    }
}

/// A convolution with bias and TF `same` padding, optionally followed by ReLU6.
#[derive(Debug, Clone)]
pub(super) struct SameConv {
    /// `[out, in·k·k]`, columns ordered as `SameColumns` gathers.
    weight: Tensor,
    kernel: usize,
    stride: usize,
    epilogue: BiasActivation,
}

impl SameConv {
    /// Loads `{weights}` (TF layout `[k, k, in, out]`) and `{bias}`.
    fn new(
        vb: &VarBuilder,
        names: (&str, &str),
        channels: (usize, usize),
        kernel: usize,
        stride: usize,
        relu6: bool,
    ) -> Result<Self> {
        let (weights, bias) = names;
        let (in_c, out_c) = channels;
        let filters = vb.get((kernel, kernel, in_c, out_c), weights)?;
        let weight = filters
            .permute((3, 2, 0, 1))?
            .reshape((out_c, in_c * kernel * kernel))?
            .contiguous()?;
        let bias = vb.get(out_c, bias)?.to_vec1::<f32>()?;
        Ok(Self {
            weight,
            kernel,
            stride,
            epilogue: BiasActivation { bias, relu6 },
        })
    }

    /// `{prefix}_pointwise/weights` and `convolution_bn_offset`, then ReLU6:
    /// face-api's `pointwiseConvLayer` (the checkpoint calls its 3x3 head
    /// convolutions "pointwise" too).
    pub(super) fn pointwise(
        vb: &VarBuilder,
        prefix: &str,
        channels: (usize, usize),
        kernel: usize,
        stride: usize,
    ) -> Result<Self> {
        let weights = format!("{prefix}_pointwise/weights");
        let bias = format!("{prefix}_pointwise/convolution_bn_offset");
        Self::new(vb, (&weights, &bias), channels, kernel, stride, true)
    }

    /// `{prefix}/weights` and `{prefix}/biases`, 1x1, no activation: a box
    /// predictor's `convLayer`.
    pub(super) fn predictor(vb: &VarBuilder, prefix: &str, in_c: usize, out_c: usize) -> Result<Self> {
        let (weights, bias) = (format!("{prefix}/weights"), format!("{prefix}/biases"));
        Self::new(vb, (&weights, &bias), (in_c, out_c), 1, 1, false)
    }

    /// `[n, in, h, w]` → `[n, out, ceil(h / stride), ceil(w / stride)]`.
    pub(super) fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let (batch, in_c, height, width) = xs.dims4()?;
        let columns = if self.kernel == 1 && self.stride == 1 {
            xs.reshape((batch, in_c, height * width))?
        } else {
            xs.contiguous()?.apply_op1_no_bwd(&SameColumns {
                kernel: self.kernel,
                stride: self.stride,
            })?
        };
        let (out_h, _, _) = same_padding(height, self.kernel, self.stride);
        let (out_w, _, _) = same_padding(width, self.kernel, self.stride);
        let ys = self
            .weight
            .broadcast_matmul(&columns)?
            .reshape((batch, self.weight.dim(0)?, out_h, out_w))?;
        // `ys` is a fresh tensor nothing else shares: safe to change in place.
        ys.inplace_op1(&self.epilogue)?;
        Ok(ys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::max_diff;
    use candle_core::{DType, Device};
    use std::collections::HashMap;

    /// A layer from hand-made TF-layout tensors.
    fn layer(kernel: usize, stride: usize, relu6: bool) -> (SameConv, Tensor, Tensor) {
        let (in_c, out_c) = (3, 4);
        let filters: Vec<f32> = (0..kernel * kernel * in_c * out_c)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let filters = Tensor::from_vec(filters, (kernel, kernel, in_c, out_c), &Device::Cpu).expect("filters");
        let bias = Tensor::new(&[-1f32, 0.5, 2.0, 0.0], &Device::Cpu).expect("bias");
        let tensors = HashMap::from([("w".to_string(), filters.clone()), ("b".to_string(), bias.clone())]);
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let conv = SameConv::new(&vb, ("w", "b"), (in_c, out_c), kernel, stride, relu6).expect("layer");
        (conv, filters, bias)
    }

    #[test]
    fn matches_candle_conv2d_with_tf_same_padding() {
        let input: Vec<f32> = (0..2 * 3 * 6 * 5)
            .map(|i| ((i * 29 % 23) as f32 - 11.0) / 3.0)
            .collect();
        let xs = Tensor::from_vec(input, (2, 3, 6, 5), &Device::Cpu).expect("input");
        for (kernel, stride, relu6) in [(1, 1, true), (1, 1, false), (3, 2, true)] {
            let (conv, filters, bias) = layer(kernel, stride, relu6);
            let ours = conv.forward(&xs).expect("forward");
            // TF same at stride 2: 6 rows → 3, pad (0, 1); 5 columns → 3, pad (1, 1).
            let (pad_rows, pad_cols) = if kernel == 3 {
                ((0, 1), (1, 1))
            } else {
                ((0, 0), (0, 0))
            };
            let weight = filters.permute((3, 2, 0, 1)).expect("permute");
            let mut theirs = xs
                .pad_with_zeros(2, pad_rows.0, pad_rows.1)
                .and_then(|t| t.pad_with_zeros(3, pad_cols.0, pad_cols.1))
                .and_then(|t| t.conv2d(&weight, 0, stride, 1, 1))
                .and_then(|t| t.broadcast_add(&bias.reshape((1, 4, 1, 1))?))
                .expect("reference");
            if relu6 {
                theirs = theirs.clamp(0f32, 6f32).expect("clamp");
            }
            assert_eq!(ours.dims(), theirs.dims());
            let diff = max_diff(&ours, &theirs);
            assert!(diff < 1e-5, "kernel {kernel} stride {stride} relu6 {relu6}: {diff}");
        }
    }
}
