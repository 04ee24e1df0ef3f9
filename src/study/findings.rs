//! A condition's numbers as `findings.json` will list them (issue 11): its command, the kept
//! cycle length and gait-cycle frequency, kept and dropped cycles, and the intra-condition
//! tangling (mean and max Q) of the cycle averages of c, h and the actions. The paper's first
//! finding (F1) compares c with the actions at 2 m/s: recurrent activity less tangled than the
//! actuation it produces.

use serde::Serialize;

use super::cycles::{condition_cycles, intra_tangling, Signal};
use crate::rollout::Recording;

/// Mean and max Q of one signal's cycle average.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct QNumbers {
    pub mean: f64,
    pub max: f64,
}

/// Q of the three recorded signals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SignalTangling {
    pub cell: QNumbers,
    pub hidden: QNumbers,
    pub actions: QNumbers,
}

/// One condition's entry of `findings.json`'s `"conditions"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConditionFindings {
    pub command: Vec<f64>,
    /// Samples of the kept cycles (None: no used cycle).
    pub cycle_len: Option<usize>,
    /// 1 / (cycle_len × the recording interval) (Hz).
    pub cycle_hz: Option<f64>,
    pub cycles_kept: usize,
    pub cycles_dropped: usize,
    /// Agents whose episode ended during the run (their cycles after it are not used).
    pub agents_fallen: usize,
    pub tangling: Option<SignalTangling>,
}

/// The numbers of one condition's recording (`command` as run; `warmup_samples` left out).
pub fn condition_findings(command: &[f64], recording: &Recording, warmup_samples: usize) -> ConditionFindings {
    let cycles = condition_cycles(recording, warmup_samples);
    let t = recording.n_samples;
    let agents_fallen = (0..recording.n_agents).filter(|&a| t > 0 && recording.alive[a * t + t - 1] == 0).count();
    let q = |signal: Signal| {
        let average = cycles.average(recording, signal)?;
        let (_, s) = intra_tangling(&average, recording.interval_secs).ok()?;
        Some(QNumbers { mean: s.mean, max: s.max })
    };
    let tangling = match (q(Signal::Cell), q(Signal::Hidden), q(Signal::Actions)) {
        (Some(cell), Some(hidden), Some(actions)) => Some(SignalTangling { cell, hidden, actions }),
        _ => None,
    };
    ConditionFindings {
        command: command.to_vec(),
        cycle_len: cycles.cycle_len,
        cycle_hz: cycles.cycle_len.map(|len| 1.0 / (len as f64 * recording.interval_secs)),
        cycles_kept: cycles.kept,
        cycles_dropped: cycles.dropped,
        agents_fallen,
        tangling,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tangling::summarize;

    #[test]
    fn a_synthetic_condition_by_hand() {
        // One agent, 200 samples at 10 ms, the reference foot down for samples 10–19 of every 20:
        // cycles of 20 samples (5 Hz). c is a circle, the actions a figure eight, h the circle
        // scaled.
        let t = 200usize;
        let phase = |s: usize| std::f64::consts::TAU * (s % 20) as f64 / 20.0;
        let mut r = Recording {
            n_agents: 1,
            n_samples: t,
            every_steps: 1,
            interval_secs: 0.01,
            n_hidden: 2,
            n_actions: 2,
            n_obs: 0,
            n_feet: 1,
            cell: vec![],
            hidden: vec![],
            actions: vec![],
            actions_clipped: vec![],
            obs: vec![],
            contacts: (0..t).map(|s| u8::from(s % 20 >= 10)).collect(),
            base_velocity: vec![0.0; 3 * t],
            alive: vec![1; t],
            filled: t,
        };
        for s in 0..t {
            let p = phase(s);
            r.cell.extend([p.cos() as f32, p.sin() as f32]);
            r.hidden.extend([(0.5 * p.cos()) as f32, (0.5 * p.sin()) as f32]);
            r.actions.extend([p.sin() as f32, (2.0 * p).sin() as f32]);
        }
        r.actions_clipped = r.actions.clone();
        let f = condition_findings(&[2.0], &r, 25);
        // Lift-offs at 20, 40, …, 180 (contact at 19, none at 20); used from 40 (after the
        // 25-sample warm-up) to 160: 7 cycles of 20 samples.
        assert_eq!((f.cycle_len, f.cycles_kept, f.cycles_dropped, f.agents_fallen), (Some(20), 7, 0, 0));
        assert!((f.cycle_hz.unwrap() - 5.0).abs() < 1e-12);
        let q = f.tangling.unwrap();
        assert!(q.actions.max > 3.0 * q.cell.max, "{q:?}");
        // z-scoring removes h's scale: the same Q as c.
        assert!((q.hidden.max - q.cell.max).abs() < 1e-6 * q.cell.max);
        // The numbers are those of the averages (here every cycle is the same).
        let average = condition_cycles(&r, 25).average(&r, Signal::Cell).unwrap();
        let (values, _) = intra_tangling(&average, 0.01).unwrap();
        assert_eq!(q.cell.mean, summarize(&values).mean);
        let json = serde_json::to_value(&f).unwrap();
        for key in ["command", "cycle_len", "cycle_hz", "cycles_kept", "cycles_dropped", "tangling"] {
            assert!(json.get(key).is_some(), "{key}");
        }
    }
}
