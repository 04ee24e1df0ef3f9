//! The study of Rush, Jayaram & Humbert over `rollout`: protocols ([`protocol`]) and their
//! recordings ([`run`]); cycle averages and the paper's findings as numbers are next (issue 11,
//! in progress).
//! Builds for wasm32: the page will call exactly this core.

pub mod protocol;
pub mod run;

pub use protocol::{Protocol, ProtocolError, ProtocolKind, VelocityPush};
