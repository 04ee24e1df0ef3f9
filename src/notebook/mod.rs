//! The notebook as data: a versioned, serde-serialised document holding every cell's parameters,
//! and the permalink codec that carries it in a URL fragment.
//!
//! Same document, same numbers: every computed figure is a pure function of this document.

pub mod document;
pub mod permalink;

pub use document::{
    BrainiarbCell, BrainiarbVariant, LissajousCell, NetSize, NotebookDoc, PolicyBackends, PolicyCell, QuadrupedCell,
    ReachingDqnCell, ReachingGridCell, ReachingModel, ReachingRnnCell, StudyCell, ViewCamera, WalkerCell, WalkerPolicy,
    DOC_VERSION,
};
pub use permalink::{
    decode_fragment, decode_fragment_made_by, encode_fragment, encode_fragment_made_by, MadeBy, PermalinkError,
};
