/*
 * carp-minimal: the smallest embedding of libredund's CARP engine (the
 * README quotes examples/embed, one engine in a firewall's loop). Two
 * engines ("a" with advskew 0, "b" with advskew 100) hand each other their
 * advertisements directly, with a virtual clock; "a" wins the election,
 * then stops advertising and "b" takes over after its master-down time. A
 * real embedder sends out->pkt on a raw socket instead, and sleeps until
 * rd_carp_expiry(). Exits 0 when the story holds.
 */
#include <stdio.h>
#include <string.h>

#include <redund/redund.h>

struct node {
	const char *name;
	struct rd_carp_if *ifp;
	struct node *peer;
	bool mute; /* a crashed node: its advertisements are lost */
	rd_time_t now;
};

static int send_ad(void *user, struct rd_carp_vhost *vh, const struct rd_carp_out *out)
{
	struct node *n = user;
	(void)vh;
	if (!n->mute) /* the "wire": straight into the peer's engine */
		rd_carp_input(n->peer->ifp, out->pkt, out->pkt_len, n->now);
	return 0;
}

static void state_change(void *user, struct rd_carp_vhost *vh, enum rd_carp_state from,
                         enum rd_carp_state to, const char *why)
{
	struct node *n = user;
	(void)vh;
	printf("%8.3f s  %s: %s -> %s (%s)\n", (double)n->now / RD_SEC, n->name,
	       rd_carp_state_name(from), rd_carp_state_name(to), why);
}

static int node_init(struct node *n, const char *name, uint8_t skew, const char *src)
{
	struct rd_carp_if_config ic = {0};
	struct rd_carp_vhost_config vc = {0};
	struct rd_addr vip;
	struct rd_carp_vhost *vh;

	n->name = name;
	ic.cb.send = send_ad;
	ic.cb.state_change = state_change;
	ic.cb.user = n;
	if (rd_carp_if_new(&ic, &n->ifp) != 0)
		return -1;
	vc.vhid = 1;
	vc.advbase = 1;
	vc.advskew = skew;
	rd_carp_key_from_pass("secret", vc.key);
	rd_addr_parse("192.0.2.100", &vip);
	vc.addrs = &vip;
	vc.naddrs = 1;
	rd_addr_parse(src, &vc.src4);
	return rd_carp_vhost_add(n->ifp, &vc, 0, &vh);
}

/* Advance both engines to `until`, always serving the earliest expiry. */
static void run(struct node *a, struct node *b, rd_time_t until)
{
	for (;;) {
		rd_time_t ta = rd_carp_expiry(a->ifp), tb = rd_carp_expiry(b->ifp);
		struct node *n = ta <= tb ? a : b;
		rd_time_t t = ta <= tb ? ta : tb;
		if (t > until)
			break;
		a->now = b->now = t;
		rd_carp_handle_expiry(n->ifp, t);
	}
	a->now = b->now = until;
}

int main(void)
{
	struct node a = {0}, b = {0};

	if (rd_init() != 0 || node_init(&a, "a", 0, "192.0.2.1") != 0 ||
	    node_init(&b, "b", 100, "192.0.2.2") != 0) {
		fprintf(stderr, "carp-minimal: set-up failed\n");
		return 1;
	}
	a.peer = &b;
	b.peer = &a;
	run(&a, &b, 10 * RD_SEC);
	a.mute = true; /* "a" crashes at 10 s */
	run(&a, &b, 20 * RD_SEC);
	int ok = rd_carp_vhost_state(rd_carp_if_vhost_at(b.ifp, 0)) == RD_CARP_MASTER;
	rd_carp_if_free(a.ifp);
	rd_carp_if_free(b.ifp);
	return ok ? 0 : 1;
}
