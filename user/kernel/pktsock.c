// SPDX-License-Identifier: GPL-2.0
/* Packet sockets that break steering: see pktsock.h. */
#include <stdio.h>

#include "kernel/pktsock.h"

#define ETH_P_IP_HEX 0x0800
#define ETH_P_IPV6_HEX 0x86dd

/* The socket's device is any (0), or one steering relies on. */
static int on_our_device(int iface, const int *ifindexes, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n && iface; i++)
		if (ifindexes[i] == iface)
			return 1;
	return !iface;
}

int pktsock_ip_taps(const int *ifindexes, unsigned int n, unsigned long *inode)
{
	FILE *f = fopen("/proc/self/net/packet", "re");
	char line[256];
	unsigned int proto;
	unsigned long ino;
	int count = 0, iface;

	if (!f)
		return -1;
	/* "sk RefCnt Type Proto Iface R Rmem User Inode", a header line first */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %x %d %*s %*s %*s %lu", &proto, &iface, &ino) == 3 &&
		    (proto == ETH_P_IP_HEX || proto == ETH_P_IPV6_HEX) && on_our_device(iface, ifindexes, n)) {
			count++;
			*inode = ino;
		}
	fclose(f);
	return count;
}
