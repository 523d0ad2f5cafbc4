/*
 * redundctl: where `decode` reads packets from. With libpcap (the build
 * found it): a file in any format libpcap reads (pcap, pcapng as Wireshark
 * and dumpcap write by default, either byte order, any timestamp
 * precision) or a live interface. Without it: pcap files through
 * libredund's own reader. Either way the packets come out as struct
 * rd_pcap_packet with a LINKTYPE_* value (rd_pcap_ip_payload's).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redund/common.h"
#include "redund/pcap.h"
#include "redundctl.h"

#ifdef RCTL_HAVE_LIBPCAP
#include <pcap/pcap.h>

struct rctl_capture {
	pcap_t *pc;
	int linktype;
	bool live;
	int precision; /* PCAP_TSTAMP_PRECISION_NANO or _MICRO */
};

/* libpcap hands out DLT_ values; a few differ from the files' LINKTYPE_ ones. */
static int linktype_of(int dlt)
{
	/* DLT_RAW is 12 or 14 by platform; both name raw IP. */
	if (dlt == DLT_RAW || dlt == 12 || dlt == 14)
		return RD_PCAP_LINKTYPE_RAW;
	return dlt;
}

int rctl_capture_open(const char *path, const char *ifname, const char *filter,
                      struct rctl_capture **out, char *err, size_t len)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	struct rctl_capture *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL) {
		dm_errf(err, len, "out of memory");
		return -1;
	}
	if (path != NULL) {
		c->pc =
		    pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
		c->precision = PCAP_TSTAMP_PRECISION_NANO;
		if (c->pc == NULL) {
			if (strstr(ebuf, "unknown file format") != NULL)
				dm_errf(err, len, "%s: not a pcap file, nor pcapng (libpcap: %s)",
				        path, ebuf);
			else
				dm_errf(err, len, "%s", ebuf);
			free(c);
			return -1;
		}
	} else {
		c->live = true;
		c->pc = pcap_create(ifname, ebuf);
		if (c->pc == NULL) {
			dm_errf(err, len, "%s: %s", ifname, ebuf);
			free(c);
			return -1;
		}
		/* Each packet at once (no buffering delay), the whole of it. */
		pcap_set_snaplen(c->pc, 65535);
		pcap_set_immediate_mode(c->pc, 1);
		pcap_set_timeout(c->pc, 200);
		if (pcap_set_tstamp_precision(c->pc, PCAP_TSTAMP_PRECISION_NANO) == 0)
			c->precision = PCAP_TSTAMP_PRECISION_NANO;
		else
			c->precision = PCAP_TSTAMP_PRECISION_MICRO;
		if (pcap_activate(c->pc) < 0) {
			dm_errf(err, len, "%s: %s", ifname, pcap_geterr(c->pc));
			goto fail;
		}
		if (filter != NULL) {
			struct bpf_program prog;

			if (pcap_compile(c->pc, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0 ||
			    pcap_setfilter(c->pc, &prog) < 0) {
				dm_errf(err, len, "%s: filter '%s': %s", ifname, filter,
				        pcap_geterr(c->pc));
				pcap_freecode(&prog);
				goto fail;
			}
			pcap_freecode(&prog);
		}
	}
	c->linktype = linktype_of(pcap_datalink(c->pc));
	*out = c;
	return 0;
fail:
	pcap_close(c->pc);
	free(c);
	return -1;
}

int rctl_capture_next(struct rctl_capture *c, struct rd_pcap_packet *p, char *err, size_t len)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;

	for (;;) {
		rc = pcap_next_ex(c->pc, &h, &data);
		if (rc == 1)
			break;
		if (rc == 0)
			continue; /* live: the timeout passed without a packet */
		if (rc == PCAP_ERROR_BREAK)
			return 0; /* end of file, or rctl_capture_stop */
		dm_errf(err, len, "%s", pcap_geterr(c->pc));
		return -1;
	}
	p->data = data;
	p->len = h->caplen;
	p->orig_len = h->len;
	p->ts = (rd_time_t)h->ts.tv_sec * RD_SEC +
	        (rd_time_t)h->ts.tv_usec *
	            (c->precision == PCAP_TSTAMP_PRECISION_NANO ? 1 : RD_SEC / 1000000);
	p->linktype = c->linktype;
	return 1;
}

void rctl_capture_stop(struct rctl_capture *c)
{
	pcap_breakloop(c->pc);
}

void rctl_capture_close(struct rctl_capture *c)
{
	if (c == NULL)
		return;
	pcap_close(c->pc);
	free(c);
}

#else /* no libpcap: pcap files through libredund's reader */

struct rctl_capture {
	struct rd_pcap_reader *r;
};

int rctl_capture_open(const char *path, const char *ifname, const char *filter,
                      struct rctl_capture **out, char *err, size_t len)
{
	struct rctl_capture *c;
	int rc;

	(void)filter;
	*out = NULL;
	if (path == NULL) {
		dm_errf(err, len, "%s: live capture needs redundctl built with libpcap", ifname);
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		dm_errf(err, len, "out of memory");
		return -1;
	}
	rc = rd_pcap_reader_open(path, NULL, &c->r);
	if (rc != 0) {
		dm_errf(err, len, "%s: %s", path,
		        rc == RD_ERR_PROTO ? "not a pcap file (pcapng needs redundctl built with "
		                             "libpcap)"
		                           : rd_strerror(rc));
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

int rctl_capture_next(struct rctl_capture *c, struct rd_pcap_packet *p, char *err, size_t len)
{
	int rc = rd_pcap_next(c->r, p);

	if (rc < 0) {
		dm_errf(err, len, "%s", rd_strerror(rc));
		return -1;
	}
	return rc;
}

void rctl_capture_stop(struct rctl_capture *c)
{
	(void)c;
}

void rctl_capture_close(struct rctl_capture *c)
{
	if (c == NULL)
		return;
	rd_pcap_reader_close(c->r);
	free(c);
}
#endif

/* The capture SIGINT and SIGTERM stop (a live decode ends cleanly, output flushed). */
static struct rctl_capture *volatile running;

static void on_stop(int sig)
{
	(void)sig;
	if (running != NULL)
		rctl_capture_stop(running);
}

int rctl_capture_run(const char *path, const char *ifname, const char *filter, unsigned long count,
                     int (*fn)(void *user, const struct rd_pcap_packet *p), void *user)
{
	struct rctl_capture *c;
	struct rd_pcap_packet p;
	struct sigaction sa = {0};
	unsigned long n = 0;
	char err[512];
	int rc = 0;

	if (rctl_capture_open(path, ifname, filter, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "redundctl: %s\n", err);
		return 1;
	}
	if (path == NULL) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		running = c;
		sa.sa_handler = on_stop;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	while ((count == 0 || n < count) && (rc = rctl_capture_next(c, &p, err, sizeof(err))) == 1)
		if (fn(user, &p) == 1)
			n++;
	running = NULL;
	rctl_capture_close(c);
	fflush(stdout);
	if ((count == 0 || n < count) && rc < 0) {
		fprintf(stderr, "redundctl: %s: %s\n", path ? path : ifname, err);
		return 1;
	}
	return 0;
}
