#!/usr/bin/env bash
# The one command for a working local demo (README): installs what is missing,
# builds, starts Prosody on loopback with demo accounts and switchboard connected
# to it, prints how to log in. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_TEST_TRANSPORT=ON >/dev/null
cmake --build build -j"$(nproc)" --target switchboard
exec /usr/bin/python3 scripts/demo.py
