//! The "qacc of many states" routine behind `tanglelab sim forward`.

use ndarray::{Array2, ArrayView2};

use super::data::Data;
use super::dynamics::DynamicsError;
use super::integrator::forward;
use super::model::Model;

/// What is wrong with a table of states.
#[derive(Debug, thiserror::Error)]
pub enum StatesError {
    #[error("states have {got} columns; {robot} needs qpos({nq}) | qvel({nv}) | ctrl({nu}) = {expected}")]
    Columns { got: usize, robot: String, nq: usize, nv: usize, nu: usize, expected: usize },
    #[error("row {row}: {source}")]
    Dynamics { row: usize, source: DynamicsError },
}

/// Joint accelerations `(n_states x nv)` for states `(n_states x (nq + nv + nu))` given as
/// qpos | qvel | ctrl in MuJoCo's order, computed with the model's options (disable contacts in
/// `model.opt` to get the contact-free accelerations).
pub fn qacc_of_states(model: &Model, states: ArrayView2<f64>) -> Result<Array2<f64>, StatesError> {
    let (nq, nv, nu) = (model.nq, model.nv, model.nu);
    if states.ncols() != nq + nv + nu {
        return Err(StatesError::Columns {
            got: states.ncols(),
            robot: model.name.clone(),
            nq,
            nv,
            nu,
            expected: nq + nv + nu,
        });
    }
    let mut out = Array2::zeros((states.nrows(), nv));
    let mut data = Data::new(model);
    for (row, (state, mut qacc)) in states.outer_iter().zip(out.outer_iter_mut()).enumerate() {
        for (i, v) in state.iter().enumerate() {
            match i {
                i if i < nq => data.qpos[i] = *v,
                i if i < nq + nv => data.qvel[i - nq] = *v,
                i => data.ctrl[i - nq - nv] = *v,
            }
        }
        forward(model, &mut data).map_err(|source| StatesError::Dynamics { row, source })?;
        qacc.iter_mut().zip(&data.qacc).for_each(|(o, a)| *o = *a);
    }
    Ok(out)
}
