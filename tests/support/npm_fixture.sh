#!/usr/bin/env bash
# Installs one Node fixture (a folder with package.json and package-lock.json) into DEST with
# `npm ci`, once per checkout: every build tree's test of it calls this, and only the first one,
# or the first after the lock file changes, installs. Concurrent calls wait for each other.
#
#   tests/support/npm_fixture.sh FIXTURE_DIR DEST
set -euo pipefail
src=$1
dest=$2
mkdir -p "$dest"
exec 9>"$dest.lock"
flock 9
want=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)
if [[ -d $dest/node_modules && $(cat "$dest/.installed" 2>/dev/null) == "$want" ]]; then
  echo "npm_fixture: $dest is up to date with $src/package-lock.json"
  exit 0
fi
rm -rf "$dest/node_modules" "$dest/.installed"
cp "$src/package.json" "$src/package-lock.json" "$dest/"
npm ci --no-audit --no-fund --prefix "$dest"
echo "$want" >"$dest/.installed"
