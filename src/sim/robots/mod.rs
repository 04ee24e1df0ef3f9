//! The robots' bodies, each a [`super::RobotDescription`] written from a published model with
//! every number's source: what an MJCF file would say, and nothing of the task.

pub mod quadruped;
pub mod walker2d;
