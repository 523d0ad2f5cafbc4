/*
 * syncd: the conntrack backend (libnetfilter_conntrack). Two netlink
 * sockets: one subscribed to the kernel's NEW/UPDATE/DESTROY events (read
 * from the event loop, non-blocking), one for requests (dump, get, create,
 * update, delete), which the kernel answers before the call returns.
 *
 * Our own changes come back as events; the kernel stamps such an event with
 * the port id of the socket that made the change, so events carrying the
 * request socket's port id are ignored (counted "self") instead of being
 * sent back to the peers as local changes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include <linux/netfilter/nf_conntrack_tcp.h>

#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnfnetlink/libnfnetlink.h>

#include "ctmap.h"
#include "syncd.h"

struct sd_ct {
	struct nfct_handle *ev;  /* events (conntrack and expectations) */
	struct nfct_handle *rq;  /* requests */
	struct nfct_handle *xrq; /* expectation requests */
	uint32_t rq_portid, xrq_portid;
	sd_ct_fn fn;
	sd_exp_fn exp_fn;
	void *exp_user;
	void *user;
	/* sd_ct_get's answer */
	bool got;
	struct rd_state_info *get_out;
	int label; /* our mark's label bit, -1: none */
	uint64_t stats[SD_CT_STAT_MAX];
};

static const char *const stat_names[SD_CT_STAT_MAX] = {
    [SD_CT_EVENTS] = "events",
    [SD_CT_SELF] = "self",
    [SD_CT_CREATED] = "created",
    [SD_CT_UPDATED] = "updated",
    [SD_CT_DELETED] = "deleted",
    [SD_CT_ERRORS] = "errors",
    [SD_CT_OVERRUNS] = "overruns",
    [SD_CT_UNLABELLED] = "unlabelled",
    [SD_CT_NOHELPER] = "nohelper",
    [SD_CT_EXP_EVENTS] = "exp_events",
    [SD_CT_EXP_CREATED] = "exp_created",
    [SD_CT_EXP_DELETED] = "exp_deleted",
    [SD_CT_EXP_NOHELPER] = "exp_nohelper",
    [SD_CT_EXP_FAILED] = "exp_failed",
};

const char *sd_ct_stat_name(int stat)
{
	return stat >= 0 && stat < SD_CT_STAT_MAX ? stat_names[stat] : "unknown";
}

static int on_event(const struct nlmsghdr *nlh, enum nf_conntrack_msg_type type,
                    struct nf_conntrack *ct, void *data)
{
	struct sd_ct *c = data;

	c->stats[SD_CT_EVENTS]++;
	if (nlh != NULL && nlh->nlmsg_pid != 0 && nlh->nlmsg_pid == c->rq_portid) {
		c->stats[SD_CT_SELF]++;
		return NFCT_CB_CONTINUE;
	}
	c->fn(c->user, (int)type, ct);
	return NFCT_CB_CONTINUE;
}

static int on_exp_event(const struct nlmsghdr *nlh, enum nf_conntrack_msg_type type,
                        struct nf_expect *exp, void *data)
{
	struct sd_ct *c = data;

	c->stats[SD_CT_EXP_EVENTS]++;
	if (nlh != NULL && nlh->nlmsg_pid != 0 &&
	    (nlh->nlmsg_pid == c->rq_portid || nlh->nlmsg_pid == c->xrq_portid)) {
		c->stats[SD_CT_SELF]++;
		return NFCT_CB_CONTINUE;
	}
	if (c->exp_fn != NULL)
		c->exp_fn(c->exp_user, (int)type, exp);
	return NFCT_CB_CONTINUE;
}

static int on_dump(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct sd_ct *c = data;

	(void)type;
	c->fn(c->user, NFCT_T_NEW, ct);
	return NFCT_CB_CONTINUE;
}

static int on_get(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct sd_ct *c = data;

	(void)type;
	if (sd_ct_to_state(ct, c->get_out) == 0)
		c->got = true;
	return NFCT_CB_CONTINUE;
}

