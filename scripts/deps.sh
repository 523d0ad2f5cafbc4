# Sourced by scripts/test.sh and scripts/demo.sh: installs the Debian
# packages the build and the tests need, only those that are missing.
RD_PACKAGES="meson ninja-build pkg-config gcc clang libclang-rt-14-dev
  check libsodium-dev nettle-dev libmnl-dev libnetfilter-conntrack-dev libnftables-dev libpcap-dev
  libbsd-dev uthash-dev iproute2 nftables conntrack ucarp keepalived tshark
  tcpdump python3-scapy clang-format iputils-ping iptables"

rd_install_deps() {
	local missing=()
	for p in $RD_PACKAGES; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	echo "installing: ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# rd_setup DIR [meson options...]: configure DIR, or reconfigure it.
rd_setup() {
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}
