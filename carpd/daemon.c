/*
 * carpd: the daemon proper. It binds the CARP engine (libredund/carp) to
 * the host: raw sockets and announcements (libredund/io), rtnetlink for
 * addresses and link state, scripts, the control socket, and one epoll loop
 * with a timerfd armed at the engine's absolute expiry and a signalfd. No
 * protocol decision is taken here: every one is the engine's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "carpd.h"

/* How long shutdown waits for down scripts before exiting anyway. */
#define CD_QUIT_WAIT (10 * RD_SEC)

static void vhost_addrs(struct cd_vhost *v, bool on);

/* ---------------------------------------------------------------------- */
/* Engine callbacks                                                        */

static int cb_send(void *user, struct rd_carp_vhost *vh, const struct rd_carp_out *out)
{
	struct cd_iface *ifc = user;
	/* A vmac link sends from the macvlan (the virtual MAC), receives on the parent. */
	struct rd_io_carp *io = ifc->tx != NULL ? ifc->tx : ifc->io;
	int rc;

	(void)vh;
	if (io == NULL)
		return -1;
	rc = rd_io_carp_send(io, &out->src, &out->dst, out->carp, RD_CARP_HDR_LEN);
	if (rc < 0) {
		char dst[RD_ADDR_STRLEN];

		dm_log(LOG_DEBUG, "%s: send to %s: %s", ifc->name,
		       rd_addr_format(&out->dst, dst, sizeof(dst)), strerror(-rc));
		return -1;
	}
	return 0;
}

static void run_scripts(struct cd_vhost *v, const char *script)
{
	size_t i;
	char a[RD_ADDR_STRLEN];

	if (script == NULL)
		return;
	/* ucarp's convention: one call per address, `script if addr [xparam]`. */
	for (i = 0; i < v->conf.naddrs; i++)
		cd_script_enqueue(&v->scripts, script, v->conf.ifname,
		                  rd_addr_format(&v->conf.addrs[i], a, sizeof(a)), v->conf.xparam);
}

/* What becoming MASTER does: the addresses (or the up script). */
static void master_actions(struct cd_vhost *v)
{
	if (v->managed)
		vhost_addrs(v, true);
	run_scripts(v, v->conf.upscript);
}

/* `notify PATH IF VHID OLD NEW REASON`, queued daemon-wide in transition order. */
static void notify(struct cd_vhost *v, enum rd_carp_state old_state, enum rd_carp_state new_state,
                   const char *reason)
{
	struct cd_daemon *d = v->ifc->d;
	char vhid[8];
	const char *argv[7];

	if (d->cfg.notify == NULL)
		return;
	snprintf(vhid, sizeof(vhid), "%u", v->conf.vhid);
	argv[0] = d->cfg.notify;
	argv[1] = v->ifc->name;
	argv[2] = vhid;
	argv[3] = rd_carp_state_name(old_state);
	argv[4] = rd_carp_state_name(new_state);
	argv[5] = reason != NULL ? reason : "";
	argv[6] = NULL;
	d->notifies++;
	cd_script_enqueue_argv(&d->notifyq, argv);
}

static void announce_if_due(struct cd_vhost *v);

/* notify-master-before ended (exited, killed or cancelled): take the addresses if still due. */
static void pre_done(struct cd_vhost *v)
{
	v->pre_pid = 0;
	if (!v->up_pending)
		return;
	v->up_pending = false;
	master_actions(v);
	v->announce_deadline = cd_now() + CD_ANNOUNCE_WAIT_MAX * RD_SEC; /* for the up scripts */
	announce_if_due(v); /* managed addresses are on now; an up script announces when it ends */
}

static void pre_kill(struct cd_vhost *v)
{
	if (v->pre_pid > 0) {
		kill(-v->pre_pid, SIGKILL);
		kill(v->pre_pid, SIGKILL);
	}
}

/*
 * Becoming MASTER with notify-master-before: the engine advertises already
 * (a check must never delay advertisements); the addresses wait for the
 * script, at most its timeout.
 */
static void pre_start(struct cd_vhost *v, enum rd_carp_state old_state, const char *reason)
{
	struct cd_daemon *d = v->ifc->d;
	char vhid[8];
	char *argv[7];
	pid_t pid;

	snprintf(vhid, sizeof(vhid), "%u", v->conf.vhid);
	argv[0] = d->cfg.notify_master_before;
	argv[1] = v->ifc->name;
	argv[2] = vhid;
	argv[3] = (char *)rd_carp_state_name(old_state);
	argv[4] = (char *)rd_carp_state_name(RD_CARP_MASTER);
	argv[5] = (char *)(reason != NULL ? reason : "");
	argv[6] = NULL;
	pid = cd_spawn(argv);
	if (pid < 0) {
		dm_log(LOG_ERR, "%s vhid %u: cannot run %s: %s; taking the addresses", v->ifc->name,
		       v->conf.vhid, argv[0], strerror((int)-pid));
		master_actions(v);
		return;
	}
	dm_log(LOG_INFO,
	       "%s vhid %u: running %s (pid %d), the addresses wait for it (at most %u s)",
	       v->ifc->name, v->conf.vhid, argv[0], (int)pid, d->cfg.notify_master_timeout);
	v->pre_pid = pid;
	v->pre_deadline = cd_now() + (rd_time_t)d->cfg.notify_master_timeout * RD_SEC;
	v->up_pending = true;
}

static void cb_state(void *user, struct rd_carp_vhost *vh, enum rd_carp_state old_state,
                     enum rd_carp_state new_state, const char *reason)
{
	struct cd_iface *ifc = user;
	struct cd_vhost *v = rd_carp_vhost_user(vh);

	/* A vhost rebuilt by a reload takes up its old state: no news, nothing to do. */
	if (v->quiet) {
		dm_log(LOG_DEBUG, "%s vhid %u: %s -> %s (%s) while rebuilt by reload", ifc->name,
		       v->conf.vhid, rd_carp_state_name(old_state), rd_carp_state_name(new_state),
		       reason != NULL ? reason : "");
		return;
	}
	dm_log(new_state == RD_CARP_MASTER || old_state == RD_CARP_MASTER ? LOG_WARNING
	                                                                  : LOG_NOTICE,
	       "%s vhid %u: %s -> %s (%s)", ifc->name, v->conf.vhid, rd_carp_state_name(old_state),
	       rd_carp_state_name(new_state), reason != NULL ? reason : "");
	notify(v, old_state, new_state, reason);
	if (new_state == RD_CARP_MASTER) {
		if (ifc->d->cfg.notify_master_before != NULL)
			pre_start(v, old_state, reason);
		else
			master_actions(v);
	} else if (old_state == RD_CARP_MASTER) {
		if (v->up_pending) {
			/* Left before notify-master-before ended: nothing was taken. */
			dm_log(LOG_NOTICE,
			       "%s vhid %u: left MASTER before notify-master-before ended: it is "
			       "killed, the addresses were never taken",
			       ifc->name, v->conf.vhid);
			v->up_pending = false;
			pre_kill(v);
			v->pre_pid = 0;
		} else {
			if (v->managed)
				vhost_addrs(v, false);
			run_scripts(v, v->conf.downscript);
		}
	} else if (new_state == RD_CARP_BACKUP && !v->started && !v->conf.neutral) {
		/* As ucarp: entering BACKUP at start runs the down action unless --neutral. */
		if (v->managed)
			vhost_addrs(v, false);
		run_scripts(v, v->conf.downscript);
	}
	if (new_state == RD_CARP_BACKUP)
		v->started = true;
}

static void announce_now(struct cd_vhost *v, int round);

static void cb_announce(void *user, struct rd_carp_vhost *vh, int round)
{
	struct cd_iface *ifc = user;
	struct cd_vhost *v = rd_carp_vhost_user(vh);

	if (ifc->ann == NULL)
		return;
	if (v->up_pending || (v->conf.upscript != NULL && !cd_script_idle(&v->scripts))) {
		/*
		 * Not before the addresses are taken: announced when that ended
		 * (reap), or at the latest CD_ANNOUNCE_WAIT_MAX after the first
		 * announcement was due (announce_overdue). A second round due
		 * meanwhile goes with the first.
		 */
		if (!v->announce_wait)
			v->announce_deadline = cd_now() + CD_ANNOUNCE_WAIT_MAX * RD_SEC;
		v->announce_wait = true;
		dm_log(LOG_DEBUG, "%s vhid %u: announcement (round %d) waits for the up actions",
		       ifc->name, v->conf.vhid, round);
		return;
	}
	announce_now(v, round);
}

