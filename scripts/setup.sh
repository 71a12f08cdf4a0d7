#!/usr/bin/env bash
# Installs everything switchboard needs to build and test, from Debian's packages only.
# Idempotent: skips apt when every package is already installed.
set -euo pipefail
PKGS=(
  build-essential cmake pkg-config ninja-build
  libboost1.74-dev libboost-system1.74-dev
  libpugixml-dev libpaho-mqttpp-dev libpaho-mqtt-dev libcurl4-openssl-dev
  nlohmann-json3-dev doctest-dev libsqlite3-dev libtomlplusplus-dev
  libspdlog-dev libfmt-dev libssl-dev libjemalloc-dev
  clang libclang-rt-14-dev
  prosody ejabberd mosquitto mosquitto-clients ngircd biboumi
  python3-slixmpp python3-paho-mqtt python3-pytest python3-aiohttp python3-cryptography
  procps psmisc
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Don't let the packaged daemons start as system services: the tests start their
  # own instances on free loopback ports.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# Packaged services may have been started anyway on some systems; stop them so
# they never hold the ports or files our tests use.
for svc in prosody ejabberd mosquitto ngircd; do
  pkill -x "$svc" 2>/dev/null || true
done
