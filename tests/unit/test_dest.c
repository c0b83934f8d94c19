// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the one destination check (user/daemon/dest.c) and the address
 * rules it shares with the datapath (include/xmcp_addr.h): IPv4-mapped
 * addresses are IPv4, special blocks are refused (at their edges too), the
 * policy's forbidden prefixes, and this host's own addresses.
 *
 * The last part asks the kernel (dest_refused's route lookup over
 * rtnetlink, which needs no privilege) about the addresses this host has
 * in the namespace the test runs in; it only reads. When the host has no
 * such address, those checks say they were skipped and why.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>

#include "daemon/dest.h"
#include "tap.h"
#include "xmcp_addr.h"

static struct xmcp_addr addr_of(const char *text)
{
	struct xmcp_addr a;
	__u8 b[16];

	if (inet_pton(AF_INET, text, b) == 1)
		xmcp_addr_from4(&a, b);
	else if (inet_pton(AF_INET6, text, b) == 1)
		xmcp_addr_from6(&a, b);
	else
		abort();
	return a;
}

static int verdict(const char *text)
{
	struct xmcp_addr a = addr_of(text);

	return xmcp_addr_verdict(&a);
}

static void test_addr_rules(void)
{
	static const struct {
		const char *addr;
		int want;
	} cases[] = {
		/* IPv4, at the edges of each block */
		{ "0.0.0.0", XMCP_ADDR_UNSPECIFIED },	   { "0.255.255.255", XMCP_ADDR_UNSPECIFIED },
		{ "1.0.0.0", XMCP_ADDR_OK },		   { "126.255.255.255", XMCP_ADDR_OK },
		{ "127.0.0.1", XMCP_ADDR_LOOPBACK },	   { "127.255.255.255", XMCP_ADDR_LOOPBACK },
		{ "128.0.0.0", XMCP_ADDR_OK },		   { "169.253.255.255", XMCP_ADDR_OK },
		{ "169.254.0.0", XMCP_ADDR_LINK_LOCAL },   { "169.254.255.255", XMCP_ADDR_LINK_LOCAL },
		{ "169.255.0.0", XMCP_ADDR_OK },	   { "223.255.255.255", XMCP_ADDR_OK },
		{ "224.0.0.0", XMCP_ADDR_MULTICAST },	   { "239.255.255.255", XMCP_ADDR_MULTICAST },
		{ "240.0.0.1", XMCP_ADDR_OK },		   { "255.255.255.254", XMCP_ADDR_OK },
		{ "255.255.255.255", XMCP_ADDR_BROADCAST }, { "10.0.0.1", XMCP_ADDR_OK },
		/* IPv6 */
		{ "::", XMCP_ADDR_UNSPECIFIED },	   { "::1", XMCP_ADDR_LOOPBACK },
		{ "::2", XMCP_ADDR_UNSPECIFIED },	   { "::a00:1", XMCP_ADDR_UNSPECIFIED },
		{ "::1:0:0:0", XMCP_ADDR_OK },		   { "::fffe:a00:1", XMCP_ADDR_OK },
		{ "fe80::1", XMCP_ADDR_LINK_LOCAL },	   { "febf:ffff::1", XMCP_ADDR_LINK_LOCAL },
		{ "fec0::1", XMCP_ADDR_OK },		   { "fe7f::1", XMCP_ADDR_OK },
		{ "ff00::", XMCP_ADDR_MULTICAST },	   { "ff02::1", XMCP_ADDR_MULTICAST },
		{ "feff::1", XMCP_ADDR_OK },		   { "2001:db8::1", XMCP_ADDR_OK },
		{ "fd00::1", XMCP_ADDR_OK },
		/* IPv4-mapped IPv6: the IPv4 address it maps */
		{ "::ffff:127.0.0.1", XMCP_ADDR_LOOPBACK }, { "::ffff:0.0.0.0", XMCP_ADDR_UNSPECIFIED },
		{ "::ffff:169.254.1.1", XMCP_ADDR_LINK_LOCAL }, { "::ffff:224.0.0.1", XMCP_ADDR_MULTICAST },
		{ "::ffff:255.255.255.255", XMCP_ADDR_BROADCAST }, { "::ffff:198.51.100.7", XMCP_ADDR_OK },
	};
	struct xmcp_addr a, b;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_int(verdict(cases[i].addr), cases[i].want, "%s: verdict %d", cases[i].addr, cases[i].want);

	a = addr_of("198.51.100.7");
	b = addr_of("::ffff:198.51.100.7");
	ok(!memcmp(&a, &b, sizeof(a)), "198.51.100.7 and ::ffff:198.51.100.7 are one canonical address");
	ok(xmcp_addr_is4(&a), "... an IPv4 one");
	b = addr_of("::198.51.100.7");
	ok(!xmcp_addr_is4(&b), "::198.51.100.7 (IPv4-compatible) is not IPv4");
	b = addr_of("2001:db8::1");
	ok(!xmcp_addr_is4(&b), "2001:db8::1 is not IPv4");

	/* the key of per-subscriber state: the IPv4 address, or the IPv6 /64 */
	xmcp_addr_subscriber(&a);
	b = addr_of("198.51.100.7");
	ok(!memcmp(&a, &b, sizeof(a)), "an IPv4 subscriber is its address");
	a = addr_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
	xmcp_addr_subscriber(&a);
	b = addr_of("2001:db8:1:2::");
	ok(!memcmp(&a, &b, sizeof(a)), "an IPv6 subscriber is its /64");
}

