/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server: an HTTPS file server whose transmit side is FreeBSD's kernel
 * TLS, simulated.  The handshake runs in userland with libssl on a real TCP
 * socket; then, in --mode sw, the server derives struct tls_enable
 * (handoff.c), enables TCP_TXTLS_ENABLE on the connection's simulated socket
 * (tx_kern.c) and from then on every byte the client reads was framed and
 * encrypted by src/.  Received bytes are still decrypted by libssl.  In
 * --mode nic the simulated socket's route is a simulated NIC over a lossy
 * link (tx_kern.c, docs/sim_server.md "NIC mode").
 *
 * This file: the options, the embedded defaults (with no arguments it
 * generates a self-signed certificate and a sample document root, prints
 * client command lines and serves on SRV_DEFAULT_LISTEN), the listener and
 * the run.  Connections are conn.c's.
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netdb.h>

#include <ctype.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <event2/util.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "sim/server/cert.h"
#include "sim/server/ssl_tap.h"
#include "sim/server/log.h"
#include "sim/server/server.h"
#include "sim/server/trace_bridge.h"
#include "sim/server/tx.h"
#include "nic.h"

/*
 * --mode nic's link when nothing else is said: short delays (the real
 * client waits in real time for every retransmission timeout), SACK
 * blocks for the sender's duplicate-ACK test, and a 1 MiB receive
 * buffer, the most the link holds for a real socket that is full.
 */
#define SRV_NIC_LINK "delay=200us,ack.delay=200us,sack=3,wnd=1m"
#define SRV_NIC_REORDER_HOLD "1ms" /* how long a reordered segment waits */
#define SRV_NIC_DUP_AFTER "300us"  /* when a duplicate arrives */

/* What the command line asks for, beyond struct server's settings. */
struct srv_opts {
	const char *listen_addr;
	struct sockaddr_storage ss; /* listen_addr parsed */
	int sslen;
	const char *root, *cert, *key, *ciphers, *suites;
	int version; /* pinned protocol version, or 0 */
	int ntickets;
	int ncpus;
	uint64_t page_cache; /* bytes, --page-cache-size */
	bool disk_async;     /* --disk-reads async */
	char *traces[SRV_MAX_TRACES];
	int ntraces;
	/* --mode nic */
	const char *nic, *flip_to, *link;
	const char *loss, *reorder, *dup;
	uint64_t flip_every, seed;
	bool nic_opts; /* some option of --mode nic was given */
	bool sysctls;  /* --sysctl was given */
	struct tx_nic_conf nicconf;
};

static struct server srv;
static char sample_dir[PATH_MAX - 64]; /* generated files' parent, removed */

static void
usage(void)
{

	fprintf(stderr,
	    "usage: sim_server [-hv] [--listen addr:port] [--root dir]\n"
	    "                  [--cert file --key file] "
	    "[--mode userland|sw|nic] [--no-sendfile]\n"
	    "                  [--tls1 | --tls1.1 | --tls1.2 | --tls1.3] "
	    "[--ciphers list]\n"
	    "                  [--ciphersuites list] [--num-tickets n] "
	    "[--cpus n]\n"
	    "                  [--handshake-timeout s] [--header-timeout s] "
	    "[--idle-timeout s]\n"
	    "                  [--send-timeout s] [--sndbuf bytes[k|m]]\n"
	    "                  [--page-cache-size size] "
	    "[--disk-reads sync|async]\n"
	    "                  [--backend evp|ipsecmb|auto]\n"
	    "                  [--stats] [--stats-descriptions] "
	    "[--sysctl name=value]...\n"
	    "                  [--trace file.{txt,jsonl,pcapng}]...\n"
	    "    --mode nic:   [--nic mlx5|t6|linux] [--loss p] [--reorder p] "
	    "[--dup p]\n"
	    "                  [--route-flip-every n [--route-flip-to "
	    "mlx5|t6|linux|plain]]\n"
	    "                  [--link spec] [--seed n]\n"
	    "defaults: --listen %s --mode sw --backend auto, generated "
	    "certificate and document root\n",
	    SRV_DEFAULT_LISTEN);
	exit(2);
}

