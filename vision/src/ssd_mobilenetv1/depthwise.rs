//! MobileNet's depthwise layer as one direct kernel: 3x3 depthwise convolution
//! with TF `same` padding (stride 2 pads only bottom/right), the batch norm
//! folded into weights and bias at load, then ReLU6.
//!
//! A candle custom op rather than `conv2d` with `groups`: candle runs a grouped
//! convolution group by group, which for 512 or 1024 channels costs far more
//! than the 9 multiply-adds per output value, and candle's symmetric padding
//! cannot express TF's bottom/right-only padding at stride 2.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, bail};

const KERNEL: usize = 3;
/// Outputs computed together, kept in registers across the 9 taps (two SSE
/// or one AVX register): each input value is loaded once per tap instead of
/// the output being loaded and stored once per tap.
const LANES: usize = 8;

/// One output row at stride `S`: `out[x] = ReLU6(bias + Σ kernel[ky][kx] ·
/// rows[ky][x·S + kx])`, summed in (ky, kx) order.
fn output_row<const S: usize>(rows: [&[f32]; KERNEL], kernel: &[f32], bias: f32, out: &mut [f32]) {
    let tap = |acc: f32, x: usize| {
        rows.iter()
            .zip(kernel.chunks_exact(KERNEL))
            .fold(acc, |acc, (row, weights)| {
                weights
                    .iter()
                    .enumerate()
                    .fold(acc, |acc, (kx, &w)| acc + w * row[x * S + kx])
            })
    };
    let full = out.len() / LANES * LANES;
    for (chunk_index, chunk) in out[..full].chunks_exact_mut(LANES).enumerate() {
        let first = chunk_index * LANES * S;
        let mut acc = [bias; LANES];
        for (row, weights) in rows.iter().zip(kernel.chunks_exact(KERNEL)) {
            let window = &row[first..first + (LANES - 1) * S + KERNEL];
            for (kx, &w) in weights.iter().enumerate() {
                for (i, a) in acc.iter_mut().enumerate() {
                    *a += w * window[i * S + kx];
                }
            }
        }
        for (o, a) in chunk.iter_mut().zip(acc) {
            *o = a.clamp(0.0, 6.0);
        }
    }
    for (x, o) in out.iter_mut().enumerate().skip(full) {
        *o = tap(bias, x).clamp(0.0, 6.0);
    }
}

/// TF `same` padding along one axis: (output length, padding before, padding
/// after); an odd total puts the extra pixel after.
pub(super) fn same_padding(len: usize, kernel: usize, stride: usize) -> (usize, usize, usize) {
    let out = len.div_ceil(stride);
    let total = ((out - 1) * stride + kernel).saturating_sub(len);
    (out, total / 2, total - total / 2)
}

/// One depthwise layer, weights laid out `[channel][ky][kx]`.
#[derive(Debug, Clone)]
pub(super) struct DepthwiseRelu6 {
    weights: Vec<f32>,
    bias: Vec<f32>,
    stride: usize,
}

impl DepthwiseRelu6 {
    /// `weights` holds 9 values per channel, `bias` one; stride 1 or 2.
    pub(super) fn new(weights: Vec<f32>, bias: Vec<f32>, stride: usize) -> Result<Self> {
        if weights.len() != bias.len() * KERNEL * KERNEL || !(1..=2).contains(&stride) {
            bail!(
                "depthwise: {} weights for {} channels at stride {stride}",
                weights.len(),
                bias.len()
            );
        }
        Ok(Self { weights, bias, stride })
    }

