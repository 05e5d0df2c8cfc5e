/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Sockets: creation, references, the send path and socket options.
 * Models sosend_generic() and soiolock() of sys/kern/uipc_socket.c,
 * soreserve() and sbsetopt() of sys/kern/uipc_sockbuf.c, and the
 * system-call entry points of sys/kern/uipc_syscalls.c.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include <limits.h>

#include "net/if_wire.h"
#include "netinet/tcp_var.h"
#include "netinet/udp_var.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

/*
 * soreserve(), send side: reserve the buffer and default the low-water
 * mark to a cluster (sys/kern/uipc_sockbuf.c soreserve()).
 */
static int
soreserve(struct socket *so, u_long sndcc)
{

	SOCKBUF_LOCK(&so->so_snd);
	if (!sbreserve_locked(so, sndcc)) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (ENOBUFS);
	}
	if (so->so_snd.sb_lowat == 0)
		so->so_snd.sb_lowat = MCLBYTES;
	if (so->so_snd.sb_lowat > so->so_snd.sb_hiwat)
		so->so_snd.sb_lowat = so->so_snd.sb_hiwat;
	SOCKBUF_UNLOCK(&so->so_snd);
	return (0);
}

int
ksim_socket(int type, struct socket **sop)
{
	struct socket *so;
	struct tcpcb *tp;
	int error;

	if (type != SOCK_STREAM && type != SOCK_DGRAM)
		return (EPROTONOSUPPORT);
	so = kmalloc(sizeof(*so), M_WAITOK | M_ZERO);
	mtx_init(&so->so_lock, "so_snd");
	refcount_init(&so->so_count, 1);
	so->so_proto = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
	so->so_snd.sb_mtx = &so->so_lock;
	/*
	 * tcp_usr_attach(): net.inet.tcp.sendspace bytes, which TCP may
	 * grow (tcp_sndbuf_autoscale()) until SO_SNDBUF fixes a size;
	 * udp_attach(): net.inet.udp.maxdgram bytes.
	 */
	if (so->so_proto == IPPROTO_TCP)
		so->so_snd.sb_flags |= SB_AUTOLOWAT | SB_AUTOSIZE;
	tp = tcp_newtcpcb(so);
	so->so_pcb = tp;
	error = soreserve(so,
	    so->so_proto == IPPROTO_TCP ? (u_long)tcp_sendspace :
					  udp_sendspace);
	if (error != 0) {
		sorele(so);
		return (error);
	}
	*sop = so;
	return (0);
}

/* Both connects: a listening or connected socket cannot. */
static int
ksim_connect_check(struct socket *so)
{

	SOCKBUF_LOCK_ASSERT(&so->so_snd);
	if (so->so_options & SO_ACCEPTCONN_SIM)
		return (EOPNOTSUPP);
	if (so->so_state & SS_ISCONNECTED)
		return (EISCONN);
	return (0);
}

int
ksim_connect(struct socket *so, const struct tcp_wire *wire, uint32_t flowid)
{
	struct tcpcb *tp;
	int error;

	SOCKBUF_LOCK(&so->so_snd);
	error = ksim_connect_check(so);
	if (error != 0) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (error);
	}
	tp = sototcpcb(so);
	tp->t_wire = if_wire_alloc(tp, wire);
	tcp_connect_sim(tp, if_wire_nhop(tp->t_wire), IF_WIRE_WND);
	so->so_flowid = flowid;
	so->so_state |= SS_ISCONNECTED;
	SOCKBUF_UNLOCK(&so->so_snd);
	return (0);
}

int
ksim_connect_route(struct socket *so, struct nhop_object *nh, uint32_t flowid,
    uint32_t wnd)
{
	int error;

	if (nh == NULL)
		return (EINVAL);
	SOCKBUF_LOCK(&so->so_snd);
	error = ksim_connect_check(so);
	if (error == 0) {
		tcp_connect_sim(sototcpcb(so), nh, wnd);
		so->so_flowid = flowid;
		so->so_state |= SS_ISCONNECTED;
	}
	SOCKBUF_UNLOCK(&so->so_snd);
	return (error);
}

