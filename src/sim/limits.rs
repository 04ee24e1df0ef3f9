//! Joint limits as one-sided soft constraint rows (MuJoCo's limit constraints, margin 0):
//! a row appears when a limited joint is past its lower or upper bound.

use super::data::{Data, RowKind};
use super::model::Model;
use super::rows::{push_row, RowSpec};

/// Appends one row per violated joint bound (needs the mass matrix for the regulariser).
pub fn make_rows(model: &Model, data: &mut Data) {
    if !model.opt.limit_enabled {
        return;
    }
    for j in 0..model.jnt_type.len() {
        let Some((lower, upper)) = model.jnt_range[j] else { continue };
        let q = data.qpos[model.jnt_qpos_adr[j]];
        let dof = model.jnt_dof_adr[j];
        for (side, dist, sign) in [(0, q - lower, 1.0), (1, upper - q, -1.0)] {
            if dist < 0.0 {
                let row = push_row(
                    model,
                    data,
                    RowSpec { kind: RowKind::Limit, pos: dist, mu: 0.0, id: (2 * j + side) as u64 },
                );
                data.efc_j[row * model.nv + dof] = sign;
            }
        }
    }
}
