#!/bin/bash
# kernel.sh PATH_OR_VERSION
# Finds the kernel vmtest boots and prints three lines: the image, the
# release (uname -r) and the module base (a directory holding
# lib/modules/RELEASE, or empty when there is none).
#   PATH      a kernel image (bzImage, vmlinuz) or a kernel build tree
#             (arch/x86/boot/bzImage); modules from /lib/modules/RELEASE
#             when installed there, from $VMTEST_MODULES otherwise
#   VERSION   a release or its prefix (6.1, 6.1.0-56-amd64): /boot, then
#             the cache, then Debian's linux-image-amd64 when its release
#             starts with VERSION
#   debian    Debian's linux-image-amd64, whatever its release
# Debian's kernel is fetched with `apt-get download` and unpacked into the
# cache (never installed on the host): $VMTEST_CACHE, by default
# ~/.cache/xmcp-vmtest.
set -euo pipefail
CACHE=${VMTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xmcp-vmtest}

die() {
	echo "vmtest: $*" >&2
	exit 1
}

# The answer: image, release, module base (may be empty).
found() {
	printf '%s\n%s\n%s\n' "$1" "$2" "$3"
}

# The release string a bzImage carries: after the boot protocol's magic
# "HdrS" at 0x202, the setup header's kernel_version field (0x20e) points at
# it, 0x200 bytes into the file.
image_release() {
	local off
	[ "$(dd if="$1" bs=1 skip=514 count=4 status=none)" = HdrS ] || return 1
	off=$(od -An -tu2 -j 526 -N 2 "$1" | tr -d ' ')
	[ -n "$off" ] && [ "$off" -gt 0 ] || return 1
	dd if="$1" bs=1 skip=$((off + 512)) count=128 status=none | tr '\0' '\n' | head -n1 | cut -d' ' -f1
}

# Module base for RELEASE: the host's, or $VMTEST_MODULES, or none.
module_base() {
	if [ -n "${VMTEST_MODULES:-}" ]; then
		[ -d "$VMTEST_MODULES/lib/modules/$1" ] ||
			die "VMTEST_MODULES=$VMTEST_MODULES has no lib/modules/$1"
		echo "$VMTEST_MODULES"
	elif [ -d "/lib/modules/$1/kernel" ]; then
		echo /
	fi
}

from_path() {
	local img=$1 rel
	[ -d "$img" ] && img=$img/arch/x86/boot/bzImage
	[ -f "$img" ] || die "$1: no kernel image there (a bzImage, or a tree with arch/x86/boot/bzImage)"
	rel=$(image_release "$img") || die "$img: not a bzImage (no version in its setup header)"
	found "$img" "$rel" "$(module_base "$rel")"
}

# The binary package linux-image-amd64 depends on (linux-image-RELEASE).
debian_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}

# Download and unpack Debian's package once; depmod, since modules.dep is
# made by the package's postinst, which we do not run.
fetch_debian() {
	local pkg=$1 rel=${1#linux-image-} tmp
	if [ ! -e "$CACHE/$rel/.complete" ]; then
		echo "vmtest: fetching $pkg into $CACHE/$rel" >&2
		mkdir -p "$CACHE"
		tmp=$(mktemp -d "$CACHE/.fetch.XXXXXX")
		(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2) ||
			{ rm -rf "$tmp"; die "apt-get download $pkg failed"; }
		dpkg-deb -x "$tmp"/*.deb "$tmp/root"
		depmod -b "$tmp/root" "$rel"
		rm -rf "${CACHE:?}/$rel"
		mv "$tmp/root" "$CACHE/$rel"
		rm -rf "$tmp"
		touch "$CACHE/$rel/.complete"
	fi
	found "$CACHE/$rel/boot/vmlinuz-$rel" "$rel" "$CACHE/$rel"
}

from_version() {
	local want=$1 pkg cached
	if [ "$want" != debian ]; then
		for img in /boot/vmlinuz-"$want"*; do
			[ -f "$img" ] || continue
			rel=${img#/boot/vmlinuz-}
			found "$img" "$rel" "$(module_base "$rel")"
			return
		done
	fi
	pkg=$(debian_package)
	if [ -n "$pkg" ] && { [ "$want" = debian ] || [[ ${pkg#linux-image-} == "$want"* ]]; }; then
		fetch_debian "$pkg"
		return
	fi
	# Offline, or apt knows no such kernel: the newest one already cached.
	[ "$want" = debian ] && want=
	cached=$(find "$CACHE" -mindepth 2 -maxdepth 2 -name .complete -path "$CACHE/$want*" 2>/dev/null |
		sort -V | tail -n1 || true)
	[ -n "$cached" ] || die "no kernel '$1': not a file, not in /boot, not cached in $CACHE, and not Debian's linux-image-amd64 (${pkg:-unknown to apt})"
	rel=$(basename "$(dirname "$cached")")
	found "$CACHE/$rel/boot/vmlinuz-$rel" "$rel" "$CACHE/$rel"
}

[ $# -eq 1 ] || die "usage: kernel.sh PATH_OR_VERSION"
if [[ $1 == */* ]] || [ -e "$1" ]; then
	from_path "$1"
else
	from_version "$1"
fi