/* Announces v's addresses (gratuitous ARP, unsolicited NA) now. */
static void announce_now(struct cd_vhost *v, int round)
{
	struct cd_iface *ifc = v->ifc;
	size_t i;
	int rc;

	v->announce_wait = false;
	if (ifc->ann == NULL)
		return;
	for (i = 0; i < v->conf.naddrs; i++) {
		char a[RD_ADDR_STRLEN];

		rc = rd_io_announce_addr(ifc->ann, &v->conf.addrs[i], false);
		rd_addr_format(&v->conf.addrs[i], a, sizeof(a));
		if (rc < 0)
			dm_log(LOG_WARNING, "%s: announcing %s: %s", ifc->name, a, strerror(-rc));
		else
			dm_log(LOG_DEBUG, "%s: announced %s (round %d)", ifc->name, a, round);
	}
}

/* The highest demotion of the interface's vhosts moved (the callback also runs unchanged). */
static void cb_demotion(void *user, struct rd_carp_if *ifp, unsigned int demote)
{
	struct cd_iface *ifc = user;

	(void)ifp;
	if (demote == ifc->demotion)
		return;
	dm_log(LOG_NOTICE, "%s: demotion now %u (was %u)", ifc->name, demote, ifc->demotion);
	ifc->demotion = demote;
}

/* ---------------------------------------------------------------------- */
/* Demotion groups                                                         */

/*
 * The one place carpd changes a group's counter in the engine (the book's
 * adjust function; see holds.c). Groups belong to the node, shared by every
 * interface: each of its vhosts in the group sees the change.
 */
static int group_adjust(void *user, const char *group, int delta, rd_time_t now)
{
	struct cd_daemon *d = user;

	return rd_carp_node_demote(d->node, group, delta, now);
}

size_t cd_daemon_masters(const struct cd_daemon *d)
{
	size_t i, j, n = 0;

	for (i = 0; i < d->nifs; i++)
		for (j = 0; j < d->ifs[i]->nvh; j++) {
			struct rd_carp_vhost_info info;

			if (d->ifs[i]->vh[j]->vh != NULL &&
			    rd_carp_vhost_info(d->ifs[i]->vh[j]->vh, &info) == 0 &&
			    info.state == RD_CARP_MASTER)
				n++;
		}
	return n;
}

void cd_daemon_startup_released(struct cd_daemon *d, const char *why)
{
	d->startup_pending = false;
	snprintf(d->startup_released, sizeof(d->startup_released), "%s", why);
	dm_log(LOG_NOTICE, "start-up hold released: %s", why);
}

/* Install the start-up hold (before any vhost runs). */
static int startup_hold(struct cd_daemon *d, rd_time_t now)
{
	char err[CD_ERR_LEN];

	if (d->cfg.startup_demote <= 0)
		return 0;
	if (cd_book_hold(&d->book, CD_STARTUP_HOLDER, CD_GROUP_DEFAULT,
	                 (unsigned int)d->cfg.startup_demote, (unsigned int)d->cfg.startup_hold,
	                 now, err) != 0) {
		dm_log(LOG_ERR, "start-up hold: %s", err);
		return -ENOMEM;
	}
	d->startup_pending = true;
	dm_log(LOG_NOTICE,
	       "start-up hold: group %s demoted by %d until syncd reports or a demote request, at "
	       "most %d s",
	       CD_GROUP_DEFAULT, d->cfg.startup_demote, d->cfg.startup_hold);
	return 0;
}

/* Holds not re-stated in time are taken back. */
static void holds_expire(struct cd_daemon *d, rd_time_t now)
{
	struct cd_hold h;

	while (cd_book_expire(&d->book, now, &h) == 1) {
		if (d->startup_pending && strcmp(h.holder, CD_STARTUP_HOLDER) == 0 &&
		    strcmp(h.group, CD_GROUP_DEFAULT) == 0) {
			d->startup_pending = false;
			snprintf(d->startup_released, sizeof(d->startup_released),
			         "time limit (%u s)", h.ttl);
			dm_log(LOG_WARNING,
			       "start-up hold released after %u s: nobody reported (set "
			       "startup-demote 0 when no syncd runs)",
			       h.ttl);
		} else {
			dm_log(LOG_WARNING, "hold %s on %s (%u) lapsed: not re-stated within %u s",
			       h.holder, h.group, h.value, h.ttl);
		}
	}
}

/* The instance: random, so a restarted carpd tells its holders apart. */
static void make_instance(struct cd_daemon *d)
{
	uint64_t v = 0;
	struct timespec ts;

	/* Never block at boot waiting for entropy: uniqueness is all that is needed. */
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		v = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^
		    ((uint64_t)getpid() << 16) ^ cd_now();
	}
	snprintf(d->instance, sizeof(d->instance), "%016llx", (unsigned long long)v);
}

/* ---------------------------------------------------------------------- */
/* Addresses                                                               */

static void addr_one(struct cd_vhost *v, const struct rd_addr *addr, uint8_t plen, bool on)
{
	struct cd_daemon *d = v->ifc->d;
	char a[RD_ADDR_STRLEN];
	int rc;

	rd_addr_format(addr, a, sizeof(a));
	if (on)
		rc = rd_io_nl_addr_add(d->nl, v->ifc->ifindex, addr, plen);
	else
		rc = rd_io_nl_addr_del(d->nl, v->ifc->ifindex, addr, plen);
	if (rc < 0)
		dm_log(LOG_ERR, "%s: %s %s/%u: %s", v->ifc->name, on ? "adding" : "removing", a,
		       plen, strerror(-rc));
	else
		dm_log(LOG_INFO, "%s: %s %s/%u", v->ifc->name, on ? "added" : "removed", a, plen);
}

static void vhost_addrs(struct cd_vhost *v, bool on)
{
	size_t i;

	for (i = 0; i < v->conf.naddrs; i++)
		addr_one(v, &v->conf.addrs[i], v->conf.prefixlen[i], on);
	v->addrs_on = on;
}

/* ---------------------------------------------------------------------- */
/* Interfaces and vhosts                                                   */

static void iface_close_io(struct cd_iface *ifc)
{
	int fd;

	if (ifc->io == NULL)
		return;
	if ((fd = rd_io_carp_fd(ifc->io, RD_AF_INET)) >= 0)
		epoll_ctl(ifc->d->loop.epfd, EPOLL_CTL_DEL, fd, NULL);
	if ((fd = rd_io_carp_fd(ifc->io, RD_AF_INET6)) >= 0)
		epoll_ctl(ifc->d->loop.epfd, EPOLL_CTL_DEL, fd, NULL);
	rd_io_carp_close(ifc->io);
	ifc->io = NULL;
	rd_io_carp_close(ifc->tx);
	ifc->tx = NULL;
}

/* (Re)open the raw sockets for the families the vhosts use. */
static int iface_open_io(struct cd_iface *ifc)
{
	struct rd_io_carp_config c = {.ifindex = ifc->parent[0] != '\0' ? ifc->parent_ifindex
	                                                                : ifc->ifindex,
	                              .multicast = true};
	size_t i, j;
	int rc, fd;

	for (i = 0; i < ifc->nvh; i++)
		for (j = 0; j < ifc->vh[i]->conf.naddrs; j++) {
			if (ifc->vh[i]->conf.addrs[j].af == RD_AF_INET)
				c.inet = true;
			else
				c.inet6 = true;
		}
	if (ifc->io != NULL && c.inet == ifc->inet && c.inet6 == ifc->inet6)
		return 0;
	iface_close_io(ifc);
	ifc->inet = c.inet;
	ifc->inet6 = c.inet6;
	if (!c.inet && !c.inet6)
		return 0;
	rc = rd_io_carp_open(&c, &ifc->io);
	if (rc == 0 && ifc->parent[0] != '\0') {
		c.ifindex = ifc->ifindex;
		rc = rd_io_carp_open(&c, &ifc->tx);
	}
	if (rc < 0) {
		dm_log(LOG_ERR, "%s: raw CARP sockets: %s", ifc->name, strerror(-rc));
		return rc;
	}
	if ((fd = rd_io_carp_fd(ifc->io, RD_AF_INET)) >= 0 &&
	    (rc = dm_loop_add(&ifc->d->loop, fd, &ifc->w4)) < 0)
		return rc;
	if ((fd = rd_io_carp_fd(ifc->io, RD_AF_INET6)) >= 0 &&
	    (rc = dm_loop_add(&ifc->d->loop, fd, &ifc->w6)) < 0)
		return rc;
	return 0;
}

static struct cd_iface *iface_find(struct cd_daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->nifs; i++)
		if (strcmp(d->ifs[i]->name, name) == 0)
			return d->ifs[i];
	return NULL;
}

