# The two commands of README.md. Both install what is missing first (scripts/setup.sh).
.PHONY: serve dev test

# Build the notebook and serve it on http://127.0.0.1:8080 (a static server without a file
# watcher: Trunk's watcher can panic on a fresh clone; see scripts/serve_dist.mjs).
serve:
	scripts/setup.sh serve
	trunk build --release --offline
	node scripts/serve_dist.mjs 8080

# For developers: Trunk's server, rebuilding on change.
dev:
	scripts/setup.sh serve
	trunk serve --release --offline

# Every test layer: native core + CLI + oracles, GPU kernels on lavapipe, browser end-to-end.
test:
	scripts/setup.sh test
	scripts/test.sh
