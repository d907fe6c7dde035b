//! Layers shared by the face models, built from TF.js checkpoints: TF stores
//! convolution filters as `[kh, kw, in, out]` (depthwise `[kh, kw, in, 1]`);
//! candle wants `[out, in / groups, kh, kw]`, so filters are permuted once at
//! load. Names are the checkpoint's own (`conv0/filters`, …).

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

use crate::conv3x3::{BiasLeaky, DepthwiseConv3x3, MaxPool2x2Same, Relu};

/// Convolution weights in candle's layout `[out, in, k, k]` and the bias
/// `[out]`, from `{prefix}/filters` and `{prefix}/bias`.
pub fn conv_weights(
    vb: &VarBuilder,
    prefix: &str,
    in_c: usize,
    out_c: usize,
    kernel: usize,
) -> Result<(Tensor, Tensor)> {
    let filters = vb.get((kernel, kernel, in_c, out_c), &format!("{prefix}/filters"))?;
    let bias = vb.get(out_c, &format!("{prefix}/bias"))?;
    Ok((filters.permute((3, 2, 0, 1))?.contiguous()?, bias))
}

/// A convolution with bias, from `{prefix}/filters` and `{prefix}/bias`.
pub fn conv2d(
    vb: &VarBuilder,
    prefix: &str,
    in_c: usize,
    out_c: usize,
    kernel: usize,
    padding: usize,
) -> Result<Conv2d> {
    let (weight, bias) = conv_weights(vb, prefix, in_c, out_c, kernel)?;
    let config = Conv2dConfig {
        padding,
        ..Conv2dConfig::default()
    };
    Ok(Conv2d::new(weight, Some(bias), config))
}

/// Depthwise 3x3 (padding 1) then pointwise 1x1 with bias, then leaky ReLU:
/// TinyYolov2's `depthwiseSeparableConv`. The depthwise step is the custom
/// kernel; the pointwise step is one matrix product, `[out, in] x [in, h w]`.
#[derive(Debug, Clone)]
pub struct SeparableConv {
    depthwise: DepthwiseConv3x3,
    /// `[out, in]`.
    pointwise: Tensor,
    bias: BiasLeaky,
}

impl SeparableConv {
    /// Loads `{prefix}/depthwise_filter`, `{prefix}/pointwise_filter`, `{prefix}/bias`.
    pub fn new(vb: &VarBuilder, prefix: &str, in_c: usize, out_c: usize) -> Result<Self> {
        let depthwise = vb
            .get((3, 3, in_c, 1), &format!("{prefix}/depthwise_filter"))?
            .permute((2, 3, 0, 1))?;
        let pointwise = vb
            .get((1, 1, in_c, out_c), &format!("{prefix}/pointwise_filter"))?
            .reshape((in_c, out_c))?;
        let bias = vb.get(out_c, &format!("{prefix}/bias"))?;
        Ok(Self {
            depthwise: DepthwiseConv3x3::new(&depthwise.contiguous()?)?,
            pointwise: pointwise.t()?.contiguous()?,
            bias: BiasLeaky::new(&bias)?,
        })
    }
}

impl Module for SeparableConv {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let depthwise = xs.contiguous()?.apply_op1_no_bwd(&self.depthwise)?;
        let (n, in_c, height, width) = depthwise.dims4()?;
        let pixels = depthwise.reshape((n, in_c, height * width))?;
        let out = self.pointwise.broadcast_matmul(&pixels)?;
        // The product is a fresh tensor, so bias and activation go in place.
        out.inplace_op1(&self.bias)?;
        out.reshape((n, (), height, width))
    }
}

/// 2x2 max pooling with TF's `same` padding: the output has `ceil(n / stride)`
/// cells, padding at the bottom and right (see [`MaxPool2x2Same`]).
pub fn max_pool_same(xs: &Tensor, stride: usize) -> Result<Tensor> {
    xs.contiguous()?.apply_op1_no_bwd(&MaxPool2x2Same { stride })
}

/// ReLU that vectorizes on wasm32 too (see `conv3x3::Relu`).
pub fn relu(xs: &Tensor) -> Result<Tensor> {
    xs.contiguous()?.apply_op1_no_bwd(&Relu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn same_max_pool_keeps_ceil_cells_and_the_edge_maximum() {
        let xs = Tensor::new(&[[[[1f32, 5., 2.], [3., 4., 9.], [7., 0., 6.]]]], &Device::Cpu).expect("tensor");
        let stride_2 = max_pool_same(&xs, 2).expect("pool");
        assert_eq!(
            stride_2
                .squeeze(0)
                .and_then(|t| t.squeeze(0))
                .and_then(|t| t.to_vec2::<f32>())
                .expect("2d"),
            vec![vec![5., 9.], vec![7., 6.]]
        );
        let stride_1 = max_pool_same(&xs, 1).expect("pool");
        assert_eq!(
            stride_1
                .squeeze(0)
                .and_then(|t| t.squeeze(0))
                .and_then(|t| t.to_vec2::<f32>())
                .expect("2d"),
            vec![vec![5., 9., 9.], vec![7., 9., 9.], vec![7., 6., 6.]]
        );
    }
}