static int iface_new(struct cd_daemon *d, const char *name, struct cd_iface **out)
{
	struct cd_iface *ifc, **nifs;
	struct rd_carp_if_config c;
	unsigned int ifindex = if_nametoindex(name);
	int rc;

	if (ifindex == 0) {
		dm_log(LOG_ERR, "interface %s: %s", name, strerror(errno));
		return -ENODEV;
	}
	ifc = calloc(1, sizeof(*ifc));
	nifs = realloc(d->ifs, (d->nifs + 1) * sizeof(*d->ifs));
	if (ifc == NULL || nifs == NULL) {
		free(ifc);
		return -ENOMEM;
	}
	d->ifs = nifs;
	ifc->d = d;
	ifc->w4.kind = CD_W_CARP4;
	ifc->w4.obj = ifc;
	ifc->w6.kind = CD_W_CARP6;
	ifc->w6.obj = ifc;
	strcpy(ifc->name, name);
	ifc->ifindex = ifindex;
	rd_carp_if_config_default(&c);
	c.log.fn = dm_log_hook;
	/* carpd logs state changes itself; the engine's own notes only with -D. */
	c.log.level = dm_log_level() >= LOG_DEBUG ? LOG_DEBUG : LOG_WARNING;
	c.cb.send = cb_send;
	c.cb.state_change = cb_state;
	c.cb.announce = cb_announce;
	c.cb.demotion = cb_demotion;
	c.cb.user = ifc;
	c.node = d->node; /* one set of demotion groups for the whole host */
	c.balancing = RD_CARP_BAL_NONE;
	c.name = ifc->name;
	rc = rd_carp_if_new(&c, &ifc->cif);
	if (rc != 0) {
		dm_log(LOG_ERR, "%s: %s", name, rd_strerror(rc));
		free(ifc);
		return -EINVAL;
	}
	rc = rd_io_announce_open(NULL, ifindex, &ifc->ann);
	if (rc < 0)
		dm_log(LOG_WARNING, "%s: no gratuitous ARP/NA: %s", name, strerror(-rc));
	d->ifs[d->nifs++] = ifc;
	*out = ifc;
	return 0;
}

static void iface_free(struct cd_iface *ifc)
{
	iface_close_io(ifc);
	rd_io_announce_close(ifc->ann);
	rd_carp_if_free(ifc->cif);
	if (ifc->parent[0] != '\0')
		cd_vmac_delete(ifc->name);
	free(ifc->vh);
	free(ifc);
}

/* Hand a link state to the engine, logging it when it changes. */
static void iface_set_link(struct cd_iface *ifc, bool up, rd_time_t now)
{
	if (up != rd_carp_if_link_up(ifc->cif))
		dm_log(LOG_WARNING, "%s: link %s", ifc->name, up ? "up" : "down");
	rd_carp_if_link(ifc->cif, up, now);
}

/* The link's state now, for a new interface and after lost netlink events. */
static void iface_sync_link(struct cd_iface *ifc, rd_time_t now)
{
	bool up = true;
	int rc;

	if (ifc->ignoreifstate)
		return;
	rc = rd_io_nl_link_state(ifc->d->nl, ifc->ifindex, &up);
	if (rc < 0) {
		dm_log(LOG_WARNING, "%s: link state: %s", ifc->name, strerror(-rc));
		up = false;
	}
	iface_set_link(ifc, up, now);
}

/*
 * A source address on ifindex (interface ifname) that is not a virtual
 * address: neither one of cfg's vhosts on ifname nor one of the running
 * vhosts of ifc (NULL: none runs there). Returns 0 with *out, or a negative
 * errno (-ENOENT: the interface has no such address).
 */
static int find_source(struct cd_daemon *d, const struct cd_config *cfg, const char *ifname,
                       unsigned int ifindex, const struct cd_iface *ifc,
                       const struct cd_vhost_conf *vc, int af, struct rd_addr *out)
{
	size_t nrun = ifc != NULL ? ifc->nvh : 0;
	struct rd_addr *skip = malloc((cfg->nvh + nrun) * RD_CARP_MAX_ADDRS * sizeof(*skip));
	size_t nskip = 0, i, j;
	bool peers = false;
	int rc;

	if (skip == NULL)
		return -ENOMEM;
	for (i = 0; i < cfg->nvh; i++) {
		if (strcmp(cfg->vh[i].ifname, ifname) != 0)
			continue;
		for (j = 0; j < cfg->vh[i].naddrs; j++)
			skip[nskip++] = cfg->vh[i].addrs[j];
	}
	for (i = 0; i < nrun; i++)
		for (j = 0; j < ifc->vh[i]->conf.naddrs; j++)
			skip[nskip++] = ifc->vh[i]->conf.addrs[j];
	for (i = 0; i < vc->npeers; i++)
		if (vc->peers[i].af == af)
			peers = true;
	/* IPv6 to ff02::12 goes from the link-local address, as the kernel would pick. */
	rc = rd_io_nl_first_addr(d->nl, ifindex, af, skip, nskip, af == RD_AF_INET6 && !peers, out);
	free(skip);
	return rc;
}

/* The message of a failed find_source, into err (CD_ERR_LEN bytes). */
static void source_error(const struct cd_vhost_conf *vc, int af, int rc, char *err)
{
	cd_errf(err, "%s vhid %u: no %s address on %s to send advertisements from (%s); give srcip",
	        vc->where, vc->vhid, af == RD_AF_INET ? "IPv4" : "IPv6", vc->ifname, strerror(-rc));
}

/* Pick a source address that is not one of the interface's virtual ones. */
static int pick_source(struct cd_daemon *d, struct cd_iface *ifc, const struct cd_vhost_conf *vc,
                       int af, struct rd_addr *out)
{
	char err[CD_ERR_LEN];
	/* A vmac link has no address of its own: the parent's. */
	int rc = ifc->parent[0] != '\0'
	             ? find_source(d, &d->cfg, ifc->parent, ifc->parent_ifindex, ifc, vc, af, out)
	             : find_source(d, &d->cfg, ifc->name, ifc->ifindex, ifc, vc, af, out);

	if (rc < 0) {
		source_error(vc, af, rc, err);
		dm_log(LOG_ERR, "%s", err);
	}
	return rc;
}

/* The vhost's demotion groups as the engine has them, "carp lan", into buf. */
static void vhost_groups_text(const struct cd_vhost *v, char *buf, size_t len)
{
	struct rd_carp_vhost_info info;
	size_t i, o = 0;

	buf[0] = '\0';
	if (v->vh == NULL || rd_carp_vhost_info(v->vh, &info) != 0)
		return;
	for (i = 0; i < info.ngroups && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "", info.groups[i]);
	if (info.ngroups == 0)
		snprintf(buf, len, "(none)");
}

/* The engine's configuration of v (its conf, the sources picked, its epoch). */
static void engine_config(struct cd_vhost *v, const struct rd_addr *src4,
                          const struct rd_addr *src6, const char **groups,
                          struct rd_carp_vhost_config *c)
{
	size_t i;

	rd_carp_vhost_config_default(c);
	c->vhid = v->conf.vhid;
	c->advbase = v->conf.advbase;
	c->advskew = v->conf.advskew;
	c->preempt = v->conf.preempt;
	memcpy(c->key, v->conf.key, sizeof(c->key));
	c->addrs = v->conf.addrs;
	c->naddrs = v->conf.naddrs;
	c->src4 = *src4;
	c->src6 = *src6;
	c->peers = v->conf.peers;
	c->npeers = v->conf.npeers;
	c->replay_strict = v->conf.replay_strict;
	c->replay_epoch = v->epoch;
	c->deadratio = v->conf.deadratio;
	c->user = v;
	for (i = 0; i < v->conf.ngroups; i++)
		groups[i] = v->conf.groups[i];
	c->groups = groups;
	c->ngroups = v->conf.ngroups;
}

