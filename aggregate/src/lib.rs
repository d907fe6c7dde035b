//! parterre-aggregate: streaming aggregation of the anonymous traits across
//! viewers, k-anonymity, differential-privacy noise and the decision engine.
//!
//! Must never depend on: I/O of any kind (no network, no files, no clock of its
//! own: time comes in with the data), vision, the frontends or the server. It
//! only ever sees `parterre_core::traits`, never a frame.
//!
//! Today: [`Aggregate`] (a mergeable accumulator of viewer samples),
//! [`Window`] and [`Live`] (10 s, 60 s and session views fed with the caller's
//! time), and [`Snapshot`] (what may be shown, with every cell from fewer than
//! k viewers suppressed and every share or mean carrying a 95 % [`Band`]:
//! Wilson for shares, Student-t for means, on Kish's effective sample size).
//! Stored and exported counts go through [`release`]: exact discrete Laplace
//! noise ([`DiscreteLaplace`], no floating point) scaled to the release's
//! sensitivity, paid from the webinar's [`PrivacyBudget`] (ε = 1 per viewer
//! by default), with suppression decided on the noisy counts. The
//! [`DecisionEngine`] reads the live views against a TOML [`Policy`]
//! ([`DEFAULT_POLICY_TOML`] ships) and a [`Catalog`] of content cards, with
//! hysteresis, cooldowns and host overrides, and keeps a [`DecisionLog`] of
//! every decision with the minute before and after it and what the room did
//! while each card was on screen. Randomness comes in from the caller as a
//! `rand_core::CryptoRng`, like time.

mod aggregate;
mod band;
mod budget;
mod catalog;
mod engine;
mod error;
mod kanon;
mod log;
mod moments;
mod noise;
mod policy;
mod release;
mod signals;
mod window;

pub use aggregate::{AGE_BUCKET_LOWER_YEARS, AGE_BUCKETS, Aggregate, Binary, PermanenceSummary};
pub use band::Band;
pub use budget::PrivacyBudget;
pub use catalog::{Card, CardKind, Catalog};
pub use engine::{Decision, DecisionEngine, HostOverride, Origin};
pub use error::AggregateError;
pub use kanon::{KAnonymity, PermanenceView, Snapshot};
pub use log::{Attribution, DecisionLog, EFFECT_DELAY_MS, LogEntry, RunningMean};
pub use moments::{Estimate, Moments};
pub use noise::{DiscreteLaplace, Epsilon};
pub use policy::{Action, Channel, DEFAULT_POLICY_TOML, Effect, Layout, Policy, Rule, Threshold, WindowSpan};
pub use release::{NoisyRelease, NoisySplit, RELEASED_HISTOGRAMS, release};
pub use signals::{Signal, Signals};
pub use window::{Live, ViewerIndex, Window};
