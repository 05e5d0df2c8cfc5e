/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for send-buffer autosizing (src/netinet/tcp_output.c
 * tcp_sndbuf_autoscale(), SB_AUTOSIZE in src/kern/uipc_socket.c), against
 * FreeBSD's rule (sys/netinet/tcp_output.c tcp_sndbuf_autoscale()): grow
 * sb_hiwat by net.inet.tcp.sendbuf_inc, up to sendbuf_max, when
 *   (1) snd_wnd / 4 * 5 >= sb_hiwat,
 *   (2) sbused() >= sb_hiwat / 8 * 7,
 *   (3) sbused() < sendbuf_max,
 *   (4) sendwin >= sbused() - (snd_nxt - snd_una),
 * with integer division, and stop for good when sbreserve_locked()
 * refuses a step.  Defaults: sendspace 32768, sendbuf_inc 8192,
 * sendbuf_max 2 MiB, kern.ipc.maxsockbuf 2 MiB, so sb_max_adj =
 * 2097152 * 2048 / (256 + 2048) = 1864135.
 *
 * First each condition at its boundary, on a socket whose peer offers no
 * window (nothing leaves, so sbused() is what was written) and whose
 * snd_wnd the test sets before calling the function; then whole
 * connections through the hand-driven interface of tests/lib/testif.h
 * with a receiver that acknowledges everything at once, where only the
 * end state is asserted: it follows from the rule whatever the order of
 * the passes.  Plain data: sbused() is exactly the bytes written.
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "netinet/tcp_var.h"
#include "sim/runner/runner.h"
#include "models/disk/disk.h"
#include "sys/socketvar.h"
#include "testif.h"

#define KiB 1024u
#define SENDSPACE 32768u /* net.inet.tcp.sendspace */
#define INC 8192u	 /* net.inet.tcp.sendbuf_inc */
#define MSS 1448u

struct fix {
	struct harness h;
	struct testif ti;
	struct socket *so;
	uint8_t *buf;
	size_t buflen;
};

static void
fix_open(struct fix *f, uint64_t seed, uint32_t rwnd)
{

	memset(f, 0, sizeof(*f));
	harness_init(&f->h, HARNESS_DET, seed, 1);
	sim_det_set_policy(f->h.pl, SIM_DET_FIFO);
	testif_init(&f->ti, rwnd);
	f->so = testif_connect(&f->ti, 1);
	ksim_set_nbio(f->so, true);
	f->buflen = 4 * 1024 * 1024;
	f->buf = malloc(f->buflen);
	assert_non_null(f->buf);
	test_rng_bytes(&f->h.rng, f->buf, f->buflen);
}

static void
fix_close(struct fix *f)
{

	/* A one-byte window would take the rest a byte at a time. */
	if (f->ti.ti_rwnd <= 1)
		ksim_drop(f->so, ECONNRESET);
	ksim_close(f->so);
	testif_settle(&f->h);
	testif_deliver_all(&f->ti);
	testif_settle(&f->h);
	harness_run(&f->h);
	assert_int_equal(f->ti.ti_nerr, 0);
	testif_fini(&f->ti);
	harness_fini(&f->h);
	free(f->buf);
}

static struct ksim_sbstat
sbstat(struct fix *f)
{
	struct ksim_sbstat st;

	ksim_sbstat(f->so, &st);
	return (st);
}

/* Non-blocking write of len bytes; returns what was taken. */
static size_t
put(struct fix *f, size_t len)
{
	ssize_t n;
	int error;

	assert_true(len <= f->buflen);
	n = 0;
	error = ksim_write(f->so, f->buf, len, &n);
	assert_true(error == 0 || error == EWOULDBLOCK);
	return ((size_t)n);
}

/*
 * One call of tcp_sndbuf_autoscale() as tcp_output() would make it, with
 * the peer's window set to wnd for the call; returns sb_hiwat after it.
 */
static u_int
autoscale(struct fix *f, uint32_t wnd, uint32_t sendwin)
{
	struct tcpcb *tp = sototcpcb(f->so);
	uint32_t wnd0;
	u_int hiwat;

	SOCKBUF_LOCK(&f->so->so_snd);
	wnd0 = tp->snd_wnd;
	tp->snd_wnd = wnd;
	tcp_sndbuf_autoscale(tp, f->so, sendwin);
	tp->snd_wnd = wnd0;
	hiwat = f->so->so_snd.sb_hiwat;
	SOCKBUF_UNLOCK(&f->so->so_snd);
	return (hiwat);
}

/*
 * A socket whose peer offers a one-byte window and never acknowledges:
 * one byte leaves, nothing is freed, sbused() is what was written, and
 * tcp_output()'s own calls see a window far too small to grow anything.
 * (A zero window would do as well, but a case that fails would leave its
 * persist timer probing for ever; this one's retransmissions give up.)
 */