int sd_ct_open(sd_ct_fn fn, void *user, struct sd_ct **out)
{
	struct sd_ct *c = calloc(1, sizeof(*c));
	int fl, rc;

	if (c == NULL)
		return -ENOMEM;
	c->fn = fn;
	c->user = user;
	c->label = -1;
	/* Both subsystems on one socket: expectation events come in order with the entries'. */
	c->ev = nfct_open(NFNL_SUBSYS_NONE, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_UPDATE |
	                                        NF_NETLINK_CONNTRACK_DESTROY |
	                                        NF_NETLINK_CONNTRACK_EXP_NEW |
	                                        NF_NETLINK_CONNTRACK_EXP_DESTROY);
	c->rq = nfct_open(CONNTRACK, 0);
	c->xrq = nfct_open(EXPECT, 0);
	if (c->ev == NULL || c->rq == NULL || c->xrq == NULL) {
		rc = -errno;
		sd_ct_close(c);
		return rc ? rc : -EPROTO;
	}
	c->rq_portid = nfnl_portid(nfct_nfnlh(c->rq));
	c->xrq_portid = nfnl_portid(nfct_nfnlh(c->xrq));
	/* Events arrive in bursts (a SYN flood, a flush): room for many. */
	nfnl_rcvbufsiz(nfct_nfnlh(c->ev), 32u << 20);
	fl = fcntl(nfct_fd(c->ev), F_GETFL);
	fcntl(nfct_fd(c->ev), F_SETFL, fl | O_NONBLOCK);
	fcntl(nfct_fd(c->ev), F_SETFD, FD_CLOEXEC);
	fcntl(nfct_fd(c->rq), F_SETFD, FD_CLOEXEC);
	fcntl(nfct_fd(c->xrq), F_SETFD, FD_CLOEXEC);
	nfct_callback_register2(c->ev, NFCT_T_ALL, on_event, c);
	nfexp_callback_register2(c->ev, NFCT_T_ALL, on_exp_event, c);
	*out = c;
	return 0;
}

void sd_ct_close(struct sd_ct *c)
{
	if (c == NULL)
		return;
	if (c->ev != NULL)
		nfct_close(c->ev);
	if (c->rq != NULL)
		nfct_close(c->rq);
	if (c->xrq != NULL)
		nfct_close(c->xrq);
	free(c);
}

int sd_ct_fd(const struct sd_ct *c)
{
	return nfct_fd(c->ev);
}

const uint64_t *sd_ct_stats(const struct sd_ct *c)
{
	return c->stats;
}

int sd_ct_read(struct sd_ct *c)
{
	/* nfct_catch reads until the socket is empty (EAGAIN) or fails. */
	if (nfct_catch(c->ev) < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			c->stats[SD_CT_OVERRUNS]++;
			return -ENOBUFS;
		}
		return -errno;
	}
	return 0;
}

int sd_ct_dump(struct sd_ct *c)
{
	int rc;

	nfct_callback_unregister(c->rq);
	nfct_callback_register(c->rq, NFCT_T_ALL, on_dump, c);
	/* AF_UNSPEC: both families. */
	uint32_t family = AF_UNSPEC;

	rc = nfct_query(c->rq, NFCT_Q_DUMP, &family);
	nfct_callback_unregister(c->rq);
	return rc < 0 ? -errno : 0;
}

void sd_ct_set_label(struct sd_ct *c, int bit)
{
	c->label = bit;
}

bool sd_ct_labelled(const struct sd_ct *c, const struct nf_conntrack *ct)
{
	const struct nfct_bitmask *b;

	if (c->label < 0 || !nfct_attr_is_set(ct, ATTR_CONNLABELS))
		return false;
	b = nfct_get_attr(ct, ATTR_CONNLABELS);
	return b != NULL && (int)nfct_bitmask_maxbit(b) >= c->label &&
	       nfct_bitmask_test_bit(b, (unsigned)c->label);
}

