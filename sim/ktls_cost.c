/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ktls_cost: the cost model (models/cost, docs/cost-model.md) beside what
 * a run of the simulated kernel counted, per payload byte, for each
 * transmit mode; then the throughput the model predicts from per-quantity
 * costs, some measured here (the cipher's and memcpy's cycles per byte).
 *
 *   userland     pread(2) into a user buffer, AES-GCM into a record
 *                buffer, write(2) of each record to a plain socket
 *   sw-write     write(2) to a software KTLS socket
 *   sw-sendfile  sendfile(2) from a warm page cache to the same
 *   nic          from the model only: the simulated kernel has no ifnet
 *                TLS (ktls_try_ifnet() answers ENXIO)
 *
 * -A and -C give the cipher's and memcpy's cycles per byte instead of
 * measuring them here (docs/cost-model.md uses them for the paper's host).
 *
 * The application is nonblocking and event driven, as nginx is: it writes
 * until the send buffer is full (a short write), then waits for the wire
 * to drain it, which counts one kevent(2) and one context switch.  The
 * wire here takes nothing until the application waits; then it takes all.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "sim/cost_snap.h"
#include "sim/runner/runner.h"
#include "sys/ktls.h"
#include "sys/platform.h"
#include "sys/socketvar.h"
#include "sim/bench_clock.h"

#define IOBUF_MAX (1024 * 1024)

struct run {
	struct platform *pl;
	struct socket *so;
	bool open; /* the wire takes bytes */
	struct cost_counts c;
};

static void (*wq_wakeup_orig)(struct platform *, int);
static struct run *cur_run;

/* Each ktls worker wakeup is a context switch the model counts. */
static void
count_wq_wakeup(struct platform *pl, int idx)
{

	if (cur_run != NULL)
		cur_run->c.wakeups++;
	wq_wakeup_orig(pl, idx);
}

static ssize_t
wire_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct run *r = arg;
	size_t n = 0;

	if (!r->open)
		return (0);
	for (int i = 0; i < iovcnt; i++)
		n += iov[i].iov_len;
	return ((ssize_t)n);
}

/* The application waits (kevent) until the wire has drained the buffer. */
static void
wait_drain(struct run *r, bool counted)
{

	if (counted) {
		r->c.syscalls++;
		r->c.fills++;
	}
	sim_det_run(r->pl);
	r->open = true;
	tcp_output_kick(r->so);
	sim_det_run(r->pl);
	tcp_output_kick(r->so);
	r->open = false;
}

static void
enable_tls(struct socket *so, int minor)
{
	static const uint8_t key[16] = { 1 }, iv[12] = { 2 };
	struct tls_enable en;

	memset(&en, 0, sizeof(en));
	en.cipher_algorithm = CRYPTO_AES_NIST_GCM_16;
	en.cipher_key = key;
	en.cipher_key_len = sizeof(key);
	en.iv = iv;
	en.iv_len = minor == TLS_MINOR_VER_THREE ? 12 : 4;
	en.tls_vmajor = TLS_MAJOR_VER_ONE;
	en.tls_vminor = minor;
	if (ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_ENABLE, &en,
		sizeof(en)) != 0)
		errx(1, "TCP_TXTLS_ENABLE");
}

static void
run_open(struct run *r, struct platform *pl, const struct cost_params *p,
    int minor, bool tls)
{
	struct tcp_wire tw = { wire_output, NULL, r };

	memset(r, 0, sizeof(*r));
	r->pl = pl;
	if (ksim_socket(SOCK_STREAM, &r->so) != 0 ||
	    ksim_connect(r->so, &tw, 0) != 0)
		errx(1, "socket");
	if (tls)
		enable_tls(r->so, minor);
	if (ksim_set_sndbuf(r->so, p->sndbuf, 2048) != 0)
		errx(1, "SO_SNDBUF %u", p->sndbuf);
	ksim_set_nbio(r->so, true);
	cur_run = r;
}

static void
run_close(struct run *r)
{

	r->open = true;
	ksim_close(r->so);
	sim_det_run(r->pl);
	cur_run = NULL;
}

