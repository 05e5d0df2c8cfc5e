/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A real run of the simulated kernel against the cost model: the copies,
 * cipher bytes and wire bytes that src/ counted where it moved the data
 * (docs/cost-model.md, "What the simulator counts") must be what the model
 * says that run costs, and the wire must decrypt (tests/lib's oracle) to
 * what was sent.
 *
 * Tolerance: 0.1% of each quantity.  Every record of these runs is full
 * (16 records of 16384 bytes into a buffer that holds them all), so the
 * counts are exact up to the model's rounding; the margin only keeps a
 * future short record from failing the test for the wrong reason.  Zero
 * quantities (no plaintext copy for sendfile) must be exactly zero.
 */

#include <sys/socket.h>

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sim/cost_snap.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"
#include "tests/lib/ksim_harness.h"

#define NREC 16
#define PAYLOAD (NREC * 16384)
#define TOLERANCE 0.001

#define assert_within(what, got, want)                                    \
	do {                                                              \
		double g_ = (got), w_ = (want);                           \
		if (w_ == 0 ? g_ != 0 : fabs(g_ - w_) > TOLERANCE * w_)   \
			fail_msg("%s: counted %.9g per byte, model %.9g", \
			    what, g_, w_);                                \
	} while (0)

/* The model's session for a suite: its per-record header and trailer. */
static void
suite_params(const struct test_suite *s, struct cost_params *p)
{

	cost_params_default(p);
	if (s->tls_vminor == TLS_MINOR_VER_THREE) {
		p->hdr_len = 5;	 /* no explicit nonce (RFC 8446 5.2) */
		p->trl_len = 17; /* tag + inner content type */
	} else {
		p->hdr_len = 13; /* 5 + 8-byte explicit nonce (RFC 5288) */
		p->trl_len = 16;
	}
}

static void
check_data_movement(enum cost_mode mode, const struct cost_params *p,
    const struct cost_counts *c)
{
	struct cost_q model, meas;

	assert_int_equal(cost_model(mode, p, &model), 0);
	assert_int_equal(cost_measured(c, &meas), 0);
	assert_within("copies", meas.copy, model.copy);
	assert_within("cpu reads", meas.mem_rd, model.mem_rd);
	assert_within("cpu writes", meas.mem_wr, model.mem_wr);
	assert_within("cipher", meas.crypto, model.crypto);
	assert_within("nic dma", meas.nic_dma, model.nic_dma);
}

static void
run_mode(const char *suite, bool sendfile)
{
	const struct test_suite *s;
	struct harness_keys k;
	struct cost_counts before, c;
	struct cost_params p;
	struct harness h;
	struct socket *so;
	struct wire w;
	uint8_t *data;
	off_t sent;
	ssize_t n;
	int fd;

	s = test_suite_named(suite);
	suite_params(s, &p);
	harness_init(&h, HARNESS_DET, 42, 2);
	wire_init(&w);
	so = harness_socket(&h, &w, 0);
	/* Room for every record at once: all of them full. */
	harness_sndbuf(so, 2 * PAYLOAD, 2048);
	harness_keys(&h, s, 0, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	fd = -1;
	if (sendfile) {
		fd = harness_tmpfile(&h.rng, PAYLOAD, &data);
		/* Warm the page cache: the disk's reads are not measured. */
		assert_int_equal(ksim_sendfile(so, fd, 0, PAYLOAD, NULL, &sent,
				     0),
		    0);
		harness_run(&h);
	} else {
		data = malloc(PAYLOAD);
		assert_non_null(data);
		test_random_printable(&h.rng, data, PAYLOAD);
	}
	memset(&c, 0, sizeof(c));
	c.payload = PAYLOAD;
	cost_snap(&before);
	if (sendfile) {
		assert_int_equal(ksim_sendfile(so, fd, 0, PAYLOAD, NULL, &sent,
				     0),
		    0);
		assert_int_equal(sent, PAYLOAD);
	} else {
		assert_int_equal(ksim_write(so, data, PAYLOAD, &n), 0);
		assert_int_equal(n, PAYLOAD);
	}
	harness_run(&h);
	cost_snap_since(&before, &c);

	check_data_movement(sendfile ? COST_SW_SENDFILE : COST_SW_WRITE, &p,
	    &c);
	if (sendfile) {
		/* No plaintext copy; ciphertext to new pages only. */
		assert_true(c.copyin == 0 && c.copyout == 0);
		assert_true(c.crypto_inplace == 0);
		assert_true(c.crypto_newpages == PAYLOAD);
	} else {
		assert_true(c.copyin == PAYLOAD);
		assert_true(c.crypto_newpages == 0);
	}
	/* Ciphertext written = payload + overhead; the wire read it all. */
	assert_true(c.crypto_inplace + c.crypto_newpages + c.framing ==
	    PAYLOAD + NREC * (p.hdr_len + p.trl_len));
	assert_true(c.wire == PAYLOAD + NREC * (p.hdr_len + p.trl_len));

	/* The bytes are right: the oracle decrypts what was sent. */
	if (sendfile) {
		uint8_t *twice = malloc(2 * PAYLOAD);

		assert_non_null(twice);
		memcpy(twice, data, PAYLOAD);
		memcpy(twice + PAYLOAD, data, PAYLOAD);
		harness_expect_stream(&k, &w, twice, 2 * PAYLOAD, 2 * NREC);
		free(twice);
	} else
		harness_expect_stream(&k, &w, data, PAYLOAD, NREC);
	ksim_close(so);
	harness_run(&h);
	if (fd >= 0)
		close(fd);
	free(data);
	wire_fini(&w);
	harness_fini(&h);
}

static void
test_sw_write_12(void **state)
{

	run_mode("aes128_gcm_1_2", false);
}

static void
test_sw_write_13(void **state)
{

	run_mode("aes256_gcm_1_3", false);
}

static void
test_sw_sendfile_12(void **state)
{

	run_mode("aes128_gcm_1_2", true);
}

static void
test_sw_sendfile_13(void **state)
{

	run_mode("aes256_gcm_1_3", true);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_sw_write_12),
		harness_unit_test(test_sw_write_13),
		harness_unit_test(test_sw_sendfile_12),
		harness_unit_test(test_sw_sendfile_13),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
