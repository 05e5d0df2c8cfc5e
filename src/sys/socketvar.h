/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The simulated TCP socket and its system-call-level interface.  Models
 * sys/sys/socketvar.h, plus the kern_* entry points of
 * sys/kern/uipc_syscalls.c and sys/kern/kern_sendfile.c.  Every function
 * returns 0 or an errno value exactly as FreeBSD's system call would set
 * errno; byte counts come back through out parameters.
 */

#ifndef _SYS_SOCKETVAR_H_
#define _SYS_SOCKETVAR_H_

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <stddef.h>

#include "sys/kern_compat.h"
#include "sys/sockbuf.h"

struct mbuf;
struct nhop_object;
struct tcpcb;

/*
 * SIM: a byte wire, the simplest place TCP's output can go.  ksim_connect()
 * makes it an interface (net/if_wire.h) behind the connection's route:
 * each segment's payload goes to tw_output as iovecs that point straight
 * into the mbufs' pages (no copy).  tw_output returns how many bytes it
 * took, 0 when the wire is full (call tcp_output_kick() once it drains),
 * or a negative errno when the connection broke.  Taken bytes count as
 * sent and acknowledged at once; the rest of a segment is sent when TCP
 * runs again, as new data.  tw_fin is called once, after the last byte.
 * Called with the socket lock held, possibly on a worker thread.
 */
struct tcp_wire {
	ssize_t (*tw_output)(void *arg, const struct iovec *iov, int iovcnt);
	void (*tw_fin)(void *arg);
	void *tw_arg;
};

/* so_state */
#define SS_ISCONNECTED 0x0002
#define SS_ISDISCONNECTED 0x2000
#define SS_NBIO 0x0100

/* so_options */
#define SO_ACCEPTCONN_SIM 0x0002

struct socket {
	struct mtx so_lock;
	volatile u_int so_count; /* soref/sorele */
	short so_state;
	short so_options;
	int so_proto; /* IPPROTO_TCP or IPPROTO_UDP */
	int so_error;
	uint32_t so_flowid; /* inp_flowid: picks the KTLS worker */
	struct sockbuf so_snd;
	struct tcpcb *so_pcb;
	/*
	 * SIM: close(2) was called.  Like a kernel socket after close, it
	 * lingers until its data and FIN went out (or the connection was
	 * dropped); then the user's reference is released.
	 */
	bool so_closed;
	bool so_close_released;
	bool so_snd_iolock; /* SOCK_IO_SEND_LOCK held */
};

static inline struct socket *
sbtoso(struct sockbuf *sb)
{

	return ((struct socket *)(void *)((char *)sb -
	    offsetof(struct socket, so_snd)));
}

/* soiolock() flags; SBLOCKWAIT(): MSG_DONTWAIT does not wait for it. */
#define SBL_WAIT 0x00000001
#define SBLOCKWAIT(f) (((f)&MSG_DONTWAIT) ? 0 : SBL_WAIT)

/*
 * SIM: FreeBSD's MSG_NBIO (0x4000, "FIONBIO mode") is Linux's MSG_NOSIGNAL;
 * the simulated API takes the host's flags, so it gets an unused bit.
 */
#ifndef MSG_NBIO
#define MSG_NBIO 0x00800000
#endif

int soiolock(struct socket *so, int flags);
int sock_io_send_lock(struct socket *so); /* soiolock(so, SBL_WAIT) */
void sock_io_send_unlock(struct socket *so);
void soref(struct socket *so);
void sorele(struct socket *so);
void sowwakeup_locked(struct socket *so);
/*
 * Socket upcalls (sys/kern/uipc_socket.c soupcall_set()): func is called
 * with the socket-buffer lock held, and must not sleep, whenever
 * sowwakeup_locked() runs (space was freed, the connection was dropped or
 * shut down).  SIM: only the send buffer (SO_SND) exists.  Both with the
 * send-buffer lock held.
 */
#define SU_OK 0
#ifndef SO_SND
#define SO_SND 2
#endif
typedef int so_upcall_t(struct socket *so, void *arg, int waitflag);
void soupcall_set(struct socket *so, int which, so_upcall_t *func, void *arg);
void soupcall_clear(struct socket *so, int which);
/* The closed socket has nothing left to send: drop the user reference. */
void so_close_done_locked(struct socket *so);

/* PRUS_* flags for pr_send. */
#define PRUS_OOB 0x1
#define PRUS_EOF 0x2
#define PRUS_NOTREADY 0x8

struct sockopt {
	int sopt_dir; /* SOPT_GET / SOPT_SET */
	int sopt_level;
	int sopt_name;
	void *sopt_val;
	size_t sopt_valsize;
};
#define SOPT_GET 0
#define SOPT_SET 1

int sooptcopyin(struct sockopt *sopt, void *buf, size_t len, size_t minlen);
int sooptcopyout(struct sockopt *sopt, const void *buf, size_t len);
/* SO_SNDBUF and SO_SNDLOWAT. */
int sbsetopt(struct socket *so, struct sockopt *sopt);

/*
 * System-call level API, used by sim_server, tests and fuzzers.
 */

/* socket(2): type SOCK_STREAM with IPPROTO_TCP, or SOCK_DGRAM (UDP). */
int ksim_socket(int type, struct socket **sop);
/*
 * SIM: the connection is "established" (no handshake) and its segments go
 * to the byte wire (struct tcp_wire above).  flowid stands in for the RSS
 * hash and selects the KTLS worker.
 */
