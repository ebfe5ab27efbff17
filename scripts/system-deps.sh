#!/usr/bin/env bash
# Debian packages the platform needs, installed only when missing.
#   up:   redis-server (embedded Redis when REDIS_URL is unset), a JRE for the PMML and Java processors
#   test: the same, plus gcc for native processors, a JDK (javac, jar) for Java ones, and Chromium for
#         browser tests
#   node: Node.js and npm, for the console's browser packages
set -euo pipefail
purpose=${1:-up}
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }

if [ "$purpose" = node ]; then
  need node nodejs
  need npm npm
elif [ -z "${REDIS_URL:-}" ]; then need redis-server redis-server; fi
if [ "$purpose" != node ]; then need java default-jre-headless; fi
if [ "$purpose" = test ]; then
  need redis-server redis-server
  need gcc gcc
  need javac default-jdk-headless
  need chromium chromium
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing system packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
