//! Passive joint forces (viscous damping) and actuation (motors: gear · clamped control),
//! as MuJoCo's `mj_passive` and `mj_fwdActuation` compute them for this model class.

use super::data::Data;
use super::model::Model;

/// `qfrc_passive = −damping · qvel` (joint stiffness is zero in the models we build).
pub fn passive(model: &Model, data: &mut Data) {
    for dof in 0..model.nv {
        data.qfrc_passive[dof] = -model.dof_damping[dof] * data.qvel[dof];
    }
}

/// `qfrc_actuator[dof] = gear · clamp(ctrl, ctrl_range)`; a non-finite control counts as zero.
pub fn actuation(model: &Model, data: &mut Data) {
    data.qfrc_actuator.fill(0.0);
    for u in 0..model.nu {
        let (lo, hi) = model.actuator_ctrl_range[u];
        let ctrl = data.ctrl[u];
        let ctrl = if ctrl.is_finite() { ctrl.clamp(lo, hi) } else { 0.0 };
        data.qfrc_actuator[model.actuator_dof[u]] += model.actuator_gear[u] * ctrl;
    }
}
