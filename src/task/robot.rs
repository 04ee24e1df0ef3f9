//! The one enum of robots: its name on the command line, in model cards and in JSON, its body and
//! its task. Generic code (rollouts, studies, the trainer, the CLI) dispatches through here.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{quadruped, walker2d, EpisodeSettings, Task, TaskError, TaskSpec};
use crate::sim::{robots, Model, RobotDescription};

/// The robots TangleLab knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Robot {
    /// Gymnasium's Walker2d-v5 body, walking at a commanded forward speed.
    #[serde(rename = "walker2d")]
    Walker2d,
    /// An ANYmal-C-like quadruped following body-velocity commands (u*, v*, r*).
    #[serde(rename = "quadruped")]
    Quadruped,
}

/// A name that is no robot's.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown robot {name:?} (known: {known})")]
pub struct UnknownRobot {
    pub name: String,
    pub known: String,
}

impl Robot {
    /// Every robot, in the order help texts list them.
    pub const ALL: [Robot; 2] = [Robot::Walker2d, Robot::Quadruped];

    /// The robot's name (CLI `--robot`, model cards, JSON).
    pub fn name(self) -> &'static str {
        match self {
            Robot::Walker2d => "walker2d",
            Robot::Quadruped => "quadruped",
        }
    }

    /// What the robot's task's numbers mean.
    pub fn spec(self) -> &'static TaskSpec {
        match self {
            Robot::Walker2d => &walker2d::SPEC,
            Robot::Quadruped => &quadruped::SPEC,
        }
    }

    /// The robot's body (what an MJCF file would say).
    pub fn description(self) -> RobotDescription {
        match self {
            Robot::Walker2d => robots::walker2d::description(),
            Robot::Quadruped => robots::quadruped::description(),
        }
    }

    /// The compiled body.
    pub fn model(self) -> Model {
        match self {
            Robot::Walker2d => robots::walker2d::model(),
            Robot::Quadruped => robots::quadruped::model(),
        }
    }

    /// `n_agents` agents of the robot's task with its default reward, set up by `settings`.
    pub fn task(self, n_agents: usize, settings: &EpisodeSettings, seed: u64) -> Result<Box<dyn Task>, TaskError> {
        match self {
            Robot::Walker2d => {
                let config = walker2d::Walker2dEnvConfig::from_settings(settings)?;
                Ok(Box::new(walker2d::Walker2dBatch::new(n_agents, config, seed)?))
            }
            Robot::Quadruped => {
                let config = quadruped::QuadrupedEnvConfig::from_settings(settings)?;
                Ok(Box::new(quadruped::QuadrupedBatch::new(n_agents, config, seed)?))
            }
        }
    }
}

impl fmt::Display for Robot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Robot {
    type Err = UnknownRobot;
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Robot::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| UnknownRobot { name: name.to_string(), known: Robot::ALL.map(Robot::name).join(", ") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for robot in Robot::ALL {
            assert_eq!(robot.name().parse::<Robot>(), Ok(robot));
            assert_eq!(serde_json::to_string(&robot).unwrap(), format!("\"{}\"", robot.name()));
        }
        let err = "walker3d".parse::<Robot>().unwrap_err();
        assert_eq!(err.to_string(), "unknown robot \"walker3d\" (known: walker2d, quadruped)");
    }
}
