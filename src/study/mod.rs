//! The study of Rush, Jayaram & Humbert over `rollout`: protocols ([`protocol`]), running them
//! in groups and shards of agents ([`run`]), each condition's gait cycles reduced to per-agent
//! sums ([`cycles`]), bootstrap intervals over agents ([`bootstrap`]), the push's recovery
//! ([`push`]), the global subspace and speed axis ([`global`]), and the numbers and verdicts of
//! `findings.json` ([`findings`]), the data of the Fig. 2 panels ([`figures`]). [`pipeline`] runs a
//! whole protocol with a progress callback.
//! Builds for wasm32: the page calls exactly this core.

pub mod bootstrap;
pub mod cycles;
pub mod figures;
pub mod findings;
pub mod global;
pub mod pipeline;
pub mod protocol;
pub mod push;
pub mod run;

pub use protocol::{Protocol, ProtocolError, ProtocolKind, VelocityPush};
pub use run::Shard;
