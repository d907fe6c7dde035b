use std::collections::BTreeMap;

use safetensors::{Dtype, SafeTensors};
use serde_json::{Value, json};

use super::{Manifest, to_safetensors};

/// Two groups: the first's weights straddle its two shards and mix uint8
/// quantized float32 and int32 with plain float32 and int32; the second holds
/// one uint16-quantized weight.
fn manifest() -> Value {
    json!([
        {
            "paths": ["net-shard1", "net-shard2"],
            "weights": [
                {"name": "conv0/filters", "shape": [1, 1, 2, 2], "dtype": "float32",
                 "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}},
                {"name": "conv0/bias", "shape": [2], "dtype": "float32",
                 "quantization": {"dtype": "uint8", "scale": 0.25, "min": 0.125}},
                {"name": "fc/weights", "shape": [2], "dtype": "float32"},
                {"name": "reshape/size", "shape": [], "dtype": "int32"},
                {"name": "slice/begin", "shape": [3], "dtype": "int32",
                 "quantization": {"dtype": "uint8", "scale": 0.5, "min": -1.0}}
            ]
        },
        {
            "paths": ["wide.bin"],
            "weights": [
                {"name": "wide/levels", "shape": [2], "dtype": "float32",
                 "quantization": {"dtype": "uint16", "scale": 0.5, "min": 0.0}}
            ]
        }
    ])
}

fn shards() -> BTreeMap<String, Vec<u8>> {
    // conv0/filters' 4 levels, then conv0/bias' first level.
    let shard1 = vec![0, 1, 2, 255, 4];
    // conv0/bias' second level, fc/weights, reshape/size, slice/begin.
    let mut shard2 = vec![8];
    shard2.extend(1.5f32.to_le_bytes());
    shard2.extend((-3.25f32).to_le_bytes());
    shard2.extend((-7i32).to_le_bytes());
    shard2.extend([1, 3, 0]);
    let mut wide = Vec::new();
    wide.extend(3u16.to_le_bytes());
    wide.extend(65_535u16.to_le_bytes());
    BTreeMap::from([
        ("net-shard1".to_owned(), shard1),
        ("net-shard2".to_owned(), shard2),
        ("wide.bin".to_owned(), wide),
    ])
}

fn decode(manifest: &Value, shards: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<Vec<super::Tensor>> {
    let json = serde_json::to_vec(manifest).expect("json");
    Manifest::parse(&json)?.decode(shards)
}

fn decode_error(manifest: &Value, shards: &BTreeMap<String, Vec<u8>>) -> String {
    let error = decode(manifest, shards).expect_err("decoding must fail");
    format!("{error:#}")
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|word| f32::from_le_bytes(word.try_into().expect("4 bytes")))
        .collect()
}

fn i32s(bytes: &[u8]) -> Vec<i32> {
    bytes
        .chunks_exact(4)
        .map(|word| i32::from_le_bytes(word.try_into().expect("4 bytes")))
        .collect()
}

#[test]
fn written_safetensors_hold_dequantized_values_names_shapes_and_dtypes() {
    let tensors = decode(&manifest(), &shards()).expect("decodes");
    let file = to_safetensors(&tensors, "test-package@1 model/net").expect("serializes");
    let read = SafeTensors::deserialize(&file).expect("a valid safetensors file");

    let mut names = read.names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "conv0/bias",
            "conv0/filters",
            "fc/weights",
            "reshape/size",
            "slice/begin",
            "wide/levels"
        ]
    );
    let expected_f32: [(&str, &[usize], &[f32]); 4] = [
        ("conv0/filters", &[1, 1, 2, 2], &[-1.0, -0.5, 0.0, 126.5]),
        ("conv0/bias", &[2], &[1.125, 2.125]),
        ("fc/weights", &[2], &[1.5, -3.25]),
        ("wide/levels", &[2], &[1.5, 32_767.5]),
    ];
    for (name, shape, values) in expected_f32 {
        let tensor = read.tensor(name).expect(name);
        assert_eq!((tensor.dtype(), tensor.shape()), (Dtype::F32, shape), "{name}");
        assert_eq!(f32s(tensor.data()), values, "{name}");
    }
    let expected_i32: [(&str, &[usize], &[i32]); 2] = [
        ("reshape/size", &[], &[-7]),
        // Levels 1, 3, 0 are -0.5, 0.5, -1.0: Math.round gives 0, 1, -1
        // (f64::round would give -1 for -0.5).
        ("slice/begin", &[3], &[0, 1, -1]),
    ];
    for (name, shape, values) in expected_i32 {
        let tensor = read.tensor(name).expect(name);
        assert_eq!((tensor.dtype(), tensor.shape()), (Dtype::I32, shape), "{name}");
        assert_eq!(i32s(tensor.data()), values, "{name}");
    }
    let (_, metadata) = SafeTensors::read_metadata(&file).expect("header");
    let source = metadata.metadata().as_ref().and_then(|map| map.get("source"));
    assert_eq!(source.map(String::as_str), Some("test-package@1 model/net"));
}

