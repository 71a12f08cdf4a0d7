#!/usr/bin/env bash
# Runs each libFuzzer target for SECONDS (default 60) from its seed corpus:
#   fuzz_stream  framer + stanza + JID          (tests/fuzz/corpus/)
#   fuzz_irc     IRC line, text and address codecs (tests/fuzz/corpus_irc/)
#   fuzz_core    users' stanzas through the core (tests/fuzz/corpus_core/)
# Exits non-zero if any target finds a crash; the reproducer is left in
# build-fuzz/fuzz-work/<target>/ (re-run: build-fuzz/tests/fuzz/<target> FILE).
# SB_FUZZ_BUILD overrides the build directory (default: build-fuzz).
set -euo pipefail
SECS="${1:-60}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${SB_FUZZ_BUILD:-$ROOT/build-fuzz}"
WORK="$BUILD/fuzz-work"
TARGETS=(fuzz_stream fuzz_irc fuzz_core)
declare -A CORPUS=([fuzz_stream]=corpus [fuzz_irc]=corpus_irc [fuzz_core]=corpus_core)

cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ \
  -DSB_FUZZ=ON -DSB_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD" --target "${TARGETS[@]}" -j2

rm -rf "$WORK"
failed=0
for t in "${TARGETS[@]}"; do
  dir="$WORK/$t"
  mkdir -p "$dir/corpus"
  cp "$ROOT"/tests/fuzz/"${CORPUS[$t]}"/* "$dir/corpus/"
  set +e
  "$BUILD/tests/fuzz/$t" -max_total_time="$SECS" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$dir/" "$dir/corpus" >"$dir/fuzz.log" 2>&1
  rc=$?
  set -e
  # Progress lines stay in the log; show the rest (stats, or the crash report).
  echo "== $t"
  grep -vE '^#[0-9]+' "$dir/fuzz.log" | tail -60
  if [ "$rc" -ne 0 ]; then
    echo "fuzz.sh: $t failed (exit $rc); log: $dir/fuzz.log; artifacts:" >&2
    ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null >&2 || true
    failed="$rc"
  else
    echo "fuzz.sh: $t: no crash in ${SECS}s ($(ls "$dir/corpus" | wc -l) corpus entries)"
  fi
done
exit "$failed"
