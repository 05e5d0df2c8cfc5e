/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ktls_bench: how much the simulated kernel costs on top of the cipher.
 * Prints figures; asserts nothing (docs/running.md, "Benchmarks").
 *
 *   evp            AES-256-GCM over one hot 16 KiB buffer with plain EVP
 *   write          ksim_write through the real-time runner's workers
 *   sendfile       ksim_sendfile from a warm page cache
 *   sendfile-cold  the same with every page read by the simulated disk
 *   sendfile-net   warm sendfile as sim_server sends: the default send
 *                  buffer, which TCP autosizes, and a wire of -w bytes that
 *                  fills and is emptied by a thread of its own (the
 *                  client), at -r MB/s or as fast as it can
 *   encrypt        the encryption stage alone: warm sendfile's records,
 *                  1 MiB per connection, queued while the workers are
 *                  held, then timed while the workers alone encrypt and
 *                  send them
 *   pages-copy     no pipeline: each 16 KiB of the warm cache copied to
 *                  new pages on one thread, the memory traffic of reading
 *                  cached pages into new ones
 *   pages-cipher   no pipeline: the backend's kb_encrypt() from the warm
 *                  cache's pages into new pages on one thread, the
 *                  cipher's limit on the memory sendfile really reads
 *
 * -p picks paths (comma-separated; default all).  For each: MB/s of
 * plaintext and CPU seconds per GiB (the whole process, every thread),
 * then where that CPU went: the producers (the threads that call write
 * or sendfile), each KTLS worker, the runner's task threads (disk reads),
 * the wire's drainer, and the rest.  -c sets the workers (default 2), -n
 * the connections (default one per worker), each with a producer thread
 * of its own and flow id i, so connection i goes to worker i mod -c.
 * -b NAME picks the kernel's crypto backend (evp, ipsecmb, auto:
 * ktls_backend_select(); default auto); the evp line is always plain EVP.
 *
 * -d BYTES instead: records per second through the deterministic runner
 * (one CPU, writes of BYTES, so one record each up to 16384), the figure
 * a -Dnull_cipher=true build is for: framing and socket-buffer cost
 * without the cipher's (docs/fuzzing.md, "Null cipher builds").
 */

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <netinet/in.h>

#include <err.h>
#include <getopt.h>
#include <pthread.h>
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
#include "sys/mbuf.h"
#include "sys/socketvar.h"
#include "vm/vm_pager.h"
#include "sim/bench_clock.h"

#define BENCH_MAXCONN 64
#define BENCH_MAXCPU 64
#define BENCH_FILESIZE (64 << 20)
#define BENCH_RECORD 16384
#define BENCH_SNDBUF (1 << 20)

enum bench_path {
	P_EVP,
	P_WRITE,
	P_SENDFILE,
	P_COLD,
	P_NET,
	P_ENCRYPT,
	P_PAGES_COPY,
	P_PAGES_CIPHER,
	P_NPATHS
};

static const char *const path_names[P_NPATHS] = {
	"evp",
	"write",
	"sendfile",
	"sendfile-cold",
	"sendfile-net",
	"encrypt",
	"pages-copy",
	"pages-cipher",
};

struct bench {
	struct platform *pl;
	int ncpus;
	int nconn;
	uint64_t total;
	int fd; /* the file sendfile sends, BENCH_FILESIZE bytes */
	size_t wire_cap;
	double wire_rate; /* bytes per second; 0: as fast as it can */
};

struct meter {
	double wall0, cpu0;
	uint64_t wk0[BENCH_MAXCPU], tasks0;
	long csw0;
	struct cost_counts c0;
	/* Filled in by the path before meter_report(). */
	double producer_cpu, wire_cpu;
};

static double
process_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static long
process_csw_now(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_nvcsw + ru.ru_nivcsw);
}

static void
meter_start(struct bench *b, struct meter *mt)
{

	memset(mt, 0, sizeof(*mt));
	for (int i = 0; b->pl != NULL && i < b->ncpus; i++)
		mt->wk0[i] = sim_rt_cpu_ns(b->pl, i);
	if (b->pl != NULL)
		mt->tasks0 = sim_rt_cpu_ns(b->pl, -1);
	mt->csw0 = process_csw_now();
	cost_snap(&mt->c0);
	mt->wall0 = bench_wall_now();
	mt->cpu0 = process_cpu_now();
}