/* Create and start a vhost from vc (whose strings it takes over). */
static int vhost_add(struct cd_daemon *d, struct cd_vhost_conf *vc, rd_time_t now)
{
	struct cd_iface *ifc = iface_find(d, vc->ifname);
	struct rd_carp_vhost_config c;
	struct cd_vhost *v, **nvh;
	bool v4 = false, v6 = false;
	/* Sources picked here are not written to the configuration, so a reload compares
	 * what the user wrote. */
	struct rd_addr src4 = vc->src4, src6 = vc->src6;
	const char *groups[CD_VHOST_GROUPS_MAX];
	size_t i;
	int rc;

	if (vc->vmac) {
		char run[IF_NAMESIZE], err[CD_ERR_LEN];

		cd_vmac_name(vc->ifname, vc->vhid, run);
		ifc = iface_find(d, run);
		if (ifc == NULL) {
			if (cd_vmac_create(vc->ifname, vc->vhid, run, err) < 0) {
				dm_log(LOG_ERR, "%s: %s", vc->where, err);
				return -ENODEV;
			}
			if ((rc = iface_new(d, run, &ifc)) < 0) {
				cd_vmac_delete(run);
				return rc;
			}
			snprintf(ifc->parent, sizeof(ifc->parent), "%s", vc->ifname);
			ifc->parent_ifindex = if_nametoindex(vc->ifname);
		}
	}
	if (ifc == NULL && (rc = iface_new(d, vc->ifname, &ifc)) < 0)
		return rc;
	for (i = 0; i < vc->naddrs; i++) {
		if (vc->addrs[i].af == RD_AF_INET)
			v4 = true;
		else
			v6 = true;
	}
	if (v4 && src4.af != RD_AF_INET && pick_source(d, ifc, vc, RD_AF_INET, &src4) < 0)
		return -EADDRNOTAVAIL;
	if (v6 && src6.af != RD_AF_INET6 && pick_source(d, ifc, vc, RD_AF_INET6, &src6) < 0)
		return -EADDRNOTAVAIL;
	v = calloc(1, sizeof(*v));
	nvh = realloc(ifc->vh, (ifc->nvh + 1) * sizeof(*ifc->vh));
	if (v == NULL || nvh == NULL) {
		free(v);
		return -ENOMEM;
	}
	ifc->vh = nvh;
	v->ifc = ifc;
	v->conf = *vc;
	vc->upscript = vc->downscript = vc->xparam = NULL; /* now v's */
	v->managed = v->conf.upscript == NULL && v->conf.downscript == NULL;
	if (!vc->has_pass)
		dm_log(LOG_WARNING, "%s vhid %u: no password: the HMAC key is empty", ifc->name,
		       vc->vhid);
	ifc->vh[ifc->nvh++] = v;
	if (v->conf.ignoreifstate)
		ifc->ignoreifstate = true;
	if ((rc = iface_open_io(ifc)) < 0)
		goto fail;
	v->epoch = d->epoch;
	engine_config(v, &src4, &src6, groups, &c);
	if (ifc->nvh == 1)
		iface_sync_link(ifc, now);
	rc = rd_carp_vhost_add(ifc->cif, &c, now, &v->vh);
	if (rc != 0) {
		dm_log(LOG_ERR, "%s: vhost %s %u: %s", v->conf.where, ifc->name, v->conf.vhid,
		       rd_strerror(rc));
		rc = -EINVAL;
		goto fail;
	}
	{
		char gl[CD_VHOST_GROUPS_MAX * (CD_NAME_MAX + 1) + 8];
		struct rd_carp_vhost_info info;

		vhost_groups_text(v, gl, sizeof(gl));
		rd_carp_vhost_info(v->vh, &info);
		dm_log(LOG_INFO,
		       "%s vhid %u: advbase %u advskew %u%s, %zu address(es), %s, groups %s, "
		       "demotion %u",
		       ifc->name, v->conf.vhid, v->conf.advbase, v->conf.advskew,
		       v->conf.preempt ? " preempt" : "", v->conf.naddrs,
		       v->managed ? "addresses managed by carpd" : "addresses managed by scripts",
		       gl, info.demote);
		/* Its groups' counters may be up already (the start-up hold): the
		 * demotion callback reports only later changes. */
		ifc->demotion = rd_carp_if_demotion(ifc->cif);
	}
	return 0;
fail:
	ifc->nvh--;
	cd_vhost_conf_free(&v->conf);
	free(v);
	return rc;
}

/* Give a running vhost the groups of vc (a reload). */
static void vhost_set_groups(struct cd_vhost *v, const struct cd_vhost_conf *vc, rd_time_t now)
{
	const char *groups[CD_VHOST_GROUPS_MAX];
	char gl[CD_VHOST_GROUPS_MAX * (CD_NAME_MAX + 1) + 8];
	size_t i;
	int rc;

	for (i = 0; i < vc->ngroups; i++)
		groups[i] = vc->groups[i];
	rc = rd_carp_vhost_set_groups(v->vh, groups, vc->ngroups, now);
	if (rc != 0) {
		dm_log(LOG_ERR, "%s vhid %u: groups unchanged by reload: %s", v->ifc->name,
		       v->conf.vhid, rd_strerror(rc));
		return;
	}
	memcpy(v->conf.groups, vc->groups, sizeof(v->conf.groups));
	v->conf.ngroups = vc->ngroups;
	vhost_groups_text(v, gl, sizeof(gl));
	dm_log(LOG_NOTICE, "%s vhid %u: groups now %s (reload)", v->ifc->name, v->conf.vhid, gl);
}

/* vhost_add on a copy of vc (d->cfg keeps its own strings for reload and sources). */
static int vhost_add_copy(struct cd_daemon *d, const struct cd_vhost_conf *vc, rd_time_t now)
{
	struct cd_vhost_conf copy = *vc;
	int rc;

	copy.upscript = vc->upscript ? strdup(vc->upscript) : NULL;
	copy.downscript = vc->downscript ? strdup(vc->downscript) : NULL;
	copy.xparam = vc->xparam ? strdup(vc->xparam) : NULL;
	rc = vhost_add(d, &copy, now);
	cd_vhost_conf_free(&copy);
	return rc;
}

static bool vhost_idle(const struct cd_vhost *v)
{
	return cd_script_idle(&v->scripts);
}

/* Take v (out of the engine already) off its interface; it lingers in d->dead while scripts run. */
static void vhost_drop(struct cd_daemon *d, struct cd_vhost *v)
{
	struct cd_iface *ifc = v->ifc;
	size_t i;

	for (i = 0; i < ifc->nvh; i++)
		if (ifc->vh[i] == v) {
			memmove(&ifc->vh[i], &ifc->vh[i + 1],
			        (ifc->nvh - i - 1) * sizeof(*ifc->vh));
			ifc->nvh--;
			break;
		}
	if (vhost_idle(v)) {
		cd_vhost_conf_free(&v->conf);
		free(v);
		return;
	}
	{
		struct cd_vhost **nd = realloc(d->dead, (d->ndead + 1) * sizeof(*d->dead));

		if (nd == NULL) {
			cd_script_clear(&v->scripts);
			cd_vhost_conf_free(&v->conf);
			free(v);
			return;
		}
		d->dead = nd;
		d->dead[d->ndead++] = v;
	}
}

/* Stop (bow out) and remove a vhost. */
static void vhost_retire(struct cd_daemon *d, struct cd_vhost *v, rd_time_t now)
{
	rd_carp_vhost_stop(v->vh, now);
	rd_carp_vhost_remove(v->ifc->cif, v->vh);
	v->vh = NULL;
	vhost_drop(d, v);
}

static bool has_addr(const struct cd_vhost_conf *vc, const struct rd_addr *a, uint8_t plen)
{
	size_t i;

	for (i = 0; i < vc->naddrs; i++)
		if (rd_addr_cmp(&vc->addrs[i], a) == 0 && vc->prefixlen[i] == plen)
			return true;
	return false;
}

static int str_dup(char **dst, const char *src)
{
	free(*dst);
	*dst = NULL;
	return src != NULL && (*dst = strdup(src)) == NULL ? -1 : 0;
}

/*
 * A reload's change that needs no new engine object: timing, preemption,
 * groups, the scripts and their argument. A MASTER stays MASTER unless the
 * election says otherwise (a higher advskew against a preempting peer).
 */
static void vhost_live(struct cd_vhost *v, const struct cd_vhost_conf *vc, rd_time_t now)
{
	char what[160];
	size_t o = 0;

	what[0] = '\0';
	if (v->conf.advbase != vc->advbase || v->conf.advskew != vc->advskew) {
		if (rd_carp_vhost_set_timing(v->vh, vc->advbase, vc->advskew, now) == 0) {
			o += (size_t)snprintf(what + o, sizeof(what) - o, " advbase %u advskew %u",
			                      vc->advbase, vc->advskew);
			v->conf.advbase = vc->advbase;
			v->conf.advskew = vc->advskew;
		}
	}
	if (v->conf.preempt != vc->preempt && o < sizeof(what)) {
		rd_carp_vhost_set_preempt(v->vh, vc->preempt);
		v->conf.preempt = vc->preempt;
		o += (size_t)snprintf(what + o, sizeof(what) - o, " %s",
		                      vc->preempt ? "preempt" : "no preempt");
	}
	if (!cd_vhost_conf_groups_equal(&v->conf, vc))
		vhost_set_groups(v, vc, now);
	if (str_dup(&v->conf.upscript, vc->upscript) < 0 ||
	    str_dup(&v->conf.downscript, vc->downscript) < 0 ||
	    str_dup(&v->conf.xparam, vc->xparam) < 0)
		dm_log(LOG_ERR, "%s vhid %u: out of memory: a script is unset", v->ifc->name,
		       v->conf.vhid);
	v->conf.neutral = vc->neutral;
	v->conf.ignoreifstate = vc->ignoreifstate;
	memcpy(v->conf.where, vc->where, sizeof(v->conf.where));
	if (what[0] != '\0')
		dm_log(LOG_NOTICE, "%s vhid %u:%s (reload, applied running)", v->ifc->name,
		       v->conf.vhid, what);
}

