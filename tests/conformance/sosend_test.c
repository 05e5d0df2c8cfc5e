/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Conformance group S: the write path of sys/kern/uipc_socket.c
 * sosend_generic() around the records it frames.  Generated over
 * tests/lib/suites.h, on both runners; every record is judged by the
 * independent oracle.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf_common.h"
#include "ksim_harness.h"
#include "oracle.h"
#include "sim/runner/runner.h"
#include "suites.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

#define NSEEDS 4

/* --- SO-ENABLE-RACE: TCP_TXTLS_ENABLE while a writer waits ------------- */

/*
 * A writer that started before TCP_TXTLS_ENABLE but got SOCK_IO_SEND_LOCK
 * after it.  sosend_generic() reads the session only once it holds the
 * lock, so its data goes out as it would have without the race: as TLS
 * records if the enable came first, else as plaintext ahead of them.
 */
struct race {
	struct ctx *c;
	const uint8_t *p;
	size_t len;
	int werror, eerror;
	ssize_t written;
};

static void
race_write(void *arg)
{
	struct race *r = arg;

	r->werror = ksim_write(r->c->so, r->p, r->len, &r->written);
}

static void
race_enable(void *arg)
{
	struct race *r = arg;

	r->eerror = harness_enable(r->c->so, &r->c->k);
}

static void
race_unlock(void *arg)
{
	struct race *r = arg;

	sock_io_send_unlock(r->c->so);
}

static void *
race_write_main(void *arg)
{

	race_write(arg);
	return (NULL);
}

static void *
race_enable_main(void *arg)
{

	race_enable(arg);
	return (NULL);
}

/*
 * The wire holds either the writer's bytes in plaintext (it won the lock)
 * or one record carrying them (the enable won).
 */
static void
race_check(struct ctx *c, const uint8_t *p, size_t len)
{
	struct rlog l;
	uint8_t *plain;
	size_t plen;

	if (c->w.len == len && memcmp(c->w.buf, p, len) == 0)
		return;
	ctx_decrypt(c, &plain, &plen, &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(plen, len);
	assert_memory_equal(plain, p, len);
	free(plain);
	rlog_free(&l);
}

static void
test_so_enable_race(void **state)
{
	const struct conf_case *cc = *state;
	pthread_t wt, et;
	struct race r;
	struct ctx c;
	uint8_t *p;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS) * 2; run++) {
		ctx_open_suite(&c, cc, cc->s, run, 77, false);
		p = payload(&c, 1000);
		memset(&r, 0, sizeof(r));
		r.c = &c;
		r.p = p;
		r.len = 1000;
		/* Another sender holds the lock while both arrive. */
		assert_int_equal(sock_io_send_lock(c.so), 0);
		if (cc->runner == HARNESS_DET) {
			/*
			 * In posting order: the write blocks on the lock, the
			 * enable blocks behind it, the unlock wakes both and
			 * the enable, asleep innermost, takes the lock first.
			 */
			sim_det_set_policy(c.h.pl, SIM_DET_FIFO);
			c.h.pl->pl_task_post(c.h.pl, 0, race_write, &r);
			c.h.pl->pl_task_post(c.h.pl, 0, race_enable, &r);
			c.h.pl->pl_task_post(c.h.pl, 0, race_unlock, &r);
			harness_run(&c.h);
		} else {
			/* Whoever wins the lock, the outcome must be whole. */
			assert_int_equal(pthread_create(&wt, NULL,
					     race_write_main, &r),
			    0);
			usleep(10000);
			assert_int_equal(pthread_create(&et, NULL,
					     race_enable_main, &r),
			    0);
			usleep(10000);
			sock_io_send_unlock(c.so);
			assert_int_equal(pthread_join(wt, NULL), 0);
			assert_int_equal(pthread_join(et, NULL), 0);
		}
		assert_int_equal(r.eerror, 0);
		assert_int_equal(r.werror, 0);
		assert_int_equal(r.written, 1000);
		ctx_close(&c);
		if (cc->runner == HARNESS_DET)
			assert_int_equal(c.w.len, rec_len(cc->s, 1000));
		race_check(&c, p, 1000);
		free(p);
		ctx_free(&c);
	}
}

/* --- SO-MBUF-*: sbspace() counts mbuf memory ---------------------------- */

