//! Hand-written 3x3 convolutions for the CPU, as candle custom ops.
//!
//! Written by hand for speed (measured in `benches/tiny_face_detector.rs`):
//! candle runs a grouped convolution one group at a time, so a depthwise
//! layer costs milliseconds for a million multiply-adds, and its general
//! convolution is slow on a 3-channel input at full resolution. Both are
//! plain stencils over rows: each output row accumulates three input rows
//! times three taps, in place, while the row sits in L1. `multiversion`
//! compiles the inner loops for AVX2 as well and picks at run time; on wasm32
//! the crate is built with simd128.

use candle_core::{CpuStorage, CustomOp1, InplaceOp1, Layout, Result, Shape};
use multiversion::multiversion;

/// `out[x] += sum over ky of taps[ky] . rows[ky][x..x + 3]`: a whole 3x3
/// window over three input rows in one pass, so the output row is loaded and
/// stored once per three rows. Every slice is cut to the row's exact length
/// first, which lets the compiler drop bounds checks and vectorize.
#[multiversion(targets("x86_64+avx2+fma"))]
fn add_window_row(out: &mut [f32], rows: [&[f32]; 3], taps: &[[f32; 3]; 3]) {
    let n = out.len();
    let [top, middle, bottom] = rows;
    let (t0, t1, t2) = (&top[..n], &top[1..n + 1], &top[2..n + 2]);
    let (m0, m1, m2) = (&middle[..n], &middle[1..n + 1], &middle[2..n + 2]);
    let (b0, b1, b2) = (&bottom[..n], &bottom[1..n + 1], &bottom[2..n + 2]);
    let [kt, km, kb] = *taps;
    for x in 0..n {
        out[x] += kt[0] * t0[x]
            + kt[1] * t1[x]
            + kt[2] * t2[x]
            + km[0] * m0[x]
            + km[1] * m1[x]
            + km[2] * m2[x]
            + kb[0] * b0[x]
            + kb[1] * b1[x]
            + kb[2] * b2[x];
    }
}

/// The larger of two finite values. `f32::max` must return the operand that
/// is not NaN, which wasm's `f32x4.max` does not do, so on wasm32 the loops
/// using it stayed scalar (calls to `fmaxf`); a plain comparison becomes
/// `f32x4.pmax` there and `vmaxps` on x86. Activations here are never NaN.
#[inline(always)]
fn max_f32(a: f32, b: f32) -> f32 {
    if a > b { a } else { b }
}

/// Leaky ReLU with slope 0.1, in place.
#[multiversion(targets("x86_64+avx2+fma"))]
fn leaky_in_place(values: &mut [f32]) {
    for v in values {
        *v = max_f32(*v, 0.1 * *v);
    }
}

/// Batch, channels, height, width.
type Nchw = (usize, usize, usize, usize);

/// The input as one contiguous f32 slice and its NCHW dims.
fn nchw<'a>(storage: &'a CpuStorage, layout: &Layout) -> Result<(&'a [f32], Nchw)> {
    let dims = layout.shape().dims4()?;
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("3x3 kernel input must be contiguous")
    };
    Ok((&storage.as_slice::<f32>()?[start..end], dims))
}

/// Depthwise 3x3, stride 1, zero padding 1, no bias: one filter per channel.
#[derive(Debug, Clone)]
pub struct DepthwiseConv3x3 {
    /// `[channel][ky][kx]`.
    taps: Vec<[[f32; 3]; 3]>,
}

impl DepthwiseConv3x3 {
    /// From candle-layout weights `[channels, 1, 3, 3]`.
    pub fn new(weights: &candle_core::Tensor) -> Result<Self> {
        let (channels, one, kh, kw) = weights.dims4()?;
        if (one, kh, kw) != (1, 3, 3) {
            candle_core::bail!("depthwise weights must be [c, 1, 3, 3], not {:?}", weights.shape())
        }
        let flat = weights.flatten_all()?.to_vec1::<f32>()?;
        let taps = (0..channels)
            .map(|c| {
                let k = &flat[c * 9..c * 9 + 9];
                [[k[0], k[1], k[2]], [k[3], k[4], k[5]], [k[6], k[7], k[8]]]
            })
            .collect();
        Ok(Self { taps })
    }
}

