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
 *
 * The peers' states are written in batches (sd_ct_queue, sd_ct_flush): a
 * third socket (libmnl) carries many conntrack requests a sendmsg, each
 * with NLM_F_ACK and its own sequence number. The kernel runs a datagram's
 * requests one after another inside sendmsg (nfnetlink without
 * NFNL_MSG_BATCH_BEGIN: no transaction, each request stands alone) and
 * queues one acknowledgement for each, so each answer is matched to its
 * state by the sequence number and counted as a single request's would be.
 * A request the kernel answered with an error that has a next step (EEXIST:
 * update; EOPNOTSUPP: without the helper; ENOSPC: without labels) is sent
 * again in the next round with that step, as sd_ct_apply does one by one.
 * An acknowledgement the kernel could not queue (our receive buffer full:
 * recv says ENOBUFS once) is lost, not its request: such requests are sent
 * again (a create that had succeeded then finds its entry and updates it),
 * and the batch shrinks. A request may thus go out rounds after one queued
 * later: so a queue holds one request a state, with the latest values
 * (sd_ct_queue), and the kernel never gets a state's older values last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>

#include <linux/netfilter/nf_conntrack_tcp.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/filter.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnfnetlink/libnfnetlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>

#include "ctmap.h"
#include "syncd.h"

/* The steps of a queued write; each answer moves it on (ct_answer). */
enum ct_step {
	CT_CREATE,          /* create, with the helper */
	CT_CREATE_NOHELPER, /* create without it (the kernel knows none of its name) */
	CT_UPDATE,          /* it exists: update, with our mark and the labels */
	CT_UPDATE_NOLABEL,  /* no room for labels in the entry: without them */
	CT_DONE,
};

/* A peer's state queued for the kernel. */
struct ct_req {
	struct rd_state_info info;
	struct rd_sync_ext x;
	uint32_t seq;  /* of its request in the datagram in flight */
	int rc;        /* CT_DONE: 0 or -errno */
	uint8_t step;  /* enum ct_step */
	uint8_t sends; /* requests of this step whose answer was lost */
	bool has_x;    /* x is set */
	bool mark;     /* our label bit */
	bool helper;   /* x names a helper */
	bool again;    /* the EAGAIN retry (helper module loaded) was made */
	bool answered; /* the request in flight was answered */
	/* The writes queued for its state this flush: the latest one's values go. */
	uint32_t writes;
};

/* A request's answer lost this many times: counted an error (ENOBUFS). */
#define CT_RESENDS_MAX 8
/* Room a conntrack request takes at most (tuples, NAT, labels, helper, ...). */
#define CT_MSG_MAX 2048
/* Receive buffer of the batch socket a batch request needs (an acknowledgement's truesize). */
#define CT_ACK_ROOM 1024
/* Answers read a recvmmsg, and the room for each (an error answer is 36 bytes with
 * NETLINK_CAP_ACK). */
#define CT_ACK_VLEN 64
#define CT_ACK_SZ   256

