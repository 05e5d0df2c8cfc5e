/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The errors of the simulated socket calls (src/kern/uipc_socket.c,
 * src/netinet/tcp_usrreq.c), each as the FreeBSD call it stands for
 * answers: socket(2) with a type no protocol serves, connect(2) on a
 * listening or connected socket, listen(2) on a connected one,
 * setsockopt(2)/getsockopt(2) at another level, with an unknown option, a
 * short or missing value (sooptcopyin(), sooptcopyout()) or on a dropped
 * connection, shutdown(2) unconnected, sendmsg(2) with a bad control
 * message, flags or lengths.  Each failing call changes nothing: the
 * socket sends afterwards as if it had not been made.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ksim_harness.h"
#include "sys/ktls.h"
#include "sys/socketvar.h"

static void
test_socket_connect_listen(void **state)
{
	struct harness h;
	struct socket *so, *ls;
	struct wire w;
	ssize_t n;

	(void)state;
	harness_init(&h, HARNESS_DET, 1, 1);
	assert_int_equal(ksim_socket(SOCK_SEQPACKET, &so), EPROTONOSUPPORT);
	assert_int_equal(ksim_socket(SOCK_RAW, &so), EPROTONOSUPPORT);

	wire_init(&w);
	so = harness_socket(&h, &w, 1);
	/* connect(2) again: EISCONN; listen(2) when connected: EINVAL. */
	{
		struct tcp_wire tw = { NULL, NULL, NULL };

		assert_int_equal(ksim_connect(so, &tw, 2), EISCONN);
		assert_int_equal(ksim_listen(so), EINVAL);
		assert_int_equal(ksim_socket(SOCK_STREAM, &ls), 0);
		assert_int_equal(ksim_listen(ls), 0);
		assert_int_equal(ksim_connect(ls, &tw, 3), EOPNOTSUPP);
		ksim_close(ls);
		assert_int_equal(ksim_socket(SOCK_STREAM, &ls), 0);
		assert_int_equal(ksim_shutdown(ls), ENOTCONN);
		ksim_close(ls);
	}
	/* The first connection still writes where it did. */
	assert_int_equal(ksim_write(so, "abc", 3, &n), 0);
	harness_run(&h);
	assert_int_equal(w.len, 3);
	assert_memory_equal(w.buf, "abc", 3);
	ksim_close(so);
	harness_fini(&h);
	wire_fini(&w);
}

/*
 * What a new socket reserves (pr_attach): TCP net.inet.tcp.sendspace,
 * 32 KiB, free to grow; UDP net.inet.udp.maxdgram, 9216 bytes
 * (sys/netinet/udp_usrreq.c udp_attach()).  Either way the low-water mark
 * is a cluster (soreserve()).
 */
static void
sendspace_one(int type, u_int hiwat, bool autosize)
{
	struct ksim_sbstat st;
	struct socket *so;

	assert_int_equal(ksim_socket(type, &so), 0);
	ksim_sbstat(so, &st);
	assert_int_equal(st.hiwat, hiwat);
	assert_int_equal(st.lowat, 2048);
	assert_int_equal(st.autosize, autosize);
	ksim_close(so);
}

static void
test_socket_sendspace(void **state)
{

	(void)state;
	sendspace_one(SOCK_STREAM, 32768, true);
	sendspace_one(SOCK_DGRAM, 9216, false);
}

