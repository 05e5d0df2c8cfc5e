/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The cost model against figures worked by hand from the formulas of
 * docs/cost-model.md.  Each expected value is derived in the comment above
 * it; none was read off the model's output.
 *
 * The session throughout, unless a case says otherwise: TLS 1.2 AES-GCM,
 * 16384-byte records, 13 header bytes (5 + 8-byte explicit nonce), a
 * 16-byte tag, MSS 1448, a 32768-byte send buffer, read(2) of 16384.
 */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cost.h"

/* Relative tolerance: the figures below are exact to about 1e-12. */
#define assert_close(a, b)                                              \
	do {                                                            \
		double a_ = (a), b_ = (b);                              \
		if (fabs(a_ - b_) > 1e-9 * fmax(1, fabs(b_)))           \
			fail_msg("%s = %.12g, want %.12g", #a, a_, b_); \
	} while (0)

/* w = (16384 + 13 + 16) / 16384 = 1 + 29/16384 = 1.00177001953125 */
#define W 1.00177001953125

static void
test_expansion(void **state)
{
	struct cost_params p;

	cost_params_default(&p);
	assert_close(cost_expansion(&p), W);
	/* TLS 1.3 AES-GCM: 5 + (16 + 1) = 22 bytes: 1 + 22/16384 */
	p.hdr_len = 5;
	p.trl_len = 17;
	assert_close(cost_expansion(&p), 1.0013427734375);
}

static void
test_userland(void **state)
{
	struct cost_params p;
	struct cost_q q;

	cost_params_default(&p);
	assert_int_equal(cost_model(COST_USERLAND, &p, &q), 0);
	/* read(2) 1 + the library's cipher 1 + write(2) w = 3.00177001953125 */
	assert_close(q.mem_rd, 2 + W);
	/* read(2) 1 + cipher output w + socket buffer w = 3.0035400390625 */
	assert_close(q.mem_wr, 3.0035400390625);
	/* two copies: the plaintext 1 and the record w */
	assert_close(q.copy, 2.00177001953125);
	assert_close(q.crypto, 1);
	assert_close(q.nic_dma, W);
	/*
	 * read(2) per 16384 + write(2) per 16384-byte record, and per fill
	 * (w / 32768) a kevent and the write(2) that finishes the record
	 * cut short: 65536/2^29 + 2 * 16413/2^29 = 98362/536870912.
	 */
	assert_close(q.syscalls, 98362.0 / 536870912);
	assert_close(q.ctxsw, 16413.0 / 536870912);
}

static void
test_sw(void **state)
{
	struct cost_params p;
	struct cost_q q;

	cost_params_default(&p);
	assert_int_equal(cost_model(COST_SW_WRITE, &p, &q), 0);
	/* uiomove() 1 read 1 written, cipher 1 read w written in place */
	assert_close(q.mem_rd, 2);
	assert_close(q.mem_wr, 1 + W);
	assert_close(q.copy, 1);
	assert_close(q.crypto, 1);
	/* write(2) + kevent, writer + worker wakeup: 2w/32768 each */
	assert_close(q.syscalls, 32826.0 / 536870912);
	assert_close(q.ctxsw, 32826.0 / 536870912);

	assert_int_equal(cost_model(COST_SW_SENDFILE, &p, &q), 0);
	/* no copy: the cipher reads the page cache, writes new pages */
	assert_close(q.copy, 0);
	assert_close(q.mem_rd, 1);
	assert_close(q.mem_wr, W);
	assert_close(q.crypto, 1);
	assert_close(q.nic_dma, W);
	assert_close(q.disk_dma, 0);
}

/*
 * Memory traffic of Netflix-style serving, every byte from disk
 * (disk_fraction 1): software sendfile is the disk's 1, the cipher's
 * 1 + w, the NIC's w: 2 + 2w = 4.0035400390625; NIC TLS is the disk's 1,
 * the headers 13/16384, the NIC's 1 + 13/16384: 2 + 26/16384 =
 * 2.0015869140625.  At 90 Gb/s (11.25e9 payload bytes/s) those are 45.04
 * and 22.52 GB/s (docs/cost-model.md compares them with the paper's 55
 * and 30).
 */
static void
test_dram(void **state)
{
	struct cost_params p;
	struct cost_q q;

	cost_params_default(&p);
	p.disk_fraction = 1;
	assert_int_equal(cost_model(COST_SW_SENDFILE, &p, &q), 0);
	assert_close(cost_dram_per_byte(&q), 4.0035400390625);
	assert_int_equal(cost_model(COST_NIC, &p, &q), 0);
	assert_close(cost_dram_per_byte(&q), 2.0015869140625);
	assert_close(q.mem_rd, 0);
	assert_close(q.crypto, 0);
	/* With write-allocate each CPU store reads its line first: + w. */
	p.write_allocate = true;
	assert_int_equal(cost_model(COST_SW_SENDFILE, &p, &q), 0);
	assert_close(cost_dram_per_byte(&q), 4.0035400390625 + W);
}

/*
 * A 16413-byte record is n = 12 segments of MSS 1448 (11 * 1448 = 15928,
 * the last 485), starting at S_k = 1448 k.  sum S_k = 1448 * 66 = 95568.
 *   mlx5: the prefix twice per loss: 2 * 95568 / 12 = 15928.
 *   T6: the last segment (it holds the tag) re-reads its 15928-byte
 *   prefix; the others start at the 16-byte block at or before S_k:
 *   1448 = 90 * 16 + 8, so S_k mod 16 is 8 for odd k (k = 1, 3, 5, 7, 9:
 *   40 bytes) and 0 for even k: (15928 + 40) / 12 = 1330.666...
 */
static void
test_resync(void **state)
{
	struct cost_params p;
	struct cost_q q;

	cost_params_default(&p);
	assert_close(cost_resync_per_segment(&p), 15928);
	p.resync = COST_RESYNC_T6;
	assert_close(cost_resync_per_segment(&p), 15968.0 / 12);

	/*
	 * 1% of segments again, mlx5: 0.01 * 12 segments / 16384 bytes *
	 * 15928 = 0.11666015625 resync bytes per payload byte; the NIC
	 * reads (1 + 13/16384) * 1.01 = 1.0108013916015625 besides:
	 * 1.1274615478515625.
	 */
	p.resync = COST_RESYNC_MLX5;
	p.rexmit_rate = 0.01;
	assert_int_equal(cost_model(COST_NIC, &p, &q), 0);
	assert_close(q.resync, 0.11666015625);
	assert_close(q.nic_dma, 1.1274615478515625);
	assert_close(q.wire, W * 1.01);
	/* Software modes resend ciphertext: w * 1.01 DMA, no resync. */
	assert_int_equal(cost_model(COST_SW_SENDFILE, &p, &q), 0);
	assert_close(q.nic_dma, W * 1.01);
	assert_close(q.resync, 0);
}

/*
 * 3.5 GHz, AES-GCM 1 cycle/byte, copies 0.35 cycle/byte, free syscalls,
 * 4 cores, 1 worker, memory and link out of the way:
 *   userland: one worker pays 1 + 0.35 * (1 + w) = 1.70061950683594
 *     cycles/byte: 3.5e9 / 1.70061950683594 = 2.05807...e9 bytes/s;
 *   software sendfile: the workers pay 1 cycle/byte on 4 cores:
 *     14e9 bytes/s, 6.8x userland.
 * With 20 GB/s of memory and every byte from disk, software sendfile is
 * bound by memory at 20e9 / 4.0035400390625 = 4.99558e9 bytes/s.
 */
static void
test_evaluate(void **state)
{
	struct cost_rates r = {
		.cpu_hz = 3.5e9,
		.aes_cpb = 1,
		.copy_cpb = 0.35,
		.mem_bw = 1e15,
		.link_bps = 1e15,
		.ncpu = 4,
		.workers = 1,
	};
	struct cost_params p;
	struct cost_eval ev;
	struct cost_q q;

	cost_params_default(&p);
	assert_int_equal(cost_model(COST_USERLAND, &p, &q), 0);
	cost_evaluate(COST_USERLAND, &q, &r, &ev);
	assert_close(ev.worker_cpb, 1 + 0.35 * (1 + W));
	assert_string_equal(ev.bound, "workers");
	assert_close(ev.bytes_per_sec, 3.5e9 / (1 + 0.35 * (1 + W)));

	assert_int_equal(cost_model(COST_SW_SENDFILE, &p, &q), 0);
	cost_evaluate(COST_SW_SENDFILE, &q, &r, &ev);
	assert_close(ev.kthread_cpb, 1);
	assert_close(ev.worker_cpb, 0);
	assert_string_equal(ev.bound, "cpu");
	assert_close(ev.bytes_per_sec, 14e9);

	p.disk_fraction = 1;
	r.mem_bw = 20e9;
	assert_int_equal(cost_model(COST_SW_SENDFILE, &p, &q), 0);
	cost_evaluate(COST_SW_SENDFILE, &q, &r, &ev);
	assert_string_equal(ev.bound, "memory");
	assert_close(ev.bytes_per_sec, 20e9 / 4.0035400390625);
}

/*
 * Counts of a software write(2) of four full records (65536 bytes):
 * copied in 65536, the cipher read 65536 and wrote 65536 in place plus
 * 4 * 29 framing bytes, the wire read 65652.  Per payload byte: reads
 * 2, writes (65536 + 65536 + 116) / 65536 = 1 + w, one copy.
 */
static void
test_measured(void **state)
{
	struct cost_counts c = {
		.payload = 65536,
		.copyin = 65536,
		.crypto_read = 65536,
		.crypto_inplace = 65536,
		.framing = 116,
		.wire = 65652,
		.syscalls = 4,
		.fills = 2,
		.wakeups = 2,
	};
	struct cost_q q;

	assert_int_equal(cost_measured(&c, &q), 0);
	assert_close(q.mem_rd, 2);
	assert_close(q.mem_wr, 1 + W);
	assert_close(q.copy, 1);
	assert_close(q.crypto, 1);
	assert_close(q.wire, W);
	assert_close(q.syscalls, 4.0 / 65536);
	assert_close(q.ctxsw, 4.0 / 65536);
	c.payload = 0;
	assert_int_equal(cost_measured(&c, &q), -1);
}

static void
test_bad_params(void **state)
{
	struct cost_params p;
	struct cost_q q;
	enum cost_mode m;

	cost_params_default(&p);
	p.rexmit_rate = 1.5;
	assert_int_equal(cost_model(COST_NIC, &p, &q), -1);
	cost_params_default(&p);
	p.mss = 0;
	assert_int_equal(cost_model(COST_NIC, &p, &q), -1);
	cost_params_default(&p);
	assert_int_equal(cost_model((enum cost_mode)99, &p, &q), -1);
	assert_int_equal(cost_mode_parse("sw-sendfile", &m), 0);
	assert_int_equal(m, COST_SW_SENDFILE);
	assert_int_equal(cost_mode_parse("toe", &m), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expansion),
		cmocka_unit_test(test_userland),
		cmocka_unit_test(test_sw),
		cmocka_unit_test(test_dram),
		cmocka_unit_test(test_resync),
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_measured),
		cmocka_unit_test(test_bad_params),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