/*
 * A reload's change to what the engine object is made of (addresses,
 * peers, password, sources, deadratio, strict replay): a new engine object
 * takes the old one's place in its state, silently (no bow-out, no state
 * change reported); addresses carpd manages change one by one, scripts run
 * for the addresses that come and go. Returns 0, or -1 with v unchanged
 * (no source address) or stopped (the engine refused).
 */
static int vhost_rebuild(struct cd_daemon *d, struct cd_vhost *v, const struct cd_vhost_conf *vc,
                         rd_time_t now)
{
	struct cd_iface *ifc = v->ifc;
	struct cd_vhost_conf old = v->conf;
	enum rd_carp_state was = rd_carp_vhost_state(v->vh);
	struct rd_addr src4, src6;
	const char *groups[CD_VHOST_GROUPS_MAX];
	struct rd_carp_vhost_config c;
	uint32_t wall = (uint32_t)time(NULL);
	bool v4 = false, v6 = false;
	char a[RD_ADDR_STRLEN];
	size_t i;
	int rc;

	v->conf = *vc;
	v->conf.upscript = v->conf.downscript = v->conf.xparam = NULL;
	if (str_dup(&v->conf.upscript, vc->upscript) < 0 ||
	    str_dup(&v->conf.downscript, vc->downscript) < 0 ||
	    str_dup(&v->conf.xparam, vc->xparam) < 0)
		goto keep;
	src4 = v->conf.src4;
	src6 = v->conf.src6;
	for (i = 0; i < v->conf.naddrs; i++) {
		if (v->conf.addrs[i].af == RD_AF_INET)
			v4 = true;
		else
			v6 = true;
	}
	if ((v4 && src4.af != RD_AF_INET && pick_source(d, ifc, &v->conf, RD_AF_INET, &src4) < 0) ||
	    (v6 && src6.af != RD_AF_INET6 && pick_source(d, ifc, &v->conf, RD_AF_INET6, &src6) < 0))
		goto keep;
	iface_open_io(ifc);
	rd_carp_vhost_remove(ifc->cif, v->vh);
	v->vh = NULL;
	/* Strict replay: the new object's counters must grow past the old one's. */
	v->epoch = wall > v->epoch ? wall : v->epoch + 1;
	engine_config(v, &src4, &src6, groups, &c);
	v->quiet = true;
	rc = rd_carp_vhost_add(ifc->cif, &c, now, &v->vh);
	if (rc == 0 && was == RD_CARP_MASTER)
		rd_carp_vhost_set_state(v->vh, RD_CARP_MASTER, now);
	v->quiet = false;
	if (rc != 0) {
		dm_log(LOG_ERR, "%s vhid %u: could not be rebuilt by reload: %s; it stops",
		       ifc->name, v->conf.vhid, rd_strerror(rc));
		v->vh = NULL;
		if (old.upscript == NULL && old.downscript == NULL && v->addrs_on)
			for (i = 0; i < old.naddrs; i++)
				addr_one(v, &old.addrs[i], old.prefixlen[i], false);
		v->addrs_on = false;
		cd_vhost_conf_free(&old);
		vhost_drop(d, v);
		return -1;
	}
	/* What changes on the host: the addresses that come and go. */
	for (i = 0; i < old.naddrs; i++)
		if (!has_addr(&v->conf, &old.addrs[i], old.prefixlen[i])) {
			if (v->managed && v->addrs_on)
				addr_one(v, &old.addrs[i], old.prefixlen[i], false);
			else if (!v->managed && was == RD_CARP_MASTER && v->conf.downscript != NULL)
				cd_script_enqueue(&v->scripts, v->conf.downscript, ifc->name,
				                  rd_addr_format(&old.addrs[i], a, sizeof(a)),
				                  v->conf.xparam);
		}
	for (i = 0; i < v->conf.naddrs; i++)
		if (!has_addr(&old, &v->conf.addrs[i], v->conf.prefixlen[i])) {
			if (v->managed && v->addrs_on)
				addr_one(v, &v->conf.addrs[i], v->conf.prefixlen[i], true);
			else if (!v->managed && was == RD_CARP_MASTER && !v->up_pending &&
			         v->conf.upscript != NULL)
				cd_script_enqueue(&v->scripts, v->conf.upscript, ifc->name,
				                  rd_addr_format(&v->conf.addrs[i], a, sizeof(a)),
				                  v->conf.xparam);
		}
	dm_log(LOG_NOTICE,
	       "%s vhid %u: rebuilt by reload (addresses, peers, password, sources, "
	       "deadratio or replay-strict changed), %s kept without a bow-out",
	       ifc->name, v->conf.vhid, rd_carp_state_name(was));
	cd_vhost_conf_free(&old);
	return 0;
keep:
	dm_log(LOG_ERR, "%s vhid %u: could not be rebuilt by reload; it runs as it was", ifc->name,
	       v->conf.vhid);
	cd_vhost_conf_free(&v->conf);
	v->conf = old;
	return -1;
}

/* ---------------------------------------------------------------------- */
/* Events                                                                  */

/*
 * The limiter's reason for the lines a refused packet caused (the engine's
 * own, under -D, or the rate-limited WARNING of a refusal for one of our
 * vhids): "advertisements refused (NAME)", one string per refusal.
 */
static const char *refusal_reason(int rc)
{
	static char names[RD_CARP_STAT_COUNT][48];
	int stat = -rc - RD_CARP_REFUSED_BASE;

	if (stat < 0 || stat >= RD_CARP_STAT_COUNT)
		return "packets refused";
	if (names[stat][0] == '\0')
		snprintf(names[stat], sizeof(names[stat]), "advertisements refused (%s)",
		         rd_carp_stat_name(stat));
	return names[stat];
}

/*
 * Bounded, so that a flood leaves the loop to the timers (our own
 * advertisements) and the control socket: the socket stays readable and
 * the loop comes back here after them. A refused packet's log lines go
 * through the limiter under its reason; an accepted one's (state changes)
 * as they are.
 */
#define CARP_RX_MAX    256
#define CARP_RX_BUDGET (2 * RD_MSEC)

static void on_carp(struct cd_iface *ifc, int af)
{
	uint8_t buf[2048];
	struct rd_io_carp_pkt pkt;
	rd_time_t start = cd_now();
	int n, rc;

	for (int i = 0; i < CARP_RX_MAX; i++) {
		if (ifc->io == NULL)
			return;
		memset(&pkt, 0, sizeof(pkt));
		n = rd_io_carp_recv(ifc->io, af, buf, sizeof(buf), &pkt);
		if (n == -EAGAIN || n == -EWOULDBLOCK)
			return;
		if (n < 0 && n != -EPROTO) {
			dm_log_limited("receive errors", LOG_WARNING, "%s: receive: %s", ifc->name,
			               strerror(-n));
			return;
		}
		dm_log_hold();
		if (af == RD_AF_INET)
			rc = rd_carp_input(ifc->cif, pkt.ip, pkt.ip_len, cd_now());
		else
			rc = rd_carp_input_payload(ifc->cif, &pkt.src, &pkt.dst, pkt.ttl,
			                           pkt.payload, pkt.payload_len, cd_now());
		dm_log_release(rc < 0 ? refusal_reason(rc) : NULL);
		if (cd_now() - start >= CARP_RX_BUDGET)
			return;
	}
}

static void on_link(void *user, const struct rd_io_link_event *ev)
{
	struct cd_daemon *d = user;
	size_t i;

	for (i = 0; i < d->nifs; i++) {
		struct cd_iface *ifc = d->ifs[i];

		if (ifc->ifindex == ev->ifindex && !ifc->ignoreifstate)
			iface_set_link(ifc, ev->up, cd_now());
	}
	cd_track_link(d, ev, cd_now());
}

