//! Progress of long work as a person reads it: the time left, estimated from the time spent so
//! far and the fraction done (the page's progress lines and the CLI's progress bar share it).

use crate::fmath::FloatExt;

/// "about 12 s left" / "about 3 min left", or None while too little is done to guess (under 2 %
/// of the work or under half a second spent) and once it is finished.
pub fn time_left_text(elapsed_secs: f64, fraction_done: f64) -> Option<String> {
    if !(elapsed_secs.is_finite() && elapsed_secs >= 0.5 && (0.02..1.0).contains(&fraction_done)) {
        return None;
    }
    let left = elapsed_secs * (1.0 - fraction_done) / fraction_done;
    Some(if left < 90.0 {
        format!("about {} s left", left.round().fmax(1.0) as u64)
    } else if left < 5400.0 {
        format!("about {} min left", (left / 60.0).round() as u64)
    } else {
        format!("about {:.1} h left", left / 3600.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_scales_the_time_spent_by_the_work_left() {
        assert_eq!(time_left_text(10.0, 0.5).as_deref(), Some("about 10 s left"));
        assert_eq!(time_left_text(10.0, 0.25).as_deref(), Some("about 30 s left"));
        assert_eq!(time_left_text(60.0, 0.2).as_deref(), Some("about 4 min left"));
        assert_eq!(time_left_text(3600.0, 0.25).as_deref(), Some("about 3.0 h left"));
        assert_eq!(time_left_text(0.9, 0.99).as_deref(), Some("about 1 s left"));
    }

    #[test]
    fn no_estimate_too_early_when_done_or_from_nonsense() {
        assert_eq!(time_left_text(30.0, 0.01), None);
        assert_eq!(time_left_text(0.2, 0.5), None);
        assert_eq!(time_left_text(10.0, 1.0), None);
        assert_eq!(time_left_text(f64::NAN, 0.5), None);
        assert_eq!(time_left_text(10.0, f64::INFINITY), None);
    }
}