impl CustomOp1 for DepthwiseConv3x3 {
    fn name(&self) -> &'static str {
        "depthwise-conv3x3"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (input, (n, channels, height, width)) = nchw(storage, layout)?;
        if channels != self.taps.len() {
            candle_core::bail!("depthwise conv for {} channels got {channels}", self.taps.len())
        }
        let plane = height * width;
        let padded_width = width + 2;
        let mut padded = vec![0f32; (height + 2) * padded_width];
        let mut output = vec![0f32; n * channels * plane];
        for (index, (in_plane, out_plane)) in input
            .chunks_exact(plane)
            .zip(output.chunks_exact_mut(plane))
            .enumerate()
        {
            // One zero-bordered copy of the plane makes every row a full stencil.
            for (y, row) in in_plane.chunks_exact(width).enumerate() {
                padded[(y + 1) * padded_width + 1..][..width].copy_from_slice(row);
            }
            let taps = &self.taps[index % channels];
            for (y, out_row) in out_plane.chunks_exact_mut(width).enumerate() {
                let rows = std::array::from_fn(|ky| &padded[(y + ky) * padded_width..][..padded_width]);
                add_window_row(out_row, rows, taps);
            }
        }
        Ok((CpuStorage::F32(output), Shape::from((n, channels, height, width))))
    }
}

/// Full 3x3 convolution, stride 1, no padding, with bias and leaky ReLU, then
/// 2x2 max pooling at stride 2 (TF `same`): TinyFaceDetector's first layer and
/// its pool, fused so the full-resolution activations (11 MB at input 416)
/// never leave L1: each pooled row comes from two convolved rows in scratch.
#[derive(Debug, Clone)]
pub struct Conv3x3LeakyPool {
    /// Per output channel and input channel, the 3x3 window.
    taps: Vec<Vec<[[f32; 3]; 3]>>,
    bias: Vec<f32>,
    in_channels: usize,
}

impl Conv3x3LeakyPool {
    /// From candle-layout weights `[out, in, 3, 3]` and bias `[out]`.
    pub fn new(weights: &candle_core::Tensor, bias: &candle_core::Tensor) -> Result<Self> {
        let (out_channels, in_channels, kh, kw) = weights.dims4()?;
        if (kh, kw) != (3, 3) || bias.dims1()? != out_channels {
            candle_core::bail!(
                "3x3 conv weights {:?} and bias {:?} do not fit",
                weights.shape(),
                bias.shape()
            )
        }
        let flat = weights.flatten_all()?.to_vec1::<f32>()?;
        let taps = flat
            .chunks_exact(in_channels * 9)
            .map(|filter| {
                filter
                    .chunks_exact(9)
                    .map(|k| [[k[0], k[1], k[2]], [k[3], k[4], k[5]], [k[6], k[7], k[8]]])
                    .collect()
            })
            .collect();
        Ok(Self {
            taps,
            bias: bias.to_vec1()?,
            in_channels,
        })
    }
}

