#!/bin/sh
# Trunk's post-build hook (Trunk.toml): writes version.json (the package version and the git
# commit the page was built from) into the page, so a permalink can name the build that made it.
set -e
dir=${TRUNK_STAGING_DIR:?run by trunk}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- src 2>/dev/null; then commit="$commit+changes"; fi
printf '{"version":"%s","commit":"%s"}\n' "$version" "$commit" > "$dir/version.json"
