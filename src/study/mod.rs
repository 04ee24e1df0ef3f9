//! The study of Rush, Jayaram & Humbert over `rollout`: protocols ([`protocol`]), their
//! recordings ([`run`]), each condition's gait cycles and intra-condition tangling
//! ([`cycles`]), a condition's numbers as `findings.json` will list them ([`findings`]); the
//! five findings' verdicts, the files and the CLI are next (issue 11, in progress).
//! Builds for wasm32: the page will call exactly this core.

pub mod cycles;
pub mod findings;
pub mod protocol;
pub mod run;

pub use protocol::{Protocol, ProtocolError, ProtocolKind, VelocityPush};