static struct sockaddr_storage sa(const char *text, int port)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
	} else {
		abort();
	}
	return ss;
}

static void test_canonical(void)
{
	struct sockaddr_storage ss = sa("::ffff:198.51.100.7", 443), want = sa("198.51.100.7", 443);

	dest_canonical(&ss);
	ok(!memcmp(&ss, &want, sizeof(ss)), "dest_canonical: ::ffff:198.51.100.7 port 443 is 198.51.100.7 port 443");
	ss = sa("2001:db8::7", 80);
	want = ss;
	dest_canonical(&ss);
	ok(!memcmp(&ss, &want, sizeof(ss)), "... an IPv6 address stays as it is");
	ss = sa("::198.51.100.7", 80);
	want = ss;
	dest_canonical(&ss);
	ok(!memcmp(&ss, &want, sizeof(ss)), "... and an IPv4-compatible one too");
	ss = sa("203.0.113.1", 80);
	want = ss;
	dest_canonical(&ss);
	ok(!memcmp(&ss, &want, sizeof(ss)), "... and an IPv4 one");
}

/* dest_refused(dst) as text: NULL, or why not. */
static const char *refused(struct dest_check *dc, const struct policy *p, const char *dst, int *family)
{
	struct sockaddr_storage ss = sa(dst, 80);
	const char *why = dest_refused(dc, p, &ss);

	if (family)
		*family = ss.ss_family;
	return why;
}

static void test_refused(struct dest_check *dc)
{
	static const struct {
		const char *dst, *why;
	} special[] = {
		{ "0.0.0.0", "an unspecified address" },	{ "0.1.2.3", "an unspecified address" },
		{ "127.0.0.1", "a loopback address" },		{ "127.1.2.3", "a loopback address" },
		{ "169.254.7.7", "a link-local address" },	{ "224.0.0.251", "a multicast address" },
		{ "239.1.1.1", "a multicast address" },		{ "255.255.255.255", "the broadcast address" },
		{ "::", "an unspecified address" },		{ "::1", "a loopback address" },
		{ "::7f00:1", "an unspecified address" },	{ "fe80::1", "a link-local address" },
		{ "ff05::2", "a multicast address" },		{ "::ffff:127.0.0.1", "a loopback address" },
		{ "::ffff:0.0.0.0", "an unspecified address" }, { "::ffff:169.254.0.1", "a link-local address" },
		{ "::ffff:239.0.0.1", "a multicast address" },	{ "::ffff:255.255.255.255", "the broadcast address" },
	};
	struct policy p = { 0 };
	unsigned long long before;
	struct sockaddr_storage ss;
	int family;
	size_t i;

	before = dest_check_refused(dc);
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		is_str(refused(dc, &p, special[i].dst, NULL), special[i].why, "%s is refused: %s", special[i].dst,
		       special[i].why);
	is_int(dest_check_refused(dc) - before, i, "each refusal is counted");
	refused(dc, &p, "::ffff:127.0.0.1", &family);
	is_int(family, AF_INET, "a refused IPv4-mapped destination is made IPv4 in place");

	/* documentation addresses: no special block, not this host's (whatever routes it has) */
	is_str(refused(dc, &p, "198.51.100.7", NULL), NULL, "198.51.100.7 may be a destination");
	is_str(refused(dc, &p, "2001:db8::7", NULL), NULL, "2001:db8::7 may be one");
	is_str(refused(dc, &p, "::ffff:203.0.113.9", &family), NULL, "::ffff:203.0.113.9 may be one...");
	is_int(family, AF_INET, "... as IPv4 203.0.113.9");
	before = dest_check_refused(dc);
	refused(dc, &p, "198.51.100.8", NULL);
	is_int(dest_check_refused(dc), before, "an accepted destination is not counted");
	is_int(dest_check_refused(NULL), 0, "no check, no count");

	ss = (struct sockaddr_storage){ .ss_family = AF_UNIX };
	is_str(dest_refused(dc, &p, &ss), "not an IP address", "an AF_UNIX address is refused");

	/* the policy's forbidden prefixes, in either spelling, either family */
	static const char *const forbidden[] = { "198.51.100.0/24", "2001:db8:bad::/48", "::ffff:203.0.113.128/121" };

	for (i = 0; i < 3; i++)
		policy_parse_prefix(forbidden[i], &p.forbidden[i]);
	p.n_forbidden = 3;
	is_str(refused(dc, &p, "198.51.100.7", NULL), "forbidden by the policy", "198.51.100.7 in 198.51.100.0/24 is forbidden");
	is_str(refused(dc, &p, "::ffff:198.51.100.255", NULL), "forbidden by the policy", "... so is ::ffff:198.51.100.255");
	is_str(refused(dc, &p, "198.51.101.0", NULL), NULL, "198.51.101.0 is not");
	is_str(refused(dc, &p, "2001:db8:bad:ffff::1", NULL), "forbidden by the policy", "2001:db8:bad:ffff::1 in /48 is");
	is_str(refused(dc, &p, "2001:db8:bae::1", NULL), NULL, "2001:db8:bae::1 is not");
	is_str(refused(dc, &p, "203.0.113.200", NULL), "forbidden by the policy",
	       "203.0.113.200 in ::ffff:203.0.113.128/121 (203.0.113.128/25) is");
	is_str(refused(dc, &p, "203.0.113.127", NULL), NULL, "203.0.113.127 is not");
	is_str(refused(dc, &p, "::cb00:71c8", NULL), "an unspecified address",
	       "::203.0.113.200 (IPv4-compatible) is no IPv4 address: refused as ::/96");
	policy_parse_prefix("0.0.0.0/0", &p.forbidden[0]);
	p.n_forbidden = 1;
	is_str(refused(dc, &p, "127.0.0.1", NULL), "a loopback address", "a special block is named before a forbidden prefix");
	is_str(refused(dc, &p, "2001:db8::7", NULL), NULL, "0.0.0.0/0 forbids no IPv6 destination");
}

