//! TinyFaceDetector, one forward pass plus decoding, single-threaded (xtask
//! bench sets RAYON_NUM_THREADS=1), at input 416 and 320, on a 640x480 frame.
//! The stages are measured apart too: preprocessing and the network.
//! Weights: `models/tiny_face_detector.safetensors` (`cargo xtask models`).

use std::hint::black_box;

use candle_core::Module;
use criterion::{Criterion, criterion_group, criterion_main};
use parterre_benches::{model_weights, synthetic_rgb_frame};
use parterre_vision::{TinyFaceDetector, TinyOptions};

fn tiny_face_detector(c: &mut Criterion) {
    let detector = TinyFaceDetector::new(model_weights("tiny_face_detector")).expect("model");
    let frame = synthetic_rgb_frame(640, 480);
    let view = frame.view().expect("frame");
    let mut group = c.benchmark_group("tiny_face_detector_640x480");
    for input_size_px in [416, 320] {
        let options = TinyOptions {
            input_size_px,
            ..TinyOptions::default()
        };
        group.bench_function(format!("detect_{input_size_px}"), |b| {
            b.iter(|| detector.detect(black_box(&view), options).expect("detect"));
        });
    }
    let input = TinyFaceDetector::input(&view, 416).expect("input");
    group.bench_function("preprocess_416", |b| {
        b.iter(|| TinyFaceDetector::input(black_box(&view), 416).expect("input"))
    });
    group.bench_function("network_416", |b| {
        b.iter(|| detector.forward(black_box(&input)).expect("forward"))
    });
    group.finish();
}

criterion_group!(benches, tiny_face_detector);
criterion_main!(benches);
