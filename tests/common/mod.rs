//! Helpers the CLI integration tests share: run the `tanglelab` binary on a given number of
//! threads, insist that it succeeds, read a JSON file.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::Path;
use std::process::Command;

/// Runs `tanglelab args` with `RAYON_NUM_THREADS=threads`.
pub fn tanglelab(args: &[&str], threads: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tanglelab"))
        .env("RAYON_NUM_THREADS", threads)
        .args(args)
        .output()
        .expect("run tanglelab")
}

/// [`tanglelab`], which must succeed; returns its stdout.
pub fn run_ok(args: &[&str], threads: &str) -> String {
    let out = tanglelab(args, threads);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A JSON file's value.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
