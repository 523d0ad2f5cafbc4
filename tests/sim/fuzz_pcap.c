/* Fuzz target: the pcap reader and the IP finder over arbitrary files. */
#include <stddef.h>
#include <stdint.h>

#include "redund/pcap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd_pcap_reader *r;
	struct rd_pcap_packet pkt;
	const uint8_t *ip;
	size_t ip_len;

	if (rd_pcap_reader_open_mem(data, size, NULL, &r) != 0)
		return 0;
	while (rd_pcap_next(r, &pkt) == 1) {
		if (pkt.len > pkt.orig_len)
			__builtin_trap();
		if (rd_pcap_ip_payload(pkt.linktype, pkt.data, pkt.len, &ip, &ip_len) == 0 &&
		    (ip < pkt.data || ip + ip_len != pkt.data + pkt.len))
			__builtin_trap();
	}
	rd_pcap_reader_close(r);
	return 0;
}
