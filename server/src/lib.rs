//! parterre-server: ingest of the viewers' anonymous trait messages, the host's
//! control panel, the viewer page, and storage of k-anonymous aggregates.
//!
//! Must never depend on: vision or either frontend (the server never sees a
//! frame, a box or a landmark), and it must never store or log anything per
//! person (no IP addresses, no viewer identifiers beyond a live connection).
