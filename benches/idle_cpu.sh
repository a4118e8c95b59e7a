#!/usr/bin/env bash
# Idle CPU of `grokscope watch` with 1,000,000 records loaded: runs the
# release binary in a detached tmux session, lets it load, then reads
# utime+stime from /proc/<pid>/stat 30 s apart. Needs tmux and Linux.
#
#   bash benches/idle_cpu.sh [RECORDS] [SECONDS]
set -euo pipefail
records=${1:-1000000}
seconds=${2:-30}
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin grokscope --example synth_run
dir=$(mktemp -d)
session="grokscope-idle-$$"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; rm -rf "$dir"' EXIT
target/release/examples/synth_run "$dir/big" "$records" --lean
tmux new-session -d -s "$session" -x 120 -y 40 "target/release/grokscope watch $dir/big"
sleep 1
pid=$(tmux list-panes -t "$session" -F '#{pane_pid}')
# The pane may run a shell that started grokscope.
[ "$(cat "/proc/$pid/comm")" = grokscope ] || pid=$(pgrep -P "$pid" grokscope)
# Wait until the whole log is on screen (the status line shows the last step).
last=$((records - 1))
for _ in $(seq 1 120); do
  tmux capture-pane -p -t "$session" | grep -q "step $last" && break
  sleep 0.5
done
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
a=$(ticks)
sleep "$seconds"
b=$(ticks)
rss=$(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")
awk -v a="$a" -v b="$b" -v hz="$hz" -v s="$seconds" -v n="$records" -v rss="$rss" 'BEGIN {
  printf "idle CPU over %d s with %d records loaded: %.3f%% of a core (%d ticks), RSS %s\n",
    s, n, 100 * (b - a) / hz / s, b - a, rss }'
