/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Sockets: creation, references, the send path and socket options.
 * Models sosend_generic() of sys/kern/uipc_socket.c (shared/spec/
 * freebsd-ktls.md section 3.2) and the system-call entry points of
 * sys/kern/uipc_syscalls.c.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <limits.h>

#include "netinet/tcp_var.h"
#include "netinet/udp_var.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

/* Default send buffer (net.inet.tcp.sendspace) and low-water mark. */
#define SIM_SENDSPACE 32768
#define SIM_SNDLOWAT 2048

int
ksim_socket(int type, struct socket **sop)
{
	struct socket *so;
	struct tcpcb *tp;

	if (type != SOCK_STREAM && type != SOCK_DGRAM)
		return (EPROTONOSUPPORT);
	so = kmalloc(sizeof(*so), M_WAITOK | M_ZERO);
	mtx_init(&so->so_lock, "so_snd");
	refcount_init(&so->so_count, 1);
	so->so_proto = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	so->so_snd.sb_mtx = &so->so_lock;
	so->so_snd.sb_hiwat = SIM_SENDSPACE;
	so->so_snd.sb_lowat = SIM_SNDLOWAT;
	/* tcp_usr_attach() */
	if (so->so_proto == IPPROTO_TCP)
		so->so_snd.sb_flags |= SB_AUTOLOWAT;
	tp = kmalloc(sizeof(*tp), M_WAITOK | M_ZERO);
	tp->t_socket = so;
	tp->t_maxseg = 1448;
	so->so_pcb = tp;
	*sop = so;
	return (0);
}

int
ksim_connect(struct socket *so, const struct tcp_wire *wire, uint32_t flowid)
{

	SOCKBUF_LOCK(&so->so_snd);
	if (so->so_options & SO_ACCEPTCONN_SIM) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (EOPNOTSUPP);
	}
	if (so->so_state & SS_ISCONNECTED) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (EISCONN);
	}
	so->so_wire = *wire;
	so->so_flowid = flowid;
	so->so_state |= SS_ISCONNECTED;
	SOCKBUF_UNLOCK(&so->so_snd);
	return (0);
}

int
ksim_listen(struct socket *so)
{

	SOCKBUF_LOCK(&so->so_snd);
	if (so->so_state & SS_ISCONNECTED || so->so_snd.sb_tls_info != NULL) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (EINVAL);
	}
	so->so_options |= SO_ACCEPTCONN_SIM;
	SOCKBUF_UNLOCK(&so->so_snd);
	return (0);
}

void
soref(struct socket *so)
{

	refcount_acquire(&so->so_count);
}

/* The last reference frees the socket, its buffer and its TLS session. */
void
sorele(struct socket *so)
{
	struct ktls_session *tls;

	if (!refcount_release(&so->so_count))
		return;
	SOCKBUF_LOCK(&so->so_snd);
	sbflush_locked(&so->so_snd);
	tls = so->so_snd.sb_tls_info;
	so->so_snd.sb_tls_info = NULL;
	SOCKBUF_UNLOCK(&so->so_snd);
	if (tls != NULL)
		ktls_free(tls);
	mtx_destroy(&so->so_lock);
	kfree(so->so_pcb);
	kfree(so);
}

void
sowwakeup_locked(struct socket *so)
{

	SOCKBUF_LOCK_ASSERT(&so->so_snd);
	if (so->so_snd.sb_flags & SB_WAIT) {
		so->so_snd.sb_flags &= ~SB_WAIT;
		wakeup(&so->so_snd);
	}
}

/*
 * SOCK_IO_SEND_LOCK: a sleepable lock that serialises senders (sosend,
 * sendfile, KTLS enable and mode switches), so that one writer's records
 * are never interleaved with another's.  Listening sockets refuse it.
 */
int
sock_io_send_lock(struct socket *so)
{
	int error;

	SOCKBUF_LOCK(&so->so_snd);
	if (so->so_options & SO_ACCEPTCONN_SIM) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (ENOTCONN);
	}
	while (so->so_snd_iolock) {
		error = msleep(&so->so_snd_iolock, so->so_snd.sb_mtx, 0);
		if (error != 0) {
			SOCKBUF_UNLOCK(&so->so_snd);
			return (error);
		}
	}
	so->so_snd_iolock = true;
	SOCKBUF_UNLOCK(&so->so_snd);
	return (0);
}

void
sock_io_send_unlock(struct socket *so)
{

	SOCKBUF_LOCK(&so->so_snd);
	so->so_snd_iolock = false;
	SOCKBUF_UNLOCK(&so->so_snd);
	wakeup(&so->so_snd_iolock);
}