static void on_netlink(struct cd_daemon *d)
{
	int rc = rd_io_nl_read(d->nl, on_link, d);
	size_t i;

	if (rc == -ENOBUFS) {
		dm_log(LOG_WARNING, "netlink events lost: reading link states again");
		for (i = 0; i < d->nifs; i++)
			iface_sync_link(d->ifs[i], cd_now());
		cd_track_resync(d, cd_now());
	} else if (rc < 0) {
		dm_log(LOG_WARNING, "netlink: %s", strerror(-rc));
	}
}

/* The up actions ended: the announcement that waited for them goes now. */
static void announce_if_due(struct cd_vhost *v)
{
	if (!v->announce_wait || v->up_pending || !cd_script_idle(&v->scripts))
		return;
	v->announce_wait = false;
	if (v->vh != NULL && rd_carp_vhost_state(v->vh) == RD_CARP_MASTER)
		announce_now(v, 0);
}

/* An up script still running CD_ANNOUNCE_WAIT_MAX after the announcement was due. */
static void announce_overdue(struct cd_vhost *v, rd_time_t now)
{
	if (!v->announce_wait || v->up_pending || now < v->announce_deadline)
		return; /* notify-master-before has its own timeout (pre_deadline) */
	v->announce_wait = false;
	if (v->vh == NULL || rd_carp_vhost_state(v->vh) != RD_CARP_MASTER)
		return;
	dm_log(LOG_WARNING, "%s vhid %u: up script still running after %d s: announcing anyway",
	       v->ifc->name, v->conf.vhid, CD_ANNOUNCE_WAIT_MAX);
	announce_now(v, 0);
}

static void reap(struct cd_daemon *d)
{
	pid_t pid;
	int status;
	size_t i, j;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		bool found = cd_track_reaped(d, pid, status, cd_now()) ||
		             cd_script_reaped(&d->notifyq, pid, status);

		for (i = 0; i < d->nifs && !found; i++)
			for (j = 0; j < d->ifs[i]->nvh && !found; j++) {
				struct cd_vhost *v = d->ifs[i]->vh[j];

				if (v->pre_pid != pid)
					continue;
				found = true;
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
					dm_log(
					    LOG_WARNING,
					    "%s vhid %u: notify-master-before failed (status %d): "
					    "taking the addresses anyway",
					    v->ifc->name, v->conf.vhid,
					    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
				pre_done(v);
			}

		for (i = 0; i < d->nifs && !found; i++)
			for (j = 0; j < d->ifs[i]->nvh && !found; j++) {
				struct cd_vhost *v = d->ifs[i]->vh[j];

				found = cd_script_reaped(&v->scripts, pid, status);
				if (found)
					announce_if_due(v);
			}
		for (i = 0; i < d->ndead && !found; i++)
			found = cd_script_reaped(&d->dead[i]->scripts, pid, status);
	}
	for (i = 0; i < d->ndead;) {
		if (vhost_idle(d->dead[i])) {
			cd_vhost_conf_free(&d->dead[i]->conf);
			free(d->dead[i]);
			d->dead[i] = d->dead[--d->ndead];
		} else {
			i++;
		}
	}
}