int ksim_connect(struct socket *so, const struct tcp_wire *wire,
    uint32_t flowid);
/*
 * The same with a route of the caller's: segments go to nh->nh_ifp's
 * if_transmit (net/if_var.h), and the peer's ACKs come back through
 * tcp_input_ack() (netinet/tcp_var.h).  wnd is the window the peer's
 * SYN-ACK would have announced.  nh and its ifnet must outlive the
 * socket.
 */
int ksim_connect_route(struct socket *so, struct nhop_object *nh,
    uint32_t flowid, uint32_t wnd);
/*
 * The route changed: later segments leave by nh (the inpcb's cached route,
 * inp_route.ro_nh, set under the socket lock).  EINVAL when not connected.
 * A byte wire made by ksim_connect() stays with the socket either way.
 */
int ksim_set_route(struct socket *so, struct nhop_object *nh);
/* listen(2) on an unconnected socket. */
int ksim_listen(struct socket *so);
int ksim_setsockopt(struct socket *so, int level, int name, const void *val,
    socklen_t valsize);
int ksim_getsockopt(struct socket *so, int level, int name, void *val,
    socklen_t *valsize);
/* fcntl(O_NONBLOCK). */
void ksim_set_nbio(struct socket *so, bool on);
/*
 * setsockopt(SOL_SOCKET, SO_SNDBUF, hiwat) then (SO_SNDLOWAT, lowat): 0 or
 * the first one's errno.  Either below 1 is EINVAL; a buffer above
 * sb_max_adj (sysctl kern.ipc.maxsockbuf, sysctl_handle_sb_max()) is
 * ENOBUFS.
 */
int ksim_set_sndbuf(struct socket *so, u_int hiwat, u_int lowat);
/* setsockopt(SO_SNDTIMEO). */
void ksim_set_sndtimeo(struct socket *so, uint64_t timo_ns);

/*
 * write(2).  *written counts the bytes TCP accepted, also when an error
 * ends the call after some were; EWOULDBLOCK after some is 0 instead.
 */
int ksim_write(struct socket *so, const void *buf, size_t len,
    ssize_t *written);
/*
 * sendmsg(2); control messages as in a real msghdr.  flags: MSG_EOR
 * (EINVAL on TCP), MSG_DONTWAIT (neither the send lock nor space is
 * waited for) and MSG_NBIO (space is not waited for).
 */
int ksim_sendmsg(struct socket *so, const struct msghdr *msg, int flags,
    ssize_t *written);

/* sendfile(2) headers and trailers. */
struct sf_hdtr {
	struct iovec *headers;
	int hdr_cnt;
	struct iovec *trailers;
	int trl_cnt;
};
/*
 * sendfile(2) from a real file descriptor.  nbytes 0 means to end of file;
 * an offset past EOF sends nothing.  *sbytes counts bytes queued (headers
 * included).  Non-blocking and out of space: EAGAIN with *sbytes > 0 for a
 * partial send, which a short count at EOF (return 0) never has.
 */
int ksim_sendfile(struct socket *so, int fd, off_t offset, size_t nbytes,
    const struct sf_hdtr *hdtr, off_t *sbytes, int flags);

/* shutdown(2) SHUT_WR: FIN goes out after all queued data is sent. */
int ksim_shutdown(struct socket *so);
/*
 * close(2): no more sends; queued data still goes out and the FIN follows.
 * The wire (tw_arg) must stay valid until tw_fin is called or the owner
 * calls ksim_drop().
 */
void ksim_close(struct socket *so);
/* SIM: the wire or interface has room again; let TCP send. */
void tcp_output_kick(struct socket *so);
/* SIM: the peer reset the connection (tcp_drop()). */
void ksim_drop(struct socket *so, int error);

/* Introspection for tests and tools (takes the socket lock). */
struct ksim_sbstat {
	u_int ccc, acc, hiwat, lowat, mbcnt, mbmax;
	/*
	 * Application bytes of what is still queued: whole TLS application
	 * data records (a record partly on the wire is of no use to the peer
	 * yet) and, on a plain socket, the bytes themselves.
	 */
	u_int appdata;
	uint64_t tls_seqno;
	int nmbufs, nnotready;
	bool fin_sent;
	bool autosize; /* SB_AUTOSIZE: TCP may still grow hiwat */
};
void ksim_sbstat(struct socket *so, struct ksim_sbstat *st);

/*
 * The sender's state (SIM: in the spirit of TCP_INFO).  Sequence numbers
 * are given as stream offsets: the first data byte is offset 0.
 */
struct ksim_tcpinfo {
	int state; /* TCPS_* */
	uint64_t snd_una, snd_nxt, snd_max;
	uint32_t snd_wnd, snd_cwnd, snd_ssthresh, maxseg;
	uint64_t rxtcur_ns, srtt_ns;
	int rxtshift, dupacks;
	bool in_recovery, fin_sent, fin_acked;
	bool rexmt_timer, persist_timer;
	uint64_t sndbytes, snd_rxt_bytes; /* tcp_account_for_send() */
	uint32_t sndrexmitpack;
};
void ksim_tcpinfo(struct socket *so, struct ksim_tcpinfo *ti);

#endif /* !_SYS_SOCKETVAR_H_ */