/* sbwait(): sleep until TCP frees space or an error happens. */
static int
sbwait(struct socket *so)
{

	SOCKBUF_LOCK_ASSERT(&so->so_snd);
	so->so_snd.sb_flags |= SB_WAIT;
	return (msleep(&so->so_snd, so->so_snd.sb_mtx, so->so_snd.sb_timeo_ns));
}

/*
 * The record type of a TLS_SET_RECORD_TYPE control message.  As in
 * FreeBSD only the first cmsg's type is examined: neither its level nor
 * its data length is checked, nor the type value range.
 */
static int
so_tls_record_type(const struct msghdr *msg, uint8_t *typep, bool *have)
{
	const struct cmsghdr *cm;

	*have = false;
	if (msg == NULL || msg->msg_control == NULL || msg->msg_controllen == 0)
		return (0);
	if (msg->msg_controllen < sizeof(struct cmsghdr))
		return (EINVAL);
	cm = msg->msg_control;
	if (cm->cmsg_type != TLS_SET_RECORD_TYPE)
		return (EINVAL);
	if (cm->cmsg_len <= CMSG_LEN(0))
		*typep = 0;
	else
		*typep = *(const uint8_t *)CMSG_DATA(cm);
	*have = true;
	return (0);
}

/*
 * sosend_generic(): split the user data into records of at most
 * max_frame_len bytes, limited by the space in the send buffer at each
 * pass; frame them; append (which numbers them); hand software records to
 * a worker.  Record boundaries therefore depend on sbspace() at write time
 * (section 3.2).
 */
static int
sosend_generic(struct socket *so, struct uio *uio, const struct msghdr *msg,
    int flags, ssize_t *written)
{
	struct ktls_session *tls;
	struct mbuf *top;
	ssize_t resid, orig_resid;
	long space;
	int error, enq_cnt, pr_flags;
	uint8_t tls_rtype;
	bool atomic, have_type;

	*written = 0;
	orig_resid = resid = uio->uio_resid;
	tls_rtype = TLS_RLTYPE_APP;
	atomic = false;
	enq_cnt = 0;
	pr_flags = 0;
	if (resid < 0 || (flags & MSG_EOR))
		return (EINVAL);

	SOCKBUF_LOCK(&so->so_snd);
	tls = ktls_hold(so->so_snd.sb_tls_info);
	SOCKBUF_UNLOCK(&so->so_snd);
	error = so_tls_record_type(msg, &tls_rtype, &have_type);
	if (error != 0)
		goto out;
	if (tls != NULL) {
		if (tls->mode == TCP_TLS_MODE_SW)
			pr_flags |= PRUS_NOTREADY;
		if (have_type)
			atomic = true;
		if (resid == 0 && !ktls_permit_empty_frames(tls)) {
			error = EINVAL;
			goto out;
		}
	} else if (have_type) {
		/* tcp_usr_send() refuses control data on TCP. */
		error = EINVAL;
		goto out;
	} else if (resid == 0)
		goto out;

	/* Writers never interleave their records (SOCK_IO_SEND_LOCK). */
	error = sock_io_send_lock(so);
	if (error != 0)
		goto out;
	SOCKBUF_LOCK(&so->so_snd);
	do {
		if (so->so_snd.sb_state & SBS_CANTSENDMORE) {
			error = EPIPE;
			break;
		}
		if (so->so_error) {
			error = so->so_error;
			so->so_error = 0;
			break;
		}
		if ((so->so_state & SS_ISCONNECTED) == 0) {
			error = ENOTCONN;
			break;
		}
		space = sbspace(&so->so_snd);
		if (atomic && resid > so->so_snd.sb_hiwat) {
			error = EMSGSIZE;
			break;
		}
		if (space < resid &&
		    (atomic || space < (long)so->so_snd.sb_lowat)) {
			if (so->so_state & SS_NBIO) {
				error = EWOULDBLOCK;
				break;
			}
			error = sbwait(so);
			if (error != 0)
				break;
			continue;
		}
		SOCKBUF_UNLOCK(&so->so_snd);

		if (tls != NULL) {
			top = m_uiotombuf(uio, M_WAITOK, space,
			    tls->params.max_frame_len, M_EXTPG);
			ktls_frame(top, tls, &enq_cnt, tls_rtype);
			/* Only the first chunk carries the requested type. */
			tls_rtype = TLS_RLTYPE_APP;
		} else
			top = m_uiotombuf(uio, M_WAITOK, space, 0, 0);
		resid = uio->uio_resid;

		/*
		 * Take the worker's socket reference before the append, so
		 * a concurrent drop cannot free the socket in between.
		 */
		if (pr_flags & PRUS_NOTREADY)
			soref(so);
		error = tcp_usr_send(so, pr_flags, top);
		if (error == 0 && (pr_flags & PRUS_NOTREADY))
			ktls_enqueue(top, so, enq_cnt);
		else if (pr_flags & PRUS_NOTREADY) {
			/* pr_send() leaves not-ready chains to the caller. */
			m_freem(top);
			sorele(so);
		}
		SOCKBUF_LOCK(&so->so_snd);
		if (error != 0)
			break;
	} while (resid > 0);
	SOCKBUF_UNLOCK(&so->so_snd);
	sock_io_send_unlock(so);

out:
	if (tls != NULL)
		ktls_free(tls);
	*written = orig_resid - resid;
	/* Like sosend(): bytes already queued win over a late EWOULDBLOCK. */
	if (*written > 0 && (error == EWOULDBLOCK || error == EINTR))
		error = 0;
	return (error);
}

