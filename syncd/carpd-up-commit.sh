#!/bin/sh
# carpd up script for syncd with --no-apply (syncd(8), COMMIT MODE):
# on becoming MASTER, write the peers' states that syncd holds into the
# kernel (redundctl sync commit, conntrackd's -c), then add the address.
# carpd runs it once an address as `script INTERFACE ADDRESS [XPARAM]`
# (ucarp's convention) and does not wait for it; with an up or down script
# carpd leaves the addresses to the scripts, so this one adds ADDRESS/XPARAM
# (XPARAM: the prefix length, 32 when not given). The matching down script
# removes it: ip addr del "$2/${3:-32}" dev "$1".
#
# Environment: REDUNDCTL (default redundctl), SYNCD_CONTROL (default
# redundctl's, /run/syncd.sock).
"${REDUNDCTL:-redundctl}" ${SYNCD_CONTROL:+--control "$SYNCD_CONTROL"} sync commit >&2 ||
	echo "carpd-up-commit: sync commit failed (see syncd's log)" >&2
exec ip addr add "$2/${3:-32}" dev "$1"