static void
closed_open(struct fix *f, uint64_t seed, size_t fill)
{

	fix_open(f, seed, 1);
	assert_int_equal(sbstat(f).hiwat, SENDSPACE);
	assert_true(sbstat(f).autosize);
	assert_int_equal(put(f, fill), fill);
	testif_settle(&f->h);
	assert_int_equal(sbstat(f).ccc, fill);
	assert_int_equal(f->ti.ti_nsent, 1);
	assert_int_equal(sbstat(f).hiwat, SENDSPACE);
}

/*
 * (2): 7/8 of 32768 is 28672.  One byte less is not enough; with it the
 * buffer grows by one step, and only one: 7/8 of the new 40960 is 35840.
 */
static void
test_fill_threshold(void **state)
{
	struct fix f;

	(void)state;
	closed_open(&f, 1, 28671);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE);
	fix_close(&f);

	closed_open(&f, 2, 28672);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE + INC);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE + INC);
	assert_true(sbstat(&f).autosize);
	/* sbreserve_locked() scaled the mbuf limit with it (x8). */
	assert_int_equal(sbstat(&f).mbmax, 8 * (SENDSPACE + INC));
	fix_close(&f);
}

/*
 * (1): snd_wnd / 4 * 5 >= 32768 needs snd_wnd / 4 >= 6554 (6553 * 5 is
 * 32765), so 26216 is the smallest window that grows a full buffer and
 * 26215 does not.
 */
static void
test_window_threshold(void **state)
{
	struct fix f;

	(void)state;
	closed_open(&f, 3, SENDSPACE);
	assert_int_equal(autoscale(&f, 26215, 1 << 20), SENDSPACE);
	assert_int_equal(autoscale(&f, 26216, 1 << 20), SENDSPACE + INC);
	fix_close(&f);
}

/*
 * (4) with data in flight: a 32768-byte write to a peer offering 1 MiB
 * sends the initial window, ten segments (RFC 6928), 14480 bytes, which
 * stay unacknowledged.  18288 bytes are unsent: tcp_output() itself,
 * with cwnd 14480, must not have grown the buffer; a send window of
 * 18287 does not either, 18288 does.
 */
static void
test_sendwin_covers_unsent(void **state)
{
	struct ksim_tcpinfo ti;
	struct fix f;

	(void)state;
	fix_open(&f, 4, 1 << 20);
	assert_int_equal(put(&f, SENDSPACE), SENDSPACE);
	testif_settle(&f.h);
	assert_int_equal(f.ti.ti_nq, 10);
	ksim_tcpinfo(f.so, &ti);
	assert_int_equal(ti.snd_nxt - ti.snd_una, 10 * MSS);
	assert_int_equal(sbstat(&f).hiwat, SENDSPACE);
	assert_int_equal(autoscale(&f, 1 << 20, SENDSPACE - 10 * MSS - 1),
	    SENDSPACE);
	assert_int_equal(autoscale(&f, 1 << 20, SENDSPACE - 10 * MSS),
	    SENDSPACE + INC);
	fix_close(&f);
}

/*
 * (3) and the ceiling: with sendbuf_max 32769 a full 32768-byte buffer
 * grows to 32769, not by a whole step.  The step is min(sb_hiwat +
 * sendbuf_inc, sendbuf_max), which is below sb_hiwat when sendbuf_max was
 * lowered under a grown buffer: FreeBSD then shrinks it, unless (3)
 * stops the call first.  So after growing to 40960 with sendbuf_max
 * lowered to 36864: 36864 bytes queued (not below it) leave 40960; one
 * byte fewer and the buffer shrinks to 36864.
 */
static void
test_sendbuf_max(void **state)
{
	struct fix f;

	(void)state;
	closed_open(&f, 5, SENDSPACE);
	tcp_autosndbuf_max = SENDSPACE + 1;
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE + 1);
	assert_true(sbstat(&f).autosize);
	tcp_autosndbuf_max = 2 << 20;
	fix_close(&f);

	closed_open(&f, 6, 28672);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE + INC);
	tcp_autosndbuf_max = 36864;
	assert_int_equal(put(&f, 36864 - 28672), 36864 - 28672);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE + INC);
	tcp_autosndbuf_max = 2 << 20;
	fix_close(&f);

	closed_open(&f, 7, 28672);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE + INC);
	tcp_autosndbuf_max = 36864;
	assert_int_equal(put(&f, 36863 - 28672), 36863 - 28672);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), 36864);
	fix_close(&f);
}

/*
 * What turns it off: a successful SO_SNDBUF, even to the size the socket
 * has, and net.inet.tcp.sendbuf_auto=0.  Neither a refused SO_SNDBUF
 * (ENOBUFS above sb_max_adj) nor SO_SNDLOWAT does.
 */