/*
 * Adds the labels to ct: our mark (`mark`: the label and its bit of the
 * mask), and with a peer's extension record its labels under a full mask
 * (the record is the peer's whole set; our bit is never in it, sd_ct_to_ext).
 * false when there is nothing to add or no memory.
 */
static bool put_label(const struct sd_ct *c, const struct rd_sync_ext *x, bool mark,
                      struct nf_conntrack *ct)
{
	struct nfct_bitmask *b, *mask;

	mark = mark && c->label >= 0;
	/* Nothing to set: no label attribute (an entry may have no room for any). */
	if (!mark && (x == NULL || !(x->have & RD_SYNC_EXT_LABELS)))
		return false;
	b = nfct_bitmask_new(127);
	mask = nfct_bitmask_new(127);
	if (b == NULL || mask == NULL) {
		nfct_bitmask_destroy(b);
		nfct_bitmask_destroy(mask);
		return false;
	}
	if (mark) {
		nfct_bitmask_set_bit(b, (unsigned)c->label);
		nfct_bitmask_set_bit(mask, (unsigned)c->label);
	}
	for (unsigned i = 0; x != NULL && i < 8 * RD_SYNC_EXT_LABELS_LEN; i++) {
		nfct_bitmask_set_bit(mask, i);
		if ((x->have & RD_SYNC_EXT_LABELS) && (int)i != c->label &&
		    (x->labels[i / 8] & (1u << (i % 8))))
			nfct_bitmask_set_bit(b, i);
	}
	nfct_set_attr(ct, ATTR_CONNLABELS, b); /* ct owns them now */
	nfct_set_attr(ct, ATTR_CONNLABELS_MASK, mask);
	return true;
}

/*
 * An update of the kernel's entry (no NAT: fixed at creation), marked if
 * `mark`, with the extension x (NULL: none; its labels only if `labels`).
 */
static int update(struct sd_ct *c, const struct rd_state_info *info, const uint32_t *deftimeouts,
                  const struct rd_sync_ext *x, bool mark, bool labels)
{
	struct nf_conntrack *ct = nfct_new();
	int rc;

	if (ct == NULL) {
		errno = ENOMEM;
		return -1;
	}
	sd_state_to_ct(info, deftimeouts, false, ct);
	if (x != NULL)
		sd_ext_to_ct(x, false, ct);
	put_label(c, labels ? x : NULL, mark, ct);
	rc = nfct_query(c->rq, NFCT_Q_UPDATE, ct);
	int e = errno;
	nfct_destroy(ct);
	errno = e;
	return rc;
}

