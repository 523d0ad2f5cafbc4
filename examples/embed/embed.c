/*
 * embed: a CARP engine in a firewall's own event loop, built against the
 * installed library (cc embed.c fw.c $(pkg-config --cflags --libs
 * libredund)). The part between the README markers is the README's
 * embedding example, word for word (tests/abi/check-readme.py compares
 * them); fw.h/fw.c stand in for the firewall around it.
 *
 * Alone on its link, the vhost waits its master-down time as BACKUP, becomes
 * MASTER and advertises every second; the link loops each advertisement
 * back, and the engine refuses its own packets and counts them. Exits 0
 * when the counters tell that story and the library's version is the one
 * of the headers.
 */
#include <stdio.h>
#include <string.h>

/* README:begin */
#include <redund/redund.h>

#include "fw.h" /* your firewall: fw_now, fw_send, fw_wait, fw_log */

static int send_ad(void *user, struct rd_carp_vhost *vh, const struct rd_carp_out *out)
{
	(void)vh;
	/* out->pkt: a whole IPv4/IPv6 packet (out->pkt_len bytes) for out->dst */
	return fw_send(user, out->pkt, out->pkt_len, &out->dst);
}

static void on_state(void *user, struct rd_carp_vhost *vh, enum rd_carp_state from,
                     enum rd_carp_state to, const char *why)
{
	fw_log(user, "vhid %u: %s -> %s (%s)", rd_carp_vhost_vhid(vh), rd_carp_state_name(from),
	       rd_carp_state_name(to), why);
}

static int fw_carp_run(struct fw *fw, uint64_t stats[RD_CARP_STAT_COUNT])
{
	struct rd_carp_if_config ic = {
	    .cb = {.user = fw, .send = send_ad, .state_change = on_state}};
	struct rd_carp_vhost_config vc = {.vhid = 1, .advbase = 1, .advskew = 0};
	struct rd_carp_if *ifp;
	struct rd_carp_vhost *vh;
	struct rd_addr vip;
	uint8_t pkt[2048];
	size_t len;
	rd_time_t now = fw_now(fw);
	int rc;

	if ((rc = rd_init()) != 0 || (rc = rd_carp_if_new(&ic, &ifp)) != 0)
		return rc;
	rd_carp_key_from_pass("secret", vc.key);
	rd_addr_parse("192.0.2.100", &vip);
	vc.addrs = &vip;
	vc.naddrs = 1;
	rd_addr_parse("192.0.2.1", &vc.src4);
	if ((rc = rd_carp_vhost_add(ifp, &vc, now, &vh)) == 0) {
		/* your event loop: sleep until a packet or the engine's next expiry */
		while (fw_wait(fw, rd_carp_expiry(ifp), pkt, sizeof(pkt), &len, &now)) {
			if (len > 0)
				rd_carp_input(ifp, pkt, len, now); /* refusals are counted */
			rd_carp_handle_expiry(ifp, now);
		}
		rd_carp_if_stats(ifp, stats); /* packets sent, refused by reason, ... */
	}
	rd_carp_if_free(ifp);
	return rc;
}
/* README:end */

int main(void)
{
	const rd_time_t end = 10 * RD_SEC + 500 * RD_MSEC;
	uint64_t st[RD_CARP_STAT_COUNT] = {0};
	struct fw *fw = fw_new(0, end);
	int rc, ok = 1;

	printf("libredund %s (headers %s)\n", rd_version(), RD_VERSION_STRING);
	if (strcmp(rd_version(), RD_VERSION_STRING) != 0) {
		fprintf(stderr, "embed: library %s, headers %s\n", rd_version(), RD_VERSION_STRING);
		ok = 0;
	}
	if (fw == NULL || (rc = fw_carp_run(fw, st)) != 0) {
		fprintf(stderr, "embed: %s\n", fw == NULL ? "out of memory" : rd_strerror(rc));
		fw_free(fw);
		return 1;
	}
	/* MASTER once, at master-down; then one advertisement a second */
	rd_time_t down = rd_carp_master_down(1, 0, 3), iv = rd_carp_interval(1, 0);
	uint64_t want = (end - down) / iv + 1;
	printf("sent %llu advertisements (want %llu), %llu looped back and refused\n",
	       (unsigned long long)st[RD_CARP_STAT_OPACKETS], (unsigned long long)want,
	       (unsigned long long)st[RD_CARP_STAT_LOOP]);
	if (st[RD_CARP_STAT_PREEMPT] != 1 || st[RD_CARP_STAT_OPACKETS] != want ||
	    fw_sent(fw) != want || st[RD_CARP_STAT_LOOP] != fw_received(fw) ||
	    fw_received(fw) != want) {
		fprintf(stderr, "embed: counters do not tell the story\n");
		ok = 0;
	}
	fw_free(fw);
	return ok ? 0 : 1;
}
