#!/usr/bin/env bash
# The one command that runs every test (README): installs what is missing from
# Debian's packages, builds, then runs
#   1. the unit and scenario tests (doctest, via ctest),
#   2. the same under AddressSanitizer + UndefinedBehaviorSanitizer,
#   3. a short libFuzzer run of the stream/stanza parser,
#   4. the end-to-end tests against real Prosody and ejabberd (pytest + slixmpp).
# Environment: JOBS (default: nproc), FUZZ_SECONDS (default 30), SKIP_ASAN=1,
# SKIP_FUZZ=1 (for quick local runs; CI runs everything).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}

step() { printf '\n==== %s ====\n' "$*"; }

step "setup: Debian packages"
bash scripts/setup.sh

step "build (RelWithDebInfo, with the loopback test transport)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_TEST_TRANSPORT=ON >/dev/null
cmake --build build -j"$JOBS"

step "unit and scenario tests"
ctest --test-dir build --output-on-failure

if [ "${SKIP_ASAN:-}" != 1 ]; then
  step "unit tests under ASan + UBSan"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSB_SANITIZE=ON >/dev/null
  units=$(for d in tests/unit/*/; do n=$(basename "$d"); ls "$d"*.cpp >/dev/null 2>&1 && echo "unit_$n"; done)
  # shellcheck disable=SC2086
  cmake --build build-asan -j"$JOBS" --target $units
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --test-dir build-asan --output-on-failure
fi

if [ "${SKIP_FUZZ:-}" != 1 ]; then
  step "fuzz the stream framer + stanza parser, the IRC line/text codecs and the core for ${FUZZ_SECONDS}s each"
  bash scripts/fuzz.sh "$FUZZ_SECONDS"
fi

step "end-to-end tests: real Prosody and ejabberd"
SB_E2E_REQUIRE_BINARY=1 SWITCHBOARD_BIN="$PWD/build/switchboard" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/e2e
