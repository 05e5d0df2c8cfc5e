/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Unit tests for src/opencrypto/ktls_ocf.c that depend on INVARIANTS.
 * meson builds this file twice: as ktls_ocf_test against the library
 * (INVARIANTS, the default build) and as ktls_ocf_noinvariants_test with
 * its own copy of ktls_ocf.c compiled without INVARIANTS, the way a
 * FreeBSD release kernel is built.
 *
 * The TLS 1.0 order check of ktls_ocf_tls_cbc_encrypt() is INVARIANTS-only
 * in FreeBSD: an INVARIANTS kernel refuses a record that is not the one
 * after the last encrypted (EINVAL, and the connection is dropped); a
 * kernel without INVARIANTS encrypts it, chaining from whatever IV it
 * holds.  Every record is checked with the independent oracle.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "opencrypto/ktls.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

/* One framed record of the socket's session holding buf[0..len). */
static struct mbuf *
framed_record(struct ktls_session *tls, const uint8_t *buf, int len,
    uint64_t seqno)
{
	struct iovec iov = { (void *)(uintptr_t)buf, (size_t)len };
	struct uio uio = { &iov, 1, 0, len, UIO_WRITE };
	struct mbuf *m;
	int enq;

	m = m_uiotombuf(&uio, M_WAITOK, 0, 16384, M_EXTPG);
	assert_non_null(m);
	assert_null(m->m_next);
	ktls_frame(m, tls, &enq, TLS_RLTYPE_APP);
	m->m_epg_seqno = seqno;
	return (m);
}

/*
 * Encrypt m in place through the session's backend: EVP for CBC whichever
 * backend is the default.
 */
static int
encrypt_in_place(struct ktls_session *tls, struct mbuf *m)
{

	assert_ptr_equal(tls->be, &ktls_ocf_backend);
	return (harness_encrypt_in_place(tls, m));
}

#ifndef INVARIANTS
/*
 * Encrypt records m[0] (sequence number 5) and m[1] (6) and read them as a
 * stream from sequence number 5 with the session's initial IV.
 */
static void
check_chained(struct harness_keys *k, struct ktls_session *tls,
    struct mbuf *m[2], uint8_t data[2][700])
{
	struct harness_keys k5;
	struct wire w;
	uint8_t *plain;
	size_t plen, nrec;

	wire_init(&w);
	assert_int_equal(encrypt_in_place(tls, m[0]), 0);
	assert_int_equal(encrypt_in_place(tls, m[1]), 0);
	for (int i = 0; i < 2; i++) {
		struct iovec iov = { NULL, (size_t)m[i]->m_len };

		iov.iov_base = malloc(iov.iov_len);
		assert_non_null(iov.iov_base);
		m_copydata(m[i], 0, m[i]->m_len, iov.iov_base);
		wire_append(&w, &iov, 1);
		free(iov.iov_base);
	}
	k5 = *k;
	k5.seqno = 5;
	harness_decrypt(&k5, &w, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(nrec, 2);
	assert_int_equal(plen, 1000);
	assert_memory_equal(plain, data[0], 300);
	assert_memory_equal(plain + 300, data[1], 700);
	free(plain);
	wire_fini(&w);
}
#endif

/*
 * A TLS 1.0 session numbered from 0 is handed records 5 and 6 first.
 * With INVARIANTS the backend refuses record 5; without, it encrypts both,
 * chaining from the initial IV, and the oracle reads them as a stream
 * that starts at sequence number 5.
 */
static void
test_tls10_out_of_order(void **state)
{
	struct harness_keys k;
	struct ktls_session *tls;
	struct harness h;
	struct socket *so;
	struct mbuf *m[2];
	struct wire w;
	uint8_t data[2][700];

	(void)state;
	harness_init(&h, HARNESS_DET, 41, 1);
	wire_init(&w);
	so = harness_socket(&h, &w, 0);
	harness_keys(&h, test_suite_named("aes128_cbc_1_0_sha1"), 0, &k);
	assert_int_equal(harness_enable(so, &k), 0);
	tls = so->so_snd.sb_tls_info;
	assert_true(tls->sequential_records && tls->next_seqno == 0);
	memset(data[0], 'a', sizeof(data[0]));
	memset(data[1], 'b', sizeof(data[1]));
	m[0] = framed_record(tls, data[0], 300, 5);
	m[1] = framed_record(tls, data[1], 700, 6);

#ifdef INVARIANTS
	assert_int_equal(encrypt_in_place(tls, m[0]), EINVAL);
#else
	check_chained(&k, tls, m, data);
#endif
	harness_record_free(tls, m[0]);
	harness_record_free(tls, m[1]);
	ksim_close(so);
	harness_run(&h);
	harness_fini(&h);
	wire_fini(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls10_out_of_order),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
