/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ktls_aead_bench: the bare cost of each software crypto backend, per
 * suite, with nothing of the pipeline around it: one framed 16 KiB record
 * encrypted in place again and again through the backend's kb_encrypt(),
 * as ktls_encrypt_record() (src/kern/uipc_ktls.c) calls it, on the calling
 * thread.  This is the limit the pipeline figures of ktls_bench are
 * compared with (docs/performance.md).  Prints figures; asserts nothing.
 *
 * One line per backend and suite:
 *
 *   aead BACKEND SUITE TAKEN MB/s CPU-s/GiB
 *
 * TAKEN is the backend that took the session: a suite the asked-for
 * backend declines goes to the EVP one (ktls_try_sw()), and the line says
 * so rather than claiming a figure for a backend that did not run.  For
 * CBC a comment line follows, saying whether the EVP backend sealed the
 * records with OpenSSL's stitched AES-CBC-HMAC cipher or in two passes
 * (src/opencrypto/ktls_ocf.c); -t makes it two passes
 * (ktls_sim_cbc_stitched off), for comparing the two.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "opencrypto/ktls.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"
#include "sim/bench_clock.h"

/* The suites of the limit table, as TCP_TXTLS_ENABLE takes them. */
struct bench_suite {
	const char *name;
	int cipher;
	int keylen;
	int auth;
	int authkeylen;
	int vminor;
	int ivlen;
};

static const struct bench_suite suites[] = {
	{ "aes-256-gcm", CRYPTO_AES_NIST_GCM_16, 32, 0, 0, TLS_MINOR_VER_THREE,
	    12 },
	{ "chacha20-poly1305", CRYPTO_CHACHA20_POLY1305, 32, 0, 0,
	    TLS_MINOR_VER_THREE, 12 },
	/* TLS 1.2: the explicit IV is in the record, none in the key block. */
	{ "aes-128-cbc-hmac-sha1", CRYPTO_AES_CBC, 16, CRYPTO_SHA1_HMAC, 20,
	    TLS_MINOR_VER_TWO, 0 },
};

static void
bench_one(const char *bename, const struct bench_suite *bs, uint64_t total)
{
	static const uint8_t key[32] = { 1 }, iv[12] = { 2 }, akey[20] = { 3 };
	static uint8_t plain[16384];
	struct iovec in = { plain, sizeof(plain) };
	struct uio uio = { &in, 1, 0, sizeof(plain), UIO_WRITE };
	struct iovec iov[MBUF_PEXT_MAX_PGS];
	struct tcp_wire tw = { bench_sink_output, NULL, NULL };
	struct ktls_session *tls;
	struct tls_enable en;
	struct socket *so;
	struct mbuf *m;
	double w0, c0, wall, cpu;
	uint64_t stitched0, nrec;
	int enq, off;

	if (ktls_backend_select(bename) != 0)
		errx(1, "backend %s: not in this build", bename);
	if (ksim_socket(SOCK_STREAM, &so) != 0 || ksim_connect(so, &tw, 0) != 0)
		errx(1, "socket");
	memset(&en, 0, sizeof(en));
	en.cipher_algorithm = bs->cipher;
	en.cipher_key = key;
	en.cipher_key_len = bs->keylen;
	en.iv = bs->ivlen ? iv : NULL;
	en.iv_len = bs->ivlen;
	en.auth_algorithm = bs->auth;
	en.auth_key = bs->authkeylen ? akey : NULL;
	en.auth_key_len = bs->authkeylen;
	en.tls_vmajor = TLS_MAJOR_VER_ONE;
	en.tls_vminor = (uint8_t)bs->vminor;
	if (ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE, &en,
		sizeof(en)) != 0)
		errx(1, "%s %s: TCP_TXTLS_ENABLE refused", bename, bs->name);
	tls = so->so_snd.sb_tls_info;

	/* One record, framed once, as ktls_frame() leaves it for a worker. */
	m = m_uiotombuf(&uio, M_WAITOK, 0, 16384, M_EXTPG);
	if (m == NULL || m->m_next != NULL)
		errx(1, "m_uiotombuf");
	ktls_frame(m, tls, &enq, TLS_RLTYPE_APP);
	off = m->m_epg_1st_off;
	for (int i = 0; i < m->m_epg_npgs; i++, off = 0) {
		iov[i].iov_base = vm_page_data(m->m_epg_pa[i]) + off;
		iov[i].iov_len = m_epg_pagelen(m, i, off);
	}

	stitched0 = counter_u64_fetch(ocf_cbc_stitched);
	nrec = 0;
	w0 = bench_wall_now();
	c0 = bench_cpu_now();
	for (uint64_t done = 0; done < total; done += sizeof(plain)) {
		m->m_epg_seqno = nrec++;
		if (tls->be->kb_encrypt(tls, m, iov, m->m_epg_npgs) != 0)
			errx(1, "%s %s: kb_encrypt failed", bename, bs->name);
	}
	cpu = bench_cpu_now() - c0;
	wall = bench_wall_now() - w0;
	printf("aead %s %s %s %.1f MB/s %.3f CPU-s/GiB\n", bename, bs->name,
	    tls->be->kb_name, total / wall / 1e6, cpu / (total / 1073741824.0));
	if (bs->cipher == CRYPTO_AES_CBC)
		printf("# %s %s: %ju of %ju records by the stitched cipher\n",
		    bename, bs->name,
		    (uintmax_t)(counter_u64_fetch(ocf_cbc_stitched) -
			stitched0),
		    (uintmax_t)nrec);
	fflush(stdout);

	/* Give the record back its session reference, then free both. */
	m->m_epg_tls = NULL;
	ktls_free(tls);
	m->m_flags &= ~M_NOTREADY;
	m->m_epg_nrdy = 0;
	m_freem(m);
	ksim_close(so);
}

static void
usage(void)
{

	fprintf(stderr, "usage: ktls_aead_bench [-b backend] [-m MiB] [-t]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	const char *only = NULL;
	struct platform *pl;
	uint64_t total = 256;
	int ch;

	while ((ch = getopt(argc, argv, "b:hm:t")) != -1) {
		switch (ch) {
		case 'b':
			only = optarg;
			break;
		case 'm':
			total = strtoull(optarg, NULL, 10);
			break;
		case 't':
			ktls_sim_cbc_stitched = false;
			break;
		default:
			usage();
		}
	}
	if (total == 0 || optind != argc)
		usage();
	total <<= 20;

	/* A backend by name: "auto" is no name of ktls_backends[]. */
	if (only != NULL &&
	    (strcmp(only, "auto") == 0 || ktls_backend_select(only) != 0))
		errx(1, "-b %s: no such backend in this build", only);
	pl = sim_rt_create(1);
	platform_set(pl);
	ktls_init();
	for (int b = 0; ktls_backends[b] != NULL; b++) {
		if (only != NULL &&
		    strcmp(only, ktls_backends[b]->kb_name) != 0)
			continue;
		for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++)
			bench_one(ktls_backends[b]->kb_name, &suites[s], total);
	}
	sim_rt_quiesce(pl);
	ktls_uninit();
	sim_rt_destroy(pl);
	return (0);
}
