//! parterre-aggregate: streaming aggregation of the anonymous traits across
//! viewers, k-anonymity, differential-privacy noise and the decision engine.
//!
//! Must never depend on: I/O of any kind (no network, no files, no clock of its
//! own: time comes in with the data), vision, the frontends or the server. It
//! only ever sees `parterre_core::traits`, never a frame.
//!
//! Today: [`Aggregate`] (a mergeable accumulator of viewer samples),
//! [`Window`] and [`Live`] (10 s, 60 s and session views fed with the caller's
//! time), and [`Snapshot`] (what may be shown or exported, with every cell
//! from fewer than k viewers suppressed). Differential privacy and the
//! decision engine are still to come.

mod aggregate;
mod error;
mod kanon;
mod moments;
mod window;

pub use aggregate::{AGE_BUCKET_LOWER_YEARS, AGE_BUCKETS, Aggregate, Binary, PermanenceSummary};
pub use error::AggregateError;
pub use kanon::{KAnonymity, PermanenceView, Snapshot};
pub use moments::{Estimate, Moments};
pub use window::{Live, ViewerIndex, Window};
