#!/bin/sh
# Prints, one a line, the Debian packages that hold the shared libraries the given binaries link
# (found with ldd): what the image's runtime stage installs. Fails when a library belongs to no
# package. Used by the Dockerfile's build stage and by tests/stack/stack_test.py, which stages
# a release tree's binaries for the image on a Debian bookworm host.
#
#   deploy/docker/runtime-packages.sh BINARY...
set -eu
for bin in "$@"; do
  ldd "$bin" >/dev/null || { echo "runtime-packages: ldd cannot read $bin" >&2; exit 1; }
done
libs=$(ldd "$@" | awk '$3 ~ /^\// {print $3}' | sort -u)
owners=""
for lib in $libs; do
  owner=$(dpkg-query -S "$lib" 2>/dev/null || dpkg-query -S "$(readlink -f "$lib")" 2>/dev/null \
    || dpkg-query -S "/usr$lib" 2>/dev/null || dpkg-query -S "${lib#/usr}" 2>/dev/null) \
    || { echo "runtime-packages: no Debian package holds $lib" >&2; exit 1; }
  owners="$owners$owner
"
done
printf '%s' "$owners" | cut -d: -f1 | sort -u