int
ksim_write(struct socket *so, const void *buf, size_t len, ssize_t *written)
{
	struct iovec iov;
	struct uio uio;

	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	uio.uio_iov = &iov;
	uio.uio_iovcnt = 1;
	uio.uio_offset = 0;
	uio.uio_resid = len;
	uio.uio_rw = UIO_WRITE;
	return (sosend_generic(so, &uio, NULL, 0, written));
}

int
ksim_sendmsg(struct socket *so, const struct msghdr *msg, int flags,
    ssize_t *written)
{
	struct iovec *iov;
	struct uio uio;
	ssize_t total;
	int error;

	total = 0;
	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_len > SSIZE_MAX - (size_t)total)
			return (EINVAL);
		total += msg->msg_iov[i].iov_len;
	}
	/* uiomove() consumes the iovecs: work on a copy. */
	iov = kmalloc(sizeof(*iov) * (msg->msg_iovlen + 1), M_WAITOK);
	memcpy(iov, msg->msg_iov, sizeof(*iov) * msg->msg_iovlen);
	uio.uio_iov = iov;
	uio.uio_iovcnt = msg->msg_iovlen;
	uio.uio_offset = 0;
	uio.uio_resid = total;
	uio.uio_rw = UIO_WRITE;
	error = sosend_generic(so, &uio, msg, flags, written);
	kfree(iov);
	return (error);
}

int
sooptcopyin(struct sockopt *sopt, void *buf, size_t len, size_t minlen)
{

	if (sopt->sopt_valsize < minlen)
		return (EINVAL);
	if (sopt->sopt_valsize < len)
		len = sopt->sopt_valsize;
	if (len > 0 && sopt->sopt_val == NULL)
		return (EFAULT);
	memcpy(buf, sopt->sopt_val, len);
	return (0);
}

int
sooptcopyout(struct sockopt *sopt, const void *buf, size_t len)
{

	if (sopt->sopt_val == NULL)
		return (EFAULT);
	len = min(len, sopt->sopt_valsize);
	memcpy(sopt->sopt_val, buf, len);
	sopt->sopt_valsize = len;
	return (0);
}

/*
 * sosetopt()/sogetopt(): everything but SOL_SOCKET goes to the protocol's
 * pr_ctloutput.  SIM: socket-level options are set with ksim_set_*().
 */
static int
so_ctloutput(struct socket *so, struct sockopt *sopt)
{

	if (sopt->sopt_level == SOL_SOCKET)
		return (ENOPROTOOPT);
	if (so->so_proto == IPPROTO_TCP)
		return (tcp_ctloutput(so, sopt));
	return (udp_ctloutput(so, sopt));
}

int
ksim_setsockopt(struct socket *so, int level, int name, const void *val,
    socklen_t valsize)
{
	struct sockopt sopt;

	sopt.sopt_dir = SOPT_SET;
	sopt.sopt_level = level;
	sopt.sopt_name = name;
	sopt.sopt_val = (void *)(uintptr_t)val;
	sopt.sopt_valsize = valsize;
	return (so_ctloutput(so, &sopt));
}

int
ksim_getsockopt(struct socket *so, int level, int name, void *val,
    socklen_t *valsize)
{
	struct sockopt sopt;
	int error;

	sopt.sopt_dir = SOPT_GET;
	sopt.sopt_level = level;
	sopt.sopt_name = name;
	sopt.sopt_val = val;
	sopt.sopt_valsize = *valsize;
	error = so_ctloutput(so, &sopt);
	*valsize = sopt.sopt_valsize;
	return (error);
}

