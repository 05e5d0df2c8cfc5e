/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ssl_write_bench: the userland baseline of docs/performance.md, what a
 * server without KTLS pays per byte: read(2) 16 KiB of a file into a
 * buffer, SSL_write() it, repeat.  A real libssl connection (handshake
 * with a libssl client over memory BIOs); the records libssl writes are
 * dropped instead of sent, so the figure is libssl's framing and cipher
 * plus the read(2) copy, without a network.  Prints figures; asserts
 * nothing.
 *
 *   userland VERSION SUITE MB/s CPU-s/GiB
 */

#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "sim/server/cert.h"
#include "sim/bench_clock.h"

#define FILE_BYTES (64u << 20)
#define CHUNK 16384

/* Move what one side wrote to the other side's input. */
static void
pump(BIO *from, BIO *to)
{
	char buf[4096];
	int n;

	while ((n = BIO_read(from, buf, sizeof(buf))) > 0)
		if (BIO_write(to, buf, n) != n)
			errx(1, "BIO_write");
}

static void
bench_version(int version, uint64_t total, int fd)
{
	SSL_CTX *sctx, *cctx;
	SSL *s, *c;
	BIO *s_in, *s_out, *c_in, *c_out;
	EVP_PKEY *pkey;
	X509 *cert;
	char *buf;
	double w0, c0, wall, cpu;
	ssize_t n;
	int rs, rc;

	if (sim_cert_make("localhost", &pkey, &cert) != 0)
		errx(1, "sim_cert_make");
	sctx = SSL_CTX_new(TLS_server_method());
	cctx = SSL_CTX_new(TLS_client_method());
	if (sctx == NULL || cctx == NULL ||
	    SSL_CTX_use_certificate(sctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(sctx, pkey) != 1)
		errx(1, "SSL_CTX");
	SSL_CTX_set_min_proto_version(sctx, version);
	SSL_CTX_set_max_proto_version(sctx, version);
	/* AES-256-GCM in both versions, as the end-to-end runs use. */
	SSL_CTX_set_ciphersuites(sctx, "TLS_AES_256_GCM_SHA384");
	SSL_CTX_set_cipher_list(sctx, "ECDHE-ECDSA-AES256-GCM-SHA384");
	s = SSL_new(sctx);
	c = SSL_new(cctx);
	s_in = BIO_new(BIO_s_mem());
	s_out = BIO_new(BIO_s_mem());
	c_in = BIO_new(BIO_s_mem());
	c_out = BIO_new(BIO_s_mem());
	SSL_set_bio(s, s_in, s_out);
	SSL_set_bio(c, c_in, c_out);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	for (int i = 0; i < 20; i++) {
		rc = SSL_do_handshake(c);
		pump(c_out, s_in);
		rs = SSL_do_handshake(s);
		pump(s_out, c_in);
		if (rc == 1 && rs == 1)
			break;
	}
	if (SSL_is_init_finished(s) != 1)
		errx(1, "handshake did not finish");

	buf = malloc(CHUNK);
	if (buf == NULL)
		err(1, "malloc");
	w0 = bench_wall_now();
	c0 = bench_cpu_now();
	for (uint64_t done = 0; done < total; done += CHUNK) {
		n = read(fd, buf, CHUNK);
		if (n == 0) {
			lseek(fd, 0, SEEK_SET);
			n = read(fd, buf, CHUNK);
		}
		if (n <= 0)
			err(1, "read");
		if (SSL_write(s, buf, (int)n) != n)
			errx(1, "SSL_write");
		/* The wire: what libssl wrote is gone. */
		(void)BIO_reset(s_out);
	}
	cpu = bench_cpu_now() - c0;
	wall = bench_wall_now() - w0;
	printf("userland %s %s %.1f MB/s %.3f CPU-s/GiB\n", SSL_get_version(s),
	    SSL_get_cipher_name(s), total / wall / 1e6,
	    cpu / (total / 1073741824.0));
	fflush(stdout);
	free(buf);
	SSL_free(s);
	SSL_free(c);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	EVP_PKEY_free(pkey);
	X509_free(cert);
}

static void
usage(void)
{

	fprintf(stderr, "usage: ssl_write_bench [-m MiB]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	uint64_t total = 256;
	int ch, fd;

	while ((ch = getopt(argc, argv, "hm:")) != -1) {
		switch (ch) {
		case 'm':
			total = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (total == 0 || optind != argc)
		usage();
	total <<= 20;

	fd = bench_random_file(FILE_BYTES);
	bench_version(TLS1_3_VERSION, total, fd);
	bench_version(TLS1_2_VERSION, total, fd);
	close(fd);
	return (0);
}
