// SPDX-License-Identifier: GPL-2.0
#include <pcap/pcap.h>

#include "lib/pcapio.h"
#include "lib/util.h"

int pcap_each_packet(const char *path, pcap_packet_fn fn, void *arg)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const unsigned char *data;
	unsigned long n = 0;
	pcap_t *p;
	int rc, ret = 0;

	p = pcap_open_offline(path, errbuf);
	if (!p) {
		xmcp_err("cannot read capture %s: %s", path, errbuf);
		return -1;
	}
	if (pcap_datalink(p) != DLT_EN10MB) {
		xmcp_err("%s: link type %s is not supported, xmcp reads Ethernet captures only",
			 path, pcap_datalink_val_to_name(pcap_datalink(p)) ?: "unknown");
		pcap_close(p);
		return -1;
	}
	while ((rc = pcap_next_ex(p, &hdr, &data)) == 1) {
		if (fn(arg, ++n, data, hdr->caplen, hdr->len)) {
			ret = -1;
			break;
		}
	}
	if (rc == PCAP_ERROR) {
		xmcp_err("%s: packet %lu: %s", path, n + 1, pcap_geterr(p));
		ret = -1;
	}
	pcap_close(p);
	return ret;
}