/* The first line is the one scripts/bench.py reads. */
static void
meter_line(const char *what, uint64_t bytes, double wall, double cpu)
{

	printf("%-14s %8.1f MB/s  %6.2f CPU s/GiB  (%.2f s wall, %.2f s CPU, "
	       "%llu MiB)\n",
	    what, bytes / wall / 1e6, cpu / (bytes / 1073741824.0), wall, cpu,
	    (unsigned long long)(bytes >> 20));
}

static void
meter_report(struct bench *b, const struct meter *mt, const char *what,
    uint64_t bytes)
{
	struct cost_counts c;
	struct cost_q q;
	double cpu, gib, wk[BENCH_MAXCPU], wsum, tasks, rest;
	long csw;

	cpu = process_cpu_now() - mt->cpu0;
	meter_line(what, bytes, bench_wall_now() - mt->wall0, cpu);
	csw = process_csw_now() - mt->csw0;
	gib = bytes / 1073741824.0;
	if (b->pl != NULL) {
		/* Where the CPU went, by thread. */
		wsum = 0;
		for (int i = 0; i < b->ncpus; i++) {
			wk[i] = (sim_rt_cpu_ns(b->pl, i) - mt->wk0[i]) / 1e9;
			wsum += wk[i];
		}
		tasks = (sim_rt_cpu_ns(b->pl, -1) - mt->tasks0) / 1e9;
		rest = cpu - wsum - tasks - mt->producer_cpu - mt->wire_cpu;
		printf("%-14s CPU s/GiB: producers %.3f, workers %.3f (", "",
		    mt->producer_cpu / gib, wsum / gib);
		for (int i = 0; i < b->ncpus; i++)
			printf("%s%.3f", i > 0 ? " " : "", wk[i] / gib);
		printf("), tasks %.3f, wire %.3f, rest %.3f; %.0f csw/GiB\n",
		    tasks / gib, mt->wire_cpu / gib, rest / gib, csw / gib);
	}
	/* Where the kernel moved the data (sim.cost, docs/cost-model.md). */
	memset(&c, 0, sizeof(c));
	c.payload = bytes;
	cost_snap_since(&mt->c0, &c);
	if (c.wire > 0 && cost_measured(&c, &q) == 0)
		printf("%-14s per byte: %.3f copied, %.3f read and %.3f "
		       "written by the CPU, %.3f by the wire\n",
		    "", q.copy, q.mem_rd, q.mem_wr, q.nic_dma);
	fflush(stdout);
}

static void
bench_evp(struct bench *b)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t key[32], nonce[12], tag[16], aad[13];
	uint8_t *buf;
	struct meter mt;
	int outl;

	buf = malloc(BENCH_RECORD);
	if (buf == NULL)
		err(1, "malloc");
	RAND_bytes(key, sizeof(key));
	RAND_bytes(buf, BENCH_RECORD);
	memset(aad, 0, sizeof(aad));
	memset(nonce, 0, sizeof(nonce));
	ctx = EVP_CIPHER_CTX_new();
	EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, NULL);
	meter_start(b, &mt);
	for (uint64_t done = 0; done < b->total; done += BENCH_RECORD) {
		memcpy(nonce, &done, sizeof(done));
		EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce);
		EVP_EncryptUpdate(ctx, NULL, &outl, aad, sizeof(aad));
		EVP_EncryptUpdate(ctx, buf, &outl, buf, BENCH_RECORD);
		EVP_EncryptFinal_ex(ctx, tag, &outl);
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
	}
	meter_report(b, &mt, "evp", b->total);
	EVP_CIPHER_CTX_free(ctx);
	free(buf);
}

/* ---- the wire of sendfile-net --------------------------------------- */

/*
 * What sim_server's real socket is to its simulated one: it takes what
 * fits (tw_output() returns a short count and TCP keeps the rest), a
 * reader empties it, and a wire that was full is kicked once it has room
 * again (tcp_output_kick(), as sim_server's writable event does).  One
 * drainer thread empties every connection's wire.
 */
struct bench_wire {
	struct socket *so;
	size_t level;
	bool blocked;
};

