/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * SIM: a TCP output stub.  It keeps the two rules of tcp_default_output()
 * (sys/netinet/tcp_output.c) that matter to KTLS: only the ready prefix of
 * the send buffer (sb_acc) may be sent, and no FIN goes out while any
 * byte, ready or not, is still queued (sb_ccc).  Bytes the wire takes
 * count as sent and acknowledged at once; there is no congestion control,
 * retransmission or window (docs/differences.md).
 */

#include "netinet/tcp_var.h"
#include "sys/ktls_trace.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

#define TCP_OUTPUT_MAXIOV 64

/* Gather up to len ready bytes from the front of the buffer. */
static int
tcp_gather(struct sockbuf *sb, u_int len, struct iovec *iov, int maxiov,
    size_t *total)
{
	struct mbuf *m;
	int cnt;
	u_int take;

	cnt = 0;
	*total = 0;
	for (m = sb->sb_mb; m != NULL && len > 0 && cnt < maxiov;
	     m = m->m_next) {
		if (m->m_len == 0)
			continue;
		take = min((u_int)m->m_len, len);
		/* An mbuf is at most header, pages and trailer. */
		if (cnt + (int)MBUF_PEXT_MAX_PGS + 2 > maxiov && cnt > 0)
			break;
		cnt += m_to_iovec(m, 0, take, iov + cnt, maxiov - cnt);
		*total += take;
		len -= take;
	}
	return (cnt);
}

/* Report [off, off + n) as MSS-sized segments to the trace hooks. */
static void
tcp_trace_segments(struct tcpcb *tp, const struct iovec *iov, int iovcnt,
    size_t n)
{
	struct iovec seg[TCP_OUTPUT_MAXIOV];
	size_t done, want, iovoff;
	int i, nseg;

	i = 0;
	iovoff = 0;
	done = 0;
	while (done < n) {
		want = min((size_t)tp->t_maxseg, n - done);
		nseg = 0;
		while (want > 0 && i < iovcnt) {
			size_t take = min(iov[i].iov_len - iovoff, want);

			seg[nseg].iov_base = (char *)iov[i].iov_base + iovoff;
			seg[nseg].iov_len = take;
			nseg++;
			want -= take;
			iovoff += take;
			if (iovoff == iov[i].iov_len) {
				i++;
				iovoff = 0;
			}
		}
		ktls_trace_hooks->th_segment(ktls_trace_hooks->th_arg,
		    tp->t_socket, tp->t_snd_nxt + done, seg, nseg, 0);
		done += min((size_t)tp->t_maxseg, n - done);
	}
}

/* Records leaving the buffer for good (their last byte was sent). */
static void
tcp_trace_freed(struct sockbuf *sb, struct socket *so, size_t n)
{
	struct mbuf *m;

	for (m = sb->sb_mb; m != NULL && n >= (size_t)m->m_len; m = m->m_next) {
		n -= m->m_len;
		if (m->m_flags & M_EXTPG)
			KTLS_TRACE_RECORD(KTR_FREED, so, m);
	}
}

void
tcp_output(struct tcpcb *tp)
{
	struct iovec iov[TCP_OUTPUT_MAXIOV];
	struct socket *so;
	struct sockbuf *sb;
	size_t total;
	ssize_t n;
	int cnt;

	so = tp->t_socket;
	sb = &so->so_snd;
	SOCKBUF_LOCK_ASSERT(sb);
	if (tp->t_dropped || (so->so_state & SS_ISCONNECTED) == 0 ||
	    so->so_wire.tw_output == NULL)
		return;

	while (sbavail(sb) > 0) {
		cnt =
		    tcp_gather(sb, sbavail(sb), iov, TCP_OUTPUT_MAXIOV, &total);
		MPASS(cnt > 0 && total > 0);
		n = so->so_wire.tw_output(so->so_wire.tw_arg, iov, cnt);
		if (n < 0) {
			tcp_drop(tp, (int)-n);
			return;
		}
		if (n == 0)
			break;
		MPASS((size_t)n <= total);
		counter_u64_add(ksim_wire_read_bytes, n);
		if (__predict_false(ktls_trace_hooks != NULL)) {
			if (ktls_trace_hooks->th_segment != NULL)
				tcp_trace_segments(tp, iov, cnt, n);
			tcp_trace_freed(sb, so, n);
		}
		tp->t_snd_nxt += n;
		sbdrop_locked(sb, (int)n);
		sowwakeup_locked(so);
	}

	/* FIN only after every byte, including not-ready ones, is gone. */
	if ((sb->sb_state & SBS_CANTSENDMORE) && sbused(sb) == 0 &&
	    !tp->t_fin_sent) {
		tp->t_fin_sent = true;
		if (so->so_wire.tw_fin != NULL)
			so->so_wire.tw_fin(so->so_wire.tw_arg);
		so_close_done_locked(so);
	}
}