enum {
	OPT_BACKEND = 256,
	OPT_CERT,
	OPT_KEY,
	OPT_NOSENDFILE,
	OPT_TLS10,
	OPT_TLS11,
	OPT_TLS12,
	OPT_TLS13,
	OPT_CIPHERS,
	OPT_SUITES,
	OPT_TICKETS,
	OPT_CPUS,
	OPT_IDLE,
	OPT_HANDSHAKE_TMO,
	OPT_HEADER_TMO,
	OPT_SEND_TMO,
	OPT_SNDBUF,
	OPT_PAGE_CACHE,
	OPT_DISK_READS,
	OPT_STATS,
	OPT_STATS_DESCR,
	OPT_TRACE,
	OPT_NIC,
	OPT_LOSS,
	OPT_REORDER,
	OPT_DUP,
	OPT_FLIP_EVERY,
	OPT_FLIP_TO,
	OPT_LINK,
	OPT_SEED,
	OPT_SYSCTL,
};

static const struct option longopts[] = {
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "ciphersuites", required_argument, NULL, OPT_SUITES },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "disk-reads", required_argument, NULL, OPT_DISK_READS },
	{ "dup", required_argument, NULL, OPT_DUP },
	{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TMO },
	{ "header-timeout", required_argument, NULL, OPT_HEADER_TMO },
	{ "help", no_argument, NULL, 'h' },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "link", required_argument, NULL, OPT_LINK },
	{ "listen", required_argument, NULL, 'l' },
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "mode", required_argument, NULL, 'm' },
	{ "nic", required_argument, NULL, OPT_NIC },
	{ "no-sendfile", no_argument, NULL, OPT_NOSENDFILE },
	{ "num-tickets", required_argument, NULL, OPT_TICKETS },
	{ "page-cache-size", required_argument, NULL, OPT_PAGE_CACHE },
	{ "reorder", required_argument, NULL, OPT_REORDER },
	{ "root", required_argument, NULL, 'r' },
	{ "route-flip-every", required_argument, NULL, OPT_FLIP_EVERY },
	{ "route-flip-to", required_argument, NULL, OPT_FLIP_TO },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "send-timeout", required_argument, NULL, OPT_SEND_TMO },
	{ "sndbuf", required_argument, NULL, OPT_SNDBUF },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "stats-descriptions", no_argument, NULL, OPT_STATS_DESCR },
	{ "sysctl", required_argument, NULL, OPT_SYSCTL },
	{ "tls1", no_argument, NULL, OPT_TLS10 },
	{ "tls1.1", no_argument, NULL, OPT_TLS11 },
	{ "tls1.2", no_argument, NULL, OPT_TLS12 },
	{ "tls1.3", no_argument, NULL, OPT_TLS13 },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

static long
numarg(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi)
		errx(2, "%s: %s: expected %ld..%ld", what, s, lo, hi);
	return (v);
}

/*
 * A byte count with an optional K, M or G suffix (powers of 1024, either
 * case) in *vp: 0 if s is one and at most hi, -1 otherwise.  strtoull()
 * takes "-1", " 1" and "+1" for numbers: a count starts with a digit.
 */
static int
bytes_parse(const char *s, uint64_t hi, uint64_t *vp)
{
	unsigned long long v;
	uint64_t mult;
	char *end;

	if (!isdigit((u_char)s[0]))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return (-1);
	mult = 1;
	if (end[0] != '\0' && end[1] == '\0') {
		switch (end[0]) {
		case 'k':
		case 'K':
			mult = 1ull << 10;
			end++;
			break;
		case 'm':
		case 'M':
			mult = 1ull << 20;
			end++;
			break;
		case 'g':
		case 'G':
			mult = 1ull << 30;
			end++;
			break;
		}
	}
	if (*end != '\0' || v > hi / mult)
		return (-1);
	*vp = v * mult;
	return (0);
}

/* A byte count (bytes_parse()) within [lo, hi]; exits 2 otherwise. */
static uint64_t
sizearg(const char *s, uint64_t lo, uint64_t hi, const char *what)
{
	uint64_t v;

	if (bytes_parse(s, hi, &v) != 0 || v < lo)
		errx(2,
		    "%s: %s: expected %juM..%juG (a byte count, or a "
		    "number with K, M or G)",
		    what, s, (uintmax_t)(lo >> 20), (uintmax_t)(hi >> 30));
	return (v);
}

/*
 * --sndbuf: a byte count (bytes_parse()) from 1 to the largest buffer
 * kern.ipc.maxsockbuf allows (sbreserve_locked()).
 */