/* A new kernel entry; with_helper false: x's helper left out. */
static int create(struct sd_ct *c, const struct rd_state_info *info, const uint32_t *deftimeouts,
                  const struct rd_sync_ext *x, bool mark, bool with_helper)
{
	struct nf_conntrack *ct = nfct_new();
	int rc, e;

	if (ct == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (sd_state_to_ct(info, deftimeouts, true, ct) < 0) {
		nfct_destroy(ct);
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (x != NULL)
		sd_ext_to_ct(x, with_helper, ct);
	put_label(c, x, mark, ct);
	rc = nfct_query(c->rq, NFCT_Q_CREATE, ct);
	e = errno;
	nfct_destroy(ct);
	errno = e;
	return rc;
}

/*
 * The kernel refused the helper of a peer's entry: it knows none of that
 * name (its module, or an nft ct helper object of that type, is the
 * operator's to load here as on the peer). Said once, counted always.
 */
static void no_helper(struct sd_ct *c, const char *name)
{
	if (c->stats[SD_CT_NOHELPER]++ == 0)
		dm_log(LOG_WARNING,
		       "conntrack helper \"%s\" unknown to this kernel: peers' entries that use it "
		       "are "
		       "written without it, so their related connections are refused after a "
		       "takeover; load nf_conntrack_%s (counted nohelper)",
		       name, name);
}

int sd_ct_apply(struct sd_ct *c, const struct rd_state_info *info, const uint32_t *deftimeouts,
                const struct rd_sync_ext *x)
{
	bool mark = (info->flags & RD_STATE_F_REMOTE) && c->label >= 0;
	bool helper = x != NULL && (x->have & RD_SYNC_EXT_HELPER) && x->helper[0] != '\0';
	int rc;

	rc = create(c, info, deftimeouts, x, mark, true);
	if (rc < 0 && helper && errno == EAGAIN) /* the kernel loaded the helper's module: again */
		rc = create(c, info, deftimeouts, x, mark, true);
	if (rc < 0 && helper && errno == EOPNOTSUPP) {
		no_helper(c, x->helper);
		rc = create(c, info, deftimeouts, x, mark, false);
	}
	if (rc < 0 && errno == EAFNOSUPPORT)
		return -EAFNOSUPPORT;
	if (rc == 0) {
		c->stats[SD_CT_CREATED]++;
	} else if (errno == EEXIST) {
		/* Known to the kernel already: update it. */
		rc = update(c, info, deftimeouts, x, mark, true);
		if (rc < 0 && (mark || x != NULL) && errno == ENOSPC) {
			/* An entry made before labels were in use has no room for ours. */
			c->stats[SD_CT_UNLABELLED]++;
			rc = update(c, info, deftimeouts, x, false, false);
		}
		if (rc == 0)
			c->stats[SD_CT_UPDATED]++;
	}
	if (rc < 0) {
		rc = -errno;
		c->stats[SD_CT_ERRORS]++;
	}
	return rc;
}

/* A conntrack object with the key of info's state only; NULL with *rc set. */
static struct nf_conntrack *ct_of_key(const struct rd_state_info *info, int *rc)
{
	struct nf_conntrack *ct = nfct_new();

	if (ct == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	if (sd_state_to_ct_key(info, ct) < 0) {
		nfct_destroy(ct);
		*rc = -EAFNOSUPPORT;
		return NULL;
	}
	return ct;
}

int sd_ct_delete(struct sd_ct *c, const struct rd_state_info *info)
{
	int rc;
	struct nf_conntrack *ct = ct_of_key(info, &rc);

	if (ct == NULL)
		return rc;
	rc = nfct_query(c->rq, NFCT_Q_DESTROY, ct);
	if (rc == 0)
		c->stats[SD_CT_DELETED]++;
	else if (errno == ENOENT)
		rc = 0;
	else {
		rc = -errno;
		c->stats[SD_CT_ERRORS]++;
	}
	nfct_destroy(ct);
	return rc;
}

int sd_ct_get(struct sd_ct *c, const struct rd_state_info *info, struct rd_state_info *out)
{
	int rc;
	struct nf_conntrack *ct = ct_of_key(info, &rc);

	if (ct == NULL)
		return rc;
	c->got = false;
	c->get_out = out;
	nfct_callback_unregister(c->rq);
	nfct_callback_register(c->rq, NFCT_T_ALL, on_get, c);
	rc = nfct_query(c->rq, NFCT_Q_GET, ct);
	rc = rc < 0 ? -errno : 0;
	nfct_callback_unregister(c->rq);
	nfct_destroy(ct);
	if (rc == 0 && !c->got)
		rc = -ENOENT;
	return rc;
}

int sd_ct_is_liberal(const struct nf_conntrack *ct)
{
	if (!nfct_attr_is_set(ct, ATTR_TCP_FLAGS_ORIG) ||
	    !nfct_attr_is_set(ct, ATTR_TCP_FLAGS_REPL))
		return -1;
	return (nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_ORIG) & IP_CT_TCP_FLAG_BE_LIBERAL) &&
	       (nfct_get_attr_u8(ct, ATTR_TCP_FLAGS_REPL) & IP_CT_TCP_FLAG_BE_LIBERAL);
}

int sd_ct_set_liberal(struct sd_ct *c, const struct rd_state_info *info)
{
	const uint8_t f = IP_CT_TCP_FLAG_BE_LIBERAL;
	int rc;
	struct nf_conntrack *ct = ct_of_key(info, &rc);

	if (ct == NULL)
		return rc;
	/*
	 * The key and CTA_PROTOINFO_TCP with the two flags under their masks:
	 * the kernel changes only what an update carries, and an update never
	 * creates (NFCT_Q_UPDATE sends no NLM_F_CREATE).
	 */
	nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, f);
	nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, f);
	nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, f);
	nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, f);
	rc = nfct_query(c->rq, NFCT_Q_UPDATE, ct);
	rc = rc < 0 ? -errno : 0;
	nfct_destroy(ct);
	return rc;
}