static struct {
	pthread_mutex_t mtx;
	pthread_cond_t cv;
	size_t cap;
	double rate;
	bool stop;
	int n;
	struct bench_wire w[BENCH_MAXCONN];
	double cpu; /* the drainer's, once it stopped */
} bw = { .mtx = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static ssize_t
bench_wire_output(void *arg, const struct iovec *iov, int iovcnt)
{
	struct bench_wire *w = arg;
	size_t len, n;

	len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	pthread_mutex_lock(&bw.mtx);
	n = bw.cap - w->level;
	if (n > len)
		n = len;
	if (n < len)
		w->blocked = true;
	/* The reader of an empty wire sleeps; data wakes it. */
	if (w->level == 0 && n > 0)
		pthread_cond_signal(&bw.cv);
	w->level += n;
	pthread_mutex_unlock(&bw.mtx);
	return ((ssize_t)n);
}

static void *
bench_wire_drainer(void *arg)
{
	struct socket *kick[BENCH_MAXCONN];
	struct timespec ts;
	double c0, ns;
	size_t drained;
	int nkick;
	bool any;

	(void)arg;
	c0 = bench_cpu_now();
	pthread_mutex_lock(&bw.mtx);
	for (;;) {
		any = false;
		for (int i = 0; i < bw.n; i++)
			any |= bw.w[i].level > 0;
		if (!any) {
			if (bw.stop)
				break;
			pthread_cond_wait(&bw.cv, &bw.mtx);
			continue;
		}
		drained = 0;
		nkick = 0;
		for (int i = 0; i < bw.n; i++) {
			drained += bw.w[i].level;
			bw.w[i].level = 0;
			if (bw.w[i].blocked) {
				bw.w[i].blocked = false;
				kick[nkick++] = bw.w[i].so;
			}
		}
		pthread_mutex_unlock(&bw.mtx);
		/* A paced wire takes as long as its rate says. */
		if (bw.rate > 0) {
			ns = drained / bw.rate * 1e9;
			ts.tv_sec = (time_t)(ns / 1e9);
			ts.tv_nsec = (long)(ns - ts.tv_sec * 1e9);
			nanosleep(&ts, NULL);
		}
		for (int i = 0; i < nkick; i++)
			tcp_output_kick(kick[i]);
		pthread_mutex_lock(&bw.mtx);
	}
	bw.cpu = bench_cpu_now() - c0;
	pthread_mutex_unlock(&bw.mtx);
	return (NULL);
}

/* ---- connections and producers --------------------------------------- */

static struct socket *
bench_socket(uint32_t flowid, const struct tcp_wire *tw)
{
	static const uint8_t key[32] = { 1 }, iv[12] = { 2 };
	struct tls_enable en;
	struct socket *so;

	if (ksim_socket(SOCK_STREAM, &so) != 0 ||
	    ksim_connect(so, tw, flowid) != 0)
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
	return (so);
}

/* A connection into a sink that takes everything, with a fixed buffer. */
static struct socket *
bench_sink_socket(uint32_t flowid, u_int sndbuf)
{
	struct tcp_wire tw = { bench_sink_output, NULL, NULL };
	struct socket *so;

	so = bench_socket(flowid, &tw);
	if (ksim_set_sndbuf(so, sndbuf, 2048) != 0)
		errx(1, "ksim_set_sndbuf %u", sndbuf);
	return (so);
}

struct producer {
	pthread_t thr;
	struct bench *b;
	struct socket *so;
	bool write;
	uint64_t bytes;
	double cpu;
};

/* Write 64 KiB buffers, or sendfile the whole file, until bytes are sent. */
static void *
producer_main(void *arg)
{
	struct producer *p = arg;
	uint8_t *buf;
	double c0;
	ssize_t n;
	off_t chunk, sent;

	buf = NULL;
	if (p->write) {
		buf = malloc(65536);
		if (buf == NULL)
			err(1, "malloc");
		RAND_bytes(buf, 65536);
	}
	c0 = bench_cpu_now();
	for (uint64_t done = 0; done < p->bytes; done += chunk) {
		if (p->write) {
			chunk = 65536;
			if (ksim_write(p->so, buf, chunk, &n) != 0)
				errx(1, "ksim_write");
		} else {
			chunk = (off_t)min(p->bytes - done,
			    (uint64_t)BENCH_FILESIZE);
			if (ksim_sendfile(p->so, p->b->fd, 0, chunk, NULL,
				&sent, 0) != 0 ||
			    sent != chunk)
				errx(1, "ksim_sendfile");
		}
	}
	p->cpu = bench_cpu_now() - c0;
	free(buf);
	return (NULL);
}

/*
 * One producer thread per connection, each sending its share of bytes;
 * returns their CPU seconds together.
 */
static double
run_producers(struct bench *b, struct socket **so, bool write, uint64_t bytes)
{
	struct producer p[BENCH_MAXCONN];
	double cpu;

	for (int i = 0; i < b->nconn; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].b = b;
		p[i].so = so[i];
		p[i].write = write;
		p[i].bytes = bytes / b->nconn;
		if (pthread_create(&p[i].thr, NULL, producer_main, &p[i]) != 0)
			errx(1, "pthread_create");
	}
	cpu = 0;
	for (int i = 0; i < b->nconn; i++) {
		pthread_join(p[i].thr, NULL);
		cpu += p[i].cpu;
	}
	return (cpu);
}

