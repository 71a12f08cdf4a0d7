#!/bin/sh
# Builds switchboard (Release, with the loopback test transport) and runs the
# benchmarks: the in-process one (bench_core) and the end-to-end one through a
# real Prosody (bench_e2e.py), then the MQTT one through a real mosquitto and
# Prosody (bench_mqtt.py, defaults), then the SMS one through a fake Twilio and
# Prosody (bench_sms.py, defaults), then the IRC one, switchboard vs Biboumi through
# a real ngIRCd and Prosody (bench_irc.py, defaults). Extra arguments go to bench_e2e.py.
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSB_TEST_TRANSPORT=ON
cmake --build build --target switchboard bench_core
build/bench/bench_core
echo
SWITCHBOARD_BIN="${SWITCHBOARD_BIN:-$PWD/build/switchboard}" /usr/bin/python3 bench/bench_e2e.py "$@"
echo
SWITCHBOARD_BIN="${SWITCHBOARD_BIN:-$PWD/build/switchboard}" /usr/bin/python3 bench/bench_mqtt.py
echo
SWITCHBOARD_BIN="${SWITCHBOARD_BIN:-$PWD/build/switchboard}" /usr/bin/python3 bench/bench_sms.py
echo
SWITCHBOARD_BIN="${SWITCHBOARD_BIN:-$PWD/build/switchboard}" /usr/bin/python3 bench/bench_irc.py
