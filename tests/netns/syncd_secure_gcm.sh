#!/bin/bash
# syncd_secure.sh with an AES-256-GCM key (issue 14): everything it checks
# holds under the other AEAD too, and an envelope of the other AEAD under
# the key's id is counted badaead. A CPU without AES-NI and PCLMULQDQ
# cannot run it (syncd refuses such a key there, syncd-keyfiles checks
# that): skipped, as a missing capability of the machine, not of the code.
if ! grep -qw aes /proc/cpuinfo || ! grep -qw pclmulqdq /proc/cpuinfo; then
	echo "SKIP: no AES-NI/PCLMULQDQ here"
	exit 77
fi
SYNC_AEAD=aes256gcm exec bash "$(dirname "$0")/syncd_secure.sh"
