#!/bin/sh
# test-installed: the library as an embedder gets it. Installs the build
# into a temporary DESTDIR, then builds examples/embed and
# examples/pcap-firewall (with examples/fwglue.c) with nothing but
#   cc ... $(pkg-config --cflags --libs libredund)
# against that prefix (PKG_CONFIG_PATH + PKG_CONFIG_SYSROOT_DIR), checks
# that they load the installed libredund.so, runs embed, and runs the
# pcap-firewall test program (when given) on the pkg-config-built binary.
# Usage: test-installed.sh MESON BUILD_DIR SOURCE_DIR [TEST_PCAP_FIREWALL]
set -eu
meson=$1 build=$2 src=$3 tpf=${4:-}
cc=${CC:-cc}
# the build's b_sanitize: a sanitized libredund.so needs sanitized programs
san=
case "${RD_SANITIZE:-none}" in
none | "") ;;
*) san="-fsanitize=$RD_SANITIZE" ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root

"$meson" install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log"
	echo "FAIL: meson install"
	exit 1
}
pc=$(find "$dest" -name libredund.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no libredund.pc installed"; exit 1; }
for h in redund.h common.h version.h carp.h state.h sync.h; do
	[ -n "$(find "$dest" -path "*/include/redund/$h")" ] || { echo "FAIL: redund/$h not installed"; exit 1; }
done
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
export PKG_CONFIG_SYSROOT_DIR="$dest"
flags=$(pkg-config --cflags --libs libredund) || { echo "FAIL: pkg-config libredund"; exit 1; }
echo "pkg-config --cflags --libs libredund: $flags"
case "$flags" in
*"$src"* | *"$build"*) echo "FAIL: flags name the source or build tree"; exit 1 ;;
esac
libdir=$(pkg-config --variable=libdir libredund)
libdir=$dest${libdir#"$dest"}
[ -e "$libdir/libredund.so.0" ] || { echo "FAIL: $libdir/libredund.so.0 missing (soname)"; exit 1; }

# shellcheck disable=SC2086 # $flags and $san are lists of words
$cc $san -std=gnu11 -Wall -Wextra -Werror -o "$tmp/embed" \
	"$src/examples/embed/embed.c" "$src/examples/embed/fw.c" $flags
# shellcheck disable=SC2086 # $flags and $san are lists of words
$cc $san -std=gnu11 -Wall -Wextra -Werror -o "$tmp/pcap-firewall" \
	"$src/examples/pcap-firewall.c" "$src/examples/fwglue.c" $flags
echo "built embed and pcap-firewall through pkg-config"

export LD_LIBRARY_PATH="$libdir"
for exe in embed pcap-firewall; do
	lib=$(ldd "$tmp/$exe" | awk '/libredund\.so/ { print $3 }')
	[ "$lib" = "$libdir/libredund.so.0" ] || { echo "FAIL: $exe loads '$lib', not $libdir/libredund.so.0"; exit 1; }
done
"$tmp/embed" || { echo "FAIL: embed exited $?"; exit 1; }
if [ -n "$tpf" ]; then
	"$tpf" "$tmp/pcap-firewall" || { echo "FAIL: $tpf on the installed pcap-firewall"; exit 1; }
fi
echo "ok"