/* This host's own addresses, as the kernel routes them: refused, whenever they were added. */
static void test_own(struct dest_check *dc)
{
	char a4[INET_ADDRSTRLEN] = "", b4[INET_ADDRSTRLEN] = "", a6[INET6_ADDRSTRLEN] = "", m4[64];
	struct ifaddrs *ifa, *i;
	struct policy p = { 0 };

	if (getifaddrs(&ifa)) {
		skip("getifaddrs failed", "this host's addresses");
		return;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		if (i->ifa_addr->sa_family == AF_INET && !*a4) {
			struct xmcp_addr x;

			xmcp_addr_from4(&x, &((struct sockaddr_in *)i->ifa_addr)->sin_addr);
			if (xmcp_addr_verdict(&x))
				continue;
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a4, sizeof(a4));
			if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr)
				inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr, b4, sizeof(b4));
		} else if (i->ifa_addr->sa_family == AF_INET6 && !*a6) {
			struct xmcp_addr x;

			xmcp_addr_from6(&x, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
			if (!xmcp_addr_verdict(&x))
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, a6, sizeof(a6));
		}
	}
	freeifaddrs(ifa);
	if (*a4) {
		is_str(refused(dc, &p, a4, NULL), "a local address of this gateway", "this host's %s is refused", a4);
		snprintf(m4, sizeof(m4), "::ffff:%s", a4);
		is_str(refused(dc, &p, m4, NULL), "a local address of this gateway", "... and as %s", m4);
	} else {
		skip("this host has no IPv4 address but loopback and special ones", "this host's IPv4 address is refused");
	}
	if (*b4 && strcmp(b4, "255.255.255.255") && strcmp(b4, a4))
		is_str(refused(dc, &p, b4, NULL), "a broadcast address", "its subnet's broadcast %s is refused", b4);
	else
		skip("no subnet broadcast address on this host", "a subnet's broadcast address is refused");
	if (*a6)
		is_str(refused(dc, &p, a6, NULL), "a local address of this gateway", "this host's %s is refused", a6);
	else
		skip("this host has no global IPv6 address", "this host's IPv6 address is refused");
}

int main(void)
{
	struct dest_check *dc;

	test_addr_rules();
	test_canonical();
	dc = dest_check_new();
	if (ok(dc != NULL, "an rtnetlink socket for the route lookups")) {
		test_refused(dc);
		test_own(dc);
	}
	dest_check_free(dc);
	return done_testing();
}
