#!/usr/bin/env bash
# Installs the Debian 12 packages zabd builds and tests with, only those missing.
# Usage: scripts/install-deps.sh [--test]   (--test adds the real clients and
# Apache ZooKeeper used by the integration tests and the benchmark)
set -euo pipefail
pkgs=(build-essential cmake pkg-config libevent-dev libssl-dev librocksdb-dev)
if [ "${1:-}" = "--test" ]; then
  pkgs+=(cpputest libzookeeper-mt-dev zookeeper-bin python3 python3-kazoo python3-pytest
         python3-mock python3-objgraph
         zookeeper libcurator-framework-java libcurator-recipes-java openjdk-17-jdk-headless clang libclang-rt-14-dev)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