/* Close the connections once all they hold is out. */
static void
close_sockets(struct bench *b, struct socket **so)
{

	sim_rt_quiesce(b->pl);
	for (int i = 0; i < b->nconn; i++)
		ksim_close(so[i]);
	sim_rt_quiesce(b->pl);
}

static void
bench_write(struct bench *b)
{
	struct socket *so[BENCH_MAXCONN];
	struct meter mt;

	for (int i = 0; i < b->nconn; i++)
		so[i] = bench_sink_socket(i, BENCH_SNDBUF);
	meter_start(b, &mt);
	mt.producer_cpu = run_producers(b, so, true, b->total);
	sim_rt_quiesce(b->pl);
	meter_report(b, &mt, "write", b->total);
	close_sockets(b, so);
}

/* The page cache warm (every page of the file resident) or empty. */
static void
cache_prepare(struct bench *b, bool warm)
{
	struct socket *so;
	off_t sent;

	disk_profile.dp_cache_pages =
	    warm ? (u_int)(BENCH_FILESIZE / PAGE_SIZE + 16) : 0;
	disk_cache_flush();
	if (!warm)
		return;
	so = bench_sink_socket(0, BENCH_SNDBUF);
	if (ksim_sendfile(so, b->fd, 0, 0, NULL, &sent, 0) != 0)
		errx(1, "ksim_sendfile");
	sim_rt_quiesce(b->pl);
	ksim_close(so);
	sim_rt_quiesce(b->pl);
}

static void
bench_sendfile(struct bench *b, bool cold)
{
	struct socket *so[BENCH_MAXCONN];
	struct meter mt;

	cache_prepare(b, !cold);
	for (int i = 0; i < b->nconn; i++)
		so[i] = bench_sink_socket(i, BENCH_SNDBUF);
	meter_start(b, &mt);
	mt.producer_cpu = run_producers(b, so, false, b->total);
	sim_rt_quiesce(b->pl);
	meter_report(b, &mt, cold ? "sendfile-cold" : "sendfile", b->total);
	close_sockets(b, so);
	disk_cache_flush();
}

static void
bench_net(struct bench *b)
{
	struct socket *so[BENCH_MAXCONN];
	struct tcp_wire tw;
	struct ksim_sbstat st;
	struct meter mt;
	pthread_t drainer;
	bool busy;

	cache_prepare(b, true);
	bw.cap = b->wire_cap;
	bw.rate = b->wire_rate;
	bw.stop = false;
	bw.n = b->nconn;
	for (int i = 0; i < b->nconn; i++) {
		memset(&bw.w[i], 0, sizeof(bw.w[i]));
		tw.tw_output = bench_wire_output;
		tw.tw_fin = NULL;
		tw.tw_arg = &bw.w[i];
		/* The default send buffer, which TCP autosizes. */
		so[i] = bench_socket(i, &tw);
		bw.w[i].so = so[i];
	}
	if (pthread_create(&drainer, NULL, bench_wire_drainer, NULL) != 0)
		errx(1, "pthread_create");
	meter_start(b, &mt);
	mt.producer_cpu = run_producers(b, so, false, b->total);
	/* Until every byte went through the wire. */
	do {
		sim_rt_quiesce(b->pl);
		busy = false;
		for (int i = 0; i < b->nconn && !busy; i++) {
			ksim_sbstat(so[i], &st);
			busy = st.ccc > 0;
		}
		if (busy)
			usleep(1000);
	} while (busy);
	pthread_mutex_lock(&bw.mtx);
	bw.stop = true;
	pthread_cond_signal(&bw.cv);
	pthread_mutex_unlock(&bw.mtx);
	pthread_join(drainer, NULL);
	mt.wire_cpu = bw.cpu;
	meter_report(b, &mt, "sendfile-net", b->total);
	ksim_sbstat(so[0], &st);
	printf("%-14s send buffer grew to %u bytes; wire %zu bytes, %s\n", "",
	    st.hiwat, b->wire_cap, b->wire_rate > 0 ? "paced" : "unpaced");
	close_sockets(b, so);
	disk_cache_flush();
}

