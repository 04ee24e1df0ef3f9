#!/usr/bin/env bash
# Installs whatever is missing to build and serve (`setup.sh serve`) or also to test
# (`setup.sh test`) TangleLab on Debian 12 with rustup's Rust. Nothing comes from GitHub
# releases: only crates.io, PyPI, Debian and npm. When everything is present it takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"
say() { printf '\033[1;36m[setup]\033[0m %s\n' "$*"; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# --- Debian packages -------------------------------------------------------------------------
apt_packages=()
if [ "$mode" = test ]; then
  apt_packages+=(chromium chromium-driver mesa-vulkan-drivers)
fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# --- Rust targets and tools ------------------------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
# Trunk 0.22 needs rustc >= 1.96.1; 0.21.14 builds on 1.95.
trunk_version=0.21.14
# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock; Trunk.toml names the same version.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! grep -q "wasm_bindgen = \"$bindgen_version\"" Trunk.toml; then
  echo "Trunk.toml's [tools] wasm_bindgen differs from Cargo.lock's wasm-bindgen $bindgen_version: update Trunk.toml" >&2
  exit 1
fi
# On a fresh machine the two tools and the page's own compile are independent: they build side by
# side (each alone leaves a core idle while it links). The tools are build helpers, not shipped:
# they are compiled without their own fat LTO (Trunk's release profile asks for it). Trunk only
# starts cargo and copies files, so it is built unoptimised: 2.5 minutes instead of about 9 on 2
# cores. wasm-bindgen-cli rewrites the 8 MB wasm, so it keeps opt-level 1: 2 minutes instead of 5
# (measured 2026-12-07). Trunk without its update check (no network at start).
fast_tool_build=(env CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1)
unoptimised_tool_build=(env CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=0)
logs=target/.setup-logs
mkdir -p "$logs"
jobs_started=()
start_job() { # name, command…
  local name=$1; shift
  say "$name (log: $logs/$name.log)"
  "$@" > "$logs/$name.log" 2>&1 &
  jobs_started+=("$name:$!")
}
if ! trunk --version 2>/dev/null | grep -qx "trunk $trunk_version"; then
  start_job install-trunk "${unoptimised_tool_build[@]}" cargo install --locked trunk --version "$trunk_version" \
    --no-default-features --features rustls
fi
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $bindgen_version"; then
  # Not --locked: its lockfile pins a webpki-roots that crates.io no longer serves.
  start_job install-wasm-bindgen "${fast_tool_build[@]}" cargo install wasm-bindgen-cli --version "$bindgen_version"
fi
if [ "$mode" = serve ] && [ "${#jobs_started[@]}" -gt 0 ]; then
  # What `trunk build --release` will run first; Trunk then finds it done.
  start_job prebuild-page cargo build --target=wasm32-unknown-unknown --release --bin tanglelab-web
fi
failed=0
for job in "${jobs_started[@]}"; do
  name=${job%%:*}; pid=${job##*:}
  if wait "$pid"; then
    say "$name done"
  else
    echo "setup: $name failed; the end of its log ($logs/$name.log):" >&2
    tail -n 30 "$logs/$name.log" >&2
    failed=1
  fi
done
[ "$failed" = 0 ] || exit 1

[ "$mode" = test ] || exit 0

# --- Test oracles (Python) and browser tests (Node) -------------------------------------------
stamp=target/.setup-stamps
mkdir -p "$stamp"
req_hash=$(sha256sum tests/requirements.txt | cut -c1-16)
if [ ! -f "$stamp/pip-$req_hash" ]; then
  say "installing the Python test oracles (tests/requirements.txt)"
  python3 -m pip install -q --root-user-action=ignore -r tests/requirements.txt
  touch "$stamp/pip-$req_hash"
fi
lock_hash=$(sha256sum tests/e2e/package-lock.json | cut -c1-16)
if [ ! -f "tests/e2e/node_modules/.stamp-$lock_hash" ]; then
  say "installing the browser-test packages (npm ci)"
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  touch "tests/e2e/node_modules/.stamp-$lock_hash"
fi
