/* SPDX-License-Identifier: GPL-2.0 */
/* Reading Ethernet captures with libpcap. */
#ifndef XMCP_PCAPIO_H
#define XMCP_PCAPIO_H

#include <stddef.h>

/* Called once per packet, n counting from 1; a non-zero return stops. */
typedef int (*pcap_packet_fn)(void *arg, unsigned long n, const unsigned char *pkt, size_t caplen,
			      size_t wirelen);

/* Returns 0, or -1 after printing why the capture can't be read. */
int pcap_each_packet(const char *path, pcap_packet_fn fn, void *arg);

#endif