#[test]
fn tensors_keep_manifest_order_and_count() {
    let manifest = manifest();
    let json = serde_json::to_vec(&manifest).expect("json");
    let parsed = Manifest::parse(&json).expect("parses");
    assert_eq!(parsed.tensor_count(), 6);
    let tensors = parsed.decode(&shards()).expect("decodes");
    let names: Vec<&str> = tensors.iter().map(|tensor| tensor.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv0/filters",
            "conv0/bias",
            "fc/weights",
            "reshape/size",
            "slice/begin",
            "wide/levels"
        ]
    );
    let elements: usize = tensors.iter().map(super::Tensor::elements).sum();
    assert_eq!(elements, 4 + 2 + 2 + 1 + 3 + 2);
}

#[test]
fn a_manifest_naming_more_bytes_than_its_shards_hold_is_refused() {
    let mut shards = shards();
    shards.get_mut("wide.bin").expect("shard").pop();
    let error = decode_error(&manifest(), &shards);
    assert!(error.contains("names more bytes than its shards hold"), "{error}");
    assert!(error.contains("wide/levels"), "{error}");
}

#[test]
fn shards_holding_unused_bytes_are_refused() {
    let mut shards = shards();
    shards.get_mut("net-shard2").expect("shard").push(0);
    let error = decode_error(&manifest(), &shards);
    assert!(
        error.contains("1 bytes more than the manifest's weights use"),
        "{error}"
    );
}

#[test]
fn a_missing_shard_is_refused() {
    let mut shards = shards();
    shards.remove("net-shard2");
    let error = decode_error(&manifest(), &shards);
    assert!(error.contains("`net-shard2`"), "{error}");
}

#[test]
fn an_unknown_quantization_dtype_is_refused() {
    let mut manifest = manifest();
    manifest[1]["weights"][0]["quantization"] = json!({"dtype": "float16"});
    let error = decode_error(&manifest, &shards());
    assert!(error.contains("float16"), "{error}");
    assert!(error.contains("quantization uint8 and uint16"), "{error}");
}

#[test]
fn an_unknown_weight_dtype_is_refused() {
    let mut manifest = manifest();
    manifest[0]["weights"][2]["dtype"] = json!("bool");
    let error = decode_error(&manifest, &shards());
    assert!(error.contains("bool"), "{error}");
}

#[test]
fn a_weight_named_twice_is_refused() {
    let mut manifest = manifest();
    manifest[1]["weights"][0]["name"] = json!("conv0/bias");
    let error = decode_error(&manifest, &shards());
    assert!(error.contains("names the weight `conv0/bias` twice"), "{error}");
}

#[test]
fn quantization_parameters_parse_exactly_as_javascript_reads_them() {
    // tiny_face_detector's conv0/filters: in JavaScript, level 134 is exactly
    // 0; a scale or min parsed one ulp off gives -2.2e-16 instead.
    let manifest = json!([{
        "paths": ["net.bin"],
        "weights": [{"name": "conv0/filters", "shape": [1], "dtype": "float32",
                     "quantization": {"dtype": "uint8", "scale": 0.009007044399485869, "min": -1.2069439495311063}}]
    }]);
    let shards = BTreeMap::from([("net.bin".to_owned(), vec![134])]);
    let tensors = decode(&manifest, &shards).expect("decodes");
    assert_eq!(tensors[0].bytes, 0.0f32.to_le_bytes());
}