/* write(2) of len bytes, waiting whenever the buffer fills. */
static void
write_all(struct run *r, const uint8_t *buf, size_t len)
{
	ssize_t n;
	int error;

	while (len > 0) {
		r->c.syscalls++;
		error = ksim_write(r->so, buf, len, &n);
		if (error != 0 && error != EWOULDBLOCK)
			errc(1, error, "write");
		buf += n;
		len -= n;
		if (len > 0)
			wait_drain(r, true);
	}
}

static void
mode_sw_write(struct platform *pl, const struct cost_params *p, int minor,
    uint64_t total, struct cost_counts *out)
{
	struct cost_counts before;
	struct run r;
	uint8_t *buf;

	buf = malloc(IOBUF_MAX);
	if (buf == NULL)
		err(1, "malloc");
	RAND_bytes(buf, IOBUF_MAX);
	run_open(&r, pl, p, minor, true);
	cost_snap(&before);
	for (uint64_t done = 0; done < total; done += IOBUF_MAX)
		write_all(&r, buf, IOBUF_MAX);
	wait_drain(&r, false);
	cost_snap_since(&before, &r.c);
	r.c.payload = total;
	*out = r.c;
	run_close(&r);
	free(buf);
}

static void
mode_sw_sendfile(struct platform *pl, const struct cost_params *p, int minor,
    uint64_t total, int fd, struct cost_counts *out)
{
	struct cost_counts before;
	struct run r;
	off_t off, sent;
	int error;

	run_open(&r, pl, p, minor, true);
	/* Warm the page cache (and the socket): not measured. */
	r.open = true;
	for (off = 0; off < (off_t)total; off += sent) {
		error =
		    ksim_sendfile(r.so, fd, off, total - off, NULL, &sent, 0);
		if (error != 0 && error != EAGAIN)
			errc(1, error, "sendfile");
		sim_det_run(pl);
		tcp_output_kick(r.so);
	}
	r.open = false;
	memset(&r.c, 0, sizeof(r.c));
	cost_snap(&before);
	for (off = 0; off < (off_t)total; off += sent) {
		r.c.syscalls++;
		error =
		    ksim_sendfile(r.so, fd, off, total - off, NULL, &sent, 0);
		if (error != 0 && error != EAGAIN)
			errc(1, error, "sendfile");
		if (off + sent < (off_t)total)
			wait_drain(&r, true);
	}
	wait_drain(&r, false);
	cost_snap_since(&before, &r.c);
	r.c.payload = total;
	*out = r.c;
	run_close(&r);
}

/*
 * Userland TLS as a server does it, on a plain simulated socket: the
 * library's records are opaque bytes to the kernel.  The read(2) copy and
 * the cipher happen in this process; they are counted here, where they
 * happen.
 */
static void
mode_userland(struct platform *pl, const struct cost_params *p, int minor,
    uint64_t total, int fd, struct cost_counts *out)
{
	struct cost_counts before;
	EVP_CIPHER_CTX *ctx;
	uint8_t key[16] = { 1 }, nonce[12] = { 2 }, *ubuf, *rec;
	struct run r;
	size_t want, got, rlen;
	uint64_t done, seq;
	ssize_t n;
	int outl;

	ubuf = malloc(p->io_size);
	rec = malloc(p->record_size + p->hdr_len + p->trl_len);
	ctx = EVP_CIPHER_CTX_new();
	if (ubuf == NULL || rec == NULL || ctx == NULL)
		err(1, "malloc");
	EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key, NULL);
	run_open(&r, pl, p, minor, false);
	cost_snap(&before);
	seq = 0;
	for (done = 0; done < total; done += got) {
		want = total - done < p->io_size ? total - done : p->io_size;
		r.c.syscalls++;
		n = pread(fd, ubuf, want, (off_t)done);
		if (n <= 0)
			err(1, "pread");
		got = (size_t)n;
		r.c.user_copy += got;
		for (size_t o = 0; o < got; o += rlen) {
			rlen =
			    got - o < p->record_size ? got - o : p->record_size;
			memset(rec, 0x17, p->hdr_len);
			memcpy(nonce + 4, &seq, sizeof(seq));
			seq++;
			EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce);
			EVP_EncryptUpdate(ctx, NULL, &outl, rec, 5);
			EVP_EncryptUpdate(ctx, rec + p->hdr_len, &outl,
			    ubuf + o, (int)rlen);
			EVP_EncryptFinal_ex(ctx, rec + p->hdr_len + rlen,
			    &outl);
			EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
			    rec + p->hdr_len + rlen);
			r.c.user_crypto_read += rlen;
			r.c.user_crypto_write += rlen + p->hdr_len + p->trl_len;
			write_all(&r, rec, rlen + p->hdr_len + p->trl_len);
		}
	}
	wait_drain(&r, false);
	cost_snap_since(&before, &r.c);
	r.c.payload = total;
	*out = r.c;
	run_close(&r);
	EVP_CIPHER_CTX_free(ctx);
	free(ubuf);
	free(rec);
}