static void
test_off(void **state)
{
	int val;
	struct fix f;

	(void)state;
	closed_open(&f, 6, SENDSPACE);
	val = 1864136; /* sb_max_adj + 1 */
	assert_int_equal(ksim_setsockopt(f.so, SOL_SOCKET, SO_SNDBUF, &val,
			     sizeof(val)),
	    ENOBUFS);
	val = 4096;
	assert_int_equal(ksim_setsockopt(f.so, SOL_SOCKET, SO_SNDLOWAT, &val,
			     sizeof(val)),
	    0);
	assert_true(sbstat(&f).autosize);
	tcp_do_autosndbuf = 0;
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE);
	assert_true(sbstat(&f).autosize);
	tcp_do_autosndbuf = 1;
	val = SENDSPACE;
	assert_int_equal(ksim_setsockopt(f.so, SOL_SOCKET, SO_SNDBUF, &val,
			     sizeof(val)),
	    0);
	assert_false(sbstat(&f).autosize);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE);
	fix_close(&f);
}

/*
 * sendbuf_auto_lowat: both thresholds drop by sb_lowat.  With a mark of
 * 4096, (2) needs 28672 - 4096 = 24576 bytes and (1) snd_wnd / 4 * 5 >=
 * 28672, i.e. snd_wnd >= 22940 (5734 * 5 is 28670).  A mark above 7/8 of
 * the buffer makes (2)'s threshold wrap (unsigned, as FreeBSD's): no
 * growth even when full.
 */
static void
test_auto_lowat(void **state)
{
	struct fix f;
	int val;

	(void)state;
	closed_open(&f, 7, 24575);
	val = 4096;
	assert_int_equal(ksim_setsockopt(f.so, SOL_SOCKET, SO_SNDLOWAT, &val,
			     sizeof(val)),
	    0);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE);
	tcp_sendbuf_auto_lowat = 1;
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE);
	assert_int_equal(put(&f, 1), 1);
	assert_int_equal(autoscale(&f, 22939, 1 << 20), SENDSPACE);
	assert_int_equal(autoscale(&f, 22940, 1 << 20), SENDSPACE + INC);
	fix_close(&f);

	closed_open(&f, 8, SENDSPACE);
	val = 28673;
	assert_int_equal(ksim_setsockopt(f.so, SOL_SOCKET, SO_SNDLOWAT, &val,
			     sizeof(val)),
	    0);
	tcp_sendbuf_auto_lowat = 1;
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE);
	fix_close(&f);
}

/*
 * A step sbreserve_locked() refuses ends autosizing.  kern.ipc.maxsockbuf
 * 46080 gives sb_max_adj 46080 * 2048 / 2304 = 40960: one step is allowed
 * (not above it), the next (49152) refused, the buffer stays at 40960 and
 * SB_AUTOSIZE goes.  With the defaults the last step allowed ends at
 * 32768 + 223 * 8192 = 1859584 (+8192 would pass 1864135): sendbuf_max's
 * 2 MiB is never reached.  Filled step by step, nothing leaving.
 */
static void
test_refused_step(void **state)
{
	struct fix f;
	u_int hiwat;
	int steps;

	(void)state;
	closed_open(&f, 9, SENDSPACE);
	assert_int_equal(sysctl_handle_sb_max(46080), 0);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE + INC);
	assert_int_equal(put(&f, INC), INC);
	assert_true(sbstat(&f).autosize);
	assert_int_equal(autoscale(&f, 1 << 20, 1 << 20), SENDSPACE + INC);
	assert_false(sbstat(&f).autosize);
	fix_close(&f);

	closed_open(&f, 10, SENDSPACE);
	steps = 0;
	for (;;) {
		hiwat = autoscale(&f, 1u << 30, 1u << 30);
		if (!sbstat(&f).autosize)
			break;
		assert_int_equal(hiwat, SENDSPACE + (u_int)(steps + 1) * INC);
		steps++;
		assert_int_equal(put(&f, INC), INC);
	}
	assert_int_equal(steps, 223);
	assert_int_equal(hiwat, 1859584);
	fix_close(&f);
}

/*
 * A fast receiver: each round the application fills the buffer (with at
 * most chunk bytes) and every segment is acknowledged at once, until the
 * buffer stops changing.  Every size seen is 32768 plus whole steps, or
 * the ceiling, and never shrinks; at the start of each round a write
 * takes the whole grown buffer (sosend_generic() uses sbspace()).
 */