impl CustomOp1 for Conv3x3LeakyPool {
    fn name(&self) -> &'static str {
        "conv3x3-leaky-pool"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (input, (n, channels, height, width)) = nchw(storage, layout)?;
        if channels != self.in_channels || height < 3 || width < 3 {
            candle_core::bail!("3x3 conv for {} channels got {:?}", self.in_channels, layout.shape())
        }
        let out_channels = self.bias.len();
        let (conv_height, conv_width) = (height - 2, width - 2);
        let (out_height, out_width) = (conv_height.div_ceil(2), conv_width.div_ceil(2));
        let (in_plane, out_plane) = (height * width, out_height * out_width);
        let mut output = vec![0f32; n * out_channels * out_plane];
        let mut conv_rows = [vec![0f32; conv_width], vec![0f32; conv_width]];
        for (image, out_image) in input
            .chunks_exact(channels * in_plane)
            .zip(output.chunks_exact_mut(out_channels * out_plane))
        {
            // Row-major over output rows: the 4 x in_channels input rows a
            // pooled row needs stay in L1 while every output channel is computed.
            for oy in 0..out_height {
                // The pool's `same` padding repeats the last row.
                let ys = [2 * oy, (2 * oy + 1).min(conv_height - 1)];
                for (oc, (taps, bias)) in self.taps.iter().zip(&self.bias).enumerate() {
                    for (conv_row, y) in conv_rows.iter_mut().zip(ys) {
                        conv_row.fill(*bias);
                        for (ic, window) in taps.iter().enumerate() {
                            let rows = std::array::from_fn(|ky| &image[ic * in_plane + (y + ky) * width..][..width]);
                            add_window_row(conv_row, rows, window);
                        }
                        leaky_in_place(conv_row);
                    }
                    let [top, bottom] = &mut conv_rows;
                    max_into(top, bottom);
                    max_pairs(&mut out_image[oc * out_plane + oy * out_width..][..out_width], top, 2);
                }
            }
        }
        Ok((
            CpuStorage::F32(output),
            Shape::from((n, out_channels, out_height, out_width)),
        ))
    }
}

/// Adds a per-channel bias, then leaky ReLU: the tail of a pointwise
/// convolution done as a matrix product. Fused because candle's elementwise
/// ops, one allocation each, cost more than the product itself here.
#[derive(Debug, Clone)]
pub struct BiasLeaky {
    bias: Vec<f32>,
}

impl BiasLeaky {
    /// For a bias of one value per channel.
    pub fn new(bias: &candle_core::Tensor) -> Result<Self> {
        Ok(Self {
            bias: bias.flatten_all()?.to_vec1()?,
        })
    }
}

#[multiversion(targets("x86_64+avx2+fma"))]
fn add_leaky_in_place(values: &mut [f32], bias: f32) {
    for v in values {
        let x = *v + bias;
        *v = max_f32(x, 0.1 * x);
    }
}

impl InplaceOp1 for BiasLeaky {
    fn name(&self) -> &'static str {
        "bias-leaky"
    }

    /// On `[n, channels, pixels]`, in place: the matrix product's fresh output.
    fn cpu_fwd(&self, storage: &mut CpuStorage, layout: &Layout) -> Result<()> {
        let (_, channels, pixels) = layout.shape().dims3()?;
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("bias-leaky input must be contiguous")
        };
        if channels != self.bias.len() {
            candle_core::bail!("bias for {} channels got {channels}", self.bias.len())
        }
        let CpuStorage::F32(values) = storage else {
            candle_core::bail!("bias-leaky works on f32")
        };
        for (index, plane) in values[start..end].chunks_exact_mut(pixels).enumerate() {
            add_leaky_in_place(plane, self.bias[index % channels]);
        }
        Ok(())
    }
}

/// ReLU into a fresh tensor. candle's own computes `f32::max`, which stays
/// scalar on wasm32 (see [`max_f32`]); the landmark and classifier nets
/// apply it after every convolution.
#[derive(Debug, Clone, Copy)]
pub struct Relu;

#[multiversion(targets("x86_64+avx2+fma"))]
fn relu_into(out: &mut [f32], values: &[f32]) {
    for (o, &v) in out.iter_mut().zip(values) {
        *o = max_f32(v, 0.0);
    }
}

impl CustomOp1 for Relu {
    fn name(&self) -> &'static str {
        "relu"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("relu input must be contiguous")
        };
        let values = &storage.as_slice::<f32>()?[start..end];
        let mut out = vec![0f32; values.len()];
        relu_into(&mut out, values);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// 2x2 max pooling with TF's `same` padding (bottom and right): `ceil(n /
/// stride)` cells a side. Written by hand: candle's pooling plus the padding
/// copy cost several milliseconds on the first layer's 2.7 M values.
#[derive(Debug, Clone, Copy)]
pub struct MaxPool2x2Same {
    /// 1 or 2.
    pub stride: usize,
}

