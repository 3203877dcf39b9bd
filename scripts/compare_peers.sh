#!/usr/bin/env bash
# Runs our examples and the same workloads in PyTorch (../shared/bench) side by side,
# alternating them, and prints every figure. Usage:
#   PYTHON=~/peers/bin/python scripts/compare_peers.sh [quickstart|regression|mnist|cnn|seq|gan|all] [ROUNDS]
# (cnn runs CNN_EPOCHS epochs, 2 by default, of each: the per-epoch time is what compares;
# seq runs MNIST read row by row, SEQ_EPOCHS epochs (1 by default) of each cell in SEQ_CELLS,
# "lstm" by default, e.g. SEQ_CELLS="lstm gru rnn"; gan runs GAN_EPOCHS epochs, 1 by default,
# on GAN_THREADS threads, 2 by default. PAUSE=S sleeps S seconds after each run, so that one
# program's exit, e.g. PyTorch freeing a gigabyte, does not overlap the next one's timing.)
# The peers' virtualenv is set up as described in ../shared/bench/README.md. The last lines
# (scripts/compare_summary.py) give each workload's medians and ratios over the rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$HOME/peers/bin/python}
BENCH=${BENCH:-../shared/bench}
WHAT=${1:-all}
ROUNDS=${2:-3}
export MNIST_DIR=${MNIST_DIR:-$PWD/data/mnist}
cargo build --release --examples -q

run() { echo "--- $*"; "$@" 2>/dev/null | tail -1; sleep "${PAUSE:-0}"; }

rounds() {
  for round in $(seq "$ROUNDS"); do
    echo "=== round $round (load $(cut -d' ' -f1 /proc/loadavg))"
    if [[ $WHAT == all || $WHAT == quickstart ]]; then
      run target/release/examples/quickstart --quiet
      run "$PYTHON" "$BENCH/w2_seed000.py" --fw torch
    fi
    if [[ $WHAT == all || $WHAT == regression ]]; then
      run target/release/examples/regression
      run "$PYTHON" "$BENCH/w5_seed002.py"
    fi
    if [[ $WHAT == all || $WHAT == cnn ]]; then
      run target/release/examples/mnist_cnn --quiet --epochs "${CNN_EPOCHS:-2}"
      run "$PYTHON" "$BENCH/w3w4_mnist.py" --workload W4 --fw torch --epochs "${CNN_EPOCHS:-2}"
    fi
    if [[ $WHAT == all || $WHAT == seq ]]; then
      for cell in ${SEQ_CELLS:-lstm}; do
        run target/release/examples/mnist_lstm --quiet --cell "$cell" --epochs "${SEQ_EPOCHS:-1}"
        run "$PYTHON" "$BENCH/w6_seq.py" --cell "$cell" --epochs "${SEQ_EPOCHS:-1}"
      done
    fi
    if [[ $WHAT == all || $WHAT == gan ]]; then
      run target/release/examples/gan_mnist --epochs "${GAN_EPOCHS:-1}" --threads "${GAN_THREADS:-2}"
      run "$PYTHON" "$BENCH/w7_gan.py" --epochs "${GAN_EPOCHS:-1}" --threads "${GAN_THREADS:-2}"
    fi
    if [[ $WHAT == all || $WHAT == mnist ]]; then
      run target/release/examples/mnist_mlp --quiet
      run "$PYTHON" "$BENCH/w3w4_mnist.py" --workload W3 --fw torch --epochs 5
    fi
  done
}

# Every run's line as it comes, then the medians and ratios per workload.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rounds | tee "$log"
echo "=== summary"
"$PYTHON" scripts/compare_summary.py "$log"
