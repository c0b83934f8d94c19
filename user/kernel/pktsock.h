/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet sockets that break steering. On Linux 6.18 (measured, docs/kernels.md)
 * an AF_PACKET socket of protocol ETH_P_IP or ETH_P_IPV6 in the namespace
 * (FRR's bfdd opens one for BFD echo) gets each IP packet before the stack
 * does, so the stack takes a copy, and the copy has lost the listener
 * bpf_sk_assign gave a SYN at tc: the SYN meets no socket and is reset. An
 * ETH_P_ALL socket (tcpdump) does no harm.
 */
#ifndef XMCP_PKTSOCK_H
#define XMCP_PKTSOCK_H

/*
 * How many such sockets this namespace has (/proc/self/net/packet) on any
 * device or on one of ifindexes[0..n); the inode of one in *inode; -1 if
 * the list can't be read.
 */
int pktsock_ip_taps(const int *ifindexes, unsigned int n, unsigned long *inode);

#endif
