//! The native side of the `--wasm` benchmarks that are driven line by line (tests/e2e/
//! bench_wasm.mjs, bench_wasm_policy.mjs): node serves dist/, opens the page in headless Chromium
//! and prints one JSON line when it is ready; then each "<seconds>" written to its stdin gives one
//! timed run as one JSON line, so the caller can alternate native and wasm runs on a busy machine.

use anyhow::Context;
use serde::de::DeserializeOwned;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// A running node script with the page loaded, waiting for runs.
pub struct WasmBench {
    child: Child,
    stdout: BufReader<ChildStdout>,
    script: &'static str,
}

impl WasmBench {
    /// Starts `script` with `args`; returns it and its "ready" line.
    pub fn start<R: DeserializeOwned>(script: &'static str, args: &[String]) -> anyhow::Result<(WasmBench, R)> {
        anyhow::ensure!(
            Path::new(script).is_file(),
            "--wasm needs {script} (run the benchmark from a checkout of the repository)"
        );
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run node (needed by --wasm)")?;
        let stdout = BufReader::new(child.stdout.take().context("no stdout from node")?);
        let mut bench = WasmBench { child, stdout, script };
        let ready = bench.read()?;
        Ok((bench, ready))
    }

    fn read<T: DeserializeOwned>(&mut self) -> anyhow::Result<T> {
        let mut line = String::new();
        self.stdout.read_line(&mut line).context("reading from the wasm benchmark")?;
        anyhow::ensure!(!line.is_empty(), "the wasm benchmark ({}) stopped; see its error above", self.script);
        serde_json::from_str(&line).with_context(|| format!("unexpected output from the wasm benchmark: {line}"))
    }

    /// One timed run of `seconds`.
    pub fn run<T: DeserializeOwned>(&mut self, seconds: f64) -> anyhow::Result<T> {
        let stdin = self.child.stdin.as_mut().context("no stdin to node")?;
        writeln!(stdin, "{seconds}").context("writing to the wasm benchmark")?;
        self.read()
    }

    /// Ends the script (EOF on its stdin) and checks that it exited cleanly.
    pub fn finish(mut self) -> anyhow::Result<()> {
        drop(self.child.stdin.take());
        let status = self.child.wait()?;
        anyhow::ensure!(status.success(), "the wasm benchmark failed ({status})");
        Ok(())
    }
}
