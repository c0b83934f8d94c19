// SPDX-License-Identifier: GPL-2.0
/*
 * xmcp classify [-j] FILE.pcap...: run each captured frame through the real
 * XDP classifier (BPF_PROG_TEST_RUN) and print its class, one line each.
 * The program is loaded once for all the files: the verifier's pass is most
 * of a run's cost (0.6 s here, several seconds in an emulated guest).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cmds.h"
#include "mp_convert.h"
#include "lib/pcapio.h"
#include "lib/testrun.h"
#include "lib/util.h"

#define ETH_HDR_LEN 14

struct classify_ctx {
	struct xmcp_testrun tr;
	int json;
	bool tc; /* --mode tc */
	const char *cur; /* the file being read: in errors, and on each line when */
	bool many;	 /* several files are given */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: xmcp classify [-j] [--mode xdp|tc] FILE.pcap...\n"
		"\n"
		"Runs every frame of an Ethernet capture through xmcp's XDP classifier\n"
		"(the real program, with BPF_PROG_TEST_RUN) and prints one line per frame:\n"
		"its number, its class and, for MP_CONVERT SYNs, what the options carry.\n"
		"With several captures, each line starts with its file (\"file\" in JSON)\n"
		"and frames are numbered per file.\n"
		"Nothing is attached and no pinned state is touched. Frames shorter than\n"
		"an Ethernet header are reported as malformed without being run.\n"
		"\n"
		"  -j, --json     JSON Lines: {\"n\":1,\"class\":\"syn\"}\n"
		"  --mode tc      the classifier as it runs at tc ingress (\"xdp_mode\" tc\n"
		"                 and auto's choice on veth); the same verdicts\n"
		"  -v, --verbose  show libbpf's messages\n");
}

static void add_addr(json_object *o, const char *key, const struct mpc_option *opt)
{
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(opt->family == 4 ? AF_INET : AF_INET6, opt->addr, buf, sizeof(buf));
	json_object_object_add(o, key, json_object_new_string(buf));
}

/* The keys the options carry; proto only when it is not the default TCP. */
static json_object *convert_json(const struct xmcp_meta *m, const unsigned char *pkt, size_t len)
{
	json_object *o = json_object_new_object();
	struct mpc_option opt;
	unsigned int i;

	for (i = 0; i < m->n_convert && i < XMCP_MPC_MAX; i++) {
		size_t off = m->convert_off[i];
		int src;

		if (off >= len || mpc_decode(pkt + off, len - off, &opt) < 0)
			continue;
		src = opt.dir == MPC_DIR_SRC;
		if (opt.family)
			add_addr(o, src ? "src" : "dst", &opt);
		if (opt.has_port)
			json_object_object_add(o, src ? "sport" : "dport", json_object_new_int(opt.port));
		if (opt.proto != MPC_PROTO_TCP)
			json_object_object_add(o, "proto", json_object_new_int(opt.proto));
	}
	return o;
}

static json_object *packet_json(const char *file, unsigned long n, const struct xmcp_meta *m,
				const unsigned char *pkt, size_t len)
{
	json_object *o = json_object_new_object();

	if (file)
		json_object_object_add(o, "file", json_object_new_string(file));
	json_object_object_add(o, "n", json_object_new_int64(n));
	json_object_object_add(o, "class", json_object_new_string(xmcp_class_name(m->cls)));
	if (m->cls == XMCP_CLASS_SYN_MP_CONVERT)
		json_object_object_add(o, "convert", convert_json(m, pkt, len));
	if (m->cls == XMCP_CLASS_MALFORMED)
		json_object_object_add(o, "reason",
				       json_object_new_string(xmcp_malformed_name(m->reason)));
	if (m->cls == XMCP_CLASS_SYN_MP_CONVERT_INVALID)
		json_object_object_add(o, "reason", json_object_new_string(mpc_errname(m->convert_err)));
	return o;
}

/* Text form: the JSON's fields as key=value after the number and class. */
static void print_text(json_object *o)
{
	json_object *conv, *reason, *file;

	if (json_object_object_get_ex(o, "file", &file))
		printf("%s: ", json_object_get_string(file));
	printf("%ld %s", (long)json_object_get_int64(json_object_object_get(o, "n")),
	       json_object_get_string(json_object_object_get(o, "class")));
	if (json_object_object_get_ex(o, "convert", &conv)) {
		json_object_object_foreach(conv, key, val)
			printf(" %s=%s", key, json_object_get_string(val));
	}
	if (json_object_object_get_ex(o, "reason", &reason))
		printf(" reason=%s", json_object_get_string(reason));
	putchar('\n');
}

static int classify_one(void *arg, unsigned long n, const unsigned char *pkt, size_t caplen,
			size_t wirelen)
{
	struct classify_ctx *c = arg;
	struct xmcp_meta m = { .cls = XMCP_CLASS_MALFORMED, .reason = XMCP_MF_ETH_TRUNC };
	json_object *o;
	int err;

	if (caplen >= ETH_HDR_LEN) {
		err = testrun_classify(&c->tr, pkt, caplen, &m);
		if (err) {
			xmcp_err("%s: packet %lu: the classifier could not run: %s", c->cur, n, strerror(-err));
			return -1;
		}
	}
	o = packet_json(c->many ? c->cur : NULL, n, &m, pkt, caplen);
	if (c->json)
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_text(o);
	json_object_put(o);
	return 0;
}

int cmd_classify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "mode", required_argument, NULL, 'm' },
		XMCP_COMMON_LONGOPTS,
		{ 0 },
	};
	struct classify_ctx c = { 0 };
	int opt, ret = 0;

	while ((opt = getopt_long(argc, argv, "j" XMCP_COMMON_SHORTOPTS, longopts, NULL)) != -1) {
		if (opt == 'j') {
			c.json = 1;
			continue;
		}
		if (opt == 'm') {
			if (strcmp(optarg, "xdp") && strcmp(optarg, "tc")) {
				xmcp_err("--mode must be xdp or tc, not '%s'", optarg);
				return 2;
			}
			c.tc = !strcmp(optarg, "tc");
			continue;
		}
		ret = xmcp_common_opt(opt, optarg);
		if (ret) {
			usage(ret > 0 ? stdout : stderr);
			return ret > 0 ? 0 : 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	if (xmcp_require_root())
		return 1;
	if (testrun_open(&c.tr, c.tc))
		return 1;
	/* the first file that cannot be read ends the run, as one file does;
	 * each file's lines are out before the next file's error */
	c.many = argc - optind > 1;
	for (int i = optind; i < argc && !ret; i++) {
		fflush(stdout);
		c.cur = argv[i];
		ret = pcap_each_packet(argv[i], classify_one, &c);
	}
	fflush(stdout);
	testrun_close(&c.tr);
	return ret ? 1 : 0;
}
