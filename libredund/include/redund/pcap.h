/*
 * libredund — pcap file writer and reader.
 *
 * These are I/O helpers, not engines: unlike the rest of the library they
 * open, read and write files (with stdio, blocking on the file system only).
 * The simulator uses the writer to record every packet it carries; redundctl
 * uses the reader to decode captured CARP and pfsync packets.
 *
 * Format: the classic libpcap format. The writer writes nanosecond-resolution
 * files (magic 0xa1b23c4d) in host byte order, which tshark and Wireshark
 * read. The reader accepts microsecond and nanosecond files in either byte
 * order. pcapng is not supported.
 *
 * Thread-safety: a writer or reader is used from one thread at a time.
 */
#ifndef REDUND_PCAP_H
#define REDUND_PCAP_H

#include "redund/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Link types (www.tcpdump.org/linktypes.html). */
#define RD_PCAP_LINKTYPE_ETHERNET 1
#define RD_PCAP_LINKTYPE_RAW      101 /* raw IPv4 or IPv6, no link header */
/* Link types rd_pcap_ip_payload reads too (captures as tools write them). */
#define RD_PCAP_LINKTYPE_NULL       0   /* BSD loopback: 4-byte family, host order */
#define RD_PCAP_LINKTYPE_LOOP       108 /* OpenBSD loopback: 4-byte family, network order */
#define RD_PCAP_LINKTYPE_LINUX_SLL  113 /* Linux cooked (tcpdump -i any): 16-byte header */
#define RD_PCAP_LINKTYPE_IPV4       228 /* raw IPv4 */
#define RD_PCAP_LINKTYPE_IPV6       229 /* raw IPv6 */
#define RD_PCAP_LINKTYPE_LINUX_SLL2 276 /* Linux cooked v2 (dumpcap -i any): 20-byte header */

/* The largest record the writer writes and the reader accepts. */
#define RD_PCAP_SNAPLEN 262144

struct rd_pcap_writer;

/*
 * rd_pcap_writer_open - create (truncate) the file at path and write a pcap
 * file header for linktype (RD_PCAP_LINKTYPE_ETHERNET or _RAW). On success
 * stores a new writer in *out; the caller frees it with
 * rd_pcap_writer_close. mem: allocator for the writer object (NULL: libc).
 * Returns 0, RD_ERR_INVAL (bad linktype or NULL argument), RD_ERR_NOMEM, or
 * RD_ERR_STATE when the file cannot be created or written (see errno).
 */
RD_EXPORT int rd_pcap_writer_open(const char *path, int linktype, const struct rd_mem *mem,
                                  struct rd_pcap_writer **out);

/*
 * rd_pcap_writer_linktype - the link type the writer was opened with.
 */
RD_EXPORT int rd_pcap_writer_linktype(const struct rd_pcap_writer *w);

/*
 * rd_pcap_write - append one record holding len bytes of data, exactly as
 * given (a complete frame for the writer's link type), stamped ts (ns; the
 * file shows it as seconds since 1970, so a simulation starting at 0 shows
 * as January 1970). Records longer than RD_PCAP_SNAPLEN are truncated to it
 * (the original length is kept in the record). Returns 0, RD_ERR_INVAL, or
 * RD_ERR_STATE when the write failed (the error is sticky: later writes and
 * the close fail too).
 */
RD_EXPORT int rd_pcap_write(struct rd_pcap_writer *w, rd_time_t ts, const void *data, size_t len);

/*
 * rd_pcap_write_ip - append one IPv4 or IPv6 packet, framing it for the
 * writer's link type. For RD_PCAP_LINKTYPE_RAW it is written as is. For
 * Ethernet an Ethernet II header is prepended: ethertype from the IP
 * version nibble; destination MAC derived from the IP destination (IPv4
 * multicast 01:00:5e:xx:xx:xx, IPv6 multicast 33:33:xx:xx:xx:xx, limited
 * broadcast ff:ff:ff:ff:ff:ff, otherwise the synthetic unicast
 * 02:00:<last four address bytes>); source MAC src_mac, or 02:00:00:00:00:00
 * when NULL. Returns as rd_pcap_write, and RD_ERR_PROTO when the packet is
 * not IPv4/IPv6 or too short to hold its IP header.
 */
RD_EXPORT int rd_pcap_write_ip(struct rd_pcap_writer *w, rd_time_t ts, const uint8_t *src_mac,
                               const void *ip, size_t len);

/*
 * rd_pcap_writer_flush - push buffered records to the file. Returns 0 or
 * RD_ERR_STATE.
 */
RD_EXPORT int rd_pcap_writer_flush(struct rd_pcap_writer *w);

