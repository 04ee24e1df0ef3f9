#!/bin/sh
# Reruns the shipped policies' evaluations and studies whose outputs are kept in training/
# (after a change to the engine's or the policy's arithmetic), writing them where the READMEs
# cite them. About 20–30 minutes on this machine's two cores.
#   sh training/regenerate-results.sh [TANGLELAB_BINARY]
set -e
bin=${1:-target/release/tanglelab}
here=$(dirname "$0")
walker=public/models/walker2d-lstm.safetensors
quadruped=public/models/quadruped-lstm-seed1.safetensors
scratch=$(mktemp -d)
q="$here/quadruped-seed1/eval"
"$bin" eval --robot quadruped --model "$quadruped" --agents 100 --seconds 10 --json > "$q/eval-100x10s.json"
"$bin" eval --robot quadruped --model "$quadruped" --agents 100 --state-check --state-check-secs 30 --state-check-speed 2 > "$q/state-check-30s.txt"
for protocol in push opposing speed-sweep; do
  "$bin" study run --robot quadruped --model "$quadruped" --protocol "$protocol" --agents 100 --seconds 10 --out-dir "$scratch/q-$protocol"
  cp "$scratch/q-$protocol/findings.json" "$q/study-$protocol-findings.json"
  cp "$scratch/q-$protocol/protocol.json" "$q/study-$protocol-protocol.json"
done
w="$here/walker2d-seed1"
"$bin" eval --robot walker2d --model "$walker" --agents 20 --seconds 10 --json > "$w/eval.json"
for seed in 0 7 100; do
  "$bin" eval --robot walker2d --model "$walker" --agents 100 --seconds 10 --seed "$seed" --json > "$w/eval-100-agents-seed$seed.json"
done
mkdir -p "$w/study"
for protocol in push speed-sweep; do
  "$bin" study run --robot walker2d --model "$walker" --protocol "$protocol" --out-dir "$scratch/w-$protocol"
  cp "$scratch/w-$protocol/findings.json" "$w/study/$protocol-findings.json"
  cp "$scratch/w-$protocol/protocol.json" "$w/study/$protocol-protocol.json"
done
rm -rf "$scratch"
