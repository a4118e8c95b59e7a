#!/usr/bin/env bash
# TensorBoard loading benchmark: `grokscope summary` on an event file of
# SCALARS scalars (10 tags), side by side with TensorBoard's own Python
# loader (EventAccumulator keeping every scalar) on the same file.
# Needs `pip install tensorboard` (the file is written with TensorBoard's own
# writer). Usage: benches/tfevents.sh [SCALARS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
scalars=${1:-1000000}
cargo build --release --quiet --bin grokscope
dir=target/bench/tb-$scalars
if [ -z "$(ls "$dir" 2>/dev/null)" ]; then
  python3 benches/gen_tfevents.py "$dir" "$scalars"
fi
bin=./target/release/grokscope
cat "$dir"/* > /dev/null
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
gs=()
for _ in 1 2 3 4 5; do
  t0=$(date +%s.%N); "$bin" summary --json "$dir" > /dev/null; t1=$(date +%s.%N)
  gs+=("$(echo "$t1 - $t0" | bc -l)")
done
gs_med=$(printf '%s\n' "${gs[@]}" | median)
rss_kb=$(/usr/bin/time -f %M "$bin" summary --json "$dir" 2>&1 >/dev/null | tail -1)
empty=target/bench/empty.jsonl; : > "$empty"
base_kb=$(/usr/bin/time -f %M "$bin" summary --json "$empty" 2>&1 >/dev/null | tail -1)
read -r tb_s tb_n < <(python3 benches/tb_loader.py "$dir")
awk -v g="$gs_med" -v t="$tb_s" -v n="$tb_n" -v p="$scalars" -v rss="$rss_kb" -v base="$base_kb" 'BEGIN {
  printf "grokscope       %.3f s median of 5 (%d scalars)\n", g, p
  printf "TensorBoard     %.1f s (EventAccumulator, %d scalars kept)\n", t, n
  printf "ratio           %.0fx faster\n", t / g
  printf "peak RSS        %.1f MB (empty log: %.1f MB): %.1f bytes per point\n", rss / 1024, base / 1024, (rss - base) * 1024 / p
}'
