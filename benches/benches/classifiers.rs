//! The expression and age/gender nets, single-threaded (xtask bench sets
//! RAYON_NUM_THREADS=1), on one 200x200 face box in a 640x480 frame: the
//! whole call (crop, pad, resize to 112, normalize, network).
//! Weights: `models/face_expression.safetensors`, `models/age_gender.safetensors`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use parterre_benches::{FACE_BOX_PX, MODEL_FRAME_HEIGHT_PX, MODEL_FRAME_WIDTH_PX, model_weights, synthetic_rgb_frame};
use parterre_vision::{AgeGenderNet, FaceExpressionNet};

fn classifiers(c: &mut Criterion) {
    let frame = synthetic_rgb_frame(MODEL_FRAME_WIDTH_PX, MODEL_FRAME_HEIGHT_PX);
    let view = frame.view().expect("frame");
    let expression = FaceExpressionNet::new(model_weights("face_expression")).expect("expression model");
    let age_gender = AgeGenderNet::new(model_weights("age_gender")).expect("age/gender model");
    let mut group = c.benchmark_group("classifiers_112");
    group.sample_size(20).measurement_time(Duration::from_secs(4));
    group.bench_function("expression_box200", |b| {
        b.iter(|| {
            expression
                .expression(black_box(&view), &FACE_BOX_PX)
                .expect("expression")
        });
    });
    group.bench_function("age_gender_box200", |b| {
        b.iter(|| {
            age_gender
                .age_gender(black_box(&view), &FACE_BOX_PX)
                .expect("age/gender")
        });
    });
    group.finish();
}

criterion_group!(benches, classifiers);
criterion_main!(benches);
