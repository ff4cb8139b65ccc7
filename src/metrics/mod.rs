//! STAGE 6: pure functions from records to summaries. No I/O, no async.
//!
//! Every formula is documented beside its code and in the README ("Metrics").

pub mod summary;

pub use summary::*;