void sd_ct_set_exp_fn(struct sd_ct *c, sd_exp_fn fn, void *user)
{
	c->exp_fn = fn;
	c->exp_user = user;
}

static bool has_expect(const struct rd_sync_ext *x, const struct rd_sync_ext_expect *e)
{
	struct rd_sync_ext one = {.have = RD_SYNC_EXT_EXPECT, .nexpect = 1};

	one.expect[0] = *e;
	for (unsigned i = 0; x != NULL && (x->have & RD_SYNC_EXT_EXPECT) && i < x->nexpect; i++) {
		struct rd_sync_ext other = {.have = RD_SYNC_EXT_EXPECT, .nexpect = 1};

		other.expect[0] = x->expect[i];
		if (rd_sync_ext_equal(&one, &other))
			return true;
	}
	return false;
}

/* One expectation request (create or delete); 0 or -errno. */
static int exp_query(struct sd_ct *c, const struct rd_state_info *master,
                     const struct rd_sync_ext_expect *e, bool create)
{
	struct nf_expect *exp = nfexp_new();
	int rc;

	if (exp == NULL)
		return -ENOMEM;
	if (sd_ext_to_exp(master, e, create, exp) != 0) {
		nfexp_destroy(exp);
		return -EAFNOSUPPORT;
	}
	rc = nfexp_query(c->xrq, create ? NFCT_Q_CREATE : NFCT_Q_DESTROY, exp);
	rc = rc < 0 ? -errno : 0;
	nfexp_destroy(exp);
	return rc;
}

/*
 * The master's entry has no helper (the kernel takes expectations only from
 * a helped master): said once, counted always.
 */
static void exp_no_helper(struct sd_ct *c)
{
	if (c->stats[SD_CT_EXP_NOHELPER]++ == 0)
		dm_log(
		    LOG_WARNING,
		    "the kernel refused a peer's expectation: its master entry has no helper here "
		    "(load the helper's module, nf_conntrack_ftp, ..., on every member; counted "
		    "exp_nohelper)");
}

void sd_ct_expect(struct sd_ct *c, const struct rd_state_info *master,
                  const struct rd_sync_ext *old, const struct rd_sync_ext *x)
{
	int rc;

	if (x == NULL || !(x->have & RD_SYNC_EXT_EXPECT))
		return;
	for (unsigned i = 0; old != NULL && (old->have & RD_SYNC_EXT_EXPECT) && i < old->nexpect;
	     i++) {
		if (has_expect(x, &old->expect[i]))
			continue;
		rc = exp_query(c, master, &old->expect[i], false);
		if (rc == 0)
			c->stats[SD_CT_EXP_DELETED]++;
		else if (rc != -ENOENT) /* used or expired here already */
			c->stats[SD_CT_EXP_FAILED]++;
	}
	for (unsigned i = 0; i < x->nexpect && i < RD_SYNC_EXT_EXPECT_MAX; i++) {
		if (has_expect(old, &x->expect[i]))
			continue;
		rc = exp_query(c, master, &x->expect[i], true);
		if (rc == 0 || rc == -EEXIST || rc == -EBUSY) {
			c->stats[SD_CT_EXP_CREATED] += rc == 0;
			continue;
		}
		if (rc == -EOPNOTSUPP)
			exp_no_helper(c);
		else
			c->stats[SD_CT_EXP_FAILED]++;
		dm_log(LOG_DEBUG, "conntrack expectation of %016llx/%08x: %s",
		       (unsigned long long)master->id, master->creatorid, strerror(-rc));
	}
}