/*
 * The workers alone: in rounds, this thread queues 1 MiB of warm sendfile
 * per connection while the workers are held, then lets them go and times
 * them until they have encrypted and sent it all.  Rounds of 1 MiB, the
 * other paths' send buffer, keep the pages in flight as many as there.
 */
static void
bench_encrypt(struct bench *b)
{
	struct socket *so[BENCH_MAXCONN];
	uint64_t wk0[BENCH_MAXCPU], wk[BENCH_MAXCPU], tasks0, tasks;
	struct rusage ru0, ru1;
	double wall, w0, cpu, c0, prod, gib, wsum;
	long vcsw, ivcsw;
	off_t off, sent;

	cache_prepare(b, true);
	for (int i = 0; i < b->nconn; i++)
		so[i] = bench_sink_socket(i, BENCH_SNDBUF + (64 << 10));
	memset(wk, 0, sizeof(wk));
	wall = cpu = prod = 0;
	tasks = 0;
	vcsw = ivcsw = 0;
	off = 0;
	for (uint64_t done = 0; done < b->total;
	     done += (uint64_t)BENCH_SNDBUF * b->nconn) {
		sim_rt_hold(b->pl, true);
		c0 = bench_cpu_now();
		for (int i = 0; i < b->nconn; i++) {
			if (ksim_sendfile(so[i], b->fd, off, BENCH_SNDBUF, NULL,
				&sent, 0) != 0)
				errx(1, "ksim_sendfile");
			off = (off + BENCH_SNDBUF) % BENCH_FILESIZE;
		}
		prod += bench_cpu_now() - c0;
		for (int i = 0; i < b->ncpus; i++)
			wk0[i] = sim_rt_cpu_ns(b->pl, i);
		tasks0 = sim_rt_cpu_ns(b->pl, -1);
		getrusage(RUSAGE_SELF, &ru0);
		c0 = process_cpu_now();
		w0 = bench_wall_now();
		sim_rt_hold(b->pl, false);
		sim_rt_quiesce(b->pl);
		wall += bench_wall_now() - w0;
		cpu += process_cpu_now() - c0;
		getrusage(RUSAGE_SELF, &ru1);
		vcsw += ru1.ru_nvcsw - ru0.ru_nvcsw;
		ivcsw += ru1.ru_nivcsw - ru0.ru_nivcsw;
		for (int i = 0; i < b->ncpus; i++)
			wk[i] += sim_rt_cpu_ns(b->pl, i) - wk0[i];
		tasks += sim_rt_cpu_ns(b->pl, -1) - tasks0;
	}
	gib = b->total / 1073741824.0;
	wsum = 0;
	for (int i = 0; i < b->ncpus; i++)
		wsum += wk[i] / 1e9;
	meter_line("encrypt", b->total, wall, cpu);
	printf("%-14s CPU s/GiB: queueing %.3f (not in the line above), "
	       "workers %.3f (",
	    "", prod / gib, wsum / gib);
	for (int i = 0; i < b->ncpus; i++)
		printf("%s%.3f", i > 0 ? " " : "", wk[i] / 1e9 / gib);
	printf("), tasks %.3f; %.0f MB/s per worker CPU second\n",
	    tasks / 1e9 / gib, b->total / wsum / 1e6);
	/*
	 * Workers' CPU over wall time is how many ran at once; switches
	 * that were waits (voluntary) against preemptions by other
	 * processes (involuntary) tell a lock from a busy machine.
	 */
	printf("%-14s %.2f workers busy on average; per GiB %.0f voluntary "
	       "and %.0f involuntary context switches\n",
	    "", wsum / wall, vcsw / gib, ivcsw / gib);
	fflush(stdout);
	close_sockets(b, so);
	disk_cache_flush();
}