/*
 * FreeBSD's facts, restated here rather than taken from src/: an mbuf is
 * MSIZE bytes and a cluster MCLBYTES (sys/sys/param.h); sballoc() charges
 * an mbuf plus its external storage, which for a record of anonymous
 * pages is a whole page per page (sys/kern/uipc_mbuf.c
 * m_uiotombuf_nomap()); a TCP socket starts with net.inet.tcp.sendspace
 * bytes, and sbreserve_locked() gives it eight times that in mbuf memory
 * (sb_efficiency), at most kern.ipc.maxsockbuf.
 */
#define FB_MSIZE 256
#define FB_MCLBYTES 2048
#define FB_PAGE 4096
#define FB_SENDSPACE 32768L
#define FB_MBMAX (8 * FB_SENDSPACE)
#define FB_LOWAT 2048L

static long
rec_mbcnt(size_t plen)
{

	return (FB_MSIZE + FB_PAGE * (long)((plen + FB_PAGE - 1) / FB_PAGE));
}

/* sys/sys/sockbuf.h sbspace(): the smaller of byte and memory room. */
static long
fb_space(long ccc, long mbcnt)
{
	long bleft = FB_SENDSPACE - ccc, mleft = FB_MBMAX - mbcnt;

	return (bleft < mleft ? bleft : mleft);
}

/*
 * Only the deterministic runner leaves the records unencrypted between
 * the writes, as a busy FreeBSD would; encrypted small records would
 * shrink in FreeBSD (sbready_compress(), not modelled: see
 * docs/differences.md).
 */
static void
mbuf_open(struct ctx *c, const struct conf_case *cc)
{

	if (cc->runner != HARNESS_DET)
		skip();
	ctx_open(c, cc, 0, 500);
	ksim_set_nbio(c->so, true);
	c->w.limit = 0;
}

/*
 * One-byte writes on a stalled connection: each record costs an mbuf and
 * a page, so a 32 KiB buffer is out of mbuf memory after 61 of them
 * although their bytes fill a few KiB; the next write gets EWOULDBLOCK.
 */
static void
test_so_mbuf_exhaust(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t i, want;
	long ccc, mbcnt;
	ssize_t n;
	int error;

	mbuf_open(&c, cc);
	want = 0;
	for (ccc = mbcnt = 0; fb_space(ccc, mbcnt) >= 1; want++) {
		ccc += (long)rec_len(cc->s, 1);
		mbcnt += rec_mbcnt(1);
	}
	assert_int_equal(want, 61);
	p = payload(&c, want);
	for (i = 0; i < want; i++) {
		assert_int_equal(ksim_write(c.so, p + i, 1, &n), 0);
		assert_int_equal(n, 1);
	}
	n = -1;
	error = ksim_write(c.so, p, 1, &n);
	assert_int_equal(error, EWOULDBLOCK);
	assert_int_equal(n, 0);
	ctx_drain(&c);
	ctx_finish(&c, p, want, &l);
	assert_int_equal(l.n, want);
	ctx_free_run(&c, &l, NULL, p);
}

/*
 * Under mbuf back-pressure a write is cut where the memory runs out, not
 * where the bytes do: after 58 one-byte records a 20000-byte write finds
 * 262144 - 58 x 4352 = 9728 bytes of space and leaves one 9728-byte
 * record (FreeBSD's byte count alone would have taken all of it).
 */
static void
test_so_mbuf_cut(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	size_t i;
	long ccc, mbcnt, space;
	ssize_t n;

	mbuf_open(&c, cc);
	p = payload(&c, 58 + 20000);
	ccc = mbcnt = 0;
	for (i = 0; i < 58; i++) {
		assert_int_equal(ksim_write(c.so, p + i, 1, &n), 0);
		ccc += (long)rec_len(cc->s, 1);
		mbcnt += rec_mbcnt(1);
	}
	space = fb_space(ccc, mbcnt);
	assert_int_equal(space, 9728);
	assert_true(space >= FB_LOWAT);
	assert_int_equal(ksim_write(c.so, p + 58, 20000, &n), 0);
	assert_int_equal(n, space);
	ctx_drain(&c);
	ctx_finish(&c, p, 58 + (size_t)space, &l);
	assert_int_equal(l.n, 59);
	for (i = 0; i < 58; i++)
		assert_int_equal(l.r[i].plen, 1);
	assert_int_equal(l.r[58].plen, space);
	ctx_free_run(&c, &l, NULL, p);
}

/* --- SO-PLAIN-*: sockets without KTLS ------------------------------------ */

