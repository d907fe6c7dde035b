//! TF.js weights (a manifest and its binary shards) to safetensors.
//!
//! A manifest is a list of groups; each group's shards, concatenated in order,
//! hold its weights back to back in manifest order. Names and shapes are kept
//! as TF.js has them (conv filters stay `[kh, kw, in, out]`): the model code
//! transposes at load, next to the code that depends on the layout.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{Context, Result, bail};
use safetensors::Dtype;
use safetensors::tensor::TensorView;
use serde::Deserialize;

/// A parsed `*-weights_manifest.json`.
#[derive(Debug)]
pub struct Manifest {
    groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
struct Group {
    paths: Vec<String>,
    weights: Vec<WeightSpec>,
}

#[derive(Debug, Deserialize)]
struct WeightSpec {
    name: String,
    shape: Vec<usize>,
    dtype: WeightDtype,
    quantization: Option<Quantization>,
}

/// The dtypes a face-api model holds (TF.js also knows bool, string and
/// complex64, which no face-api weight uses).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum WeightDtype {
    Float32,
    Int32,
}

/// Affine quantization: a stored level `q` stands for `q * scale + min`.
/// TF.js also has float16 quantization (no scale or min); the pinned
/// manifests use uint8 only, and float16 is refused when parsing.
#[derive(Debug, Deserialize)]
struct Quantization {
    dtype: LevelDtype,
    scale: f64,
    min: f64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum LevelDtype {
    Uint8,
    Uint16,
}

impl LevelDtype {
    fn bytes_per_level(self) -> usize {
        match self {
            Self::Uint8 => 1,
            Self::Uint16 => 2,
        }
    }
}

/// One decoded tensor, its data little-endian as safetensors stores it.
#[derive(Debug)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: Dtype,
    pub bytes: Vec<u8>,
}

impl Tensor {
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

impl Manifest {
    pub fn parse(json: &[u8]) -> Result<Self> {
        let groups = serde_json::from_slice(json)
            .context("not a TF.js weights manifest this converter knows (weight dtypes float32 and int32, quantization uint8 and uint16)")?;
        Ok(Self { groups })
    }

    pub fn tensor_count(&self) -> usize {
        self.groups.iter().map(|group| group.weights.len()).sum()
    }

    /// Decodes every weight, reading shards from `files` (keyed by the paths
    /// the manifest names). Every byte of the shards must be used, exactly once.
    pub fn decode(&self, files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<Tensor>> {
        let mut tensors = Vec::with_capacity(self.tensor_count());
        let mut names = BTreeSet::new();
        for group in &self.groups {
            for tensor in group.decode(files)? {
                if !names.insert(tensor.name.clone()) {
                    bail!("the manifest names the weight `{}` twice", tensor.name);
                }
                tensors.push(tensor);
            }
        }
        Ok(tensors)
    }
}

impl Group {
    fn decode(&self, files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<Tensor>> {
        let mut bytes = Vec::new();
        for path in &self.paths {
            let shard = files
                .get(path)
                .with_context(|| format!("the manifest names the shard `{path}`, which the package lacks"))?;
            bytes.extend_from_slice(shard);
        }
        let shards = self.paths.join(", ");
        let mut rest = bytes.as_slice();
        let mut tensors = Vec::with_capacity(self.weights.len());
        for weight in &self.weights {
            let size_bytes = weight.stored_bytes()?;
            if size_bytes > rest.len() {
                bail!(
                    "the manifest names more bytes than its shards hold: weight `{}` needs {size_bytes} bytes, \
                     only {} are left in {shards}",
                    weight.name,
                    rest.len()
                );
            }
            let (stored, tail) = rest.split_at(size_bytes);
            tensors.push(weight.decode(stored));
            rest = tail;
        }
        if !rest.is_empty() {
            bail!(
                "{shards} hold {} bytes more than the manifest's weights use",
                rest.len()
            );
        }
        Ok(tensors)
    }
}

impl WeightSpec {
    /// Bytes this weight takes in its shards.
    fn stored_bytes(&self) -> Result<usize> {
        // Unquantized float32 and int32 both take 4 bytes.
        let bytes_per_element = self
            .quantization
            .as_ref()
            .map_or(4, |quantization| quantization.dtype.bytes_per_level());
        self.shape
            .iter()
            .try_fold(bytes_per_element, |size, &dim| size.checked_mul(dim))
            .with_context(|| format!("weight `{}` has an impossible shape {:?}", self.name, self.shape))
    }

    /// `stored` is exactly `stored_bytes()` long.
    fn decode(&self, stored: &[u8]) -> Tensor {
        let (dtype, bytes) = match (&self.quantization, self.dtype) {
            // TF.js stores unquantized values little-endian, as safetensors does.
            (None, WeightDtype::Float32) => (Dtype::F32, stored.to_vec()),
            (None, WeightDtype::Int32) => (Dtype::I32, stored.to_vec()),
            (Some(quantization), WeightDtype::Float32) => {
                // TF.js computes in f64 and stores into a Float32Array: the
                // same rounding gives the same f32 values bit for bit.
                let values = quantization.values(stored).map(|value| value as f32);
                (Dtype::F32, values.flat_map(f32::to_le_bytes).collect())
            }
            (Some(quantization), WeightDtype::Int32) => {
                // TF.js rounds with Math.round (half up), not half away from zero.
                let values = quantization.values(stored).map(|value| (value + 0.5).floor() as i32);
                (Dtype::I32, values.flat_map(i32::to_le_bytes).collect())
            }
        };
        Tensor {
            name: self.name.clone(),
            shape: self.shape.clone(),
            dtype,
            bytes,
        }
    }
}

impl Quantization {
    /// The dequantized values of `stored` levels.
    fn values<'a>(&self, stored: &'a [u8]) -> impl Iterator<Item = f64> + 'a {
        let (scale, min) = (self.scale, self.min);
        let levels: Box<dyn Iterator<Item = u16> + 'a> = match self.dtype {
            LevelDtype::Uint8 => Box::new(stored.iter().map(|&level| u16::from(level))),
            LevelDtype::Uint16 => Box::new(
                stored
                    .chunks_exact(2)
                    .map(|pair| u16::from_le_bytes([pair[0], pair[1]])),
            ),
        };
        levels.map(move |level| f64::from(level) * scale + min)
    }
}

/// The safetensors file holding `tensors`, with `source` in its metadata.
pub fn to_safetensors(tensors: &[Tensor], source: &str) -> Result<Vec<u8>> {
    let views = tensors
        .iter()
        .map(|tensor| {
            let view = TensorView::new(tensor.dtype, tensor.shape.clone(), &tensor.bytes)
                .with_context(|| format!("tensor `{}`", tensor.name))?;
            Ok((tensor.name.as_str(), view))
        })
        .collect::<Result<Vec<_>>>()?;
    // A single metadata key: safetensors writes the map in hash order, and one
    // key keeps the file, and so its sha256, the same from run to run.
    let metadata = HashMap::from([("source".to_owned(), source.to_owned())]);
    safetensors::tensor::serialize(views, Some(metadata)).context("writing safetensors")
}

#[cfg(test)]
mod tests;
