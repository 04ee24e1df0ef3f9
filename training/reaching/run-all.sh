#!/bin/sh
# Seed study 002's trained models (issue 15), the authors' recipes:
# - the supervised models: batches of 32, Adam 3e-4, 10^4 batches per phase, no field -> the
#   spec's field -> no field; three seeds of the standard (Elman ReLU) and output-buffer (GRU)
#   models, then the buffer model with ReLU and tanh cells for check 5. Each run checkpoints
#   every 5 minutes; rerunning this script continues where it stopped.
# - the DQN: 10^5 frames (about 20 minutes; it has no checkpoint and restarts if stopped).
#   sh training/reaching/run-all.sh [TANGLELAB_BINARY]
set -e
bin=${1:-target/release/tanglelab}
here=$(dirname "$0")
# Seed 1 of every buffer cell comes early so that check 5 has a first reading.
# The ReLU/tanh seeds 2-3 (check 5 averages three seeds of each cell) come before DQN seeds 2-3.
for run in standard-relu-1 dqn-1 buffer-gru-1 standard-relu-2 buffer-gru-2 buffer-relu-1 buffer-tanh-1 \
           standard-relu-3 buffer-gru-3 buffer-relu-2 buffer-tanh-2 buffer-relu-3 buffer-tanh-3 dqn-2 dqn-3; do
  case $run in
    dqn-*)
      seed=${run#dqn-}; dir="$here/dqn-seed$seed"
      if [ -f "$dir/dqn-run.json" ]; then continue; fi
      "$bin" reaching dqn --seed "$seed" --out-dir "$dir" 2> "$dir.log" || exit 1
      continue;;
  esac
  model=${run%%-*}; rest=${run#*-}; cell=${rest%-*}; seed=${rest#*-}
  dir="$here/$model-$cell-seed$seed"
  if [ -f "$dir/model.safetensors" ]; then continue; fi
  if [ -f "$dir/checkpoint.safetensors" ]; then resume=--resume; else resume=; fi
  "$bin" reaching train --model "$model" --cell "$cell" --seed "$seed" --out-dir "$dir" $resume
done
"$bin" reaching report --runs "$here" > "$here/report.txt"