/*
 * What these tests check does not depend on a suite: run them once, on
 * TLS 1.0 AES-CBC.
 */
static bool
one_suite(const struct test_suite *s)
{

	return (s == test_suite_named("aes128_cbc_1_0_sha1"));
}

static int
write_len(struct socket *so, const void *p, size_t len)
{
	ssize_t n;
	int error;

	n = -1;
	error = ksim_write(so, p, len, &n);
	assert_int_equal(n, error == 0 ? (ssize_t)len : 0);
	return (error);
}

/*
 * A zero-length write on a socket without KTLS still makes the checks of
 * every sosend_generic() pass: 0 on a healthy connection, a pending
 * so_error once (it is consumed), EWOULDBLOCK while the buffer is
 * overdrawn and the socket non-blocking, EPIPE after shutdown, ENOTCONN
 * before connect.
 */
static void
test_so_plain_zero(void **state)
{
	const struct conf_case *cc = *state;
	struct socket *so;
	struct ctx c;
	uint8_t *p;

	ctx_open_suite(&c, cc, cc->s, 0, 0, false);
	p = payload(&c, 5000);
	assert_int_equal(ksim_socket(SOCK_STREAM, &so), 0);
	assert_int_equal(write_len(so, p, 0), ENOTCONN);
	assert_int_equal(write_len(so, p, 10), ENOTCONN);
	ksim_close(so);

	assert_int_equal(write_len(c.so, p, 0), 0);

	/* A soft error, as tcp_notify() leaves for an ICMP unreachable. */
	SOCKBUF_LOCK(&c.so->so_snd);
	c.so->so_error = EHOSTUNREACH;
	SOCKBUF_UNLOCK(&c.so->so_snd);
	assert_int_equal(write_len(c.so, p, 0), EHOSTUNREACH);
	assert_int_equal(write_len(c.so, p, 0), 0);

	/* 5000 bytes queued, then the buffer shrunk under them. */
	ksim_set_nbio(c.so, true);
	c.w.limit = 0;
	assert_int_equal(write_len(c.so, p, 5000), 0);
	assert_int_equal(ksim_set_sndbuf(c.so, 4096, 2048), 0);
	assert_int_equal(write_len(c.so, p, 0), EWOULDBLOCK);
	ctx_drain(&c);
	assert_int_equal(write_len(c.so, p, 0), 0);

	assert_int_equal(ksim_shutdown(c.so), 0);
	assert_int_equal(write_len(c.so, p, 0), EPIPE);
	ctx_close(&c);
	assert_int_equal(c.w.len, 5000);
	assert_memory_equal(c.w.buf, p, 5000);
	ctx_free(&c);
	free(p);
}

/* --- SO-CMSG-*: control messages ----------------------------------------- */

/*
 * sendmsg() with one cmsg built by hand: cmsg_len and msg_controllen as
 * given (neither need be consistent), one data byte after the header.
 */
static int
send_cmsg_raw(struct socket *so, int type, size_t cmsg_len, size_t controllen,
    uint8_t byte, const void *buf, size_t len, ssize_t *written)
{
	union {
		struct cmsghdr hdr;
		uint8_t buf[FB_MCLBYTES + 16];
	} cm;

	memset(&cm, 0, sizeof(cm));
	cm.hdr.cmsg_level = IPPROTO_TCP;
	cm.hdr.cmsg_type = type;
	cm.hdr.cmsg_len = cmsg_len;
	*CMSG_DATA(&cm.hdr) = byte;
	return (harness_sendmsg(so, buf, len, 0, &cm, controllen, written));
}

/* A cmsg that is not TLS_SET_RECORD_TYPE, carrying one byte. */
static int
send_foreign(struct socket *so, const void *buf, size_t len)
{
	uint8_t t = TLS_RLTYPE_ALERT;
	ssize_t n;
	int error;

	n = -1;
	error = harness_sendmsg_cmsg(so, IPPROTO_TCP, TLS_GET_RECORD, &t, 1, 0,
	    buf, len, &n);
	assert_int_equal(n, 0);
	return (error);
}

static uint64_t
eiv_counter(const struct rlog_rec *r)
{

	return (be64dec(r->eiv));
}

/*
 * A control message of another type is no business of KTLS: the socket
 * checks come first (so_error, EPIPE), then the wait for space
 * (EWOULDBLOCK when non-blocking), then the records are framed, and only
 * tcp_usr_send() refuses the control data with EINVAL.  Nothing reaches
 * the wire and no sequence number is spent, but TLS 1.2 GCM has spent an
 * explicit nonce on each record framed and thrown away.
 */