static void log_status(struct cd_daemon *d)
{
	char *s = NULL, *line, *save = NULL;

	if (cd_daemon_status(d, false, &s) != 0 || s == NULL) {
		free(s);
		return;
	}
	for (line = strtok_r(s, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		dm_log(LOG_NOTICE, "%s", line);
	free(s);
}

/* How a reload treats a running vhost that a new vhost line names. */
enum reload_how {
	RL_START = 0, /* none runs (or it must restart: bow out, start anew in BACKUP) */
	RL_LIVE,      /* changed running: vhost_live */
	RL_REBUILD,   /* a new engine object in its state: vhost_rebuild */
};

static enum reload_how reload_how(const struct cd_vhost_conf *o, const struct cd_vhost_conf *n)
{
	size_t i;

	if (strcmp(o->ifname, n->ifname) != 0 || o->vhid != n->vhid)
		return RL_START;
	if (o->vmac != n->vmac)
		return RL_START;
	/* Who manages the addresses (carpd or scripts) does not change under a running vhost. */
	if ((o->upscript == NULL && o->downscript == NULL) !=
	    (n->upscript == NULL && n->downscript == NULL))
		return RL_START;
	if (memcmp(o->key, n->key, sizeof(o->key)) != 0 || o->naddrs != n->naddrs ||
	    o->npeers != n->npeers || rd_addr_cmp(&o->src4, &n->src4) != 0 ||
	    rd_addr_cmp(&o->src6, &n->src6) != 0 || o->replay_strict != n->replay_strict ||
	    o->deadratio != n->deadratio)
		return RL_REBUILD;
	for (i = 0; i < o->naddrs; i++)
		if (rd_addr_cmp(&o->addrs[i], &n->addrs[i]) != 0 ||
		    o->prefixlen[i] != n->prefixlen[i])
			return RL_REBUILD;
	for (i = 0; i < o->npeers; i++)
		if (rd_addr_cmp(&o->peers[i], &n->peers[i]) != 0)
			return RL_REBUILD;
	return RL_LIVE;
}

/*
 * A reload's plan: for each vhost of the new configuration, the running
 * vhost it keeps and how (how[k]), or NULL when it starts. Running vhosts
 * kept by none are retired (bow out).
 */
static void reload_match(struct cd_daemon *d, const struct cd_config *ncfg, struct cd_vhost **match,
                         enum reload_how *how)
{
	size_t i, j, k;

	for (i = 0; i < d->nifs; i++)
		for (j = 0; j < d->ifs[i]->nvh; j++) {
			struct cd_vhost *v = d->ifs[i]->vh[j];

			for (k = 0; k < ncfg->nvh; k++)
				if (match[k] == NULL &&
				    (how[k] = reload_how(&v->conf, &ncfg->vh[k])) != RL_START) {
					match[k] = v;
					break;
				}
		}
}

static bool reload_kept(const struct cd_config *ncfg, struct cd_vhost *const *match,
                        const struct cd_vhost *v, size_t *k)
{
	for (*k = 0; *k < ncfg->nvh; (*k)++)
		if (match[*k] == v)
			return true;
	return false;
}

/* The address families of ncfg's vhosts on ifname. */
static void reload_families(const struct cd_config *ncfg, const char *ifname, bool *v4, bool *v6)
{
	size_t k, i;

	*v4 = *v6 = false;
	for (k = 0; k < ncfg->nvh; k++) {
		if (strcmp(ncfg->vh[k].ifname, ifname) != 0)
			continue;
		for (i = 0; i < ncfg->vh[k].naddrs; i++) {
			if (ncfg->vh[k].addrs[i].af == RD_AF_INET)
				*v4 = true;
			else
				*v6 = true;
		}
	}
}

/*
 * Everything a vhost that starts needs, checked before anything changes:
 * its interface exists, has the source addresses to send from, and takes
 * raw CARP sockets. Returns 0, or -1 with err saying what is wrong.
 */
static int reload_check(struct cd_daemon *d, const struct cd_config *ncfg,
                        struct cd_vhost *const *match, const enum reload_how *how, char *err)
{
	size_t k, i;
	int rc;

	for (k = 0; k < ncfg->nvh; k++) {
		const struct cd_vhost_conf *vc = &ncfg->vh[k];
		struct cd_iface *ifc = iface_find(d, vc->ifname);
		unsigned int ifindex;
		bool v4 = false, v6 = false;
		struct rd_addr src;

		if (match[k] != NULL && how[k] == RL_LIVE)
			continue; /* runs as it is */
		ifindex = if_nametoindex(vc->ifname);
		if (ifindex == 0) {
			cd_errf(err, "%s: vhost %s %u: interface %s: %s", vc->where, vc->ifname,
			        vc->vhid, vc->ifname, strerror(errno));
			return -1;
		}
		for (i = 0; i < vc->naddrs; i++) {
			if (vc->addrs[i].af == RD_AF_INET)
				v4 = true;
			else
				v6 = true;
		}
		if (v4 && vc->src4.af != RD_AF_INET &&
		    (rc = find_source(d, ncfg, vc->ifname, ifindex, ifc, vc, RD_AF_INET, &src)) <
		        0) {
			source_error(vc, RD_AF_INET, rc, err);
			return -1;
		}
		if (v6 && vc->src6.af != RD_AF_INET6 &&
		    (rc = find_source(d, ncfg, vc->ifname, ifindex, ifc, vc, RD_AF_INET6, &src)) <
		        0) {
			source_error(vc, RD_AF_INET6, rc, err);
			return -1;
		}
		/* Sockets for the families the interface will need, unless open already. */
		{
			struct rd_io_carp_config c = {.ifindex = ifindex, .multicast = true};
			struct rd_io_carp *io = NULL;

			reload_families(ncfg, vc->ifname, &c.inet, &c.inet6);
			if (ifc != NULL && ifc->io != NULL && ifc->ifindex == ifindex &&
			    ifc->inet == c.inet && ifc->inet6 == c.inet6)
				continue;
			rc = rd_io_carp_open(&c, &io);
			rd_io_carp_close(io);
			if (rc < 0) {
				cd_errf(err, "%s: vhost %s %u: raw CARP sockets on %s: %s",
				        vc->where, vc->ifname, vc->vhid, vc->ifname, strerror(-rc));
				return -1;
			}
		}
	}
	return 0;
}

static void reload_refuse(struct cd_daemon *d, const char *why)
{
	d->reloads_refused++;
	snprintf(d->reload_refusal, sizeof(d->reload_refusal), "%s", why);
	dm_log(LOG_ERR, "reload refused, configuration unchanged: %s", why);
}

static void needs_restart(const char *keyword)
{
	dm_log(LOG_WARNING, "%s changed: needs a restart; the running value stays", keyword);
}

/*
 * The global keywords cannot change in a running carpd: the control socket
 * is bound, the log opened, the start-up hold taken at start. A change is
 * reported, never applied. (daemonize and debug are command-line only.)
 */
static void reload_globals(struct cd_daemon *d, struct cd_config *ncfg)
{
	const char *control = ncfg->control != NULL ? ncfg->control : CD_DEFAULT_CONTROL;

	if (strcmp(control, d->cfg.control) != 0)
		needs_restart("control");
	if (ncfg->facility != d->cfg.facility || ncfg->no_syslog != d->cfg.no_syslog)
		needs_restart("facility");
	cd_config_defaults(ncfg);
	if (ncfg->startup_demote != d->cfg.startup_demote)
		needs_restart("startup-demote");
	if (ncfg->startup_hold != d->cfg.startup_hold)
		needs_restart("startup-hold");
	if (ncfg->realtime != d->cfg.realtime)
		needs_restart("realtime");
}

/*
 * SIGHUP: all or nothing. The file is parsed and every vhost that would
 * start is checked (reload_check) before anything changes; on any error the
 * running configuration stays as it is, the reload is refused and counted.
 */
static void reload(struct cd_daemon *d)
{
	struct cd_config ncfg;
	char err[CD_ERR_LEN];
	rd_time_t now = cd_now();
	size_t i, j, k;
	struct cd_vhost **match;
	enum reload_how *how;

	if (d->cfg.config_file == NULL) {
		dm_log(LOG_NOTICE, "SIGHUP: no --config file, nothing to reload");
		return;
	}
	memset(&ncfg, 0, sizeof(ncfg));
	ncfg.facility = -1;
	ncfg.startup_demote = ncfg.startup_hold = ncfg.realtime = -1;
	/* What the command line gave wins over the file, as at start. */
	if (d->cfg.cli_control && dm_str_set(&ncfg.control, d->cfg.control) < 0) {
		reload_refuse(d, "out of memory");
		return;
	}
	if (d->cfg.cli_facility) {
		ncfg.facility = d->cfg.facility;
		ncfg.no_syslog = d->cfg.no_syslog;
	}
	if (d->cfg.cli_startup_demote)
		ncfg.startup_demote = d->cfg.startup_demote;
	if (d->cfg.cli_startup_hold)
		ncfg.startup_hold = d->cfg.startup_hold;
	if (d->cfg.cli_realtime)
		ncfg.realtime = d->cfg.realtime;
	if (cd_config_load(d->cfg.config_file, &ncfg, err) < 0) {
		reload_refuse(d, err);
		cd_config_free(&ncfg);
		return;
	}
	match = calloc(ncfg.nvh + 1, sizeof(*match));
	how = calloc(ncfg.nvh + 1, sizeof(*how));
	if (match == NULL || how == NULL) {
		reload_refuse(d, "out of memory");
		free(match);
		free(how);
		cd_config_free(&ncfg);
		return;
	}
	reload_match(d, &ncfg, match, how);
	if (reload_check(d, &ncfg, match, how, err) < 0) {
		reload_refuse(d, err);
		free(match);
		free(how);
		cd_config_free(&ncfg);
		return;
	}
	reload_globals(d, &ncfg);
	/* Tracking and the notify hooks: swapped in whole. */
	cd_track_apply(d, ncfg.track, ncfg.ntrack, now);
	{
		struct cd_track_conf *t = d->cfg.track;
		size_t nt = d->cfg.ntrack;
		char *n1 = d->cfg.notify, *n2 = d->cfg.notify_master_before;

		d->cfg.track = ncfg.track;
		d->cfg.ntrack = ncfg.ntrack;
		d->cfg.notify = ncfg.notify;
		d->cfg.notify_master_before = ncfg.notify_master_before;
		d->cfg.notify_master_timeout = ncfg.notify_master_timeout;
		ncfg.track = t;
		ncfg.ntrack = nt;
		ncfg.notify = n1;
		ncfg.notify_master_before = n2;
	}
	/* Vhosts that did not change keep running untouched; the others restart. */
	for (i = 0; i < d->nifs; i++) {
		struct cd_iface *ifc = d->ifs[i];

		for (j = 0; j < ifc->nvh;) {
			struct cd_vhost *v = ifc->vh[j];

			if (reload_kept(&ncfg, match, v, &k)) {
				/* No failover for what can change running. */
				if (how[k] == RL_LIVE)
					vhost_live(v, &ncfg.vh[k], now);
				j++;
				continue;
			}
			dm_log(LOG_NOTICE, "%s vhid %u: removed or changed by reload", ifc->name,
			       v->conf.vhid);
			vhost_retire(d, v, now);
		}
	}
	/* The old configuration's vhost list is only used to pick sources. */
	for (k = 0; k < d->cfg.nvh; k++)
		cd_vhost_conf_free(&d->cfg.vh[k]);
	free(d->cfg.vh);
	d->cfg.vh = ncfg.vh;
	d->cfg.nvh = ncfg.nvh;
	ncfg.vh = NULL;
	ncfg.nvh = 0;
	/* Checked above: what fails here is out of memory or the kernel changing meanwhile. */
	for (k = 0; k < d->cfg.nvh; k++)
		if (match[k] != NULL && how[k] == RL_REBUILD)
			vhost_rebuild(d, match[k], &d->cfg.vh[k], now);
	for (k = 0; k < d->cfg.nvh; k++)
		if (match[k] == NULL && vhost_add_copy(d, &d->cfg.vh[k], now) < 0)
			dm_log(LOG_ERR, "%s vhid %u: could not start after reload",
			       d->cfg.vh[k].ifname, d->cfg.vh[k].vhid);
	/* Interfaces left without vhosts close; the others reopen sockets if needed. */
	for (i = 0; i < d->nifs;) {
		struct cd_iface *ifc = d->ifs[i];

		if (ifc->nvh == 0) {
			iface_free(ifc);
			d->ifs[i] = d->ifs[--d->nifs];
			continue;
		}
		ifc->ignoreifstate = false;
		for (j = 0; j < ifc->nvh; j++)
			if (ifc->vh[j]->conf.ignoreifstate)
				ifc->ignoreifstate = true;
		iface_open_io(ifc);
		iface_sync_link(ifc, now);
		i++;
	}
	free(match);
	free(how);
	cd_config_free(&ncfg);
	d->reloads++;
	dm_log(LOG_NOTICE, "configuration reloaded from %s", d->cfg.config_file);
}

static void begin_quit(struct cd_daemon *d, int sig)
{
	size_t i;
	rd_time_t now = cd_now();

	if (d->quitting)
		return;
	dm_log(LOG_NOTICE, "%s: leaving (bow-out advertisements, addresses removed)",
	       strsignal(sig));
	d->quitting = true;
	dm_notify("STOPPING=1\nSTATUS=leaving: bow-out advertisements, addresses removed");
	d->quit_deadline = now + CD_QUIT_WAIT;
	for (i = 0; i < d->nifs; i++)
		rd_carp_if_leave(d->ifs[i]->cif, now);
}

static void on_signal(struct cd_daemon *d)
{
	int sig;

	while ((sig = dm_loop_signal_read(&d->loop)) != 0) {
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			begin_quit(d, sig);
			break;
		case SIGHUP:
			d->reload_pending = true;
			break;
		case SIGUSR1:
			log_status(d);
			break;
		case SIGCHLD:
			reap(d);
			break;
		default:
			break;
		}
	}
}

/* A BACKUP vhost whose master-down timer has run out at NOW. */
static bool master_down_due(const struct cd_vhost *v, rd_time_t now)
{
	struct rd_carp_vhost_info info;

	if (v->vh == NULL || rd_carp_vhost_info(v->vh, &info) < 0 || info.state != RD_CARP_BACKUP)
		return false;
	return info.md4 <= now || info.md6 <= now;
}

/*
 * Before a master-down timer is served, the advertisements already queued
 * on that interface's sockets are read. A backup woken late (descheduled,
 * or the machine stalled) finds the timer and its master's advertisement
 * ready at once; the order of epoll's events used to decide, and the timer
 * first meant a takeover that the next read undid (two transitions, a
 * gratuitous ARP the wrong way). Each vhost counts the timers so reset as
 * takeovers_averted. A master that really stopped leaves nothing queued.
 */
static void read_before_master_down(struct cd_daemon *d, rd_time_t now)
{
	for (size_t i = 0; i < d->nifs; i++) {
		struct cd_iface *ifc = d->ifs[i];
		bool due[256] = {false}, any = false; /* one vhost a vhid */

		for (size_t j = 0; j < ifc->nvh && j < 256; j++)
			any |= due[j] = master_down_due(ifc->vh[j], now);
		if (!any || ifc->io == NULL)
			continue;
		if (rd_io_carp_fd(ifc->io, RD_AF_INET) >= 0)
			on_carp(ifc, RD_AF_INET);
		if (ifc->io != NULL && rd_io_carp_fd(ifc->io, RD_AF_INET6) >= 0)
			on_carp(ifc, RD_AF_INET6);
		for (size_t j = 0; j < ifc->nvh && j < 256; j++)
			if (due[j] && !master_down_due(ifc->vh[j], now))
				ifc->vh[j]->takeovers_averted++;
	}
}

static void on_timer(struct cd_daemon *d)
{
	rd_time_t now = cd_now();
	size_t i;

	dm_loop_timer_read(&d->loop);
	read_before_master_down(d, now);
	for (i = 0; i < d->nifs; i++)
		rd_carp_handle_expiry(d->ifs[i]->cif, now);
	holds_expire(d, now);
	cd_track_tick(d, now);
	for (i = 0; i < d->nifs; i++)
		for (size_t j = 0; j < d->ifs[i]->nvh; j++) {
			struct cd_vhost *v = d->ifs[i]->vh[j];

			announce_overdue(v, now);
			if (v->pre_pid == 0 || now < v->pre_deadline)
				continue;
			dm_log(
			    LOG_WARNING,
			    "%s vhid %u: notify-master-before (pid %d) killed after %u s: taking "
			    "the addresses",
			    v->ifc->name, v->conf.vhid, (int)v->pre_pid,
			    d->cfg.notify_master_timeout);
			pre_kill(v);
			pre_done(v);
		}
}

/* Arm the timerfd at the earliest engine expiry or hold lapse (absolute, CLOCK_MONOTONIC). */
static void arm_timer(struct cd_daemon *d)
{
	rd_time_t next = cd_book_expiry(&d->book), e = cd_track_expiry(d);
	size_t i, j;

	if (e < next)
		next = e;
	for (i = 0; i < d->nifs; i++) {
		e = rd_carp_expiry(d->ifs[i]->cif);
		if (e < next)
			next = e;
		for (j = 0; j < d->ifs[i]->nvh; j++) {
			const struct cd_vhost *v = d->ifs[i]->vh[j];

			if (v->pre_pid != 0 && v->pre_deadline < next)
				next = v->pre_deadline;
			if (v->announce_wait && !v->up_pending && v->announce_deadline < next)
				next = v->announce_deadline;
		}
	}
	dm_loop_arm(&d->loop, next);
}

static bool all_idle(struct cd_daemon *d)
{
	size_t i, j;

	for (i = 0; i < d->nifs; i++)
		for (j = 0; j < d->ifs[i]->nvh; j++)
			if (!vhost_idle(d->ifs[i]->vh[j]))
				return false;
	return d->ndead == 0 && cd_script_idle(&d->notifyq);
}

/* ---------------------------------------------------------------------- */
/* Life cycle                                                              */

int cd_daemon_new(struct cd_config *cfg, struct cd_daemon **out)
{
	struct cd_daemon *d;
	sigset_t mask;
	rd_time_t now;
	size_t i;
	int rc;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	d->loop.epfd = d->loop.tfd = d->loop.sfd = -1;
	d->epoch = (uint32_t)time(NULL);
	d->wn.kind = CD_W_NETLINK;
	cd_book_init(&d->book, group_adjust, d);
	make_instance(d);
	*out = d;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGCHLD);
	if ((rc = dm_loop_open(&d->loop, &mask)) < 0)
		return rc;
	rc = rd_io_nl_open(NULL, &d->nl);
	if (rc < 0) {
		dm_log(LOG_ERR, "rtnetlink: %s", strerror(-rc));
		return rc;
	}
	if ((rc = dm_loop_add(&d->loop, rd_io_nl_fd(d->nl), &d->wn)) < 0)
		return rc;
	rc = dm_control_start(&d->loop, d->cfg.control, CD_CONTROL_IN_MAX, cd_control_request, d,
	                      &d->ctl);
	if (rc < 0)
		return rc;
	{
		struct rd_carp_node_config nc;

		rd_carp_node_config_default(&nc);
		nc.log.fn = dm_log_hook;
		nc.log.level = dm_log_level() >= LOG_DEBUG ? LOG_DEBUG : LOG_WARNING;
		rc = rd_carp_node_new(&nc, &d->node);
		if (rc != 0) {
			dm_log(LOG_ERR, "demotion groups: %s", rd_strerror(rc));
			return -ENOMEM;
		}
	}
	now = cd_now();
	dm_log(LOG_INFO, "instance %s", d->instance);
	if ((rc = startup_hold(d, now)) < 0)
		return rc;
	/* Before the vhosts: a tracker failed at start demotes them from their first advertisement.
	 */
	cd_track_apply(d, d->cfg.track, d->cfg.ntrack, now);
	for (i = 0; i < d->cfg.nvh; i++)
		if ((rc = vhost_add_copy(d, &d->cfg.vh[i], now)) < 0)
			return rc;
	return 0;
}

