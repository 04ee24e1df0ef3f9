# The two commands of README.md. Both install what is missing first (scripts/setup.sh).
.PHONY: serve test

# Build the notebook and serve it on http://127.0.0.1:8080 (rebuilds on change).
serve:
	scripts/setup.sh serve
	trunk serve --release --offline

# Every test layer: native core + CLI + oracles, GPU kernels on lavapipe, browser end-to-end.
test:
	scripts/setup.sh test
	scripts/test.sh