static u_int
sndbuf_arg(const char *s)
{
	u_long max;
	uint64_t v;

	max = tx_kern_sndbuf_max();
	if (bytes_parse(s, max, &v) != 0 || v < 1)
		errx(2,
		    "--sndbuf: %s: expected 1..%lu bytes (suffix k or m for "
		    "KiB or MiB): SO_SNDBUF above kern.ipc.maxsockbuf less "
		    "its mbuf overhead is ENOBUFS on FreeBSD",
		    s, max);
	return ((u_int)v);
}

/* A probability for a link knob: 0 <= p < 1, as a string for the spec. */
static const char *
probarg(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !(v >= 0 && v < 1))
		errx(2, "%s: %s: expected a probability, 0 <= p < 1", what, s);
	return (s);
}

static uint64_t
u64arg(const char *s, uint64_t lo, uint64_t hi, const char *what)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || s[0] == '-' || v < lo ||
	    v > hi)
		errx(2, "%s: %s: expected %ju..%ju", what, s, (uintmax_t)lo,
		    (uintmax_t)hi);
	return (v);
}

/* --sysctl NAME=VALUE: set now, before the kernel starts. */
static void
sysctl_arg(const char *arg)
{
	char name[128], what[160], why[256];
	const char *eq;
	u_int *var, lo, hi;

	eq = strchr(arg, '=');
	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(name))
		errx(2, "--sysctl: %s: expected NAME=VALUE", arg);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	var = tx_kern_sysctl(name, &lo, &hi, why, sizeof(why));
	if (var == NULL)
		errx(2, "--sysctl: %s: %s", arg, why);
	snprintf(what, sizeof(what), "--sysctl %s", name);
	*var = (u_int)u64arg(eq + 1, lo, hi, what);
}

/*
 * --mode nic: the NICs and the link from the options; exits 2 with the
 * reason on a bad one.
 */
static void
srv_nic_options(struct srv_opts *o)
{
	struct tx_nic_conf *nc = &o->nicconf;
	enum nic_profile prof;
	char spec[1024], why[200];

	memset(nc, 0, sizeof(*nc));
	if (nic_profile_lookup(o->nic != NULL ? o->nic : "mlx5", &prof) != 0)
		errx(2, "--nic: %s: expected mlx5, t6 or linux", o->nic);
	nc->profile = prof;
	if (o->flip_to != NULL && o->flip_every == 0)
		errx(2, "--route-flip-to needs --route-flip-every");
	nc->flip_every = o->flip_every;
	nc->flip_to = prof;
	if (o->flip_to != NULL) {
		if (strcmp(o->flip_to, "plain") == 0)
			nc->flip_plain = true;
		else if (nic_profile_lookup(o->flip_to, &prof) == 0)
			nc->flip_to = prof;
		else
			errx(2,
			    "--route-flip-to: %s: expected mlx5, t6, linux or "
			    "plain",
			    o->flip_to);
	}
	snprintf(spec, sizeof(spec), "%s", SRV_NIC_LINK);
	if (o->link != NULL)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
		    ",%s", o->link);
	if (o->loss != NULL)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
		    ",loss=%s", o->loss);
	if (o->reorder != NULL)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
		    ",reorder=%s/%s", o->reorder, SRV_NIC_REORDER_HOLD);
	if (o->dup != NULL)
		snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec),
		    ",dup=%s/%s", o->dup, SRV_NIC_DUP_AFTER);
	if (strlen(spec) >= sizeof(spec) - 1)
		errx(2, "--link: too long");
	if (link_conf_parse(&nc->lc, spec, why, sizeof(why)) != 0)
		errx(2, "--link: %s", why);
	if (!link_conf_check(&nc->lc, why, sizeof(why)))
		errx(2, "--link: %s", why);
	nc->lc.lc_seed = o->seed;
}

/* "a.b.c.d:port" or "[v6]:port"; port 0 picks a free one. */
static int
parse_listen(const char *s, struct sockaddr_storage *ss)
{
	struct addrinfo hints, *res;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	size_t hl;
	int len;

	colon = strrchr(s, ':');
	if (colon == NULL || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
	    strlen(colon + 1) > 5 || atoi(colon + 1) > 65535)
		return (-1); /* getaddrinfo() would wrap 65536 to 0 */
	hl = colon - s;
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host))
		return (-1);
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		return (-1);
	len = res->ai_addrlen;
	memcpy(ss, res->ai_addr, len);
	freeaddrinfo(res);
	return (len);
}