static void
test_so_cmsg_foreign(void **state)
{
	const struct conf_case *cc = *state;
	const struct test_suite *s = cc->s;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	int run;

	for (run = 0; run < conf_nruns(cc, NSEEDS); run++) {
		ctx_open(&c, cc, run, 40);
		p = payload(&c, 4240);
		write_all(&c, p, 100);

		SOCKBUF_LOCK(&c.so->so_snd);
		c.so->so_error = EHOSTUNREACH;
		SOCKBUF_UNLOCK(&c.so->so_snd);
		assert_int_equal(send_foreign(c.so, p, 10), EHOSTUNREACH);
		assert_int_equal(send_foreign(c.so, p, 10), EINVAL);

		/* Overdrawn and non-blocking: the wait comes before EINVAL. */
		ctx_drain(&c);
		c.w.limit = c.w.len;
		ksim_set_nbio(c.so, true);
		assert_int_equal(ksim_set_sndbuf(c.so, 4096, 2048), 0);
		assert_int_equal(write_len(c.so, p + 100, 4090), 0);
		assert_int_equal(send_foreign(c.so, p, 10), EWOULDBLOCK);
		ctx_drain(&c);
		assert_int_equal(send_foreign(c.so, p, 200), EINVAL);
		write_all(&c, p + 4190, 50);

		assert_int_equal(ksim_shutdown(c.so), 0);
		assert_int_equal(send_foreign(c.so, p, 10), EPIPE);
		ctx_finish(&c, p, 4240, &l);
		assert_int_equal(l.n, 3);
		assert_int_equal(l.r[0].plen, 100);
		assert_int_equal(l.r[1].plen, 4090);
		assert_int_equal(l.r[2].plen, 50);
		if (is_gcm12(s)) {
			assert_int_equal(eiv_counter(&l.r[1]),
			    eiv_counter(&l.r[0]) + 2);
			assert_int_equal(eiv_counter(&l.r[2]),
			    eiv_counter(&l.r[1]) + 2);
		}
		ctx_free_run(&c, &l, NULL, p);
	}
}

/*
 * Without KTLS every control message goes to tcp_usr_send(), a
 * TLS_SET_RECORD_TYPE one too, after the socket checks: ENOTCONN before
 * connect, EPIPE after shutdown, EINVAL in between; nothing is sent.
 */
static void
test_so_cmsg_plain(void **state)
{
	const struct conf_case *cc = *state;
	struct socket *so;
	struct ctx c;
	uint8_t *p;
	ssize_t n;

	ctx_open_suite(&c, cc, cc->s, 0, 0, false);
	p = payload(&c, 20);
	assert_int_equal(ksim_socket(SOCK_STREAM, &so), 0);
	assert_int_equal(send_foreign(so, p, 0), ENOTCONN);
	assert_int_equal(send_foreign(so, p, 20), ENOTCONN);
	assert_int_equal(harness_send_type(so, TLS_RLTYPE_ALERT, p, 20, &n),
	    ENOTCONN);
	ksim_close(so);

	assert_int_equal(send_foreign(c.so, p, 20), EINVAL);
	assert_int_equal(harness_send_type(c.so, TLS_RLTYPE_ALERT, p, 20, &n),
	    EINVAL);
	assert_int_equal(n, 0);
	write_all(&c, p, 20);
	assert_int_equal(ksim_shutdown(c.so), 0);
	assert_int_equal(harness_send_type(c.so, TLS_RLTYPE_ALERT, p, 20, &n),
	    EPIPE);
	ctx_close(&c);
	assert_int_equal(c.w.len, 20);
	assert_memory_equal(c.w.buf, p, 20);
	ctx_free(&c);
	free(p);
}

/*
 * Short and long control buffers.  sendit() refuses one shorter than a
 * cmsghdr (a zero msg_controllen with a buffer included) with EINVAL and
 * sockargs() one longer than MCLBYTES with EMSGSIZE.  sosend_generic()
 * reads a TLS_SET_RECORD_TYPE message's type at CMSG_DATA() whatever
 * cmsg_len says; a buffer ending before that byte is EINVAL (SIM, see
 * sosend_generic()).  Nothing is sent by the failures.
 */
