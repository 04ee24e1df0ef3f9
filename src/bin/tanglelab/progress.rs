//! A one-line progress bar on stderr for the long verbs (study, brainiarb).

use std::io::Write;

/// A callback `(done, total) -> keep going` that redraws `label [####....] done/total unit, s`
/// and, once it can tell, the time left.
pub fn progress_bar<'a>(label: &'a str, unit: &'a str) -> impl FnMut(usize, usize) -> bool + 'a {
    let start = std::time::Instant::now();
    move |done, total| {
        let width = 30;
        let filled = done * width / total.max(1);
        let elapsed = start.elapsed().as_secs_f64();
        let left = tanglelab::progress::time_left_text(elapsed, done as f64 / total.max(1) as f64)
            .map(|t| format!(", {t}"))
            .unwrap_or_default();
        // Trailing spaces wipe a longer previous line's end.
        eprint!(
            "\r{label} [{}{}] {done}/{total} {unit}, {elapsed:.0} s{left}    ",
            "#".repeat(filled),
            ".".repeat(width - filled)
        );
        if done == total {
            eprintln!();
        }
        let _ = std::io::stderr().flush();
        true
    }
}
