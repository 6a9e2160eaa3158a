#!/usr/bin/env bash
# Makes the image debian:bookworm-slim from Debian's own packages, for machines that reach
# Debian's package mirror but no image registry. Does nothing when the tag already exists.
#
#   tests/stack/make-base-image.sh [TAG]     (default debian:bookworm-slim; needs root, debootstrap)
#
# Like the official image it is a minbase debootstrap with the slim dpkg excludes (no man
# pages, docs or translations), apt sources for bookworm, bookworm-updates and
# bookworm-security, and no package lists or caches. MIRROR= and SECURITY_MIRROR= change the
# mirrors. Takes about a minute.
set -euo pipefail

tag="${1:-debian:bookworm-slim}"
mirror="${MIRROR:-http://deb.debian.org/debian}"
security_mirror="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "make-base-image: $tag exists"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "make-base-image: debootstrap is missing (./scripts/install-deps.sh --stack)" >&2; exit 1; }

rootfs="$(mktemp -d /tmp/mutex-edge-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "make-base-image: debootstrap --variant=minbase bookworm from $mirror"
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; exit 1; }
rm -f "$rootfs.log"

# The official slim variant's dpkg filter, so that later apt-get installs stay small too.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
CFG
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{locale,man,groff,info,lintian,linda}/*

cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
printf 'Acquire::Languages "none";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"

rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<CFG
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
CFG

rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
  "$rootfs"/var/log/*.log "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/root/.bash_history
: >"$rootfs/etc/machine-id"
echo "debian" >"$rootfs/etc/hostname"

tar --numeric-owner -C "$rootfs" -c . |
  docker import --change 'CMD ["bash"]' --message "debootstrap --variant=minbase bookworm (slim)" - "$tag" >/dev/null
echo "make-base-image: made $tag ($(docker image inspect -f '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