static void
print_row(const char *what, double model, double counted, bool have,
    double scale)
{

	if (have)
		printf("  %-26s %12.6f %12.6f\n", what, model * scale,
		    counted * scale);
	else
		printf("  %-26s %12.6f %12s\n", what, model * scale, "-");
}

static void
print_mode(enum cost_mode mode, const struct cost_params *p,
    const struct cost_counts *c)
{
	struct cost_q mq, cq;

	if (cost_model(mode, p, &mq) != 0)
		errx(1, "bad model parameters");
	memset(&cq, 0, sizeof(cq));
	if (c != NULL && cost_measured(c, &cq) != 0)
		errx(1, "empty run");
	printf("%s%s\n  %-26s %12s %12s\n", cost_mode_name(mode),
	    c == NULL ? " (model only: no ifnet TLS in the simulator)" : "",
	    "per payload byte", "model", "counted");
	print_row("cpu reads", mq.mem_rd, cq.mem_rd, c != NULL, 1);
	print_row("cpu writes", mq.mem_wr, cq.mem_wr, c != NULL, 1);
	print_row("copies", mq.copy, cq.copy, c != NULL, 1);
	print_row("cipher (host)", mq.crypto, cq.crypto, c != NULL, 1);
	print_row("nic dma", mq.nic_dma, cq.nic_dma, c != NULL, 1);
	if (mode == COST_NIC) {
		print_row("  of which resync", mq.resync, 0, false, 1);
		print_row("cipher (nic)", mq.nic_crypto, 0, false, 1);
	}
	print_row("syscalls per MiB", mq.syscalls, cq.syscalls, c != NULL,
	    1 << 20);
	print_row("context switches per MiB", mq.ctxsw, cq.ctxsw, c != NULL,
	    1 << 20);
}

/* Bytes per second of AES-128-GCM over 16 KiB buffers, as ktls_bench. */
static double
measure_aes(void)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t key[16] = { 3 }, nonce[12] = { 0 }, tag[16], buf[16384];
	uint64_t total = 256ULL << 20;
	double t0;
	int outl;

	RAND_bytes(buf, sizeof(buf));
	ctx = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), NULL, key, NULL);
	t0 = bench_cpu_now();
	for (uint64_t done = 0; done < total; done += sizeof(buf)) {
		memcpy(nonce, &done, sizeof(done));
		EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce);
		EVP_EncryptUpdate(ctx, buf, &outl, buf, sizeof(buf));
		EVP_EncryptFinal_ex(ctx, tag, &outl);
	}
	EVP_CIPHER_CTX_free(ctx);
	return (total / (bench_cpu_now() - t0));
}

/* Bytes per second of memcpy between buffers larger than the caches. */
static double
measure_copy(void)
{
	size_t len = 64 << 20;
	uint8_t *a, *b;
	double t0, t;

	a = malloc(len);
	b = malloc(len);
	if (a == NULL || b == NULL)
		err(1, "malloc");
	memset(a, 1, len);
	memset(b, 2, len);
	t0 = bench_cpu_now();
	for (int i = 0; i < 4; i++)
		memcpy(i & 1 ? a : b, i & 1 ? b : a, len);
	t = bench_cpu_now() - t0;
	free(a);
	free(b);
	return (4.0 * len / t);
}

