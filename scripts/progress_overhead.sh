#!/usr/bin/env bash
# The cost of progress output (issue 12, item 8): the quickstart's 100 epochs with the
# progress bar drawn on a terminal (a pseudo-terminal from `script`, since the bar hides
# itself in a pipe) and with one line per epoch, against silent; ROUNDS alternating runs of
# each, medians of the example's own `train_seconds` (wall clock) and `train_cpu_seconds`
# (the training thread's CPU time, steadier on a loaded machine) and their ratios.
#   scripts/progress_overhead.sh [ROUNDS] [BINARY]
#   (default 20 rounds of target/release/examples/quickstart; build it first:
#    cargo build --release --example quickstart)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-20}
BIN=${2:-target/release/examples/quickstart}
field() { grep -o "$1=[0-9.]*" | tail -1 | cut -d= -f2; }
declare -a silent bar lines silent_cpu bar_cpu lines_cpu
for _ in $(seq "$ROUNDS"); do
  for mode in silent:0 bar:1 lines:2; do
    out=$(script -qec "$BIN --verbose ${mode#*:}" /dev/null)
    eval "${mode%:*}+=(\"$(field train_seconds <<<"$out")\")"
    eval "${mode%:*}_cpu+=(\"$(field train_cpu_seconds <<<"$out")\")"
  done
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
report() {
  local s b l
  s=$(median "${@:2:ROUNDS}"); b=$(median "${@:ROUNDS+2:ROUNDS}"); l=$(median "${@:2*ROUNDS+2:ROUNDS}")
  awk -v k="$1" -v s="$s" -v b="$b" -v l="$l" 'BEGIN {
    printf "%s: median_silent=%.5fs median_bar=%.5fs median_lines=%.5fs bar_ratio=%.4f lines_ratio=%.4f\n", k, s, b, l, b/s, l/s }'
}
echo "rounds=$ROUNDS binary=$BIN load=$(cut -d' ' -f1-3 /proc/loadavg)"
report wall "${silent[@]}" "${bar[@]}" "${lines[@]}"
if [ -n "${silent_cpu[0]}" ]; then
  report cpu "${silent_cpu[@]}" "${bar_cpu[@]}" "${lines_cpu[@]}"
fi
