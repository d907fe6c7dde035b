//! Layers shared by the face models, built from TF.js checkpoints: TF stores
//! convolution filters as `[kh, kw, in, out]` (depthwise `[kh, kw, in, 1]`);
//! candle wants `[out, in / groups, kh, kw]`, so filters are permuted once at
//! load. Names are the checkpoint's own (`conv0/filters`, …).

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

/// A convolution with bias, from `{prefix}/filters` and `{prefix}/bias`.
pub fn conv2d(
    vb: &VarBuilder,
    prefix: &str,
    in_c: usize,
    out_c: usize,
    kernel: usize,
    padding: usize,
) -> Result<Conv2d> {
    let filters = vb.get((kernel, kernel, in_c, out_c), &format!("{prefix}/filters"))?;
    let bias = vb.get(out_c, &format!("{prefix}/bias"))?;
    let weight = filters.permute((3, 2, 0, 1))?.contiguous()?;
    let config = Conv2dConfig {
        padding,
        ..Conv2dConfig::default()
    };
    Ok(Conv2d::new(weight, Some(bias), config))
}

/// Depthwise 3x3 (padding 1) then pointwise 1x1 with bias, then leaky ReLU:
/// TinyYolov2's `depthwiseSeparableConv`.
#[derive(Debug, Clone)]
pub struct SeparableConv {
    depthwise: Conv2d,
    pointwise: Conv2d,
}

impl SeparableConv {
    /// Loads `{prefix}/depthwise_filter`, `{prefix}/pointwise_filter`, `{prefix}/bias`.
    pub fn new(vb: &VarBuilder, prefix: &str, in_c: usize, out_c: usize) -> Result<Self> {
        let depthwise = vb
            .get((3, 3, in_c, 1), &format!("{prefix}/depthwise_filter"))?
            .permute((2, 3, 0, 1))?
            .contiguous()?;
        let pointwise = vb
            .get((1, 1, in_c, out_c), &format!("{prefix}/pointwise_filter"))?
            .permute((3, 2, 0, 1))?
            .contiguous()?;
        let bias = vb.get(out_c, &format!("{prefix}/bias"))?;
        Ok(Self {
            depthwise: Conv2d::new(
                depthwise,
                None,
                Conv2dConfig {
                    padding: 1,
                    groups: in_c,
                    ..Conv2dConfig::default()
                },
            ),
            pointwise: Conv2d::new(pointwise, Some(bias), Conv2dConfig::default()),
        })
    }
}

impl Module for SeparableConv {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        leaky(&self.pointwise.forward(&self.depthwise.forward(xs)?)?)
    }
}

/// Leaky ReLU with slope 0.1: `max(x, 0.1 x)`.
pub fn leaky(xs: &Tensor) -> Result<Tensor> {
    xs.maximum(&(xs * 0.1)?)
}

/// 2x2 max pooling with TF's `same` padding: the output has `ceil(n / stride)`
/// cells, padding at the bottom and right. The pad repeats the edge, which for
/// a maximum is the same as TF's minus infinity.
pub fn max_pool_same(xs: &Tensor, stride: usize) -> Result<Tensor> {
    let (_, _, height, width) = xs.dims4()?;
    let pad = |n: usize| {
        let out = n.div_ceil(stride);
        ((out - 1) * stride + 2).saturating_sub(n)
    };
    let xs = xs.pad_with_same(2, 0, pad(height))?.pad_with_same(3, 0, pad(width))?;
    xs.max_pool2d_with_stride(2, stride)
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

    #[test]
    fn leaky_scales_negatives_only() {
        let xs = Tensor::new(&[-2f32, 0., 3.], &Device::Cpu).expect("tensor");
        assert_eq!(
            leaky(&xs).and_then(|t| t.to_vec1::<f32>()).expect("vec"),
            vec![-0.2, 0., 3.]
        );
    }
}