/*
 * rd_pcap_writer_close - flush, close the file and free the writer (NULL
 * is a no-op). Returns 0, or RD_ERR_STATE if any write or the close failed.
 */
RD_EXPORT int rd_pcap_writer_close(struct rd_pcap_writer *w);

struct rd_pcap_reader;

/* One record as returned by rd_pcap_next. */
struct rd_pcap_packet {
	const uint8_t *data; /* captured bytes; valid until the next call on the reader */
	size_t len;          /* captured length (bytes at data) */
	size_t orig_len;     /* length on the wire (>= len) */
	rd_time_t ts;        /* timestamp, ns since 1970 (as stored in the file) */
	int linktype;        /* the file's link type */
};

/*
 * A reader's counters (rd_pcap_reader_stats): records read, then each
 * reason a record was refused.
 */
enum rd_pcap_stat {
	RD_PCAP_STAT_RECORDS = 0,  /* "records": records returned */
	RD_PCAP_STAT_SHORT_HEADER, /* "short_header": record header cut short */
	RD_PCAP_STAT_SHORT_RECORD, /* "short_record": data cut short (file ends inside it) */
	RD_PCAP_STAT_OVERSIZE,     /* "oversize": longer than the snaplen or RD_PCAP_SNAPLEN */
	RD_PCAP_STAT_BAD_LENGTH,   /* "bad_length": captured length > original length */
	RD_PCAP_STAT_COUNT
};

/* rd_pcap_stat_name - "records", "short_header", ...; "?" out of range. Thread-safe. */
RD_EXPORT const char *rd_pcap_stat_name(int stat);

/*
 * rd_pcap_reader_open - open the pcap file at path and read its header. On
 * success stores a new reader in *out, freed with rd_pcap_reader_close.
 * Returns 0, RD_ERR_INVAL (NULL argument), RD_ERR_NOMEM, RD_ERR_STATE (the
 * file cannot be opened; see errno) or RD_ERR_PROTO (not a pcap file: bad
 * magic or short header).
 */
RD_EXPORT int rd_pcap_reader_open(const char *path, const struct rd_mem *mem,
                                  struct rd_pcap_reader **out);

/*
 * rd_pcap_reader_open_mem - as rd_pcap_reader_open, over len bytes at data
 * (a whole pcap file in memory). The reader does not copy data: it must
 * stay valid until rd_pcap_reader_close.
 */
RD_EXPORT int rd_pcap_reader_open_mem(const void *data, size_t len, const struct rd_mem *mem,
                                      struct rd_pcap_reader **out);

/*
 * rd_pcap_reader_linktype - the link type in the file header.
 */
RD_EXPORT int rd_pcap_reader_linktype(const struct rd_pcap_reader *r);

/*
 * rd_pcap_next - read the next record into *pkt. Returns 1 when a record
 * was read, 0 at a clean end of file, RD_ERR_PROTO for a malformed record
 * (counted in the stats; the reader then stays at end of file),
 * RD_ERR_NOMEM when the record buffer cannot grow, or RD_ERR_STATE for a
 * read error.
 */
RD_EXPORT int rd_pcap_next(struct rd_pcap_reader *r, struct rd_pcap_packet *pkt);

/*
 * rd_pcap_reader_stats - copy the reader's counters into out, indexed by
 * enum rd_pcap_stat. The caller owns out.
 */
RD_EXPORT void rd_pcap_reader_stats(const struct rd_pcap_reader *r,
                                    uint64_t out[RD_PCAP_STAT_COUNT]);

/*
 * rd_pcap_reader_close - close the file (if any) and free the reader. NULL
 * is a no-op.
 */
RD_EXPORT void rd_pcap_reader_close(struct rd_pcap_reader *r);

/*
 * rd_pcap_ip_payload - find the IPv4 or IPv6 packet inside a record of the
 * given link type: Ethernet II (optionally one 802.1Q tag), raw IP (RAW,
 * IPV4, IPV6), Linux cooked (LINUX_SLL, LINUX_SLL2: protocol 0x0800 or
 * 0x86dd) or loopback (NULL, LOOP: address family 2 for IPv4; 10, 24, 28
 * or 30 for IPv6, as Linux and the BSDs number it, in either byte order).
 * Stores a pointer into data and the remaining length. Returns 0 or
 * RD_ERR_PROTO (unknown link type, not IP, cut short). Thread-safe.
 */
RD_EXPORT int rd_pcap_ip_payload(int linktype, const uint8_t *data, size_t len, const uint8_t **ip,
                                 size_t *ip_len);

#ifdef __cplusplus
}
#endif

#endif