    /// `[n, c, h, w]` → `[n, c, ceil(h / stride), ceil(w / stride)]`.
    pub(super) fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        xs.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for DepthwiseRelu6 {
    fn name(&self) -> &'static str {
        "depthwise3x3-relu6"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (batch, channels, height, width) = layout.shape().dims4()?;
        if channels != self.bias.len() {
            bail!("depthwise: input has {channels} channels, weights {}", self.bias.len());
        }
        let Some((start, end)) = layout.contiguous_offsets() else {
            return Err(candle_core::Error::RequiresContiguous { op: self.name() });
        };
        let input = &storage.as_slice::<f32>()?[start..end];
        let stride = self.stride;
        let (out_h, pad_top, _) = same_padding(height, KERNEL, stride);
        let (out_w, pad_left, _) = same_padding(width, KERNEL, stride);
        // One zero-padded plane, reused (only its interior is ever written,
        // so the border stays zero): the inner loops need no bounds tests.
        let padded_w = (out_w - 1) * stride + KERNEL;
        let padded_h = (out_h - 1) * stride + KERNEL;
        let mut padded = vec![0f32; padded_w * padded_h];
        let mut output = vec![0f32; batch * channels * out_h * out_w];
        let planes = input
            .chunks_exact(height * width)
            .zip(output.chunks_exact_mut(out_h * out_w));
        for (plane_index, (plane, out_plane)) in planes.enumerate() {
            let channel = plane_index % channels;
            for (row, source) in plane.chunks_exact(width).enumerate() {
                let offset = (row + pad_top) * padded_w + pad_left;
                padded[offset..offset + width].copy_from_slice(source);
            }
            let kernel = &self.weights[channel * KERNEL * KERNEL..][..KERNEL * KERNEL];
            for (out_y, out_row) in out_plane.chunks_exact_mut(out_w).enumerate() {
                let rows: [&[f32]; KERNEL] =
                    std::array::from_fn(|ky| &padded[(out_y * stride + ky) * padded_w..][..padded_w]);
                if stride == 1 {
                    output_row::<1>(rows, kernel, self.bias[channel], out_row);
                } else {
                    output_row::<2>(rows, kernel, self.bias[channel], out_row);
                }
            }
        }
        Ok((CpuStorage::F32(output), Shape::from((batch, channels, out_h, out_w))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{D, Device};

    /// The same layer through candle's grouped convolution, padded by hand.
    fn reference(xs: &Tensor, weights: &[f32], bias: &[f32], stride: usize) -> Tensor {
        let (_, channels, height, width) = xs.dims4().expect("dims");
        let (_, top, bottom) = same_padding(height, KERNEL, stride);
        let (_, left, right) = same_padding(width, KERNEL, stride);
        let kernel = Tensor::from_slice(weights, (channels, 1, KERNEL, KERNEL), &Device::Cpu).expect("kernel");
        let bias = Tensor::from_slice(bias, (1, channels, 1, 1), &Device::Cpu).expect("bias");
        xs.pad_with_zeros(D::Minus2, top, bottom)
            .and_then(|t| t.pad_with_zeros(D::Minus1, left, right))
            .and_then(|t| t.conv2d(&kernel, 0, stride, 1, channels))
            .and_then(|t| t.broadcast_add(&bias))
            .and_then(|t| t.clamp(0f32, 6f32))
            .expect("grouped conv")
    }

    #[test]
    fn same_padding_puts_the_odd_pixel_after() {
        assert_eq!(same_padding(256, 3, 2), (128, 0, 1));
        assert_eq!(same_padding(7, 3, 2), (4, 1, 1));
        assert_eq!(same_padding(16, 3, 1), (16, 1, 1));
        assert_eq!(same_padding(2, 3, 2), (1, 0, 1));
        assert_eq!(same_padding(8, 1, 1), (8, 0, 0));
    }

    #[test]
    fn matches_candle_grouped_convolution_at_both_strides() {
        // Width 19: at stride 1, two 8-wide chunks and a tail of 3; at stride
        // 2, one chunk and a tail of 2.
        let (channels, height, width) = (5, 9, 19);
        // Values spread over negative and positive, some above 6 after the
        // convolution, so the clamp is exercised at both ends.
        let input: Vec<f32> = (0..2 * channels * height * width)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 10.0)
            .collect();
        let xs = Tensor::from_vec(input, (2, channels, height, width), &Device::Cpu).expect("input");
        let weights: Vec<f32> = (0..channels * 9).map(|i| ((i * 13 % 17) as f32 - 8.0) / 8.0).collect();
        let bias: Vec<f32> = (0..channels).map(|c| c as f32 - 2.0).collect();
        for stride in [1, 2] {
            let layer = DepthwiseRelu6::new(weights.clone(), bias.clone(), stride).expect("layer");
            let ours = layer.forward(&xs).expect("forward");
            let theirs = reference(&xs, &weights, &bias, stride);
            assert_eq!(ours.dims(), theirs.dims(), "stride {stride}");
            let diff = (ours - theirs)
                .and_then(|t| t.abs())
                .and_then(|t| t.flatten_all())
                .and_then(|t| t.max(0))
                .and_then(|t| t.to_scalar::<f32>())
                .expect("diff");
            assert!(diff < 1e-5, "stride {stride}: differs by {diff}");
        }
    }

    #[test]
    fn refuses_mismatched_weights() {
        assert!(DepthwiseRelu6::new(vec![0.0; 17], vec![0.0; 2], 1).is_err());
        assert!(DepthwiseRelu6::new(vec![0.0; 18], vec![0.0; 2], 3).is_err());
        let layer = DepthwiseRelu6::new(vec![0.0; 18], vec![0.0; 2], 1).expect("layer");
        let xs = Tensor::zeros((1, 3, 4, 4), candle_core::DType::F32, &Device::Cpu).expect("zeros");
        assert!(layer.forward(&xs).is_err());
    }
}
