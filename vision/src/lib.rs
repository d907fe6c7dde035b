//! parterre-vision: face detection, 68-point landmarks and the face classifiers,
//! in pure Rust on candle, turning a leased frame into an on-device observation.
//!
//! Must never depend on: cameras, browsers or files (no web-sys, no V4L2, no
//! `std::fs`: the frontend picks the weight source and hands bytes or a path to
//! candle's VarBuilder), the network, or the aggregate and server crates.
//! It must never compute an identity: no face descriptors, no recognition.

pub mod age_gender;
pub mod analyzer;
pub mod appearance;
pub mod attention;
pub mod baseline;
mod conv3x3;
mod detection;
mod error;
pub mod expression;
pub mod geometry;
pub mod governor;
pub mod landmarks;
mod layers;
pub mod motion;
pub mod preprocess;
pub mod quality;
pub mod smoothing;
pub mod ssd_mobilenetv1;
#[cfg(test)]
mod test_support;
pub mod tiny_face_detector;
pub mod tracking;
pub mod weights;

pub use age_gender::AgeGenderNet;
pub use detection::{Detection, iou, non_max_suppression};
pub use error::VisionError;
pub use expression::FaceExpressionNet;
pub use geometry::{FaceShape, head_pose};
pub use landmarks::{FaceLandmark68Net, FaceLandmark68TinyNet, LandmarkModel, LandmarkNet};
pub use ssd_mobilenetv1::{SsdMobilenetV1, SsdOptions};
pub use tiny_face_detector::{TinyFaceDetector, TinyOptions};
