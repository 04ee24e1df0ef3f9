//! The rows of the soft-constraint problem, built before [`super::constraint::solve`] runs:
//! [`begin`] clears them, [`super::limits::make_rows`] adds joint-limit rows and
//! [`contact_rows`] adds the normal and friction rows of every contact that
//! [`super::contact::detect`] found. A row is a Jacobian, a violation, a friction coefficient
//! and an identity that persists across steps (for warm starts).

use super::data::{Data, RowKind};
use super::kinematics::point_jacobian;
use super::model::Model;
use crate::fmath::FloatExt;

/// Friction rows whose Jacobian entries are all below this are dropped.
const MIN_JACOBIAN: f64 = 1e-12;

/// Starts a new set of rows (none).
pub fn begin(data: &mut Data) {
    data.efc_kind.clear();
}

/// What a new row is.
pub struct RowSpec {
    pub kind: RowKind,
    /// Violation (negative = violated).
    pub pos: f64,
    /// Friction coefficient (friction rows), else 0.
    pub mu: f64,
    /// Identity of the row across steps (see [`Data::efc_id`]).
    pub id: u64,
}

/// Appends a row with a zero Jacobian and returns its index (capacity is preallocated).
pub fn push_row(model: &Model, data: &mut Data, spec: RowSpec) -> usize {
    let row = data.efc_kind.len();
    data.efc_kind.push(spec.kind);
    data.efc_j[row * model.nv..(row + 1) * model.nv].fill(0.0);
    data.efc_pos[row] = spec.pos;
    data.efc_mu[row] = spec.mu;
    data.efc_id[row] = spec.id;
    row
}

/// Contact rows (normal, tangent 1, tangent 2 per contact) from `data.contacts`.
pub fn contact_rows(model: &Model, data: &mut Data) {
    let nv = model.nv;
    let mut jac = std::mem::take(&mut data.scratch_jac);
    for c in 0..data.contacts.len() {
        let contact = data.contacts[c];
        let body = model.geom_body[contact.geom];
        point_jacobian(model, data, body, &contact.pos, &mut jac);
        let normal_row = data.efc_kind.len();
        let mut n_friction = 0;
        // Contact ids start above every limit id: 3 directions per (geom, end).
        let base = 2 * model.jnt_type.len() as u64 + 3 * (2 * contact.geom + contact.end) as u64;
        for (axis, kind, pos, mu) in [
            (2, RowKind::Normal { n_friction: 0 }, contact.dist, 0.0),
            (0, RowKind::Friction { normal_row }, 0.0, contact.friction),
            (1, RowKind::Friction { normal_row }, 0.0, contact.friction),
        ] {
            let direction = contact.frame.column(axis);
            let row = push_row(model, data, RowSpec { kind, pos, mu, id: base + axis as u64 });
            let mut magnitude: f64 = 0.0;
            for dof in 0..nv {
                let value = direction[0] * jac[dof] + direction[1] * jac[nv + dof] + direction[2] * jac[2 * nv + dof];
                data.efc_j[row * nv + dof] = value;
                magnitude = magnitude.fmax(value.abs());
            }
            if axis != 2 {
                if magnitude < MIN_JACOBIAN {
                    data.efc_kind.pop();
                } else {
                    n_friction += 1;
                }
            }
        }
        data.efc_kind[normal_row] = RowKind::Normal { n_friction };
    }
    data.scratch_jac = jac;
}