int
ksim_set_route(struct socket *so, struct nhop_object *nh)
{
	struct tcpcb *tp;
	int error;

	SOCKBUF_LOCK(&so->so_snd);
	tp = sototcpcb(so);
	error = 0;
	if (nh == NULL || (so->so_state & SS_ISCONNECTED) == 0)
		error = EINVAL;
	else
		tptoinpcb(tp)->inp_route.ro_nh = nh;
	SOCKBUF_UNLOCK(&so->so_snd);
	return (error);
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
	tcp_discardcb(so->so_pcb);
	kfree(so);
}

/*
 * sowakeup() for the send buffer: wake writers sleeping for space, then
 * the upcall (FreeBSD also notifies select(2) and kqueue(2) here; the
 * simulator's event loops use the upcall instead).  SIM: FreeBSD's
 * sowwakeup_locked() returns with the lock dropped; here the caller keeps
 * it.
 */
void
sowwakeup_locked(struct socket *so)
{
	struct sockbuf *sb = &so->so_snd;

	SOCKBUF_LOCK_ASSERT(sb);
	if (sb->sb_flags & SB_WAIT) {
		sb->sb_flags &= ~SB_WAIT;
		wakeup(sb);
	}
	if (sb->sb_flags & SB_UPCALL)
		(void)sb->sb_upcall(so, sb->sb_upcallarg, M_NOWAIT);
}

void
soupcall_set(struct socket *so, int which, so_upcall_t *func, void *arg)
{
	struct sockbuf *sb = &so->so_snd;

	KASSERT(which == SO_SND, ("soupcall_set: only SO_SND, not %d", which));
	SOCKBUF_LOCK_ASSERT(sb);
	sb->sb_upcall = func;
	sb->sb_upcallarg = arg;
	sb->sb_flags |= SB_UPCALL;
}

void
soupcall_clear(struct socket *so, int which)
{
	struct sockbuf *sb = &so->so_snd;

	KASSERT(which == SO_SND,
	    ("soupcall_clear: only SO_SND, not %d", which));
	SOCKBUF_LOCK_ASSERT(sb);
	KASSERT(sb->sb_flags & SB_UPCALL, ("soupcall_clear: no upcall"));
	sb->sb_flags &= ~SB_UPCALL;
	sb->sb_upcall = NULL;
	sb->sb_upcallarg = NULL;
}

/*
 * SOCK_IO_SEND_LOCK: a sleepable lock that serialises senders (sosend,
 * sendfile, KTLS enable and mode switches), so that one writer's records
 * are never interleaved with another's.  Without SBL_WAIT (MSG_DONTWAIT)
 * a busy lock is EWOULDBLOCK; a listening socket refuses it with ENOTCONN
 * (sys/kern/uipc_socket.c soiolock()).
 */
int
soiolock(struct socket *so, int flags)
{
	int error;

	SOCKBUF_LOCK(&so->so_snd);
	while (so->so_snd_iolock) {
		if ((flags & SBL_WAIT) == 0) {
			SOCKBUF_UNLOCK(&so->so_snd);
			return (EWOULDBLOCK);
		}
		error = msleep(&so->so_snd_iolock, so->so_snd.sb_mtx, 0);
		if (error != 0) {
			SOCKBUF_UNLOCK(&so->so_snd);
			return (error);
		}
	}
	if (so->so_options & SO_ACCEPTCONN_SIM) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (ENOTCONN);
	}
	so->so_snd_iolock = true;
	SOCKBUF_UNLOCK(&so->so_snd);
	return (0);
}