/* The command line into s and o; exits 2 on a usage error. */
static void
srv_options(struct server *s, struct srv_opts *o, int argc, char **argv)
{
	char why[200];
	int ch;

	memset(o, 0, sizeof(*o));
	o->listen_addr = SRV_DEFAULT_LISTEN;
	o->ntickets = 2;
	o->ncpus = 2;
	o->seed = 1;
	o->page_cache = SRV_PAGE_CACHE_DEFAULT;
	s->mode = SRV_MODE_SW;
	s->use_sendfile = true;
	s->handshake_timeout = 10;
	s->header_timeout = 10;
	s->idle_timeout = 60;
	s->send_timeout = 60;
	while (
	    (ch = getopt_long(argc, argv, "hl:m:r:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			o->listen_addr = optarg;
			break;
		case 'm':
			if (strcmp(optarg, "userland") == 0)
				s->mode = SRV_MODE_USERLAND;
			else if (strcmp(optarg, "sw") == 0)
				s->mode = SRV_MODE_SW;
			else if (strcmp(optarg, "nic") == 0)
				s->mode = SRV_MODE_NIC;
			else
				errx(2,
				    "--mode: %s: expected userland, sw or "
				    "nic",
				    optarg);
			break;
		case 'r':
			o->root = optarg;
			break;
		case 'v':
			s->verbose = true;
			break;
		case OPT_BACKEND:
			if (tx_kern_set_backend(optarg, why, sizeof(why)) != 0)
				errx(2,
				    "--backend: %s: no such crypto backend; %s",
				    optarg, why);
			break;
		case OPT_CERT:
			o->cert = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_NOSENDFILE:
			s->use_sendfile = false;
			break;
		case OPT_TLS10:
			o->version = TLS1_VERSION;
			break;
		case OPT_TLS11:
			o->version = TLS1_1_VERSION;
			break;
		case OPT_TLS12:
			o->version = TLS1_2_VERSION;
			break;
		case OPT_TLS13:
			o->version = TLS1_3_VERSION;
			break;
		case OPT_CIPHERS:
			o->ciphers = optarg;
			break;
		case OPT_SUITES:
			o->suites = optarg;
			break;
		case OPT_TICKETS:
			o->ntickets = numarg(optarg, 0, 16, "--num-tickets");
			break;
		case OPT_CPUS:
			o->ncpus = numarg(optarg, 1, 256, "--cpus");
			break;
		case OPT_PAGE_CACHE:
			o->page_cache = sizearg(optarg, SRV_PAGE_CACHE_MIN,
			    SRV_PAGE_CACHE_MAX, "--page-cache-size");
			break;
		case OPT_DISK_READS:
			if (strcmp(optarg, "sync") == 0)
				o->disk_async = false;
			else if (strcmp(optarg, "async") == 0)
				o->disk_async = true;
			else
				errx(2,
				    "--disk-reads: %s: expected sync or async",
				    optarg);
			break;
		case OPT_IDLE:
			s->idle_timeout =
			    numarg(optarg, 0, 86400, "--idle-timeout");
			break;
		case OPT_HANDSHAKE_TMO:
			s->handshake_timeout =
			    numarg(optarg, 0, 86400, "--handshake-timeout");
			break;
		case OPT_HEADER_TMO:
			s->header_timeout =
			    numarg(optarg, 0, 86400, "--header-timeout");
			break;
		case OPT_SEND_TMO:
			s->send_timeout =
			    numarg(optarg, 0, 86400, "--send-timeout");
			break;
		case OPT_SNDBUF:
			s->sndbuf = sndbuf_arg(optarg);
			break;
		case OPT_STATS:
			s->stats_url = true;
			break;
		case OPT_STATS_DESCR:
			s->stats_descr = true;
			break;
		case OPT_NIC:
			o->nic = optarg;
			o->nic_opts = true;
			break;
		case OPT_LOSS:
			o->loss = probarg(optarg, "--loss");
			o->nic_opts = true;
			break;
		case OPT_REORDER:
			o->reorder = probarg(optarg, "--reorder");
			o->nic_opts = true;
			break;
		case OPT_DUP:
			o->dup = probarg(optarg, "--dup");
			o->nic_opts = true;
			break;
		case OPT_FLIP_EVERY:
			o->flip_every = u64arg(optarg, 1, UINT64_C(1) << 40,
			    "--route-flip-every");
			o->nic_opts = true;
			break;
		case OPT_FLIP_TO:
			o->flip_to = optarg;
			o->nic_opts = true;
			break;
		case OPT_LINK:
			o->link = optarg;
			o->nic_opts = true;
			break;
		case OPT_SEED:
			o->seed = u64arg(optarg, 0, UINT64_MAX, "--seed");
			o->nic_opts = true;
			break;
		case OPT_SYSCTL:
			sysctl_arg(optarg);
			o->sysctls = true;
			break;
		case OPT_TRACE:
			if (o->ntraces == SRV_MAX_TRACES)
				errx(2, "--trace: at most %d files",
				    SRV_MAX_TRACES);
			o->traces[o->ntraces++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		errx(2,
		    "unexpected argument '%s' (every setting is an option; "
		    "see --help)",
		    argv[optind]);
	if (o->nic_opts && s->mode != SRV_MODE_NIC)
		errx(2,
		    "--nic, --loss, --reorder, --dup, --route-flip-*, --link "
		    "and --seed need --mode nic");
	if (s->mode == SRV_MODE_NIC)
		srv_nic_options(o);
	if (o->sysctls && s->mode == SRV_MODE_USERLAND)
		errx(2,
		    "--sysctl: sets the simulated kernel's tunables; --mode "
		    "userland has no simulated kernel");
	if (s->sndbuf != 0 && s->mode == SRV_MODE_USERLAND)
		errx(2,
		    "--sndbuf: sizes the simulated socket; --mode userland "
		    "writes to the real one");
	if ((o->cert == NULL) != (o->key == NULL))
		errx(2, "--cert and --key go together");
	o->sslen = parse_listen(o->listen_addr, &o->ss);
	if (o->sslen < 0)
		errx(2,
		    "--listen: %s: expected ADDR:PORT (a numeric address, "
		    "[v6]:PORT for IPv6, PORT 0..65535)",
		    o->listen_addr);
}

/*
 * The TLS context: protocol pins, suites, tickets and the hand-over's
 * callbacks (ssl_tap.c).  Returns SSLKEYLOGFILE's stream, or NULL.
 */
static FILE *
srv_tls_context(struct server *s, const struct srv_opts *o)
{
	const char *keylog;
	FILE *keylog_fp;

	s->ctx = SSL_CTX_new(TLS_server_method());
	if (s->ctx == NULL)
		errx(1, "SSL_CTX_new");
	keylog_fp = NULL;
	keylog = getenv("SSLKEYLOGFILE");
	if (keylog != NULL && *keylog != '\0') {
		keylog_fp = fopen(keylog, "a");
		if (keylog_fp == NULL)
			err(1, "SSLKEYLOGFILE %s", keylog);
	}
	if (sim_tap_setup_ctx(s->ctx, keylog_fp) != 0)
		errx(1, "sim_tap_setup_ctx");
	if (o->version != 0) {
		if (o->version < TLS1_2_VERSION)
			/* SHA-1 handshake signatures need level 0. */
			SSL_CTX_set_security_level(s->ctx, 0);
		if (!SSL_CTX_set_min_proto_version(s->ctx, o->version) ||
		    !SSL_CTX_set_max_proto_version(s->ctx, o->version))
			errx(1, "cannot pin the protocol version");
	}
	if (o->ciphers != NULL && !SSL_CTX_set_cipher_list(s->ctx, o->ciphers))
		errx(2, "--ciphers: %s: no usable cipher", o->ciphers);
	if (o->suites != NULL && !SSL_CTX_set_ciphersuites(s->ctx, o->suites))
		errx(2, "--ciphersuites: %s: no usable suite", o->suites);
	/*
	 * NewSessionTickets go out under the application key before the
	 * hand-over; ssl_tap.c counts them into rec_seq.
	 */
	SSL_CTX_set_num_tickets(s->ctx, o->ntickets);
	SSL_CTX_set_mode(s->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/*
	 * A FIN without close_notify ends the client's requests, not our
	 * responses: libssl reports it like close_notify
	 * (SSL_ERROR_ZERO_RETURN) instead of failing the connection, so the
	 * response in progress can still be written.  conn_info_cb() tells the
	 * two apart for the log.
	 */
	SSL_CTX_set_options(s->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	return (keylog_fp);
}

/* The generated document root: a few files, one of a few MiB. */
static void
sample_write(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX + 64];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wx");
	if (fp == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0)
		err(1, "%s", path);
}

static void
sample_cleanup(void)
{
	char path[PATH_MAX + 32];
	struct dirent *de;
	DIR *d;

	if (sample_dir[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s/www", sample_dir);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			char f[PATH_MAX + 320];

			if (de->d_name[0] == '.')
				continue;
			snprintf(f, sizeof(f), "%s/%s", path, de->d_name);
			unlink(f);
		}
		closedir(d);
	}
	rmdir(path);
	snprintf(path, sizeof(path), "%s/cert.pem", sample_dir);
	unlink(path);
	rmdir(sample_dir);
}

/* The generated files' directory, removed at exit. */
static void
sample_mkdir(void)
{
	const char *tmp;

	if (sample_dir[0] != '\0')
		return;
	tmp = getenv("TMPDIR");
	snprintf(sample_dir, sizeof(sample_dir), "%s/sim_server.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(sample_dir) == NULL)
		err(1, "mkdtemp");
	atexit(sample_cleanup);
}

static void
sample_root(char *root, size_t rootlen)
{
	static const char index_html[] =
	    "<!DOCTYPE html>\n<html><head><title>ktlsim</title></head>\n"
	    "<body><h1>ktlsim sim_server</h1>\n"
	    "<p>Every byte of this page was framed and encrypted by the\n"
	    "simulated FreeBSD kernel TLS (in --mode sw).</p>\n"
	    "<ul><li><a href=\"hello.txt\">hello.txt</a></li>\n"
	    "<li><a href=\"random.bin\">random.bin</a> (4 MiB)</li>\n"
	    "<li><a href=\"empty.txt\">empty.txt</a></li></ul>\n"
	    "</body></html>\n";
	static const char hello[] = "Hello from the simulated kernel.\n";
	uint8_t *buf;
	size_t len;

	sample_mkdir();
	snprintf(root, rootlen, "%s/www", sample_dir);
	if (mkdir(root, 0755) != 0)
		err(1, "%s", root);
	sample_write(root, "index.html", index_html, sizeof(index_html) - 1);
	sample_write(root, "hello.txt", hello, sizeof(hello) - 1);
	sample_write(root, "empty.txt", "", 0);
	/* Not a multiple of the record size: exercises the short tail. */
	len = 4 * 1024 * 1024 + 1234;
	buf = malloc(len);
	if (buf == NULL || RAND_bytes(buf, len) != 1)
		errx(1, "random sample");
	sample_write(root, "random.bin", buf, len);
	free(buf);
}

/*
 * The document root and the certificate: the given ones, or the embedded
 * defaults (a sample root, a self-signed certificate written to
 * cert.pem next to it so that clients can trust it).  certpath gets the
 * generated certificate's path, or "".
 */
static void
srv_defaults(struct server *s, const struct srv_opts *o, char *certpath,
    size_t certlen)
{
	struct stat sb;
	EVP_PKEY *pkey;
	X509 *x509;
	FILE *fp;

	if (o->root == NULL)
		sample_root(s->root, sizeof(s->root));
	else {
		if (realpath(o->root, s->root) == NULL)
			err(2, "--root %s", o->root);
		if (stat(s->root, &sb) != 0 || !S_ISDIR(sb.st_mode))
			errx(2, "--root %s: not a directory", o->root);
	}
	certpath[0] = '\0';
	if (o->cert != NULL) {
		if (SSL_CTX_use_certificate_chain_file(s->ctx, o->cert) != 1)
			errx(1, "--cert %s: cannot load", o->cert);
		if (SSL_CTX_use_PrivateKey_file(s->ctx, o->key,
			SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(s->ctx) != 1)
			errx(1, "--key %s: cannot load or does not match",
			    o->key);
		return;
	}
	if (sim_cert_make("localhost", &pkey, &x509) != 0)
		errx(1, "cannot generate a certificate");
	if (SSL_CTX_use_certificate(s->ctx, x509) != 1 ||
	    SSL_CTX_use_PrivateKey(s->ctx, pkey) != 1)
		errx(1, "cannot use the generated certificate");
	/* With --root given, the certificate still needs a home. */
	sample_mkdir();
	snprintf(certpath, certlen, "%s/cert.pem", sample_dir);
	fp = fopen(certpath, "wx");
	if (fp == NULL || PEM_write_X509(fp, x509) != 1 || fclose(fp) != 0)
		err(1, "%s", certpath);
	X509_free(x509);
	EVP_PKEY_free(pkey);
}

/*
 * The simulated kernel for --mode sw (without it every connection uses
 * userland TLS) and the --trace outputs, which record its records.
 */
static void
srv_kernel(struct server *s, const struct srv_opts *o)
{
	char why[200];

	if (s->mode != SRV_MODE_USERLAND) {
		tx_kern_page_cache(o->page_cache);
		tx_kern_disk_sync(!o->disk_async);
	}
	if (s->mode == SRV_MODE_NIC &&
	    tx_kern_init(o->ncpus, &o->nicconf, why, sizeof(why)) != 0)
		errx(1, "--mode nic: %s", why);
	if (s->mode == SRV_MODE_SW &&
	    tx_kern_init(o->ncpus, NULL, why, sizeof(why)) != 0) {
		srv_log("simulated kernel unavailable (%s); every connection "
			"uses userland TLS",
		    why);
		s->mode = SRV_MODE_USERLAND;
	}
	if (o->ntraces > 0) {
		if (s->mode == SRV_MODE_USERLAND)
			errx(2,
			    "--trace: needs --mode sw or nic (traces record "
			    "the simulated kernel's records)");
		if (bridge_open(&s->trace, (char **)o->traces, o->ntraces, why,
			sizeof(why)) != 0)
			errx(1, "--trace: %s", why);
	}
}

static void
srv_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{

	evconnlistener_enable(arg);
}

static void
srv_accept_error_cb(struct evconnlistener *lst, void *arg)
{
	struct server *s = arg;
	struct timeval tv = { 0, 100000 };
	int error;

	/*
	 * EMFILE and friends: keep serving the connections we have, and stop
	 * accepting for a moment instead of spinning on the pending one.
	 */
	error = EVUTIL_SOCKET_ERROR();
	s->accept_errors++;
	if (s->accept_errors < 10 || s->accept_errors % 1000 == 0)
		srv_log("accept: %s (%ju so far)", strerror(error),
		    (uintmax_t)s->accept_errors);
	if (s->accept_resume == NULL)
		s->accept_resume =
		    evtimer_new(s->base, srv_accept_resume_cb, lst);
	if (s->accept_resume != NULL) {
		evconnlistener_disable(lst);
		evtimer_add(s->accept_resume, &tv);
	}
}

static int
sockaddr_port(const struct sockaddr_storage *ss)
{

	return (ntohs(ss->ss_family == AF_INET6 ?
		((const struct sockaddr_in6 *)ss)->sin6_port :
		((const struct sockaddr_in *)ss)->sin_port));
}

/*
 * Bind and listen, log where, and print ready-made client command lines
 * (certpath: the generated certificate to trust, or "").
 */
static struct evconnlistener *
srv_listen(struct server *s, const struct srv_opts *o, const char *certpath)
{
	struct sockaddr_storage ss;
	struct evconnlistener *lst;
	const char *addr, *ca;
	char bound[80];
	socklen_t sslen;

	ss = o->ss;
	lst = evconnlistener_new_bind(s->base, conn_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    SOMAXCONN, (struct sockaddr *)&ss, o->sslen);
	if (lst == NULL)
		err(1, "listen on %s", o->listen_addr);
	evconnlistener_set_error_cb(lst, srv_accept_error_cb);

	/* Port 0 picks a free port (tests); report the real one. */
	addr = o->listen_addr;
	s->port = sockaddr_port(&ss);
	sslen = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(lst), (struct sockaddr *)&ss,
		&sslen) == 0) {
		format_peer((struct sockaddr *)&ss, bound, sizeof(bound));
		addr = bound;
		s->port = sockaddr_port(&ss);
	}
	srv_log("listening on %s, root %s, mode %s%s%s, %s%s", addr, s->root,
	    srv_mode_name(s->mode),
	    s->mode != SRV_MODE_USERLAND ? " backend " : "",
	    s->mode != SRV_MODE_USERLAND ? tx_kern_backend() : "",
	    s->use_sendfile ? "sendfile" : "write",
	    s->stats_url ? ", /stats" : "");
	ca = certpath[0] != '\0' ? certpath : NULL;
	printf("Try:\n"
	       "  curl --http1.1 %s%s https://localhost:%d/index.html\n"
	       "  curl --http1.1 %s%s -o random.bin "
	       "https://localhost:%d/random.bin\n"
	       "  printf 'GET /hello.txt HTTP/1.1\\r\\nHost: localhost"
	       "\\r\\nConnection: close\\r\\n\\r\\n' | openssl s_client "
	       "-quiet -connect %s -servername localhost%s%s\n",
	    ca != NULL ? "--cacert " : "-k", ca != NULL ? ca : "", s->port,
	    ca != NULL ? "--cacert " : "-k", ca != NULL ? ca : "", s->port,
	    addr, ca != NULL ? " -CAfile " : "", ca != NULL ? ca : "");
	fflush(stdout);
	return (lst);
}

static void
srv_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	if (sig == SIGUSR1) {
		srv_dump_counters(s, stdout);
		return;
	}
	srv_log("signal %d, exiting", (int)sig);
	event_base_loopexit(s->base, NULL);
}

/*
 * Serve until SIGINT or SIGTERM (SIGUSR1 dumps the counters), then close
 * every connection and dump the counters.  sigs are blocked on entry and
 * on return: only this thread takes them, and only while the loop runs.
 */
static void
srv_run(struct server *s, const sigset_t *sigs)
{
	static const int signals[] = { SIGUSR1, SIGINT, SIGTERM };
	struct event *ev[sizeof(signals) / sizeof(signals[0])];
	size_t i;

	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		ev[i] = evsignal_new(s->base, signals[i], srv_signal_cb, s);
		if (ev[i] == NULL)
			errx(1, "evsignal_new");
		event_add(ev[i], NULL);
	}
	pthread_sigmask(SIG_UNBLOCK, sigs, NULL);
	event_base_dispatch(s->base);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);

	conn_close_all(s);
	srv_dump_counters(s, stdout);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		event_free(ev[i]);
	if (s->accept_resume != NULL)
		event_free(s->accept_resume);
}

int
main(int argc, char **argv)
{
	struct srv_opts opts;
	struct evconnlistener *lst;
	char certpath[PATH_MAX + 32];
	FILE *keylog_fp;
	struct rlimit rl;
	sigset_t sigs;

	/* Never serve "TLS" whose records are plaintext (meson_options.txt). */
	if (tx_kern_null_cipher()) {
		fprintf(stderr,
		    "sim_server: REFUSING TO START: this build has the null "
		    "cipher (-Dnull_cipher=true), whose records are NOT "
		    "encrypted; it is for fuzzing and benchmarks only.  "
		    "Reconfigure with -Dnull_cipher=false.\n");
		return (2);
	}
	srv_options(&srv, &opts, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	/* Each connection is a descriptor: allow as many as we may. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Kernel workers call back into the event loop (tw_output). */
	if (evthread_use_pthreads() != 0)
		errx(1, "evthread_use_pthreads");
	keylog_fp = srv_tls_context(&srv, &opts);
	srv_defaults(&srv, &opts, certpath, sizeof(certpath));

	/*
	 * Only the event loop's thread takes SIGINT, SIGTERM and SIGUSR1:
	 * the kernel's worker threads start with them blocked.  After the
	 * loop ends they are blocked here too, so a second signal during
	 * shutdown cannot kill the process before the traces are flushed.
	 */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	srv_kernel(&srv, &opts);

	srv.base = event_base_new();
	if (srv.base == NULL)
		errx(1, "event_base_new");
	lst = srv_listen(&srv, &opts, certpath);
	srv_run(&srv, &sigs);

	evconnlistener_free(lst);
	tx_kern_fini();
	/* After the workers stopped: no hook can run any more. */
	bridge_close(srv.trace);
	srv.trace = NULL;
	event_base_free(srv.base);
	SSL_CTX_free(srv.ctx);
	if (keylog_fp != NULL)
		fclose(keylog_fp);
	return (0);
}