static void
print_throughput(const struct cost_params *p, struct cost_rates *rt,
    double aes_rate, bool aes_given, double copy_rate, bool copy_given)
{
	static const enum cost_mode modes[] = { COST_USERLAND, COST_SW_WRITE,
		COST_SW_SENDFILE, COST_NIC };
	struct cost_eval ev;
	struct cost_q q;

	printf("\nthroughput from the model: %.2f GHz, AES-GCM %.2f "
	       "cycles/byte (%s %.2f GB/s), copy %.2f cycles/byte "
	       "(%s %.2f GB/s),\n  syscall %.0f, context switch %.0f "
	       "cycles; %d cores, %d worker(s), memory %.0f GB/s, link %.0f "
	       "Gb/s\n",
	    rt->cpu_hz / 1e9, rt->aes_cpb, aes_given ? "given:" : "measured",
	    aes_rate / 1e9, rt->copy_cpb, copy_given ? "given:" : "measured",
	    copy_rate / 1e9, rt->syscall_cycles, rt->ctxsw_cycles, rt->ncpu,
	    rt->workers, rt->mem_bw / 1e9, rt->link_bps / 1e9);
	printf("  %-12s %10s %10s %10s %10s %8s\n", "mode", "worker c/B",
	    "ktls c/B", "mem B/B", "Gb/s", "bound");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (cost_model(modes[i], p, &q) != 0)
			errx(1, "bad model parameters");
		cost_evaluate(modes[i], &q, rt, &ev);
		printf("  %-12s %10.3f %10.3f %10.3f %10.1f %8s\n",
		    cost_mode_name(modes[i]), ev.worker_cpb, ev.kthread_cpb,
		    ev.dram_per_byte, ev.bytes_per_sec * 8 / 1e9, ev.bound);
	}
}

static double
cpu_hz_guess(void)
{
	char line[256];
	double mhz = 0;
	FILE *fp;

	fp = fopen("/proc/cpuinfo", "r");
	if (fp == NULL)
		return (3e9);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1)
			break;
	fclose(fp);
	return (mhz > 0 ? mhz * 1e6 : 3e9);
}

static void
usage(void)
{

	fprintf(stderr,
	    "usage: ktls_cost [-v 2|3] [-m MiB] [-r record] [-s sndbuf] "
	    "[-i io_size] [-l rexmit]\n"
	    "                 [-A aes_cycles/B] [-C copy_cycles/B]\n"
	    "                 [-p mlx5|t6] [-d disk_fraction] [-c cores] "
	    "[-w workers] [-H GHz]\n"
	    "                 [-M mem_GB/s] [-L link_Gb/s] [-S syscall_cycles] "
	    "[-X ctxsw_cycles]\n");
	exit(1);
}

static double
num_arg(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		errx(1, "-%s %s: want a number in [%g, %g]", opt, s, lo, hi);
	return (v);
}

