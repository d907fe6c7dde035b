//! Weight sources: the converted safetensors (`cargo xtask models`) as a
//! candle `VarBuilder`. The frontend chooses where they come from: a path on
//! native targets, bytes in the browser (fetched or embedded by the page).
//! Vision itself opens no file: reading a path is left to candle.

use candle_core::{DType, Device};
use candle_nn::VarBuilder;

use crate::error::VisionError;

/// Weights from the bytes of a safetensors file.
pub fn from_bytes(bytes: Vec<u8>) -> Result<VarBuilder<'static>, VisionError> {
    Ok(VarBuilder::from_buffered_safetensors(bytes, DType::F32, &Device::Cpu)?)
}

/// Weights from a safetensors file, read whole (no memory map: mapping needs
/// `unsafe` and the largest model is 22 MB).
#[cfg(not(target_arch = "wasm32"))]
pub fn from_path(path: &std::path::Path) -> Result<VarBuilder<'static>, VisionError> {
    let tensors = candle_core::safetensors::load(path, &Device::Cpu)?;
    Ok(VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu))
}
