#!/usr/bin/env bash
# TensorBoard loading benchmark: `grokscope summary --json` on an event file
# of SCALARS scalars (10 tags), side by side with tbtui's `ls` (another
# terminal viewer of TensorBoard logs, built from crates.io into a scratch
# folder outside this repository) and TensorBoard's own Python loader
# (EventAccumulator keeping every scalar), on the same warm file.
#
# The two fast readers run alternately, RUNS times each (default 11), and
# their medians are compared; the load average is printed with them, as the
# machine may be shared. OLD=path/to/grokscope adds an older build to the
# alternation (keep a copy before a change).
#
# Needs `pip install tensorboard` (the file is written with TensorBoard's own
# writer) and network access to crates.io for the first build of tbtui.
# Usage: benches/tfevents.sh [SCALARS]   (default 1000000)
#        TBTUI_DIR=/tmp/tbtui RUNS=21 SKIP_TB=1 benches/tfevents.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scalars=${1:-1000000}
runs=${RUNS:-11}
tbtui_dir=${TBTUI_DIR:-${TMPDIR:-/tmp}/grokscope-bench-tbtui}
cargo build --release --quiet --bin grokscope
dir=target/bench/tb-$scalars
if [ -z "$(ls "$dir" 2>/dev/null)" ]; then
  python3 benches/gen_tfevents.py "$dir" "$scalars"
fi
tbtui=$tbtui_dir/bin/tbtui
if [ ! -x "$tbtui" ]; then
  (cd "${TMPDIR:-/tmp}" && cargo install --quiet --locked --root "$tbtui_dir" tbtui@0.1.0)
fi
bin=./target/release/grokscope
cat "$dir"/* > /dev/null

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_of() { # wall seconds of one run of "$@"
  local t0 t1
  t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
gs=(); tb=(); old=()
for _ in $(seq "$runs"); do
  gs+=("$(time_of "$bin" summary --json "$dir")")
  tb+=("$(time_of "$tbtui" ls --no-color "$dir")")
  if [ -n "${OLD:-}" ]; then old+=("$(time_of "$OLD" summary --json "$dir")"); fi
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
gs_med=$(printf '%s\n' "${gs[@]}" | median)
tb_med=$(printf '%s\n' "${tb[@]}" | median)
rss_kb=$(/usr/bin/time -f %M "$bin" summary --json "$dir" 2>&1 >/dev/null | tail -1)
empty=target/bench/empty.jsonl; : > "$empty"
base_kb=$(/usr/bin/time -f %M "$bin" summary --json "$empty" 2>&1 >/dev/null | tail -1)
echo "load average    $load0 before, $load1 after the alternated runs"
awk -v g="$gs_med" -v t="$tb_med" -v p="$scalars" -v n="$runs" 'BEGIN {
  printf "grokscope       %.3f s median of %d (%d scalars)\n", g, n, p
  printf "tbtui ls        %.3f s median of %d, alternated: grokscope %.2fx faster\n", t, n, t / g
}'
if [ -n "${OLD:-}" ]; then
  old_med=$(printf '%s\n' "${old[@]}" | median)
  awk -v g="$gs_med" -v o="$old_med" -v n="$runs" 'BEGIN {
    printf "old grokscope   %.3f s median of %d, alternated: %.2fx the time of this build\n", o, n, o / g }'
fi
if [ -z "${SKIP_TB:-}" ]; then
  read -r acc_s acc_n < <(python3 benches/tb_loader.py "$dir")
  awk -v g="$gs_med" -v t="$acc_s" -v n="$acc_n" 'BEGIN {
    printf "TensorBoard     %.1f s (EventAccumulator, %d scalars kept): grokscope %.0fx faster\n", t, n, t / g }'
fi
awk -v rss="$rss_kb" -v base="$base_kb" -v p="$scalars" 'BEGIN {
  printf "peak RSS        %.1f MB (empty log: %.1f MB): %.1f bytes per point\n", rss / 1024, base / 1024, (rss - base) * 1024 / p
}'