static void
test_sockopt_errors(void **state)
{
	struct harness_keys k;
	struct harness h;
	struct socket *so, *udp;
	struct wire w;
	socklen_t len;
	int mode, v;

	(void)state;
	harness_init(&h, HARNESS_DET, 2, 1);
	wire_init(&w);
	so = harness_socket(&h, &w, 1);
	harness_keys(&h, test_suite_named("aes256_gcm_1_3"), 0, &k);

	v = TCP_TLS_MODE_SW;
	/* Another level, or an option TCP does not have. */
	assert_int_equal(ksim_setsockopt(so, SOL_SOCKET, TCP_TXTLS_MODE, &v,
			     sizeof(v)),
	    ENOPROTOOPT);
	assert_int_equal(ksim_setsockopt(so, IPPROTO_TCP, TCP_RXTLS_ENABLE, &v,
			     sizeof(v)),
	    ENOPROTOOPT);
	assert_int_equal(ksim_setsockopt(so, IPPROTO_TCP, 0x7fff, &v,
			     sizeof(v)),
	    ENOPROTOOPT);
	len = sizeof(mode);
	assert_int_equal(ksim_getsockopt(so, SOL_SOCKET, TCP_TXTLS_MODE, &mode,
			     &len),
	    ENOPROTOOPT);
	assert_int_equal(ksim_getsockopt(so, IPPROTO_TCP, 0x7fff, &mode, &len),
	    ENOPROTOOPT);
	/*
	 * udp_ctloutput() hands a level other than IPPROTO_UDP to
	 * ip_ctloutput(), which refuses IPPROTO_TCP with EINVAL
	 * (sys/netinet/udp_usrreq.c, ip_output.c).
	 */
	assert_int_equal(ksim_socket(SOCK_DGRAM, &udp), 0);
	assert_int_equal(ksim_getsockopt(udp, IPPROTO_TCP, TCP_TXTLS_MODE,
			     &mode, &len),
	    EINVAL);
	ksim_close(udp);

	/* sooptcopyin(): short value, or none; sooptcopyout(): none. */
	assert_int_equal(ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &v,
			     sizeof(v) - 1),
	    EINVAL);
	assert_int_equal(ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, NULL,
			     sizeof(v)),
	    EFAULT);
	assert_int_equal(ksim_getsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, NULL,
			     &len),
	    EFAULT);
	assert_int_equal(ksim_getsockopt(so, IPPROTO_TCP, TCP_RXTLS_MODE, NULL,
			     &len),
	    EFAULT);

	/* None of that touched the socket: it enables and reports SW. */
	assert_int_equal(harness_enable(so, &k), 0);
	len = sizeof(mode);
	assert_int_equal(ksim_getsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode,
			     &len),
	    0);
	assert_int_equal(len, sizeof(mode));
	assert_int_equal(mode, TCP_TLS_MODE_SW);
	len = sizeof(mode);
	assert_int_equal(ksim_getsockopt(so, IPPROTO_TCP, TCP_RXTLS_MODE, &mode,
			     &len),
	    0);
	assert_int_equal(mode, TCP_TLS_MODE_NONE);

	/* A dropped connection refuses every option (tcp_ctloutput()). */
	ksim_drop(so, ECONNRESET);
	assert_int_equal(ksim_setsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &v,
			     sizeof(v)),
	    ECONNRESET);
	assert_int_equal(ksim_getsockopt(so, IPPROTO_TCP, TCP_TXTLS_MODE, &mode,
			     &len),
	    ECONNRESET);
	ksim_close(so);
	harness_fini(&h);
	wire_fini(&w);
}

static void
test_sendmsg_errors(void **state)
{
	struct harness_keys k;
	struct harness h;
	struct socket *so;
	struct wire w;
	struct iovec iov[5];
	struct msghdr msg;
	struct cmsghdr cm;
	uint8_t type = TLS_RLTYPE_HANDSHAKE, *plain;
	size_t plen, nrec;
	ssize_t n;

	(void)state;
	harness_init(&h, HARNESS_DET, 3, 1);
	wire_init(&w);
	so = harness_socket(&h, &w, 1);
	harness_keys(&h, test_suite_named("aes128_gcm_1_2"), 0, &k);
	assert_int_equal(harness_enable(so, &k), 0);

	/* A control message shorter than its header; another type. */
	assert_int_equal(harness_sendmsg_cmsg(so, IPPROTO_TCP,
			     TLS_SET_RECORD_TYPE, &type, 1, sizeof(cm) - 1, "x",
			     1, &n),
	    EINVAL);
	assert_int_equal(harness_sendmsg_cmsg(so, IPPROTO_TCP,
			     TLS_SET_RECORD_TYPE + 1, &type, 1, 0, "x", 1, &n),
	    EINVAL);
	/* MSG_EOR. */
	iov[0].iov_base = (void *)(uintptr_t) "x";
	iov[0].iov_len = 1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 1;
	assert_int_equal(ksim_sendmsg(so, &msg, MSG_EOR, &n), EINVAL);
	/*
	 * iovec lengths adding up past SSIZE_MAX (sendit(): EINVAL), here
	 * to 2^64 + 1, which a sum that wraps would take for 1 byte.
	 */
	for (int i = 0; i < 4; i++) {
		iov[i].iov_base = (void *)(uintptr_t) "x";
		iov[i].iov_len = (size_t)1 << 62;
	}
	iov[4].iov_base = (void *)(uintptr_t) "x";
	iov[4].iov_len = 1;
	msg.msg_iovlen = 5;
	assert_int_equal(ksim_sendmsg(so, &msg, 0, &n), EINVAL);

	/* Nothing of those went out; one good record does. */
	assert_int_equal(harness_send_type(so, type, "hello", 5, &n), 0);
	harness_run(&h);
	ksim_close(so);
	harness_fini(&h);
	harness_decrypt(&k, &w, &plain, &plen, &nrec, NULL, NULL);
	assert_int_equal(nrec, 1);
	assert_int_equal(plen, 5);
	assert_int_equal(w.buf[0], TLS_RLTYPE_HANDSHAKE);
	free(plain);
	wire_fini(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		harness_unit_test(test_socket_connect_listen),
		harness_unit_test(test_socket_sendspace),
		harness_unit_test(test_sockopt_errors),
		harness_unit_test(test_sendmsg_errors),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
