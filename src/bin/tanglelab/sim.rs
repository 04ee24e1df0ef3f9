//! `tanglelab sim …`: the simulator from the command line (accelerations of states, MJCF export).

use clap::{Args, Subcommand};
use std::path::PathBuf;
use tanglelab::fmath::FloatExt;

use crate::files::{read_array, write_bytes};
use tanglelab::io::write_npy_f64;
use tanglelab::sim::{batch::qacc_of_states, mjcf::to_mjcf};
use tanglelab::task::Robot;

#[derive(Subcommand)]
pub enum SimCommand {
    /// Contact-free joint accelerations (MuJoCo's mj_forward qacc) of states qpos | qvel | ctrl.
    Forward(ForwardArgs),
    /// Print the robot as MJCF (MuJoCo XML).
    ExportMjcf(ExportArgs),
}

#[derive(Args)]
pub struct ForwardArgs {
    /// Robot name (walker2d, quadruped).
    #[arg(long)]
    robot: String,
    /// States, NPY float32/float64, [N, nq + nv + nu] (walker2d: 9 + 9 + 6; quadruped: 19 + 18 + 12).
    #[arg(long)]
    input: PathBuf,
    /// Output accelerations, NPY float64, [N, nv].
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct ExportArgs {
    /// Robot name (walker2d, quadruped).
    #[arg(long)]
    robot: String,
}

pub fn run(command: SimCommand) -> anyhow::Result<()> {
    match command {
        SimCommand::Forward(args) => {
            let mut model = args.robot.parse::<Robot>()?.model();
            model.opt.contact_enabled = false;
            let states = read_array(&args.input)?;
            let states = states.into_dimensionality::<ndarray::Ix2>().map_err(|_| {
                anyhow::anyhow!("{}: states must be a 2-D array [N, nq + nv + nu]", args.input.display())
            })?;
            let qacc = qacc_of_states(&model, states.view())?;
            // Finite states can still overflow (e.g. velocities of 1e300): say which row did.
            if let Some((row, _)) = qacc.outer_iter().enumerate().find(|(_, r)| r.iter().any(|v| !v.is_finite())) {
                let largest = states.row(row).iter().fold(0.0f64, |m, v| m.fmax(v.abs()));
                anyhow::bail!(
                    "{}: the accelerations of state row {row} are not finite (its largest value is {largest:e}: \
                     the dynamics overflowed); nothing was written",
                    args.input.display()
                );
            }
            write_bytes(&args.out, &write_npy_f64(&qacc)?)
        }
        SimCommand::ExportMjcf(args) => {
            print!("{}", to_mjcf(&args.robot.parse::<Robot>()?.description()));
            Ok(())
        }
    }
}