#[multiversion(targets("x86_64+avx2+fma"))]
fn max_rows(out: &mut [f32], top: &[f32], bottom: &[f32]) {
    for ((o, t), b) in out.iter_mut().zip(top).zip(bottom) {
        *o = max_f32(*t, *b);
    }
}

/// `acc[x] = max(acc[x], other[x])`.
#[multiversion(targets("x86_64+avx2+fma"))]
fn max_into(acc: &mut [f32], other: &[f32]) {
    for (a, b) in acc.iter_mut().zip(other) {
        *a = max_f32(*a, *b);
    }
}

/// `out[x] = max(row[s x], row[s x + 1])`, the last pair repeating the edge.
#[multiversion(targets("x86_64+avx2+fma"))]
fn max_pairs(out: &mut [f32], row: &[f32], stride: usize) {
    let width = row.len();
    // Whole pairs first, in a form the compiler vectorizes; then the edge.
    let whole = if stride == 2 { width / 2 } else { width - 1 };
    if stride == 2 {
        for (o, pair) in out.iter_mut().zip(row.chunks_exact(2)) {
            *o = max_f32(pair[0], pair[1]);
        }
    } else {
        for ((o, a), b) in out.iter_mut().zip(row).zip(&row[1..]) {
            *o = max_f32(*a, *b);
        }
    }
    for (o, &edge) in out[whole..].iter_mut().zip(&row[width - 1..]) {
        *o = edge;
    }
}

