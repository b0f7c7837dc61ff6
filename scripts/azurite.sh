#!/usr/bin/env bash
# Azurite, the Azure Storage emulator, pinned, for the azure_blob state backend's tests.
#
#   scripts/azurite.sh install   install it into .azurite/ (idempotent: nothing to do when the pinned
#                                version is already there)
#   scripts/azurite.sh version   print the pinned version
#
# 3.35.0 is the newest release whose package.json accepts Node 20 (3.36 wants >=21, 3.37 >=22).
set -euo pipefail
cd "$(dirname "$0")/.."

AZURITE_VERSION=3.35.0
PREFIX=.azurite
BIN="$PREFIX/node_modules/.bin/azurite-blob"
STAMP="$PREFIX/.installed-$AZURITE_VERSION-$(cksum < scripts/azurite/package-lock.json | cut -d' ' -f1)"

case "${1:-install}" in
  install)
    if [[ -f "$STAMP" && -x "$BIN" ]]; then
      exit 0
    fi
    command -v npm >/dev/null || { echo "azurite.sh: npm is needed to install Azurite (install Node.js >= 20)" >&2; exit 1; }
    echo "installing azurite@$AZURITE_VERSION into $PREFIX/"
    mkdir -p "$PREFIX"
    rm -f "$PREFIX"/.installed-*
    # the committed lock file pins every transitive package too (npm ci installs exactly it)
    cp scripts/azurite/package.json scripts/azurite/package-lock.json "$PREFIX/"
    npm ci --prefix "$PREFIX" --no-audit --no-fund --loglevel=error
    [[ -x "$BIN" ]] || { echo "azurite.sh: $BIN missing after npm install" >&2; exit 1; }
    touch "$STAMP"
    ;;
  version)
    echo "$AZURITE_VERSION"
    ;;
  *)
    echo "usage: scripts/azurite.sh install|version" >&2
    exit 2
    ;;
esac
