#!/usr/bin/env bash
# Ingest benchmark: `grokscope summary --json` on a generated log of RECORDS
# records with 10 scalars each, side by side with `wc -l` on the same warm
# file: RUNS alternated runs of each (default 7), medians compared, the load
# average printed with them (the machine may be shared). OLD=path/to/grokscope
# adds an older build to the alternation (keep a copy before a change).
# Also prints the time of the run analysis alone (examples/analysis_cost.rs),
# which `summary` includes, peak RSS and bytes per point.
# Usage: benches/ingest.sh [RECORDS]   (default 1000000)
#        LOG=/tmp/ingest.jsonl RUNS=11 OLD=/tmp/grokscope-old benches/ingest.sh
set -euo pipefail
cd "$(dirname "$0")/.."
records=${1:-1000000}
scalars=10
runs=${RUNS:-7}
cargo build --release --quiet --bin grokscope --example gen_log --example analysis_cost
mkdir -p target/bench
log=${LOG:-target/bench/ingest-${records}.jsonl}
[ -s "$log" ] || ./target/release/examples/gen_log "$log" "$records" "$scalars"
bin=./target/release/grokscope
bytes=$(stat -c %s "$log")
cat "$log" > /dev/null # warm the page cache for both contestants

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_of() { # prints wall seconds of one run of "$@"
  local t0 t1
  t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
gs=(); wc=(); old=()
for _ in $(seq "$runs"); do
  gs+=("$(time_of "$bin" summary --json "$log")")
  wc+=("$(time_of wc -l "$log")")
  if [ -n "${OLD:-}" ]; then old+=("$(time_of "$OLD" summary --json "$log")"); fi
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
gs_med=$(printf '%s\n' "${gs[@]}" | median)
wc_med=$(printf '%s\n' "${wc[@]}" | median)
rss_kb=$(/usr/bin/time -f %M "$bin" summary --json "$log" 2>&1 >/dev/null | tail -1)
empty=target/bench/empty.jsonl; : > "$empty"
base_kb=$(/usr/bin/time -f %M "$bin" summary --json "$empty" 2>&1 >/dev/null | tail -1)
analysis=$(./target/release/examples/analysis_cost "$log" 3)
points=$((records * scalars))
echo "load average    $load0 before, $load1 after the alternated runs"
awk -v b="$bytes" -v r="$records" -v g="$gs_med" -v w="$wc_med" -v rss="$rss_kb" -v base="$base_kb" -v p="$points" -v n="$runs" 'BEGIN {
  printf "file            %d records, %.1f MB\n", r, b / 1e6
  printf "grokscope       %.3f s median of %d: %.0f records/s, %.0f MB/s\n", g, n, r / g, b / 1e6 / g
  printf "wc -l           %.3f s median of %d: %.0f MB/s\n", w, n, b / 1e6 / w
  printf "ratio           %.1fx the time of wc -l\n", g / w
  printf "peak RSS        %.1f MB (empty log: %.1f MB)\n", rss / 1024, base / 1024
  printf "memory/point    %.1f bytes per stored scalar point, index included\n", (rss - base) * 1024 / p
}'
if [ -n "${OLD:-}" ]; then
  old_med=$(printf '%s\n' "${old[@]}" | median)
  awk -v g="$gs_med" -v o="$old_med" -v n="$runs" 'BEGIN {
    printf "old grokscope   %.3f s median of %d, alternated: %.2fx the time of this build\n", o, n, o / g }'
fi
echo "analysis alone  $analysis"
