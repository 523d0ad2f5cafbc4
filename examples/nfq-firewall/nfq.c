/*
 * nfq — nfnetlink_queue messages over raw netlink (see nfq.h).
 */
#include "nfq.h"

#include <arpa/inet.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

static const char *const bad_names[NFQ_BAD_COUNT] = {
    "ok", "nl-short", "nl-type", "nl-attr", "nl-no-id", "nl-no-payload",
};

const char *nfq_bad_name(int bad)
{
	return bad >= 0 && bad < NFQ_BAD_COUNT ? bad_names[bad] : "?";
}

/* The payload size each known attribute must have (0: any). */
static size_t attr_size(unsigned type)
{
	switch (type) {
	case NFQA_PACKET_HDR:
		return sizeof(struct nfqnl_msg_packet_hdr);
	case NFQA_MARK:
	case NFQA_IFINDEX_INDEV:
	case NFQA_IFINDEX_OUTDEV:
	case NFQA_CAP_LEN:
		return sizeof(uint32_t);
	default:
		return 0;
	}
}

struct walk {
	struct nfq_pkt *out;
	bool bad;
};

static int attr_cb(const struct nlattr *a, void *data)
{
	struct walk *w = data;
	struct nfq_pkt *p = w->out;
	unsigned type = mnl_attr_get_type(a);
	size_t want = attr_size(type), got = mnl_attr_get_payload_len(a);
	const uint8_t *v = mnl_attr_get_payload(a);
	uint32_t u32;

	if (want != 0 && got < want) {
		w->bad = true;
		return MNL_CB_OK; /* keep looking for the id: a drop verdict still needs it */
	}
	switch (type) {
	case NFQA_PACKET_HDR: {
		struct nfqnl_msg_packet_hdr h;
		memcpy(&h, v, sizeof(h));
		p->id = ntohl(h.packet_id);
		p->hw_proto = ntohs(h.hw_protocol);
		p->hook = h.hook;
		p->has_id = true;
		break;
	}
	case NFQA_PAYLOAD:
		p->payload = v;
		p->len = (uint32_t)got;
		break;
	case NFQA_MARK:
		memcpy(&u32, v, 4);
		p->mark = ntohl(u32);
		p->has_mark = true;
		break;
	case NFQA_IFINDEX_INDEV:
		memcpy(&u32, v, 4);
		p->indev = ntohl(u32);
		break;
	case NFQA_IFINDEX_OUTDEV:
		memcpy(&u32, v, 4);
		p->outdev = ntohl(u32);
		break;
	case NFQA_CAP_LEN:
		memcpy(&u32, v, 4);
		p->cap_len = ntohl(u32);
		break;
	default:
		break; /* attributes we do not read (timestamps, hw address, uid...) */
	}
	return MNL_CB_OK;
}

int nfq_parse(const void *msg, size_t len, struct nfq_pkt *out)
{
	const struct nlmsghdr *nlh = msg;
	const struct nfgenmsg *g;
	struct walk w = {out, false};
	size_t hdr = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));

	memset(out, 0, sizeof(*out));
	if (msg == NULL || len < sizeof(struct nlmsghdr) || nlh->nlmsg_len < hdr ||
	    nlh->nlmsg_len > len)
		return NFQ_BAD_SHORT;
	if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
		return NFQ_BAD_TYPE;
	g = mnl_nlmsg_get_payload(nlh);
	out->queue = ntohs(g->res_id);
	/*
	 * The attributes, each checked against what is left of nlmsg_len (an
	 * attribute that overruns it refuses the message); fewer bytes than an
	 * attribute header at the end are padding.
	 */
	{
		const uint8_t *p = (const uint8_t *)nlh + hdr;
		size_t rem = nlh->nlmsg_len - hdr;

		while (rem >= sizeof(struct nlattr)) {
			const struct nlattr *a = (const struct nlattr *)(const void *)p;
			size_t step;

			if (a->nla_len < sizeof(*a) || a->nla_len > rem) {
				w.bad = true;
				break;
			}
			attr_cb(a, &w);
			step = MNL_ALIGN(a->nla_len);
			if (step >= rem)
				break;
			p += step;
			rem -= step;
		}
	}
	if (w.bad)
		return NFQ_BAD_ATTR;
	if (!out->has_id)
		return NFQ_BAD_NO_ID;
	if (out->payload == NULL || out->len == 0)
		return NFQ_BAD_NO_PAYLOAD;
	if (out->cap_len < out->len)
		out->cap_len = out->len;
	return NFQ_OK;
}

static struct nlmsghdr *put_hdr(void *buf, uint16_t type, uint16_t num, uint32_t seq)
{
	struct nlmsghdr *nlh;
	struct nfgenmsg *g;

	memset(buf, 0, NFQ_MSG_MAX);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (uint16_t)((NFNL_SUBSYS_QUEUE << 8) | type);
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->nfgen_family = AF_UNSPEC;
	g->version = NFNETLINK_V0;
	g->res_id = htons(num);
	return nlh;
}

struct nlmsghdr *nfq_build_bind(void *buf, uint16_t num, uint32_t copy_range, uint32_t maxlen,
                                uint32_t seq)
{
	struct nlmsghdr *nlh = put_hdr(buf, NFQNL_MSG_CONFIG, num, seq);
	struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_INET)};
	struct nfqnl_msg_config_params params = {.copy_range = htonl(copy_range),
	                                         .copy_mode = NFQNL_COPY_PACKET};

	nlh->nlmsg_flags |= NLM_F_ACK;
	mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(params), &params);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(maxlen));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
	return nlh;
}

struct nlmsghdr *nfq_build_unbind(void *buf, uint16_t num, uint32_t seq)
{
	struct nlmsghdr *nlh = put_hdr(buf, NFQNL_MSG_CONFIG, num, seq);
	struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_UNBIND, .pf = htons(AF_INET)};

	mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	return nlh;
}

struct nlmsghdr *nfq_build_verdict(void *buf, uint16_t num, uint32_t id, uint32_t verdict,
                                   bool set_mark, uint32_t mark, bool batch, uint32_t seq)
{
	struct nlmsghdr *nlh =
	    put_hdr(buf, batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, num, seq);
	struct nfqnl_msg_verdict_hdr vh = {.verdict = htonl(verdict), .id = htonl(id)};

	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(vh), &vh);
	if (set_mark)
		mnl_attr_put_u32(nlh, NFQA_MARK, htonl(mark));
	return nlh;
}
