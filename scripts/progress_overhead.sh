#!/usr/bin/env bash
# The cost of progress output (issue 12, item 8): the quickstart's 100 epochs with the
# progress bar drawn on a terminal (a pseudo-terminal from `script`, since the bar hides
# itself in a pipe) and with one line per epoch, against silent; ROUNDS alternating runs of
# each, medians of the example's own `train_seconds` and their ratios.
#   scripts/progress_overhead.sh [ROUNDS]   (default 20; build first: cargo build --release --example quickstart)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-20}
BIN=target/release/examples/quickstart
seconds() { grep -o 'train_seconds=[0-9.]*' | tail -1 | cut -d= -f2; }
declare -a silent bar lines
for _ in $(seq "$ROUNDS"); do
  silent+=("$(script -qec "$BIN --verbose 0" /dev/null | seconds)")
  bar+=("$(script -qec "$BIN --verbose 1" /dev/null | seconds)")
  lines+=("$(script -qec "$BIN --verbose 2" /dev/null | seconds)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ms=$(median "${silent[@]}"); mb=$(median "${bar[@]}"); ml=$(median "${lines[@]}")
awk -v s="$ms" -v b="$mb" -v l="$ml" -v r="$ROUNDS" 'BEGIN {
  printf "rounds=%d median_silent=%.4fs median_bar=%.4fs median_lines=%.4fs bar_ratio=%.4f lines_ratio=%.4f\n", r, s, b, l, b/s, l/s }'
