//! A one-line progress bar on stderr for the long verbs (study, brainiarb).

use std::io::Write;

/// A callback `(done, total) -> keep going` that redraws `label [####....] done/total unit, s`.
pub fn progress_bar<'a>(label: &'a str, unit: &'a str) -> impl FnMut(usize, usize) -> bool + 'a {
    let start = std::time::Instant::now();
    move |done, total| {
        let width = 30;
        let filled = done * width / total.max(1);
        eprint!(
            "\r{label} [{}{}] {done}/{total} {unit}, {:.0} s",
            "#".repeat(filled),
            ".".repeat(width - filled),
            start.elapsed().as_secs_f64()
        );
        if done == total {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
        true
    }
}
