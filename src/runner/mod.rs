//! Orchestration (async): preflight, warmup, dispatch per point and run, one
//! collector task that owns the records, cancellation on Ctrl-C.
