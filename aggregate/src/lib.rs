//! parterre-aggregate: streaming aggregation of the anonymous traits across
//! viewers, k-anonymity, differential-privacy noise and the decision engine.
//!
//! Must never depend on: I/O of any kind (no network, no files, no clock of its
//! own: time comes in with the data), vision, the frontends or the server. It
//! only ever sees `parterre_core::traits`, never a frame.