/*
 * No pipeline: the warm cache's pages, 16 KiB at a time, copied or
 * encrypted (the backend's kb_encrypt(), as ktls_encrypt_record() calls
 * it) into four new pages, on this thread.  The pages are looked up and
 * the new ones allocated before the clock starts, so that only the
 * memory and the cipher are timed; the pipeline's lookups and
 * allocations are its own overhead.
 */
static void
bench_pages(struct bench *b, bool cipher)
{
	static uint8_t plain[BENCH_RECORD];
	struct iovec in = { plain, sizeof(plain) };
	struct uio uio = { &in, 1, 0, sizeof(plain), UIO_WRITE };
	struct vm_page **pa, *own[BENCH_RECORD / PAGE_SIZE];
	struct vm_page *out[nitems(own)];
	struct iovec oiov[nitems(own)];
	struct ktls_session *tls;
	struct vm_object *obj;
	struct socket *so;
	struct meter mt;
	struct stat st;
	struct mbuf *m;
	size_t npages;
	uint64_t seq;
	int enq, npg;

	cache_prepare(b, true);
	so = bench_sink_socket(0, BENCH_SNDBUF);
	tls = so->so_snd.sb_tls_info;
	/* One record, framed as ktls_frame() leaves it for a worker. */
	m = m_uiotombuf(&uio, M_WAITOK, 0, BENCH_RECORD, M_EXTPG);
	if (m == NULL || m->m_next != NULL)
		errx(1, "m_uiotombuf");
	ktls_frame(m, tls, &enq, TLS_RLTYPE_APP);
	npg = m->m_epg_npgs;
	memcpy(own, m->m_epg_pa, sizeof(own[0]) * npg);
	npages = BENCH_FILESIZE / PAGE_SIZE;
	pa = calloc(npages, sizeof(*pa));
	if (pa == NULL)
		err(1, "calloc");
	if (fstat(b->fd, &st) != 0 ||
	    vm_pager_allocate_sim(b->fd, &st, &obj) != 0)
		errx(1, "vm_pager_allocate_sim");
	vm_page_grab_pages_sim(obj, 0, pa, (int)npages);
	for (size_t i = 0; i < npages; i++)
		if (pa[i] == NULL)
			errx(1, "page %zu not resident", i);
	for (int i = 0; i < npg; i++) {
		out[i] = vm_page_alloc_sim();
		oiov[i].iov_base = vm_page_data(out[i]);
		oiov[i].iov_len = PAGE_SIZE;
	}
	seq = 0;
	meter_start(b, &mt);
	for (uint64_t done = 0; done < b->total; done += BENCH_RECORD) {
		struct vm_page **rec = pa + (done % BENCH_FILESIZE) / PAGE_SIZE;

		if (cipher) {
			memcpy(m->m_epg_pa, rec, sizeof(rec[0]) * npg);
			m->m_epg_seqno = seq++;
			if (tls->be->kb_encrypt(tls, m, oiov, npg) != 0)
				errx(1, "kb_encrypt");
		} else {
			for (int i = 0; i < npg; i++)
				memcpy(oiov[i].iov_base, vm_page_data(rec[i]),
				    PAGE_SIZE);
		}
	}
	mt.producer_cpu = process_cpu_now() - mt.cpu0;
	meter_report(b, &mt, cipher ? "pages-cipher" : "pages-copy", b->total);
	for (int i = 0; i < npg; i++)
		vm_page_release(out[i]);
	for (size_t i = 0; i < npages; i++)
		vm_page_release(pa[i]);
	free(pa);
	vm_object_deallocate(obj);
	/* Give the record its own pages and session reference back. */
	memcpy(m->m_epg_pa, own, sizeof(own[0]) * npg);
	m->m_epg_tls = NULL;
	ktls_free(tls);
	m->m_flags &= ~M_NOTREADY;
	m->m_epg_nrdy = 0;
	m_freem(m);
	ksim_close(so);
	sim_rt_quiesce(b->pl);
	disk_cache_flush();
}

/*
 * Records of reclen bytes written one at a time into a socket of the
 * deterministic runner, which runs the worker between batches.
 */
