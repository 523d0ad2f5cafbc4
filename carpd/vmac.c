/*
 * carpd: the virtual MAC of a vhost (`vmac`), as OpenBSD's carp interface
 * and keepalived's use_vmac: a macvlan on the vhost's interface with the
 * CARP MAC 00:00:5e:00:01:VHID carries the vhost's addresses and sends its
 * advertisements, so a takeover needs no ARP cache update, only the switch
 * learning the MAC from the new master's advertisements.
 *
 * The link is made and removed with rtnetlink requests of their own (one
 * socket a request); the parent's arp_ignore becomes 1 and its arp_announce
 * 2 so that only the macvlan speaks ARP for the virtual addresses (with the
 * virtual MAC), as keepalived does for use_vmac.
 */
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "carpd.h"

void cd_vmac_name(const char *parent, uint8_t vhid, char out[IF_NAMESIZE])
{
	/* "vmacVHID.PARENT", cut to the 15 characters of an interface name. */
	snprintf(out, IF_NAMESIZE, "vmac%u.%s", vhid, parent);
}

/* Send one request and wait for its acknowledgement: 0 or a negative errno. */
static int transact(struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	unsigned int portid;
	ssize_t n;
	int rc;

	if (nl == NULL)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		mnl_socket_close(nl);
		return rc;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = (uint32_t)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		rc = -errno;
		mnl_socket_close(nl);
		return rc;
	}
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	rc = n < 0 ? -errno : mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, portid, NULL, NULL);
	if (rc < 0 && n >= 0)
		rc = -errno;
	mnl_socket_close(nl);
	return rc < 0 ? rc : 0;
}

static int link_del(const char *name)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifm;

	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return transact(nlh);
}

/* Write value into a /proc/sys file; 0 or a negative errno. */
static int sysctl_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -EIO;
}

int cd_vmac_create(const char *parent, uint8_t vhid, char name[IF_NAMESIZE], char *err)
{
	char buf[MNL_SOCKET_BUFFER_SIZE], path[128];
	const uint8_t mac[6] = {0x00, 0x00, 0x5e, 0x00, 0x01, vhid};
	unsigned int pidx = if_nametoindex(parent);
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	struct nlattr *info, *data;
	int rc;

	cd_vmac_name(parent, vhid, name);
	if (pidx == 0) {
		cd_errf(err, "vmac: interface %s: %s", parent, strerror(errno));
		return -1;
	}
	/* A link of that name left by a carpd that did not exit cleanly. */
	if (if_nametoindex(name) != 0)
		link_del(name);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_LINK, pidx);
	mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "macvlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	if ((rc = transact(nlh)) < 0) {
		cd_errf(err, "vmac: creating macvlan %s on %s: %s", name, parent, strerror(-rc));
		return -1;
	}
	/* No IPv6 link-local from the shared MAC: every node would have the same one. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/addr_gen_mode", name);
	sysctl_write(path, "1");
	/* Only the macvlan speaks ARP for the virtual addresses, with the virtual MAC:
	 * the parent neither answers for them (arp_ignore 1) nor names them as
	 * the sender of its own requests (arp_announce 2). */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/arp_ignore", parent);
	if ((rc = sysctl_write(path, "1")) < 0)
		dm_log(LOG_WARNING, "vmac: %s: arp_ignore: %s", parent, strerror(-rc));
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/arp_announce", parent);
	if ((rc = sysctl_write(path, "2")) < 0)
		dm_log(LOG_WARNING, "vmac: %s: arp_announce: %s", parent, strerror(-rc));
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)if_nametoindex(name);
	ifm->ifi_flags = IFF_UP;
	ifm->ifi_change = IFF_UP;
	if (ifm->ifi_index == 0 || (rc = transact(nlh)) < 0) {
		cd_errf(err, "vmac: setting %s up: %s", name, strerror(rc < 0 ? -rc : ENODEV));
		link_del(name);
		return -1;
	}
	dm_log(LOG_INFO, "%s: vmac %s (00:00:5e:00:01:%02x) for vhid %u", parent, name, vhid, vhid);
	return 0;
}

void cd_vmac_delete(const char *name)
{
	int rc = link_del(name);

	if (rc < 0 && rc != -ENODEV)
		dm_log(LOG_WARNING, "vmac: removing %s: %s", name, strerror(-rc));
}
