/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Test fixture for driving the simulated kernel: a platform (either
 * runner), a connected simulated socket whose wire is an in-memory byte
 * sink the test can read, and session parameters with random keys.  The
 * bytes on the wire are checked with the independent oracle (oracle.h),
 * never with src/'s own code.
 */

#ifndef _TESTS_KSIM_HARNESS_H_
#define _TESTS_KSIM_HARNESS_H_

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hexutil.h"
#include "suites.h"

struct iovec;
struct ktls_session;
struct mbuf;
struct socket;
struct platform;
struct tcp_wire;
struct tls_enable;

enum harness_runner { HARNESS_DET, HARNESS_RT };

struct harness {
	enum harness_runner runner;
	struct platform *pl;
	uint64_t seed;
	struct test_rng rng;
};

/* The wire: everything TCP sent, in order. */
struct wire {
	uint8_t *buf;
	size_t len, cap;
	size_t limit; /* bytes it accepts in all before "full" */
	bool fin;
	int nwrites;
};

/* Keys and parameters of one session, as handed to TCP_TXTLS_ENABLE. */
struct harness_keys {
	const struct test_suite *suite;
	uint8_t cipher_key[32];
	uint8_t iv[16];
	uint8_t auth_key[48];
	uint64_t seqno;
};

/*
 * cmocka fixtures for every case that drives the kernel; cmocka runs them
 * whatever the case's outcome.  Both put the kernel's global knobs
 * (sysctls, ktls_sim_async, the trace hooks, the crypto backend) and the
 * disk's profile (models/disk/disk.h) back to their values at program
 * start (the backend: the one KTLSIM_BACKEND names, if set;
 * ktls_backend_select()), and tear down a harness that a failed case left
 * live (its sockets' output hooks and test interfaces (testif.h) become a
 * sink, queued work runs out, then as harness_fini()), so that the next
 * case starts as in a fresh process instead of panicking in ktls_init().
 * Sockets the failed case left open are leaked.
 */
int harness_setup(void **state);
int harness_teardown(void **state);
#define harness_unit_test(f) \
	cmocka_unit_test_setup_teardown(f, harness_setup, harness_teardown)

void harness_init(struct harness *h, enum harness_runner runner, uint64_t seed,
    int ncpus);
void harness_fini(struct harness *h);
/* Let every worker, disk read and completion finish. */
void harness_run(struct harness *h);

void wire_init(struct wire *w);
void wire_fini(struct wire *w);
/*
 * What a tcp_wire output hook does with the bytes tcp_output() hands it:
 * append them up to w->limit, count the call in w->nwrites and return the
 * bytes taken.  For tests that wrap the wire in hooks of their own.  Out
 * of memory it aborts (the hook may run on a worker thread).
 */
size_t wire_append(struct wire *w, const struct iovec *iov, int iovcnt);

/* A connected TCP socket whose output lands in w (flowid picks a worker). */
struct socket *harness_socket(struct harness *h, struct wire *w,
    uint32_t flowid);
/*
 * The same with the caller's own output hooks (called through the
 * harness's own, which harness_teardown() can turn into a sink).
 */
struct socket *harness_connect(const struct tcp_wire *tw, uint32_t flowid);
/*
 * SO_SNDBUF and SO_SNDLOWAT, asserted to succeed.  A buffer beyond what
 * kern.ipc.maxsockbuf allows raises that sysctl first, to eight times the
 * buffer so that sb_mbmax keeps its usual ratio (sbreserve_locked());
 * harness_fini() puts the default back.
 */
void harness_sndbuf(struct socket *so, u_int hiwat, u_int lowat);
/* Random printable keys (as FreeBSD's ktls_test.c) and the given seqno. */
void harness_keys(struct harness *h, const struct test_suite *s, uint64_t seqno,
    struct harness_keys *k);
/* The TCP_TXTLS_ENABLE argument for k, FreeBSD's layout (sys/sys/ktls.h). */
void harness_tls_enable(const struct harness_keys *k, struct tls_enable *en);
/* setsockopt(TCP_TXTLS_ENABLE) with k; returns the errno. */
int harness_enable(struct socket *so, const struct harness_keys *k);
/*
 * sendmsg() of buf[0..len) as one iovec, with flags and the control buffer
 * (NULL, 0 for none) as given; returns the errno, the bytes taken in
 * *written.
 */
int harness_sendmsg(struct socket *so, const void *buf, size_t len, int flags,
    const void *control, size_t controllen, ssize_t *written);
/* sendmsg() with a TLS_SET_RECORD_TYPE control message. */
int harness_send_type(struct socket *so, uint8_t type, const void *buf,
    size_t len, ssize_t *written);
/*
 * sendmsg() with one cmsg of any level and type carrying dlen (at most 16)
 * data bytes; controllen 0 means CMSG_SPACE(dlen), anything else is used
 * as msg_controllen as it is.
 */
int harness_sendmsg_cmsg(struct socket *so, int level, int type,
    const uint8_t *data, size_t dlen, size_t controllen, const void *buf,
    size_t len, ssize_t *written);

/*
 * Decrypt the whole wire with the oracle; *plain is malloc'd.  Returns 0
 * or fails the cmocka test with the oracle's message.
 */
struct oracle_record;
typedef int harness_rec_cb(void *arg, const struct oracle_record *rec);
void harness_decrypt(const struct harness_keys *k, const struct wire *w,
    uint8_t **plain, size_t *plen, size_t *nrecords, harness_rec_cb *cb,
    void *arg);

/*
 * Decrypt the whole wire with the oracle and fail the test unless it holds
 * exactly nrecords records whose plaintext is want[0..len).
 */
void harness_expect_stream(const struct harness_keys *k, const struct wire *w,
    const void *want, size_t len, size_t nrecords);

/*
 * Encrypt one record that ktls_frame() framed, in place, through its
 * session's backend (tls->be), as ktls_encrypt_record() does for write(2)
 * data; returns kb_encrypt()'s error.  For tests that drive a backend
 * without the workers.
 */
int harness_encrypt_in_place(struct ktls_session *tls, struct mbuf *m);
/*
 * Free such a record, which never reached a socket buffer, and the session
 * reference ktls_frame() took for it.
 */
void harness_record_free(struct ktls_session *tls, struct mbuf *m);

/* Make a temporary file of len random bytes; returns an open fd. */
int harness_tmpfile(struct test_rng *rng, size_t len, uint8_t **contents);

#endif /* !_TESTS_KSIM_HARNESS_H_ */
