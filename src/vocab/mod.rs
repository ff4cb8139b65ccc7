//! The ground floor: the shared vocabulary every stage speaks.
//!
//! Plain enums and specs with their serde forms and nothing else: which API an
//! endpoint speaks ([`ApiKind`]), the scenario grammar ([`Workload`],
//! `D(512,128)` and friends), data formats ([`FileFormat`], [`ImageFormat`],
//! [`LoraStrategy`]), arrival processes ([`Arrival`]), the simulator's
//! configuration ([`SimConfig`]) and what an adaptive search varies
//! ([`SearchKind`], [`SearchOver`]).
//!
//! Every stage imports *down* to this module; it imports no other module of the
//! crate, so the manifest, the plan, the simulator and the search can all use
//! the same words without depending on one another.

mod api;
mod data;
mod load;
pub mod name;
mod search;
mod sim;
pub mod workload;

pub use api::{ApiKind, EncodingFormat, MalformedPolicy, AUTO_METRICS_URL};
pub use data::{FileFormat, ImageFormat, ImageSpec, LoraStrategy, TokenizerSource};
pub use load::{Arrival, StageKind, WarmupShape};
pub use search::{SearchKind, SearchOver};
pub use sim::{FaultKind, FaultSpec, SimConfig, SimTiming};
pub use workload::{TextLength, Workload, DEFAULT_RERANK_DOCUMENTS};
