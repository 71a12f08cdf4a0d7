#!/usr/bin/env bash
# Runs the libFuzzer target fuzz_stream (framer + stanza + JID) for SECONDS
# (default 60) from the seed corpus. Exits non-zero if it finds a crash; the
# reproducer is left in build-fuzz/fuzz-work/ (re-run: build-fuzz/fuzz_stream FILE).
set -euo pipefail
SECS="${1:-60}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$ROOT/build-fuzz"
WORK="$BUILD/fuzz-work"

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DSB_FUZZ=ON -DSB_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target fuzz_stream -j2

rm -rf "$WORK"
mkdir -p "$WORK/corpus"
cp "$ROOT"/tests/fuzz/corpus/* "$WORK/corpus/"

set +e
"$BUILD/tests/fuzz/fuzz_stream" -max_total_time="$SECS" -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$WORK/" "$WORK/corpus" >"$WORK/fuzz.log" 2>&1
rc=$?
set -e
# Progress lines stay in the log; show the rest (stats, or the crash report).
grep -vE '^#[0-9]+' "$WORK/fuzz.log" | tail -60
if [ "$rc" -ne 0 ]; then
  echo "fuzz.sh: fuzz_stream failed (exit $rc); log: $WORK/fuzz.log; artifacts:" >&2
  ls "$WORK"/crash-* "$WORK"/leak-* "$WORK"/timeout-* "$WORK"/oom-* 2>/dev/null >&2 || true
  exit "$rc"
fi
echo "fuzz.sh: no crash in ${SECS}s ($(ls "$WORK/corpus" | wc -l) corpus entries)"