static u_int
drive(struct fix *f, size_t chunk, int rounds, u_int ceiling)
{
	struct ksim_sbstat st;
	u_int last;
	size_t n;

	last = SENDSPACE;
	for (int r = 0; r < rounds; r++) {
		st = sbstat(f);
		assert_int_equal(st.ccc, 0);
		n = put(f, chunk < st.hiwat ? chunk : st.hiwat);
		assert_int_equal(n, chunk < st.hiwat ? chunk : st.hiwat);
		testif_settle(&f->h);
		testif_deliver_all(&f->ti);
		testif_settle(&f->h);
		st = sbstat(f);
		assert_true(st.hiwat >= last);
		assert_true(
		    st.hiwat == ceiling || (st.hiwat - SENDSPACE) % INC == 0);
		last = st.hiwat;
	}
	return (last);
}

/*
 * Through the window: (1) stops growth where snd_wnd / 4 * 5 < sb_hiwat.
 * 26215 never grows (see test_window_threshold); 26216 allows 32768 ->
 * 40960 and then needs 32768; 32768 allows two steps, to 49152, the
 * third needing 39322.  A 16 MiB window lets it run to the default
 * ceiling's first bound here, sendbuf_max, set to 100000 (not a whole
 * step: min() caps the last one).
 */
static void
test_fast_receiver_window(void **state)
{
	static const struct {
		uint32_t rwnd;
		u_int max;
		u_int want;
	} c[] = {
		{ 26215, 2 << 20, SENDSPACE },
		{ 26216, 2 << 20, SENDSPACE + INC },
		{ 32768, 2 << 20, SENDSPACE + 2 * INC },
		{ 16 << 20, 100000, 100000 },
	};
	struct fix f;

	(void)state;
	for (size_t i = 0; i < nitems(c); i++) {
		fix_open(&f, 20 + i, c[i].rwnd);
		tcp_autosndbuf_max = (int)c[i].max;
		assert_int_equal(drive(&f, SIZE_MAX, 30, c[i].max), c[i].want);
		tcp_autosndbuf_max = 2 << 20;
		fix_close(&f);
	}
}

/*
 * Through the fill: an application that never queues 7/8 of the buffer
 * (28671 bytes a round) never grows it; one that queues 28672 grows it
 * once, to 40960, whose 7/8 (35840) it then never reaches.  With
 * SO_SNDBUF set nothing grows even when the buffer is full.
 */
static void
test_fast_receiver_fill(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, 30, 16 << 20);
	assert_int_equal(drive(&f, 28671, 20, 0), SENDSPACE);
	fix_close(&f);

	fix_open(&f, 31, 16 << 20);
	assert_int_equal(drive(&f, 28672, 20, 0), SENDSPACE + INC);
	fix_close(&f);

	fix_open(&f, 32, 16 << 20);
	assert_int_equal(ksim_set_sndbuf(f.so, SENDSPACE, 2048), 0);
	assert_int_equal(drive(&f, SIZE_MAX, 20, 0), SENDSPACE);
	fix_close(&f);
}

/*
 * The refusal on a live connection, and sendfile's space check: with
 * kern.ipc.maxsockbuf 131072, sb_max_adj is 131072 * 2048 / 2304 =
 * 116508, so the last step allowed ends at 32768 + 10 * 8192 = 114688
 * and the eleventh (122880) ends autosizing.  An empty buffer then takes
 * a sendfile of exactly that many bytes (vn_sendfile() fills sbspace()).
 */
static void
test_fast_receiver_refusal(void **state)
{
	uint8_t *contents;
	struct fix f;
	off_t sbytes;
	int fd;

	(void)state;
	disk_cache_flush();
	fix_open(&f, 40, 16 << 20);
	assert_int_equal(sysctl_handle_sb_max(131072), 0);
	assert_int_equal(drive(&f, SIZE_MAX, 30, 0), 114688);
	assert_false(sbstat(&f).autosize);
	fd = harness_tmpfile(&f.h.rng, 1 << 20, &contents);
	assert_int_equal(ksim_sendfile(f.so, fd, 0, 0, NULL, &sbytes, 0),
	    EAGAIN);
	assert_int_equal(sbytes, 114688);
	harness_run(&f.h);
	testif_deliver_all(&f.ti);
	testif_settle(&f.h);
	assert_int_equal(f.ti.ti_rcv_nxt, f.ti.ti_sent_end);
	assert_memory_equal(f.ti.ti_rcv + f.ti.ti_rcv_nxt - 114688, contents,
	    114688);
	fix_close(&f);
	close(fd);
	free(contents);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_fill_threshold),
		harness_unit_test(test_window_threshold),
		harness_unit_test(test_sendwin_covers_unsent),
		harness_unit_test(test_sendbuf_max),
		harness_unit_test(test_off),
		harness_unit_test(test_auto_lowat),
		harness_unit_test(test_refused_step),
		harness_unit_test(test_fast_receiver_window),
		harness_unit_test(test_fast_receiver_fill),
		harness_unit_test(test_fast_receiver_refusal),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