int
main(int argc, char **argv)
{
	struct cost_counts cu, cw, cs;
	struct cost_params p;
	struct cost_rates rt;
	struct platform *pl;
	double aes_rate, copy_rate, aes_cpb, copy_cpb;
	uint64_t total;
	int ch, fd, minor;

	cost_params_default(&p);
	memset(&rt, 0, sizeof(rt));
	rt.cpu_hz = cpu_hz_guess();
	rt.syscall_cycles = 1000;
	rt.ctxsw_cycles = 5000;
	rt.ncpu = 4;
	rt.workers = 1;
	rt.mem_bw = 50e9;
	rt.link_bps = 100e9;
	minor = TLS_MINOR_VER_TWO;
	total = 64;
	aes_cpb = copy_cpb = 0;
	while ((ch = getopt(argc, argv,
		    "A:c:C:d:hH:i:l:L:m:M:p:r:s:S:v:w:X:")) != -1) {
		switch (ch) {
		case 'A':
			aes_cpb = num_arg("A", optarg, 0.01, 1000);
			break;
		case 'C':
			copy_cpb = num_arg("C", optarg, 0.01, 1000);
			break;
		case 'c':
			rt.ncpu = (int)num_arg("c", optarg, 1, 1024);
			break;
		case 'd':
			p.disk_fraction = num_arg("d", optarg, 0, 1);
			break;
		case 'H':
			rt.cpu_hz = num_arg("H", optarg, 0.1, 10) * 1e9;
			break;
		case 'i':
			p.io_size = (unsigned)num_arg("i", optarg, 1, 1 << 24);
			break;
		case 'l':
			p.rexmit_rate = num_arg("l", optarg, 0, 1);
			break;
		case 'L':
			rt.link_bps = num_arg("L", optarg, 0.001, 1e6) * 1e9;
			break;
		case 'm':
			total = (uint64_t)num_arg("m", optarg, 1, 1 << 16);
			break;
		case 'M':
			rt.mem_bw = num_arg("M", optarg, 0.001, 1e6) * 1e9;
			break;
		case 'p':
			if (strcmp(optarg, "mlx5") == 0)
				p.resync = COST_RESYNC_MLX5;
			else if (strcmp(optarg, "t6") == 0)
				p.resync = COST_RESYNC_T6;
			else
				errx(1, "-p %s: want mlx5 or t6", optarg);
			break;
		case 'r':
			p.record_size = (unsigned)num_arg("r", optarg, 1,
			    TLS_MAX_MSG_SIZE_V10_2);
			break;
		case 's':
			p.sndbuf =
			    (unsigned)num_arg("s", optarg, 4096, 1 << 24);
			break;
		case 'S':
			rt.syscall_cycles = num_arg("S", optarg, 0, 1e9);
			break;
		case 'v':
			if (strcmp(optarg, "3") == 0)
				minor = TLS_MINOR_VER_THREE;
			else if (strcmp(optarg, "2") != 0)
				errx(1, "-v %s: want 2 or 3", optarg);
			break;
		case 'w':
			rt.workers = (int)num_arg("w", optarg, 1, 1024);
			break;
		case 'X':
			rt.ctxsw_cycles = num_arg("X", optarg, 0, 1e9);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (minor == TLS_MINOR_VER_THREE) {
		p.hdr_len = 5;
		p.trl_len = 17;
	}
	ktls_maxlen = p.record_size;
	total <<= 20;

	pl = sim_det_create(1, 2);
	wq_wakeup_orig = pl->pl_wq_wakeup;
	pl->pl_wq_wakeup = count_wq_wakeup;
	platform_set(pl);
	if (ktls_init() != 0)
		errx(1, "ktls_init");
	fd = bench_random_file(total);
	mode_userland(pl, &p, minor, total, fd, &cu);
	mode_sw_write(pl, &p, minor, total, &cw);
	mode_sw_sendfile(pl, &p, minor, total, fd, &cs);
	close(fd);
	ktls_uninit();
	sim_det_destroy(pl);

	printf("ktls_cost: TLS 1.%d AES-128-GCM, %llu MiB, records %u, MSS %u, "
	       "send buffer %u, retransmitted %.2f%%, resync %s\n\n",
	    minor == TLS_MINOR_VER_THREE ? 3 : 2,
	    (unsigned long long)(total >> 20), p.record_size, p.mss, p.sndbuf,
	    p.rexmit_rate * 100, p.resync == COST_RESYNC_MLX5 ? "mlx5" : "t6");
	print_mode(COST_USERLAND, &p, &cu);
	print_mode(COST_SW_WRITE, &p, &cw);
	print_mode(COST_SW_SENDFILE, &p, &cs);
	print_mode(COST_NIC, &p, NULL);

	/* -A and -C stand for a measurement made elsewhere. */
	aes_rate = aes_cpb > 0 ? rt.cpu_hz / aes_cpb : measure_aes();
	copy_rate = copy_cpb > 0 ? rt.cpu_hz / copy_cpb : measure_copy();
	rt.aes_cpb = rt.cpu_hz / aes_rate;
	rt.copy_cpb = rt.cpu_hz / copy_rate;
	print_throughput(&p, &rt, aes_rate, aes_cpb > 0, copy_rate,
	    copy_cpb > 0);
	return (0);
}