struct sd_ct {
	struct nfct_handle *ev;  /* events (conntrack and expectations) */
	struct nfct_handle *rq;  /* requests */
	struct nfct_handle *xrq; /* expectation requests */
	struct mnl_socket *bs;   /* batched writes and their acknowledgements */
	uint32_t rq_portid, xrq_portid, bs_portid;
	uint32_t bseq;
	/* the queue of writes (sd_ct_queue) */
	struct ct_req *q;
	size_t nq;
	/*
	 * The queue's index by (id, creatorid): queue index + 1 a slot (0:
	 * empty), linear probing, cleared by each flush; twice the batch's
	 * room, a power of two, so a probe ends at an empty slot.
	 */
	uint32_t *qidx;
	size_t qidx_mask;
	const uint32_t *deftimeouts; /* of every queued write (sd_ct_queue) */
	unsigned batch_max;          /* requests a datagram, configured */
	unsigned batch_cur;          /* now: halved on a loss, grows back by one a clean datagram */
	uint8_t *buf;                /* the datagram */
	size_t bufsz;
	size_t *inflight; /* queue indexes of the datagram's requests */
	bool flushing;
	_Alignas(8) uint8_t acks[CT_ACK_VLEN][CT_ACK_SZ]; /* netlink messages: aligned */
	sd_ct_done_fn done;
	void *done_user;
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
    [SD_CT_BATCHES] = "batches",
    [SD_CT_BATCH_OVERRUNS] = "batch_overruns",
    [SD_CT_ACK_LOST] = "ack_lost",
    [SD_CT_ACK_UNMATCHED] = "ack_unmatched",
    [SD_CT_ACK_RECVERR] = "ack_recv_errors",
    [SD_CT_SUPERSEDED] = "superseded",
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
	if (nlh != NULL && nlh->nlmsg_pid != 0 &&
	    (nlh->nlmsg_pid == c->rq_portid || nlh->nlmsg_pid == c->bs_portid)) {
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
	    (nlh->nlmsg_pid == c->rq_portid || nlh->nlmsg_pid == c->xrq_portid ||
	     nlh->nlmsg_pid == c->bs_portid)) {
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
	if (c->bs != NULL)
		mnl_socket_close(c->bs);
	free(c->q);
	free(c->qidx);
	free(c->buf);
	free(c->inflight);
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

	sd_ct_flush(c);
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

	sd_ct_flush(c); /* the writes queued before go first */
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

/* ---- batched writes ---- */

/*
 * The event socket drops, in the kernel, the events of our batched writes
 * (their message's nlmsg_pid is the batch socket's port id; an event is
 * one message a datagram): a bulk of a million writes would otherwise queue
 * a million events for syncd to read and ignore, and overrun the event
 * socket (a resync). A dropped event is not counted `self`. Best effort.
 */
static void ev_filter(struct sd_ct *c)
{
	struct sock_filter code[] = {
	    /* A = nlmsg_pid (offset 12; loaded big-endian: compared to htonl) */
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 12),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(c->bs_portid), 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, 0),
	    BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};

