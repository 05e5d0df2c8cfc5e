/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ktls_bench: how much the simulated kernel costs on top of the cipher.
 * Prints figures; asserts nothing (docs/running.md, "Benchmarks").
 *
 *   evp        AES-256-GCM over 16 KiB buffers with plain EVP: the floor
 *   write      ksim_write through the real-time runner's workers
 *   sendfile   ksim_sendfile from a warm page cache
 *   sendfile-cold  the same with every page read by the simulated disk
 *
 * For each: MB/s of plaintext and CPU seconds per GiB (user + system of
 * the whole process, so worker threads count).  -b NAME picks the
 * kernel's crypto backend for write and sendfile (evp, ipsecmb, auto:
 * ktls_backend_select(); default auto); the evp line is always plain EVP.
 *
 * -d BYTES instead: records per second through the deterministic runner
 * (one CPU, writes of BYTES, so one record each up to 16384), the figure
 * a -Dnull_cipher=true build is for: framing and socket-buffer cost
 * without the cipher's (docs/fuzzing.md, "Null cipher builds").
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "models/disk/disk.h"
#include "opencrypto/ktls.h"
#include "sim/cost_snap.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"
#include "sim/bench_clock.h"

struct meter {
	struct timespec t0;
	struct rusage r0;
	struct cost_counts c0;
};

static void
meter_start(struct meter *mt)
{

	clock_gettime(CLOCK_MONOTONIC, &mt->t0);
	getrusage(RUSAGE_SELF, &mt->r0);
	cost_snap(&mt->c0);
}

static double
tv_sec(const struct timeval *tv)
{

	return (tv->tv_sec + tv->tv_usec / 1e6);
}

static void
meter_report(const struct meter *mt, const char *what, uint64_t bytes)
{
	struct cost_counts c;
	struct timespec t1;
	struct rusage r1;
	struct cost_q q;
	double wall, cpu;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &r1);
	wall =
	    (t1.tv_sec - mt->t0.tv_sec) + (t1.tv_nsec - mt->t0.tv_nsec) / 1e9;
	cpu = tv_sec(&r1.ru_utime) - tv_sec(&mt->r0.ru_utime) +
	    tv_sec(&r1.ru_stime) - tv_sec(&mt->r0.ru_stime);
	printf("%-14s %8.1f MB/s  %6.2f CPU s/GiB  (%.2f s wall, %.2f s CPU, "
	       "%llu MiB)\n",
	    what, bytes / wall / 1e6, cpu / (bytes / 1073741824.0), wall, cpu,
	    (unsigned long long)(bytes >> 20));
	/* Where the kernel moved the data (sim.cost, docs/cost-model.md). */
	memset(&c, 0, sizeof(c));
	c.payload = bytes;
	cost_snap_since(&mt->c0, &c);
	if (c.wire > 0 && cost_measured(&c, &q) == 0)
		printf("%-14s per byte: %.3f copied, %.3f read and %.3f "
		       "written by the CPU, %.3f by the wire\n",
		    "", q.copy, q.mem_rd, q.mem_wr, q.nic_dma);
}

static void
bench_evp(uint64_t total)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t key[32], nonce[12], tag[16], aad[13];
	uint8_t *buf;
	struct meter mt;
	int outl;

	buf = malloc(16384);
	if (buf == NULL)
		err(1, "malloc");
	RAND_bytes(key, sizeof(key));
	RAND_bytes(buf, 16384);
	memset(aad, 0, sizeof(aad));
	ctx = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL);
	meter_start(&mt);
	for (uint64_t done = 0; done < total; done += 16384) {
		memcpy(nonce, &done, sizeof(done));
		EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce);
		EVP_EncryptUpdate(ctx, NULL, &outl, aad, sizeof(aad));
		EVP_EncryptUpdate(ctx, buf, &outl, buf, 16384);
		EVP_EncryptFinal_ex(ctx, tag, &outl);
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
	}
	meter_report(&mt, "evp", total);
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
}

static struct socket *
bench_socket(uint32_t flowid)
{
	static const uint8_t key[32] = { 1 }, iv[12] = { 2 };
	struct tcp_wire tw = { bench_sink_output, NULL, NULL };
	struct tls_enable en;
	struct socket *so;

	if (ksim_socket(SOCK_STREAM, &so) != 0 ||
	    ksim_connect(so, &tw, flowid) != 0)
		errx(1, "socket");
	memset(&en, 0, sizeof(en));
	en.cipher_algorithm = CRYPTO_AES_NIST_GCM_16;
	en.cipher_key = key;
	en.cipher_key_len = 32;
	en.iv = iv;
	en.iv_len = 12;
	en.tls_vmajor = TLS_MAJOR_VER_ONE;
	en.tls_vminor = TLS_MINOR_VER_THREE;
	if (ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE, &en,
		sizeof(en)) != 0)
		errx(1, "TCP_TXTLS_ENABLE");
	ksim_set_sndbuf(so, 1024 * 1024, 2048);
	return (so);
}

static void
bench_write(struct platform *pl, uint64_t total, int nsock)
{
	struct socket *so[8];
	struct meter mt;
	uint8_t *buf;
	ssize_t n;

	buf = malloc(65536);
	if (buf == NULL)
		err(1, "malloc");
	RAND_bytes(buf, 65536);
	for (int i = 0; i < nsock; i++)
		so[i] = bench_socket(i);
	meter_start(&mt);
	for (uint64_t done = 0; done < total; done += 65536) {
		if (ksim_write(so[(done >> 16) % nsock], buf, 65536, &n) != 0)
			errx(1, "ksim_write");
	}
	sim_rt_quiesce(pl);
	meter_report(&mt, "write", total);
	for (int i = 0; i < nsock; i++)
		ksim_close(so[i]);
	sim_rt_quiesce(pl);
	free(buf);
}