impl CustomOp1 for MaxPool2x2Same {
    fn name(&self) -> &'static str {
        "max-pool-2x2-same"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (input, (n, channels, height, width)) = nchw(storage, layout)?;
        if !(1..=2).contains(&self.stride) || height == 0 || width == 0 {
            candle_core::bail!("2x2 pooling takes stride 1 or 2 on a non-empty input")
        }
        let (out_height, out_width) = (height.div_ceil(self.stride), width.div_ceil(self.stride));
        let mut output = vec![0f32; n * channels * out_height * out_width];
        // The vertical maximum of two rows, then horizontal pairs of it; the
        // pad repeats the last row or column, which leaves a maximum unchanged.
        let mut vertical = vec![0f32; width];
        for (in_plane, out_plane) in input
            .chunks_exact(height * width)
            .zip(output.chunks_exact_mut(out_height * out_width))
        {
            for (oy, out_row) in out_plane.chunks_exact_mut(out_width).enumerate() {
                let top = oy * self.stride;
                let bottom = (top + 1).min(height - 1);
                max_rows(
                    &mut vertical,
                    &in_plane[top * width..][..width],
                    &in_plane[bottom * width..][..width],
                );
                max_pairs(out_row, &vertical, self.stride);
            }
        }
        Ok((
            CpuStorage::F32(output),
            Shape::from((n, channels, out_height, out_width)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::max_diff;
    use candle_core::{Device, Module, Tensor};
    use candle_nn::{Conv2d, Conv2dConfig};

    /// A deterministic, irregular tensor.
    fn pattern(shape: (usize, usize, usize, usize), seed: u32) -> Tensor {
        let len = shape.0 * shape.1 * shape.2 * shape.3;
        let values: Vec<f32> = (0..len as u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 16) % 2001) as f32 / 1000.0 - 1.0)
            .collect();
        Tensor::from_vec(values, shape, &Device::Cpu).expect("tensor")
    }

    fn reference_leaky(xs: &Tensor) -> Result<Tensor> {
        xs.maximum(&(xs * 0.1)?)
    }

    /// TF `same` 2x2 pooling from candle's own ops: pad by repeating the edge.
    fn reference_pool(xs: &Tensor, stride: usize) -> Tensor {
        let (_, _, height, width) = xs.dims4().expect("4d");
        let pad = |n: usize| ((n.div_ceil(stride) - 1) * stride + 2).saturating_sub(n);
        xs.pad_with_same(2, 0, pad(height))
            .and_then(|t| t.pad_with_same(3, 0, pad(width)))
            .and_then(|t| t.max_pool2d_with_stride(2, stride))
            .expect("reference pool")
    }

    #[test]
    fn relu_matches_candles() {
        let xs = pattern((1, 3, 5, 7), 11);
        let ours = xs.apply_op1_no_bwd(&Relu).expect("relu");
        let reference = xs.relu().expect("relu");
        assert_eq!(ours.dims(), reference.dims());
        let (ours, reference): (Vec<f32>, Vec<f32>) = (
            ours.flatten_all().expect("flat").to_vec1().expect("vec"),
            reference.flatten_all().expect("flat").to_vec1().expect("vec"),
        );
        assert_eq!(ours, reference);
        // The pattern has both signs, so the test would see a no-op.
        assert!(ours.contains(&0.0) && ours.iter().any(|&v| v > 0.0));
    }

    #[test]
    fn depthwise_matches_candles_grouped_convolution() {
        let xs = pattern((2, 5, 9, 21), 1);
        let weights = pattern((5, 1, 3, 3), 2);
        let reference = Conv2d::new(
            weights.clone(),
            None,
            Conv2dConfig {
                padding: 1,
                groups: 5,
                ..Default::default()
            },
        );
        let ours = xs
            .apply_op1_no_bwd(&DepthwiseConv3x3::new(&weights).expect("op"))
            .expect("forward");
        assert!(max_diff(&ours, &reference.forward(&xs).expect("forward")) < 1e-5);
    }

    #[test]
    fn full_conv_matches_candles_convolution_with_leaky_and_pooling() {
        let xs = pattern((1, 3, 11, 20), 3);
        let weights = pattern((4, 3, 3, 3), 4);
        let bias = Tensor::new(&[0.5f32, -0.5, 0.0, 0.1], &Device::Cpu).expect("bias");
        let reference = Conv2d::new(weights.clone(), Some(bias.clone()), Conv2dConfig::default());
        let reference = reference_leaky(&reference.forward(&xs).expect("forward")).expect("leaky");
        // 9 x 18 convolved: the pool's padding repeats the last row.
        let reference = reference_pool(&reference, 2);
        let ours = xs
            .apply_op1_no_bwd(&Conv3x3LeakyPool::new(&weights, &bias).expect("op"))
            .expect("forward");
        assert!(max_diff(&ours, &reference) < 1e-5);
    }

    #[test]
    fn mismatched_inputs_are_errors_not_panics() {
        let op = DepthwiseConv3x3::new(&pattern((4, 1, 3, 3), 5)).expect("op");
        assert!(pattern((1, 3, 4, 4), 6).apply_op1_no_bwd(&op).is_err());
        let weights = pattern((2, 3, 3, 3), 7);
        let bias = Tensor::new(&[0f32, 0.], &Device::Cpu).expect("bias");
        let op = Conv3x3LeakyPool::new(&weights, &bias).expect("op");
        assert!(pattern((1, 3, 2, 9), 8).apply_op1_no_bwd(&op).is_err());
    }

    #[test]
    fn pooling_matches_the_padded_candle_pooling() {
        for (height, width) in [(7, 9), (8, 8), (1, 3)] {
            let xs = pattern((2, 3, height, width), 9);
            for stride in [1, 2] {
                let reference = reference_pool(&xs, stride);
                let ours = xs.apply_op1_no_bwd(&MaxPool2x2Same { stride }).expect("pool");
                assert_eq!(max_diff(&ours, &reference), 0.0, "{height}x{width} stride {stride}");
            }
        }
    }

    #[test]
    fn bias_leaky_matches_broadcast_add_then_leaky() {
        let xs = pattern((2, 3, 10, 1), 10).squeeze(3).expect("3d");
        let bias = Tensor::new(&[0.5f32, -0.25, 0.0], &Device::Cpu).expect("bias");
        let reference =
            reference_leaky(&xs.broadcast_add(&bias.reshape((3, 1)).expect("col")).expect("add")).expect("leaky");
        let ours = xs.copy().expect("copy");
        ours.inplace_op1(&BiasLeaky::new(&bias).expect("op")).expect("op");
        assert!(max_diff(&ours, &reference) < 1e-6);
    }
}