static void
bench_det(struct bench *b, size_t reclen)
{
	struct platform *pl;
	struct socket *so;
	struct meter mt;
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
	so = bench_sink_socket(0, BENCH_SNDBUF);
	nrec = 0;
	meter_start(b, &mt);
	for (uint64_t done = 0; done < b->total; done += reclen) {
		if (ksim_write(so, buf, reclen, &n) != 0 || (size_t)n != reclen)
			errx(1, "ksim_write");
		nrec += (reclen + 16383) / 16384;
		if (nrec % 32 == 0)
			sim_det_run(pl);
	}
	sim_det_run(pl);
	wall = bench_wall_now() - mt.wall0;
	/* One thread: per CPU second is the figure a busy machine keeps. */
	cpu = process_cpu_now() - mt.cpu0;
	meter_report(b, &mt, "det-write", b->total);
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
	    "usage: ktls_bench [-b evp|ipsecmb|auto] [-c workers] "
	    "[-n connections] [-m MiB]\n"
	    "                  [-p path,...] [-w wire-bytes] [-r wire-MB/s]\n"
	    "       ktls_bench [-b ...] [-m MiB] -d record-bytes\n"
	    "paths: evp write sendfile sendfile-cold sendfile-net encrypt "
	    "pages-copy pages-cipher\n");
	exit(1);
}

static void
parse_paths(char *arg, bool *want)
{
	char *tok;
	int i;

	memset(want, 0, sizeof(bool) * P_NPATHS);
	while ((tok = strsep(&arg, ",")) != NULL) {
		for (i = 0; i < P_NPATHS; i++)
			if (strcmp(tok, path_names[i]) == 0)
				break;
		if (i == P_NPATHS) {
			fprintf(stderr, "ktls_bench: -p %s: no such path\n",
			    tok);
			usage();
		}
		want[i] = true;
	}
}

/* A whole number in [lo, hi], or usage(). */
static long
num_arg(const char *s, long lo, long hi)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		usage();
	return (v);
}

int
main(int argc, char **argv)
{
	struct bench b;
	bool want[P_NPATHS];
	char names[64];
	long detlen;
	int ch;

	memset(&b, 0, sizeof(b));
	b.ncpus = 2;
	b.total = 1024;
	b.wire_cap = 256 * 1024;
	detlen = 0;
	for (int i = 0; i < P_NPATHS; i++)
		want[i] = true;
	while ((ch = getopt(argc, argv, "b:c:d:hm:n:p:r:w:")) != -1) {
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
			b.ncpus = (int)num_arg(optarg, 1, BENCH_MAXCPU);
			break;
		case 'd':
			detlen = num_arg(optarg, 1, 16384);
			break;
		case 'm':
			b.total = (uint64_t)num_arg(optarg, 1, 1 << 24);
			break;
		case 'n':
			b.nconn = (int)num_arg(optarg, 1, BENCH_MAXCONN);
			break;
		case 'p':
			parse_paths(optarg, want);
			break;
		case 'r':
			b.wire_rate = num_arg(optarg, 0, 1000000) * 1e6;
			break;
		case 'w':
			b.wire_cap = (size_t)num_arg(optarg, 1, 1 << 30);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (b.nconn == 0)
		b.nconn = b.ncpus;
	b.total <<= 20;

	if (ktls_sim_null_cipher)
		printf("ktls_bench: NULL CIPHER BUILD (-Dnull_cipher=true): "
		       "the kernel's backend %s does not encrypt\n",
		    ktls_backend->kb_name);
	if (detlen > 0) {
		bench_det(&b, (size_t)detlen);
		return (0);
	}
	printf("ktls_bench: AES-256-GCM TLS 1.3, %d worker(s), %d "
	       "connection(s), backend %s\n",
	    b.ncpus, b.nconn, ktls_backend->kb_name);
	if (want[P_EVP])
		bench_evp(&b);
	b.pl = sim_rt_create(b.ncpus);
	platform_set(b.pl);
	if (ktls_init() != 0)
		errx(1, "ktls_init");
	b.fd = bench_random_file(BENCH_FILESIZE);
	if (want[P_WRITE])
		bench_write(&b);
	if (want[P_SENDFILE])
		bench_sendfile(&b, false);
	if (want[P_COLD])
		bench_sendfile(&b, true);
	if (want[P_NET])
		bench_net(&b);
	if (want[P_ENCRYPT])
		bench_encrypt(&b);
	if (want[P_PAGES_COPY])
		bench_pages(&b, false);
	if (want[P_PAGES_CIPHER])
		bench_pages(&b, true);
	close(b.fd);
	ktls_uninit();
	sim_rt_destroy(b.pl);
	return (0);
}