void
ksim_set_nbio(struct socket *so, bool on)
{

	SOCKBUF_LOCK(&so->so_snd);
	if (on)
		so->so_state |= SS_NBIO;
	else
		so->so_state &= ~SS_NBIO;
	SOCKBUF_UNLOCK(&so->so_snd);
}

void
ksim_set_sndbuf(struct socket *so, u_int hiwat, u_int lowat)
{

	SOCKBUF_LOCK(&so->so_snd);
	so->so_snd.sb_hiwat = hiwat;
	so->so_snd.sb_lowat = min(lowat, hiwat);
	/* An explicit low-water mark stops sendfile's adjustment. */
	so->so_snd.sb_flags &= ~SB_AUTOLOWAT;
	SOCKBUF_UNLOCK(&so->so_snd);
}

void
ksim_set_sndtimeo(struct socket *so, uint64_t timo_ns)
{

	SOCKBUF_LOCK(&so->so_snd);
	so->so_snd.sb_timeo_ns = timo_ns;
	SOCKBUF_UNLOCK(&so->so_snd);
}

/* soshutdown(SHUT_WR): no more sends; FIN once everything went out. */
int
ksim_shutdown(struct socket *so)
{

	SOCKBUF_LOCK(&so->so_snd);
	if ((so->so_state & SS_ISCONNECTED) == 0) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (ENOTCONN);
	}
	so->so_snd.sb_state |= SBS_CANTSENDMORE;
	sowwakeup_locked(so);
	tcp_output(sototcpcb(so));
	SOCKBUF_UNLOCK(&so->so_snd);
	return (0);
}

static void
so_close_release_task(void *arg)
{

	sorele(arg);
}

/*
 * Called with the socket lock held once a closed socket sent its FIN or
 * was dropped.  The release may free the socket, which needs the lock, so
 * it runs as a task.
 */
void
so_close_done_locked(struct socket *so)
{

	SOCKBUF_LOCK_ASSERT(&so->so_snd);
	if (!so->so_closed || so->so_close_released)
		return;
	so->so_close_released = true;
	platform->pl_task_post(platform, 0, so_close_release_task, so);
}

/*
 * close(2): shut the send side.  The socket lingers, as a kernel socket
 * does, until its queued data and FIN are out or it is dropped; workers
 * and pending disk reads hold their own references meanwhile.
 */
void
ksim_close(struct socket *so)
{
	struct tcpcb *tp;

	SOCKBUF_LOCK(&so->so_snd);
	tp = sototcpcb(so);
	so->so_snd.sb_state |= SBS_CANTSENDMORE;
	if (so->so_state & SS_ISCONNECTED)
		tcp_output(tp);
	/* From here on the FIN or a drop releases the reference. */
	so->so_closed = true;
	if (tp->t_fin_sent || tp->t_dropped ||
	    (so->so_state & SS_ISCONNECTED) == 0) {
		so->so_close_released = true;
		SOCKBUF_UNLOCK(&so->so_snd);
		sorele(so);
		return;
	}
	SOCKBUF_UNLOCK(&so->so_snd);
}

void
tcp_output_kick(struct socket *so)
{

	SOCKBUF_LOCK(&so->so_snd);
	tcp_output(sototcpcb(so));
	SOCKBUF_UNLOCK(&so->so_snd);
}

void
ksim_drop(struct socket *so, int error)
{

	SOCKBUF_LOCK(&so->so_snd);
	tcp_drop(sototcpcb(so), error);
	SOCKBUF_UNLOCK(&so->so_snd);
}

void
ksim_sbstat(struct socket *so, struct ksim_sbstat *st)
{
	struct mbuf *m;

	memset(st, 0, sizeof(*st));
	SOCKBUF_LOCK(&so->so_snd);
	st->ccc = so->so_snd.sb_ccc;
	st->acc = so->so_snd.sb_acc;
	st->hiwat = so->so_snd.sb_hiwat;
	st->lowat = so->so_snd.sb_lowat;
	st->tls_seqno = so->so_snd.sb_tls_seqno;
	for (m = so->so_snd.sb_mb; m != NULL; m = m->m_next) {
		st->nmbufs++;
		if (m->m_flags & M_NOTREADY)
			st->nnotready++;
	}
	st->fin_sent = sototcpcb(so)->t_fin_sent;
	SBCHECK(&so->so_snd);
	SOCKBUF_UNLOCK(&so->so_snd);
}
