//! The study of Rush, Jayaram & Humbert over `rollout`: protocols (this round's first piece),
//! then recordings, cycle averages and the paper's findings as numbers (issue 11, in progress).
//! Builds for wasm32: the page will call exactly this core.

pub mod protocol;

pub use protocol::{Protocol, ProtocolError, ProtocolKind, VelocityPush};