static void
test_so_cmsg_short(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	ssize_t n;

	ctx_open(&c, cc, 0, 60);
	p = payload(&c, 30);
	assert_int_equal(send_cmsg_raw(c.so, TLS_SET_RECORD_TYPE, CMSG_LEN(1),
			     0, TLS_RLTYPE_ALERT, p, 10, &n),
	    EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(send_cmsg_raw(c.so, TLS_SET_RECORD_TYPE, CMSG_LEN(1),
			     FB_MCLBYTES + 1, TLS_RLTYPE_ALERT, p, 10, &n),
	    EMSGSIZE);
	assert_int_equal(send_cmsg_raw(c.so, TLS_SET_RECORD_TYPE, CMSG_LEN(0),
			     CMSG_LEN(0), TLS_RLTYPE_ALERT, p, 10, &n),
	    EINVAL);
	assert_int_equal(n, 0);
	/* cmsg_len without the byte, but the buffer holds it: taken. */
	assert_int_equal(send_cmsg_raw(c.so, TLS_SET_RECORD_TYPE, CMSG_LEN(0),
			     CMSG_SPACE(1), TLS_RLTYPE_HANDSHAKE, p, 10, &n),
	    0);
	assert_int_equal(n, 10);
	/* A control buffer of exactly MCLBYTES is fine. */
	assert_int_equal(send_cmsg_raw(c.so, TLS_SET_RECORD_TYPE, CMSG_LEN(1),
			     FB_MCLBYTES, TLS_RLTYPE_ALERT, p + 10, 10, &n),
	    0);
	write_all(&c, p + 20, 10);
	ctx_finish(&c, p, 30, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.r[0].inner, TLS_RLTYPE_HANDSHAKE);
	assert_int_equal(l.r[1].inner, TLS_RLTYPE_ALERT);
	assert_int_equal(l.r[2].inner, TLS_RLTYPE_APP);
	ctx_free_run(&c, &l, NULL, p);
}

/* --- SO-LOWAT, SO-DONTWAIT: socket options and flags ---------------------- */

static int
setopt_int(struct socket *so, int name, int val, socklen_t len)
{

	return (ksim_setsockopt(so, SOL_SOCKET, name, &val, len));
}

/*
 * A new socket has net.inet.tcp.sendspace bytes, eight times that in
 * mbuf memory and a cluster as its low-water mark (soreserve()).
 * SO_SNDBUF and SO_SNDLOWAT take an int of at least 1 (EINVAL otherwise,
 * sbsetopt()), SO_SNDBUF at most sb_max_adj (ENOBUFS); the low-water mark
 * is clamped to the buffer.  With a low-water mark of 0 a write that had
 * filled a 1000-byte buffer to exactly 0 bytes of space would go on and
 * queue all the rest; with the clamped 1000 it stops at 1000 bytes.
 */
static void
test_so_lowat(void **state)
{
	const struct conf_case *cc = *state;
	struct ksim_sbstat st;
	struct ctx c;
	uint8_t *p;
	ssize_t n;

	ctx_open_suite(&c, cc, cc->s, 0, 0, false);
	p = payload(&c, 50000);
	ksim_sbstat(c.so, &st);
	assert_int_equal(st.hiwat, FB_SENDSPACE);
	assert_int_equal(st.mbmax, FB_MBMAX);
	assert_int_equal(st.lowat, FB_MCLBYTES);

	/* SO_SNDBUF clamps the low-water mark; 0 is refused. */
	assert_int_equal(ksim_set_sndbuf(c.so, 1000, 0), EINVAL);
	ksim_sbstat(c.so, &st);
	assert_int_equal(st.hiwat, 1000);
	assert_int_equal(st.mbmax, 8000);
	assert_int_equal(st.lowat, 1000);

	ksim_set_nbio(c.so, true);
	c.w.limit = 0;
	assert_int_equal(ksim_write(c.so, p, 50000, &n), 0);
	assert_int_equal(n, 1000);

	assert_int_equal(setopt_int(c.so, SO_SNDBUF, 0, sizeof(int)), EINVAL);
	assert_int_equal(setopt_int(c.so, SO_SNDBUF, -5, sizeof(int)), EINVAL);
	assert_int_equal(setopt_int(c.so, SO_SNDLOWAT, 0, sizeof(int)), EINVAL);
	assert_int_equal(setopt_int(c.so, SO_SNDBUF, 4096, 2), EINVAL);
	assert_int_equal(setopt_int(c.so, SO_SNDBUF, 2 << 20, sizeof(int)),
	    ENOBUFS);
	assert_int_equal(setopt_int(c.so, SO_SNDLOWAT, 5000, sizeof(int)), 0);
	ksim_sbstat(c.so, &st);
	assert_int_equal(st.hiwat, 1000);
	assert_int_equal(st.lowat, 1000);

	ctx_close(&c);
	assert_int_equal(c.w.len, 1000);
	assert_memory_equal(c.w.buf, p, 1000);
	ctx_free(&c);
	free(p);
}

/* Tasks that would let a waiting writer go on. */
static void
open_wire(void *arg)
{
	struct ctx *c = arg;

	SOCKBUF_LOCK(&c->so->so_snd);
	c->w.limit = SIZE_MAX;
	SOCKBUF_UNLOCK(&c->so->so_snd);
	tcp_output_kick(c->so);
}

static void
unlock_io(void *arg)
{
	struct ctx *c = arg;

	sock_io_send_unlock(c->so);
}

/* In 200 ms (real time) or as soon as someone sleeps (deterministic). */
static void
post_later(struct ctx *c, task_fn_t *fn)
{

	c->h.pl->pl_task_post(c->h.pl,
	    c->h.runner == HARNESS_RT ? 200 * 1000 * 1000 : 0, fn, c);
}

/*
 * On a blocking socket MSG_DONTWAIT waits neither for space nor for the
 * send lock (EWOULDBLOCK at once, though a task would soon provide
 * either); MSG_NBIO does not wait for space but does for the lock; a
 * plain send waits for both.  Each case leaves the task that would have
 * released it pending, and only the sends that did wait succeed.
 */
static void
test_so_dontwait(void **state)
{
	const struct conf_case *cc = *state;
	struct rlog l;
	struct ctx c;
	uint8_t *p;
	ssize_t n;

	ctx_open(&c, cc, 0, 3);
	p = payload(&c, 4390);
	assert_int_equal(ksim_set_sndbuf(c.so, 4096, 2048), 0);
	c.w.limit = 0;
	write_all(&c, p, 4090); /* space is now below 0 */

	post_later(&c, open_wire);
	assert_int_equal(harness_sendmsg(c.so, p + 4090, 100, MSG_DONTWAIT,
			     NULL, 0, &n),
	    EWOULDBLOCK);
	assert_int_equal(n, 0);
	assert_int_equal(harness_sendmsg(c.so, p + 4090, 100, MSG_NBIO, NULL, 0,
			     &n),
	    EWOULDBLOCK);
	assert_int_equal(n, 0);
	assert_int_equal(harness_sendmsg(c.so, p + 4090, 100, 0, NULL, 0, &n),
	    0);
	assert_int_equal(n, 100);
	harness_run(&c.h);

	assert_int_equal(sock_io_send_lock(c.so), 0);
	post_later(&c, unlock_io);
	assert_int_equal(harness_sendmsg(c.so, p + 4190, 100, MSG_DONTWAIT,
			     NULL, 0, &n),
	    EWOULDBLOCK);
	assert_int_equal(n, 0);
	assert_int_equal(harness_sendmsg(c.so, p + 4190, 100, MSG_NBIO, NULL, 0,
			     &n),
	    0);
	assert_int_equal(n, 100);
	assert_int_equal(harness_sendmsg(c.so, p + 4290, 100, MSG_DONTWAIT,
			     NULL, 0, &n),
	    0);
	assert_int_equal(n, 100);
	ctx_finish(&c, p, 4390, &l);
	assert_int_equal(l.n, 4);
	ctx_free_run(&c, &l, NULL, p);
}

static const struct conf_test sosend_tests[] = {
	{ "SO-ENABLE-RACE", test_so_enable_race, conf_all },
	{ "SO-MBUF-EXHAUST", test_so_mbuf_exhaust, conf_all },
	{ "SO-MBUF-CUT", test_so_mbuf_cut, conf_all },
	{ "SO-PLAIN-ZERO", test_so_plain_zero, one_suite },
	{ "SO-CMSG-FOREIGN", test_so_cmsg_foreign, conf_all },
	{ "SO-CMSG-PLAIN", test_so_cmsg_plain, one_suite },
	{ "SO-CMSG-SHORT", test_so_cmsg_short, conf_all },
	{ "SO-LOWAT", test_so_lowat, one_suite },
	{ "SO-DONTWAIT", test_so_dontwait, one_suite },
};

CONF_MAIN("sosend", sosend_tests)
