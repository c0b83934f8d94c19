#!/bin/bash
# initramfs.sh KVER MODBASE OUT
# Builds the vmtest initramfs: a static busybox, vmtest/init, and the modules
# (with their dependencies, in load order) that kernel KVER needs to mount the
# host root over virtio-9p under an overlay. MODBASE holds lib/modules/KVER;
# modules the kernel has built in are left out, so a kernel with all of them
# built in gets an initramfs without modules.
set -euo pipefail
kver=$1 modbase=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
NEEDED=(virtio_pci 9pnet_virtio 9p overlay)

# The initramfs has no libraries: busybox must be static (no ELF interpreter).
busybox=/bin/busybox
if [ ! -x "$busybox" ] || readelf -l "$busybox" | grep -q INTERP; then
	echo "initramfs.sh: a static /bin/busybox is needed (Debian package busybox-static)" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work" "$work.img"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,modules}
cp "$busybox" "$work/bin/busybox"
install -m 0755 "$here/init" "$work/init"

# modprobe prints "insmod PATH" for each module to load, dependencies first,
# and "builtin NAME" for what needs no loading. A kernel without modules
# must have it all built in; if not, init says which mount failed.
: >"$work/modules/order"
if [ ! -d "$modbase/lib/modules/$kver" ]; then
	echo "initramfs.sh: no modules for $kver: taking ${NEEDED[*]} to be built in" >&2
	NEEDED=()
fi
for m in "${NEEDED[@]}"; do
	if ! deps=$(modprobe -d "$modbase" -S "$kver" --show-depends "$m" 2>&1); then
		echo "initramfs.sh: kernel $kver has no module $m (nor built in): $deps" >&2
		exit 1
	fi
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		ko=$(basename "$path")
		grep -qx "$ko" "$work/modules/order" && continue
		cp "$path" "$work/modules/$ko"
		echo "$ko" >>"$work/modules/order"
	done <<<"$deps"
done

# Into place in one step: a concurrent run never boots half an image.
(cd "$work" && find . | cpio -o -H newc --quiet) | gzip -1 >"$work.img"
mv "$work.img" "$out"