static void
bench_sendfile(struct platform *pl, uint64_t total, uint64_t filesize,
    bool cold)
{
	char path[] = "/tmp/ktls_bench-XXXXXX";
	struct socket *so;
	struct meter mt;
	uint8_t *buf;
	off_t sent;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		err(1, "mkstemp");
	unlink(path);
	buf = malloc(1 << 20);
	if (buf == NULL)
		err(1, "malloc");
	RAND_bytes(buf, 1 << 20);
	for (uint64_t off = 0; off < filesize; off += 1 << 20)
		if (write(fd, buf, 1 << 20) != 1 << 20)
			err(1, "write");
	free(buf);
	disk_profile.dp_cache_pages = cold ? 0 : (u_int)(filesize / 4096 + 16);
	disk_cache_flush();
	so = bench_socket(0);
	if (!cold) {
		/* Warm the cache: one pass before measuring. */
		if (ksim_sendfile(so, fd, 0, 0, NULL, &sent, 0) != 0)
			errx(1, "ksim_sendfile");
		sim_rt_quiesce(pl);
	}
	meter_start(&mt);
	for (uint64_t done = 0; done < total; done += filesize) {
		if (ksim_sendfile(so, fd, 0, 0, NULL, &sent, 0) != 0)
			errx(1, "ksim_sendfile");
	}
	sim_rt_quiesce(pl);
	meter_report(&mt, cold ? "sendfile-cold" : "sendfile", total);
	ksim_close(so);
	sim_rt_quiesce(pl);
	close(fd);
	disk_cache_flush();
}

/*
 * Records of reclen bytes written one at a time into a socket of the
 * deterministic runner, which runs the worker between batches.
 */
static void
bench_det(uint64_t total, size_t reclen)
{
	struct platform *pl;
	struct socket *so;
	struct meter mt;
	struct timespec t0, t1;
	struct rusage r1;
	uint64_t nrec;
	uint8_t *buf;
	ssize_t n;
	double cpu, wall;

	buf = malloc(reclen);
	if (buf == NULL)
		err(1, "malloc");
	RAND_bytes(buf, (int)reclen);
	pl = sim_det_create(1, 1);
	platform_set(pl);
	if (ktls_init() != 0)
		errx(1, "ktls_init");
	so = bench_socket(0);
	nrec = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	meter_start(&mt);
	for (uint64_t done = 0; done < total; done += reclen) {
		if (ksim_write(so, buf, reclen, &n) != 0 || (size_t)n != reclen)
			errx(1, "ksim_write");
		nrec += (reclen + 16383) / 16384;
		if (nrec % 32 == 0)
			sim_det_run(pl);
	}
	sim_det_run(pl);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &r1);
	meter_report(&mt, "det-write", total);
	wall = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* One thread: per CPU second is the figure a busy machine keeps. */
	cpu = tv_sec(&r1.ru_utime) - tv_sec(&mt.r0.ru_utime) +
	    tv_sec(&r1.ru_stime) - tv_sec(&mt.r0.ru_stime);
	printf("det-records    %8.0f records/s, %.0f per CPU second  (%llu "
	       "records of %zu bytes, backend %s)\n",
	    nrec / wall, cpu > 0 ? nrec / cpu : 0.0, (unsigned long long)nrec,
	    reclen, ktls_backend->kb_name);
	ksim_close(so);
	sim_det_run(pl);
	ktls_uninit();
	sim_det_destroy(pl);
	platform_set(NULL);
	free(buf);
}

static void
usage(void)
{

	fprintf(stderr,
	    "usage: ktls_bench [-b evp|ipsecmb|auto] [-c cpus] [-m MiB] "
	    "[-d record-bytes]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	struct platform *pl;
	char names[64];
	uint64_t total;
	long detlen;
	int ch, ncpus;

	ncpus = 2;
	total = 1024;
	detlen = 0;
	while ((ch = getopt(argc, argv, "b:c:d:hm:")) != -1) {
		switch (ch) {
		case 'b':
			if (ktls_backend_select(optarg) != 0) {
				ktls_backend_names(names, sizeof(names));
				errx(1,
				    "-b %s: no such backend; this build has %s "
				    "(and auto)",
				    optarg, names);
			}
			break;
		case 'c':
			ncpus = atoi(optarg);
			break;
		case 'd':
			detlen = strtol(optarg, NULL, 10);
			if (detlen < 1 || detlen > 16384)
				usage();
			break;
		case 'm':
			total = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (ncpus < 1 || total == 0)
		usage();
	total <<= 20;

	if (ktls_sim_null_cipher)
		printf("ktls_bench: NULL CIPHER BUILD (-Dnull_cipher=true): "
		       "the kernel's backend %s does not encrypt\n",
		    ktls_backend->kb_name);
	if (detlen > 0) {
		bench_det(total, (size_t)detlen);
		return (0);
	}
	printf("ktls_bench: AES-256-GCM TLS 1.3, %d worker(s), backend %s\n",
	    ncpus, ktls_backend->kb_name);
	bench_evp(total);
	pl = sim_rt_create(ncpus);
	platform_set(pl);
	ktls_init();
	bench_write(pl, total, ncpus);
	bench_sendfile(pl, total, 64 << 20, false);
	bench_sendfile(pl, total, 64 << 20, true);
	ktls_uninit();
	sim_rt_destroy(pl);
	return (0);
}