int cd_daemon_after_fork(struct cd_daemon *d)
{
	return dm_loop_after_fork(&d->loop);
}

static void on_event(void *user, struct dm_watch *w, uint32_t events)
{
	struct cd_daemon *d = user;

	(void)events;
	switch (w->kind) {
	case DM_W_TIMER:
		on_timer(d);
		break;
	case DM_W_SIGNAL:
		on_signal(d);
		break;
	case CD_W_NETLINK:
		on_netlink(d);
		break;
	case CD_W_CARP4:
		on_carp(w->obj, RD_AF_INET);
		break;
	case CD_W_CARP6:
		on_carp(w->obj, RD_AF_INET6);
		break;
	}
}

int cd_daemon_run(struct cd_daemon *d)
{
	for (;;) {
		int timeout = -1;

		if (d->quitting) {
			rd_time_t now = cd_now();

			if (all_idle(d))
				break;
			if (now >= d->quit_deadline) {
				dm_log(LOG_WARNING, "scripts still running at exit");
				break;
			}
			timeout = (int)((d->quit_deadline - now) / RD_MSEC) + 1;
		}
		arm_timer(d);
		if (dm_loop_wait(&d->loop, d->ctl, timeout, on_event, d) < 0)
			return 1;
		if (d->reload_pending) {
			d->reload_pending = false;
			if (!d->quitting) {
				dm_notify_reloading();
				reload(d);
				dm_notify("READY=1");
			}
		}
		if (!d->quitting)
			cd_daemon_notify_status(d);
	}
	return 0;
}

void cd_daemon_free(struct cd_daemon *d)
{
	size_t i, j;

	if (d == NULL)
		return;
	for (i = 0; i < d->nifs; i++) {
		for (j = 0; j < d->ifs[i]->nvh; j++) {
			struct cd_vhost *v = d->ifs[i]->vh[j];

			/* Never leave a virtual address behind, whatever the state. */
			if (v->managed && v->addrs_on)
				vhost_addrs(v, false);
			pre_kill(v);
			cd_script_clear(&v->scripts);
			cd_vhost_conf_free(&v->conf);
			free(v);
		}
		iface_free(d->ifs[i]);
	}
	free(d->ifs);
	for (i = 0; i < d->ndead; i++) {
		cd_script_clear(&d->dead[i]->scripts);
		cd_vhost_conf_free(&d->dead[i]->conf);
		free(d->dead[i]);
	}
	free(d->dead);
	cd_track_free(d);
	cd_script_clear(&d->notifyq);
	rd_carp_node_free(d->node); /* after every interface using it */
	dm_control_close(d->ctl);
	rd_io_nl_close(d->nl);
	dm_loop_close(&d->loop);
	cd_config_free(&d->cfg);
	free(d);
}