	if (setsockopt(nfct_fd(c->ev), SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		dm_log(LOG_DEBUG, "conntrack event filter: %s", strerror(errno));
}

int sd_ct_set_batch(struct sd_ct *c, unsigned max, int rcvbuf, sd_ct_done_fn done, void *user)
{
	int one = 1, snd;

	if (max < 1 || max > SD_CT_BATCH_MAX || c->nq > 0)
		return -EINVAL;
	if (c->bs == NULL) {
		c->bs = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c->bs == NULL)
			return -errno;
		if (mnl_socket_bind(c->bs, 0, MNL_SOCKET_AUTOPID) < 0) {
			int e = errno;

			mnl_socket_close(c->bs);
			c->bs = NULL;
			return -e;
		}
		c->bs_portid = mnl_socket_get_portid(c->bs);
		ev_filter(c);
		/* Error answers without the request copied back (Linux 4.3): small. */
		mnl_socket_setsockopt(c->bs, NETLINK_CAP_ACK, &one, sizeof(one));
	}
	free(c->q);
	free(c->qidx);
	free(c->buf);
	free(c->inflight);
	/* About 300 bytes a request (IPv4 UDP): room for max, within 64-256 KiB. */
	c->bufsz = (size_t)max * 512;
	c->bufsz = c->bufsz < 65536 ? 65536 : c->bufsz > 262144 ? 262144 : c->bufsz;
	for (c->qidx_mask = 1; c->qidx_mask < 2 * (size_t)max; c->qidx_mask <<= 1)
		;
	c->q = calloc(max, sizeof(*c->q));
	c->qidx = calloc(c->qidx_mask, sizeof(*c->qidx));
	c->qidx_mask--;
	c->buf = malloc(c->bufsz);
	c->inflight = calloc(max, sizeof(*c->inflight));
	if (c->q == NULL || c->qidx == NULL || c->buf == NULL || c->inflight == NULL) {
		free(c->q);
		free(c->qidx);
		free(c->buf);
		free(c->inflight);
		c->q = NULL;
		c->qidx = NULL;
		c->buf = NULL;
		c->inflight = NULL;
		return -ENOMEM;
	}
	/*
	 * Room for every acknowledgement of a full datagram (root: above
	 * rmem_max); 0: that, else the caller's (tests make it small).
	 */
	if (rcvbuf <= 0)
		rcvbuf = (int)(max * CT_ACK_ROOM + 65536);
	if (setsockopt(mnl_socket_get_fd(c->bs), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf,
	               sizeof(rcvbuf)) < 0)
		setsockopt(mnl_socket_get_fd(c->bs), SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		           sizeof(rcvbuf));
	/* A datagram larger than the send buffer is refused (EMSGSIZE). */
	snd = (int)(c->bufsz + 4096);
	if (setsockopt(mnl_socket_get_fd(c->bs), SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(mnl_socket_get_fd(c->bs), SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	c->batch_max = c->batch_cur = max;
	c->done = done;
	c->done_user = user;
	return 0;
}

/*
 * The request of r's step at the end of the datagram: 0 and its length in
 * *len, or a negative errno when it cannot be built (r's answer then).
 */
static int ct_build(struct sd_ct *c, struct ct_req *r, size_t off, size_t *len)
{
	bool create = r->step == CT_CREATE || r->step == CT_CREATE_NOHELPER;
	const struct rd_sync_ext *x = r->has_x ? &r->x : NULL;
	struct nf_conntrack *ct = nfct_new();
	struct nlmsghdr *nlh;
	struct nfgenmsg *nfg;

	if (ct == NULL)
		return -ENOMEM;
	if (sd_state_to_ct(&r->info, c->deftimeouts, create, ct) < 0) {
		nfct_destroy(ct);
		return -EAFNOSUPPORT;
	}
	if (x != NULL)
		sd_ext_to_ct(x, r->step == CT_CREATE, ct);
	if (r->step != CT_UPDATE_NOLABEL) /* that step: neither our mark nor the peer's labels */
		put_label(c, x, r->mark, ct);
	nlh = mnl_nlmsg_put_header(c->buf + off);
	nlh->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
	/* As nfct_query's NFCT_Q_CREATE and NFCT_Q_UPDATE. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (create ? NLM_F_CREATE | NLM_F_EXCL : 0);
	nlh->nlmsg_seq = r->seq = c->bseq++;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	nfct_nlmsg_build(nlh, ct);
	nfct_destroy(ct);
	*len = nlh->nlmsg_len;
	return 0;
}

/*
 * r's answer: err 0 or a negative errno (the kernel's, or ct_build's).
 * Moves r to its next step, or to CT_DONE counted as sd_ct_apply counts.
 */
static void ct_answer(struct sd_ct *c, struct ct_req *r, int err)
{
	switch (r->step) {
	case CT_CREATE:
	case CT_CREATE_NOHELPER:
		if (err == 0) {
			c->stats[SD_CT_CREATED]++;
			break;
		}
		if (r->step == CT_CREATE && r->helper && err == -EAGAIN && !r->again) {
			r->again = true; /* the kernel loaded the helper's module: again */
			return;
		}
		if (r->step == CT_CREATE && r->helper && err == -EOPNOTSUPP) {
			no_helper(c, r->x.helper);
			r->step = CT_CREATE_NOHELPER;
			return;
		}
		if (err == -EEXIST) { /* known to the kernel already: update it */
			r->step = CT_UPDATE;
			return;
		}
		if (err != -EAFNOSUPPORT) /* not a kernel's refusal: ours, not counted (as ever) */
			c->stats[SD_CT_ERRORS]++;
		break;
	case CT_UPDATE:
		if (err == -ENOSPC && (r->mark || r->has_x)) {
			/* An entry made before labels were in use has no room for ours. */
			c->stats[SD_CT_UNLABELLED]++;
			r->step = CT_UPDATE_NOLABEL;
			return;
		}
		/* fall through */
	case CT_UPDATE_NOLABEL:
		if (err == 0)
			c->stats[SD_CT_UPDATED]++;
		else
			c->stats[SD_CT_ERRORS]++;
		break;
	default:
		return;
	}
	r->step = CT_DONE;
	r->rc = err;
	r->sends = 0;
}

static void batch_shrink(struct sd_ct *c)
{
	c->batch_cur = c->batch_cur > 1 ? c->batch_cur / 2 : 1;
}

/*
 * The requests of the datagram of n in flight left unanswered (their
 * answers lost, or the datagram not taken): each is sent again, in smaller
 * datagrams, until it has been lost CT_RESENDS_MAX times; then it is done,
 * counted an error, with err.
 */
static void ct_unanswered(struct sd_ct *c, size_t n, int err)
{
	batch_shrink(c);
	for (size_t i = 0; i < n; i++) {
		struct ct_req *r = &c->q[c->inflight[i]];

		if (r->answered)
			continue;
		c->stats[SD_CT_ACK_LOST]++;
		if (++r->sends < CT_RESENDS_MAX)
			continue;
		c->stats[SD_CT_ERRORS]++;
		r->step = CT_DONE;
		r->rc = err;
	}
}

/* The answers queued for the datagram of n requests from seq0; counts the losses. */
static void ct_collect(struct sd_ct *c, uint32_t seq0, size_t n)
{
	uint8_t(*bufs)[CT_ACK_SZ] = c->acks;
	struct mmsghdr mm[CT_ACK_VLEN];
	struct iovec iov[CT_ACK_VLEN];
	bool overrun = false;
	size_t got = 0;
	int k, j;

	for (;;) {
		for (j = 0; j < CT_ACK_VLEN; j++) {
			iov[j].iov_base = bufs[j];
			iov[j].iov_len = CT_ACK_SZ;
			memset(&mm[j], 0, sizeof(mm[j]));
			mm[j].msg_hdr.msg_iov = &iov[j];
			mm[j].msg_hdr.msg_iovlen = 1;
		}
		k = recvmmsg(mnl_socket_get_fd(c->bs), mm, CT_ACK_VLEN, MSG_DONTWAIT, NULL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) { /* answers dropped; the rest are still queued */
				overrun = true;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				/* The answers left unread count as lost: their requests go again.
				 */
				c->stats[SD_CT_ACK_RECVERR]++;
				dm_log_limited(
				    "conntrack batch answers", LOG_WARNING,
				    "conntrack batch answers: recvmmsg: %s (their requests "
				    "sent again; counted ack_recv_errors)",
				    strerror(errno));
			}
			break; /* EAGAIN: nothing more (the kernel answered inside sendmsg) */
		}
		for (j = 0; j < k; j++) {
			const struct nlmsghdr *nlh = (const void *)bufs[j];
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
			uint32_t idx;
			struct ct_req *r;

			/*
			 * Skipped, counted ack_unmatched: too short (a truncated
			 * error answer keeps its header and error code), not an
			 * acknowledgement, not of this datagram, or a second
			 * answer to a request.
			 */
			if (mm[j].msg_len < sizeof(*nlh) + sizeof(int) ||
			    nlh->nlmsg_type != NLMSG_ERROR) {
				c->stats[SD_CT_ACK_UNMATCHED]++;
				continue;
			}
			idx = nlh->nlmsg_seq - seq0;
			if (idx >= n) {
				c->stats[SD_CT_ACK_UNMATCHED]++;
				continue;
			}
			r = &c->q[c->inflight[idx]];
			if (r->answered || r->seq != nlh->nlmsg_seq) {
				c->stats[SD_CT_ACK_UNMATCHED]++;
				continue;
			}
			r->answered = true;
			got++;
			ct_answer(c, r, e->error);
		}
	}
	if (overrun)
		c->stats[SD_CT_BATCH_OVERRUNS]++;
	if (got == n) {
		if (c->batch_cur < c->batch_max)
			c->batch_cur++;
		return;
	}
	ct_unanswered(c, n, -ENOBUFS);
}

/* One round: every queued write not done sent once, in datagrams of batch_cur requests. */
static void ct_round(struct sd_ct *c)
{
	size_t i = 0, n, off, len;
	uint32_t seq0;
	int rc;

	while (i < c->nq) {
		n = 0;
		off = 0;
		seq0 = c->bseq;
		for (; i < c->nq && n < c->batch_cur && off + CT_MSG_MAX <= c->bufsz; i++) {
			struct ct_req *r = &c->q[i];

			if (r->step == CT_DONE)
				continue;
			r->answered = false;
			if ((rc = ct_build(c, r, off, &len)) < 0) {
				ct_answer(c, r, rc);
				/* not sent: its next step (if any) goes next round */
				continue;
			}
			/* Sequence numbers of a datagram are consecutive: seq0 + n. */
			c->inflight[n++] = i;
			off += len;
		}
		if (n == 0)
			continue;
		c->stats[SD_CT_BATCHES]++;
		if (mnl_socket_sendto(c->bs, c->buf, off) < 0) {
			/* Nothing of it was run (a send is taken whole or not at all). */
			int e = errno;

			if (e == ENOBUFS || e == ENOMEM || e == EAGAIN) {
				ct_unanswered(c, n, -e); /* short of memory now: again */
				continue;
			}
			for (size_t k = 0; k < n; k++) {
				struct ct_req *r = &c->q[c->inflight[k]];

				c->stats[SD_CT_ERRORS]++;
				r->step = CT_DONE;
				r->rc = -e;
			}
			batch_shrink(c);
			continue;
		}
		ct_collect(c, seq0, n);
	}
}

void sd_ct_flush(struct sd_ct *c)
{
	size_t i, n;

	if (c->nq == 0 || c->flushing)
		return;
	c->flushing = true;
	for (;;) {
		for (i = 0; i < c->nq && c->q[i].step == CT_DONE; i++)
			;
		if (i == c->nq)
			break;
		ct_round(c);
	}
	/* Every write answered: to the caller, in the order queued, once a write. */
	n = c->nq;
	c->nq = 0;
	memset(c->qidx, 0, (c->qidx_mask + 1) * sizeof(*c->qidx));
	for (i = 0; i < n; i++)
		for (uint32_t w = 0; w < c->q[i].writes && c->done != NULL; w++)
			c->done(c->done_user, &c->q[i].info, c->q[i].rc);
	c->flushing = false;
}

/*
 * The index slot of info's state (id, creatorid): the one naming its queued
 * write, or the empty one where it goes. Crafted ids that all collide make
 * a probe walk the queue, which a batch bounds (SD_CT_BATCH_MAX).
 */
static uint32_t *q_slot(struct sd_ct *c, const struct rd_state_info *info)
{
	uint64_t h = (info->id ^ ((uint64_t)info->creatorid << 17)) * 0x9e3779b97f4a7c15ull;
	size_t i;

	h ^= h >> 29 ^ info->creatorid;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	for (i = (size_t)h & c->qidx_mask;; i = (i + 1) & c->qidx_mask) {
		const struct ct_req *r;

		if (c->qidx[i] == 0)
			return &c->qidx[i];
		r = &c->q[c->qidx[i] - 1];
		if (r->info.id == info->id && r->info.creatorid == info->creatorid)
			return &c->qidx[i];
	}
}

int sd_ct_queue(struct sd_ct *c, const struct rd_state_info *info, const uint32_t *deftimeouts,
                const struct rd_sync_ext *x)
{
	struct ct_req *r;
	uint32_t *slot, writes;

	if (c->q == NULL || c->flushing)
		return sd_ct_apply(c, info, deftimeouts, x);
	if (c->nq > 0 && deftimeouts != c->deftimeouts)
		sd_ct_flush(c); /* one table of default timeouts a queue */
	c->deftimeouts = deftimeouts;
	slot = q_slot(c, info);
	if (*slot != 0 && c->q[*slot - 1].step != CT_DONE) {
		/*
		 * A write of this state is queued: this one replaces its values.
		 * Sent apart, the earlier could need a second round (EEXIST,
		 * EAGAIN, a lost answer) and land after this one, older values
		 * over newer. One request, counted once; `superseded` counts
		 * the write it replaced.
		 */
		r = &c->q[*slot - 1];
		writes = r->writes + 1;
		c->stats[SD_CT_SUPERSEDED]++;
	} else {
		r = &c->q[c->nq++];
		*slot = (uint32_t)c->nq;
		writes = 1;
	}
	memset(r, 0, sizeof(*r)); /* its steps start again: CT_CREATE */
	r->writes = writes;
	r->info = *info;
	if (x != NULL) {
		r->x = *x;
		r->has_x = true;
		r->helper = (x->have & RD_SYNC_EXT_HELPER) && x->helper[0] != '\0';
	}
	r->mark = (info->flags & RD_STATE_F_REMOTE) && c->label >= 0;
	r->step = CT_CREATE;
	if (c->nq == c->batch_max)
		sd_ct_flush(c); /* each outcome goes to the done callback */
	return 1;
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
	sd_ct_flush(c);
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
	sd_ct_flush(c);
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
	sd_ct_flush(c);
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
	sd_ct_flush(c); /* the master may be queued */
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
