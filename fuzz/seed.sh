#!/usr/bin/env bash
# Builds the seed corpus of every fuzz target from the project's own
# inputs (tests/fixtures, runs/, themes/) into fuzz/corpus/<target>/.
# libFuzzer then adds what it finds to the same folders.
set -euo pipefail
cd "$(dirname "$0")"
root=..
mkdir -p corpus/jsonl_parse corpus/jsonl_line corpus/tfevents corpus/meta_json corpus/theme

# JSONL: each fixture whole, and the first lines of every shipped run.
for f in "$root"/tests/fixtures/*.jsonl "$root"/tests/fixtures/several/*.jsonl; do
    cp "$f" "corpus/jsonl_line/$(basename "$f")"
done
for d in "$root"/runs/*/; do
    head -n 5 "$d/metrics.jsonl" > "corpus/jsonl_line/run-$(basename "$d").jsonl"
done

# Single lines: the distinct lines of the fixtures and of the first lines
# of every shipped run, one file each.
python3 - "$root" corpus/jsonl_parse <<'PY'
import glob, hashlib, os, sys
root, out = sys.argv[1], sys.argv[2]
files = glob.glob(f"{root}/tests/fixtures/**/*.jsonl", recursive=True)
files += glob.glob(f"{root}/runs/*/metrics.jsonl")
for f in files:
    with open(f, "rb") as fh:
        for i, line in enumerate(fh):
            if i >= 20:
                break
            line = line.rstrip(b"\n")
            name = hashlib.sha1(line).hexdigest()
            with open(os.path.join(out, name), "wb") as o:
                o.write(line)
PY

# meta.json: every one there is.
find "$root/runs" "$root/tests/fixtures" -name meta.json | while read -r f; do
    cp "$f" "corpus/meta_json/$(echo "${f#"$root"/}" | tr '/.' '__')"
done

# Themes: the built-in ones.
cp "$root"/themes/*.toml corpus/theme/

# Event files: as they are (mode 0), and their records re-framed (mode 1,
# see fuzz_targets/tfevents.rs), each split in the middle.
find "$root/tests/fixtures/tensorboard" -type f -name '*tfevents*' | while read -r f; do
    name=$(echo "${f#"$root"/}" | tr '/.' '__')
    { printf '\x00\x80'; cat "$f"; } > "corpus/tfevents/raw$name"
    python3 - "$f" "corpus/tfevents/framed$name" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
out = bytearray(b"\x01\x80")
pos = 0
while pos + 12 <= len(data):
    (n,) = struct.unpack_from("<Q", data, pos)
    if n > 0xFFFF or pos + 16 + n > len(data):
        break
    out += b"\x00" + struct.pack("<H", n) + data[pos + 12 : pos + 12 + n]
    pos += 16 + n
open(sys.argv[2], "wb").write(out)
PY
done
echo "seeded: $(for t in corpus/*; do printf '%s %s  ' "$(basename "$t")" "$(ls "$t" | wc -l)"; done)"
