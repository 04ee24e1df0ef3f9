#!/usr/bin/env bash
# Runs every test layer: (1) native cargo tests of the core and the CLI, with the numpy/scipy/
# scikit-learn/MuJoCo oracles; (2) the WGSL kernels against their CPU twins on lavapipe (part of
# cargo test: they fail, not skip, without an adapter); (3) the browser end-to-end tests in
# headless Chromium against the release build of the page.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;36m[test]\033[0m %s\n' "$*"; }
# lavapipe's WSI probe wants a runtime dir; any private one will do.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
start=$SECONDS

say "layers 1+2: cargo test (core, CLI, oracles, GPU kernels on $(command -v vulkaninfo >/dev/null && echo Vulkan || echo 'the Vulkan ICD'))"
cargo test --all-targets
say "cargo test done after $((SECONDS - start)) s"

say "layer 3: building the page (trunk build --release --offline)"
trunk build --release --offline
say "layer 3: browser end-to-end tests"
node tests/e2e/run.mjs
say "all test layers passed in $((SECONDS - start)) s"