int
sock_io_send_lock(struct socket *so)
{

	return (soiolock(so, SBL_WAIT));
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
 * sosend_generic(): split the user data into records of at most
 * max_frame_len bytes, limited by the space in the send buffer at each
 * pass; frame them; append (which numbers them); hand software records to
 * a worker.  Record boundaries therefore depend on sbspace() at write time
 * (sys/kern/uipc_socket.c sosend_generic()).
 *
 * The control buffer of sendmsg(2) (control, clen bytes) is either a
 * TLS_SET_RECORD_TYPE message, which a KTLS socket consumes up front, or
 * it travels with the data to tcp_usr_send(), which refuses it only after
 * the socket checks, the wait for space and the framing have happened.
 * *written counts the bytes TCP accepted.
 */
static int
sosend_generic(struct socket *so, struct uio *uio, const void *control,
    socklen_t clen, int flags, ssize_t *written)
{
	const struct cmsghdr *cm;
	struct ktls_session *tls;
	struct mbuf *top;
	ssize_t resid, chunk;
	long space;
	int error, enq_cnt, pr_flags;
	uint8_t tls_rtype;
	bool atomic;

	*written = 0;
	resid = uio->uio_resid;
	tls_rtype = TLS_RLTYPE_APP;
	atomic = false;
	enq_cnt = 0;
	pr_flags = 0;
	if (resid < 0 || (flags & MSG_EOR))
		return (EINVAL);

	/*
	 * Writers never interleave their records (SOCK_IO_SEND_LOCK).  The
	 * session is read only under that lock, which TCP_TXTLS_ENABLE and
	 * TCP_TXTLS_MODE take too: a writer that raced an enable would
	 * otherwise append plain mbufs to a TLS socket buffer.
	 */
	tls = NULL;
	error = soiolock(so, SBLOCKWAIT(flags));
	if (error != 0)
		goto out;
	SOCKBUF_LOCK(&so->so_snd);
	tls = ktls_hold(so->so_snd.sb_tls_info);
	SOCKBUF_UNLOCK(&so->so_snd);
	if (tls != NULL) {
		if (tls->mode == TCP_TLS_MODE_SW)
			pr_flags |= PRUS_NOTREADY;
		/*
		 * Only the first cmsg's type is examined: not its level, not
		 * cmsg_len, not the range of the type byte.  The send becomes
		 * atomic and every record it makes carries the type.
		 */
		cm = control;
		if (cm != NULL && clen >= sizeof(*cm) &&
		    cm->cmsg_type == TLS_SET_RECORD_TYPE) {
			/*
			 * SIM: FreeBSD reads the byte at CMSG_DATA() even when
			 * the control buffer ends before it, getting whatever
			 * the mbuf held; we refuse that with sendit()'s error
			 * for a control buffer too short.
			 */
			if (clen < CMSG_LEN(1)) {
				error = EINVAL;
				goto release;
			}
			tls_rtype = *(const uint8_t *)CMSG_DATA(cm);
			clen = 0;
			atomic = true;
		}
		if (resid == 0 && !ktls_permit_empty_frames(tls)) {
			error = EINVAL;
			goto release;
		}
	}

	/*
	 * Every pass checks the socket first, a zero-length write too: it
	 * reports a shut-down or unconnected socket and consumes a pending
	 * so_error, then hands TCP an empty chain.
	 */
	SOCKBUF_LOCK(&so->so_snd);
	for (;;) {
		if (so->so_snd.sb_state & SBS_CANTSENDMORE) {
			error = EPIPE;
			break;
		}
		if (so->so_error) {
			error = so->so_error;
			so->so_error = 0;
			break;
		}
		/*
		 * TCP (PR_CONNREQUIRED | PR_IMPLOPCL) without a destination
		 * address: ENOTCONN, even for a control-only send.
		 */
		if ((so->so_state & SS_ISCONNECTED) == 0) {
			error = ENOTCONN;
			break;
		}
		space = sbspace(&so->so_snd);
		if ((atomic && resid > so->so_snd.sb_hiwat) ||
		    clen > so->so_snd.sb_hiwat) {
			error = EMSGSIZE;
			break;
		}
		if (space < resid + (ssize_t)clen &&
		    (atomic || space < (long)so->so_snd.sb_lowat ||
			space < (long)clen)) {
			if ((so->so_state & SS_NBIO) ||
			    (flags & (MSG_NBIO | MSG_DONTWAIT)) != 0) {
				error = EWOULDBLOCK;
				break;
			}
			error = sbwait(so);
			if (error != 0)
				break;
			continue;
		}
		SOCKBUF_UNLOCK(&so->so_snd);

		/* At most space bytes, unless the control data took it all. */
		space -= clen;
		if (tls != NULL) {
			top = m_uiotombuf(uio, M_WAITOK, space,
			    tls->params.max_frame_len, M_EXTPG);
			ktls_frame(top, tls, &enq_cnt, tls_rtype);
			/* Only the first chunk carries the requested type. */
			tls_rtype = TLS_RLTYPE_APP;
		} else
			top = m_uiotombuf(uio, M_WAITOK, space, 0, 0);
		chunk = resid - uio->uio_resid;
		resid = uio->uio_resid;

		/*
		 * Take the worker's socket reference before the append, so
		 * a concurrent drop cannot free the socket in between.
		 */
		if (pr_flags & PRUS_NOTREADY)
			soref(so);
		error = tcp_usr_send_control(so, pr_flags, top, clen);
		clen = 0;
		if (error == 0 && (pr_flags & PRUS_NOTREADY))
			ktls_enqueue(top, so, enq_cnt);
		else if (pr_flags & PRUS_NOTREADY) {
			/* pr_send() leaves not-ready chains to the caller. */
			m_freem(top);
			sorele(so);
		}
		if (error == 0)
			*written += chunk;
		SOCKBUF_LOCK(&so->so_snd);
		if (error != 0 || resid == 0)
			break;
	}
	SOCKBUF_UNLOCK(&so->so_snd);
release:
	sock_io_send_unlock(so);
out:
	if (tls != NULL)
		ktls_free(tls);
	/* As in sousrsend(): bytes queued win over a late EWOULDBLOCK. */
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
	return (sosend_generic(so, &uio, NULL, 0, 0, written));
}

int
ksim_sendmsg(struct socket *so, const struct msghdr *msg, int flags,
    ssize_t *written)
{
	struct iovec *iov;
	struct uio uio;
	ssize_t total;
	int error;

	/*
	 * sendit(): a control buffer must hold at least a cmsghdr, and
	 * sockargs() copies in at most a cluster's worth.
	 */
	*written = 0;
	if (msg->msg_control != NULL) {
		if (msg->msg_controllen < sizeof(struct cmsghdr))
			return (EINVAL);
		if (msg->msg_controllen > MCLBYTES)
			return (EMSGSIZE);
	}
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
	error = sosend_generic(so, &uio, msg->msg_control,
	    msg->msg_control != NULL ? (socklen_t)msg->msg_controllen : 0,
	    flags, written);
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
	if (level == SOL_SOCKET) {
		switch (name) {
		case SO_SNDBUF:
		case SO_SNDLOWAT:
			return (sbsetopt(so, &sopt));
		default:
			/* SIM: the other socket options are not modelled. */
			return (ENOPROTOOPT);
		}
	}
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

/*
 * sbsetopt(), send side: values below 1 make no sense for either option;
 * SO_SNDBUF goes through sbreserve_locked(), which refuses more than
 * sb_max_adj with ENOBUFS, and once it succeeds the size is the
 * application's: TCP no longer grows it (SB_AUTOSIZE cleared, also when
 * the size is the one the socket had); the low-water mark never exceeds
 * the buffer (sys/kern/uipc_sockbuf.c sbsetopt()).
 */
int
sbsetopt(struct socket *so, struct sockopt *sopt)
{
	int error, optval;

	error = sooptcopyin(sopt, &optval, sizeof(optval), sizeof(optval));
	if (error != 0)
		return (error);
	if (optval < 1)
		return (EINVAL);
	SOCKBUF_LOCK(&so->so_snd);
	if (sopt->sopt_name == SO_SNDBUF) {
		if (!sbreserve_locked(so, (u_int)optval))
			error = ENOBUFS;
		else
			so->so_snd.sb_flags &= ~SB_AUTOSIZE;
	} else {
		so->so_snd.sb_lowat = min((u_int)optval, so->so_snd.sb_hiwat);
		/*
		 * SIM: an explicit low-water mark is taken to stop sendfile's
		 * SB_AUTOLOWAT adjustment (DragonFly's sosetopt() clears it;
		 * FreeBSD's sbsetopt() was not established);
		 * docs/differences.md.
		 */
		so->so_snd.sb_flags &= ~SB_AUTOLOWAT;
	}
	SOCKBUF_UNLOCK(&so->so_snd);
	return (error);
}

int
ksim_set_sndbuf(struct socket *so, u_int hiwat, u_int lowat)
{
	int error, val;

	val = hiwat > INT_MAX ? -1 : (int)hiwat;
	error = ksim_setsockopt(so, SOL_SOCKET, SO_SNDBUF, &val, sizeof(val));
	if (error != 0)
		return (error);
	val = lowat > INT_MAX ? -1 : (int)lowat;
	return (
	    ksim_setsockopt(so, SOL_SOCKET, SO_SNDLOWAT, &val, sizeof(val)));
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
 * does, until its queued data and FIN are acknowledged or it is dropped;
 * workers, pending disk reads and TCP's timers hold their own references
 * meanwhile.
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
	/* From here on the FIN's ACK or a drop releases the reference. */
	so->so_closed = true;
	if (tp->t_state == TCPS_FIN_WAIT_2 || tp->t_dropped ||
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
	st->mbcnt = so->so_snd.sb_mbcnt;
	st->mbmax = so->so_snd.sb_mbmax;
	st->tls_seqno = so->so_snd.sb_tls_seqno;
	st->autosize = (so->so_snd.sb_flags & SB_AUTOSIZE) != 0;
	for (m = so->so_snd.sb_mb; m != NULL; m = m->m_next) {
		st->nmbufs++;
		if (m->m_flags & M_NOTREADY)
			st->nnotready++;
		if (m->m_flags & M_EXTPG) {
			if (m->m_epg_record_type == TLS_RLTYPE_APP)
				st->appdata += m_epg_datalen(m);
		} else
			st->appdata += m->m_len;
	}
	st->fin_sent = (sototcpcb(so)->t_flags & TF_SENTFIN) != 0;
	SBCHECK(&so->so_snd);
	SOCKBUF_UNLOCK(&so->so_snd);
}

void
ksim_tcpinfo(struct socket *so, struct ksim_tcpinfo *ti)
{
	struct tcpcb *tp;

	memset(ti, 0, sizeof(*ti));
	SOCKBUF_LOCK(&so->so_snd);
	tp = sototcpcb(so);
	ti->state = tp->t_state;
	if (tp->t_state >= TCPS_ESTABLISHED) {
		ti->snd_una = tcp_seq_stream_off(tp, tp->snd_una);
		ti->snd_nxt = tcp_seq_stream_off(tp, tp->snd_nxt);
		ti->snd_max = tcp_seq_stream_off(tp, tp->snd_max);
	}
	ti->snd_wnd = tp->snd_wnd;
	ti->snd_cwnd = tp->snd_cwnd;
	ti->snd_ssthresh = tp->snd_ssthresh;
	ti->maxseg = tp->t_maxseg;
	ti->rxtcur_ns = tp->t_rxtcur;
	ti->srtt_ns = tp->t_srtt;
	ti->rxtshift = tp->t_rxtshift;
	ti->dupacks = tp->t_dupacks;
	ti->in_recovery = IN_FASTRECOVERY(tp->t_flags);
	ti->fin_sent = (tp->t_flags & TF_SENTFIN) != 0;
	ti->fin_acked = tp->t_state == TCPS_FIN_WAIT_2;
	ti->rexmt_timer = tcp_timer_active(tp, TT_REXMT);
	ti->persist_timer = tcp_timer_active(tp, TT_PERSIST);
	ti->sndbytes = tp->t_sndbytes;
	ti->snd_rxt_bytes = tp->t_snd_rxt_bytes;
	ti->sndrexmitpack = tp->t_sndrexmitpack;
	SOCKBUF_UNLOCK(&so->so_snd);
}
