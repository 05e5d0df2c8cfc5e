/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Socket buffers with not-ready data.  Models sys/sys/sockbuf.h and the
 * accounting of sys/kern/uipc_sockbuf.c.
 */

#ifndef _SYS_SOCKBUF_H_
#define _SYS_SOCKBUF_H_

#include "sys/kern_compat.h"

struct mbuf;
struct ktls_session;
struct socket;

/* sb_state */
#define SBS_CANTSENDMORE 0x0010
#define SBS_CANTRCVMORE 0x0020

/* sb_flags */
#define SB_WAIT 0x0004
#define SB_UPCALL 0x0020 /* sowakeup() calls sb_upcall (soupcall_set()) */
/*
 * TCP may grow the buffer (tcp_sndbuf_autoscale()).  tcp_usr_attach()
 * sets it on every TCP socket; a successful SO_SNDBUF clears it, and so
 * does a growth step that sbreserve_locked() refuses (sys/sys/sockbuf.h,
 * sys/kern/uipc_sockbuf.c sbsetopt()).
 */
#define SB_AUTOSIZE 0x0800
#define SB_STOP 0x1000
/*
 * sendfile(2) may raise sb_lowat (sendfile_wait_generic()).  FreeBSD
 * main's tcp_usr_attach() sets the flag on every TCP send buffer and
 * solisten_clone() passes it on; the simulator clears it when the
 * application sets its own low-water mark (ksim_set_sndbuf()), which is
 * what the flag is for (docs/differences.md).  SIM: the bit's value is
 * the simulator's own.
 */
#define SB_AUTOLOWAT 0x2000

struct sockbuf {
	struct mtx *sb_mtx; /* the socket's lock (SIM: one per socket) */
	struct mbuf *sb_mb; /* the chain */
	struct mbuf *sb_mbtail;
	struct mbuf *sb_fnrdy; /* first not-ready mbuf */
	u_int sb_ccc;	       /* claimed: all bytes, ready or not */
	u_int sb_acc;	       /* available: the ready prefix */
	u_int sb_mbcnt;	       /* mbuf memory: MSIZE + ext_size each */
	u_int sb_hiwat;
	u_int sb_lowat;
	u_int sb_mbmax; /* limit of sb_mbcnt, set by sbreserve_locked() */
	short sb_state;
	short sb_flags;
	uint64_t sb_timeo_ns;
	struct ktls_session *sb_tls_info;
	uint64_t sb_tls_seqno;
	/* With SB_UPCALL: called by sowwakeup_locked(), lock held. */
	int (*sb_upcall)(struct socket *so, void *arg, int waitflag);
	void *sb_upcallarg;
};

#define SOCKBUF_LOCK(sb) mtx_lock((sb)->sb_mtx)
#define SOCKBUF_UNLOCK(sb) mtx_unlock((sb)->sb_mtx)
#define SOCKBUF_LOCK_ASSERT(sb) mtx_assert((sb)->sb_mtx, MA_OWNED)

static inline u_int
sbavail(const struct sockbuf *sb)
{

	return (sb->sb_acc);
}

static inline u_int
sbused(const struct sockbuf *sb)
{

	return (sb->sb_ccc);
}

/*
 * sbspace(): the smaller of the room left in bytes and in mbuf memory.
 * Either may be negative: framing adds headers and trailers after the
 * plaintext was measured, and each record costs an mbuf and whole pages
 * (sys/sys/sockbuf.h sbspace()).
 */
static inline long
sbspace(const struct sockbuf *sb)
{
	long bleft, mleft;

	if (sb->sb_flags & SB_STOP)
		return (0);
	bleft = (long)sb->sb_hiwat - (long)sb->sb_ccc;
	mleft = (long)sb->sb_mbmax - (long)sb->sb_mbcnt;
	return (bleft < mleft ? bleft : mleft);
}

/*
 * kern.ipc.maxsockbuf (sb_max) and the largest buffer it allows once the
 * mbuf overhead of standard clusters is set aside (sb_max_adj), as in
 * sys/kern/uipc_sockbuf.c.
 */
#define SB_MAX (2 * 1024 * 1024)
extern u_long sb_max;
extern u_long sb_max_adj;

bool sbreserve_locked(struct socket *so, u_long cc);
/* sysctl kern.ipc.maxsockbuf: EINVAL below MSIZE + MCLBYTES. */
int sysctl_handle_sb_max(u_long val);

void sbappendstream_locked(struct sockbuf *sb, struct mbuf *m, int flags);
int sbready(struct sockbuf *sb, struct mbuf *m0, int count);
void sbdrop_locked(struct sockbuf *sb, int len);
void sbflush_locked(struct sockbuf *sb);
/*
 * Invariant checker: recomputes ccc, acc, mbcnt, fnrdy and the tail from
 * the chain and compares.  Returns 0, or EDOOFUS with a message on stderr
 * (and panics under INVARIANTS).  SBCHECK() runs it under INVARIANTS only,
 * as FreeBSD does under SOCKBUF_DEBUG (sys/kern/uipc_sockbuf.c): at the
 * exit of every operation in uipc_sockbuf.c that changes the buffer, so a
 * mis-accounting panics in the operation that made it, its file and line
 * in the message.
 */
int sbcheck(struct sockbuf *sb, const char *file, int line);
#ifdef INVARIANTS
#define SBCHECK(sb) (void)sbcheck((sb), __FILE__, __LINE__)
#else
#define SBCHECK(sb) \
	do {        \
	} while (0)
#endif

#endif /* !_SYS_SOCKBUF_H_ */
