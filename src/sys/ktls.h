/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Kernel TLS: the user-visible socket-option contract and the kernel session
 * state.  Models FreeBSD main's sys/sys/ktls.h.
 */

#ifndef _SYS_KTLS_H_
#define _SYS_KTLS_H_

#include <sys/types.h>
#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef _KERNEL
/* counter(9) and refcount(9), as FreeBSD's includes sys/refcount.h. */
#include "sys/kern_compat.h"
#endif

/* Record layer (RFC 5246 section 6.2.1, RFC 8446 section 5.1). */
struct tls_record_layer {
	uint8_t tls_type;
	uint8_t tls_vmajor;
	uint8_t tls_vminor;
	uint16_t tls_length; /* big-endian on the wire */
	uint8_t tls_data[];
} __attribute__((packed));

#define TLS_MAX_MSG_SIZE_V10_2 16384
#define TLS_MAX_PARAM_SIZE 1024
#define TLS_AEAD_GCM_LEN 4
#define TLS_1_3_GCM_IV_LEN 12
#define TLS_CHACHA20_IV_LEN 12
#define TLS_CBC_IMPLICIT_IV_LEN 16

#define TLS_MAJOR_VER_ONE 3
#define TLS_MINOR_VER_ZERO 1  /* 3, 1: TLS 1.0 */
#define TLS_MINOR_VER_ONE 2   /* 3, 2: TLS 1.1 */
#define TLS_MINOR_VER_TWO 3   /* 3, 3: TLS 1.2 */
#define TLS_MINOR_VER_THREE 4 /* 3, 4: TLS 1.3 */

#define TLS_RLTYPE_ALERT 21
#define TLS_RLTYPE_HANDSHAKE 22
#define TLS_RLTYPE_APP 23

/* Socket options (sys/netinet/tcp.h). */
#define TCP_TXTLS_ENABLE 39
#define TCP_TXTLS_MODE 40
#define TCP_RXTLS_ENABLE 41
#define TCP_RXTLS_MODE 42

#define TCP_TLS_MODE_NONE 0
#define TCP_TLS_MODE_SW 1
#define TCP_TLS_MODE_IFNET 2
#define TCP_TLS_MODE_TOE 3

/* Control message types, level IPPROTO_TCP. */
#define TLS_SET_RECORD_TYPE 1
#define TLS_GET_RECORD 2

/* Algorithm identifiers (sys/opencrypto/cryptodev.h). */
#define CRYPTO_SHA1_HMAC 7
#define CRYPTO_AES_CBC 11
#define CRYPTO_SHA2_256_HMAC 18
#define CRYPTO_SHA2_384_HMAC 19
#define CRYPTO_AES_ICM 23
#define CRYPTO_AES_NIST_GCM_16 25
#define CRYPTO_AES_128_NIST_GMAC 26
#define CRYPTO_AES_192_NIST_GMAC 27
#define CRYPTO_AES_256_NIST_GMAC 28
#define CRYPTO_CHACHA20_POLY1305 41

#define SHA1_HASH_LEN 20
#define SHA2_256_HASH_LEN 32
#define SHA2_384_HASH_LEN 48
#define AES_GMAC_HASH_LEN 16
#define POLY1305_HASH_LEN 16
#define AES_BLOCK_LEN 16

/*
 * The TCP_TXTLS_ENABLE argument.  Field order and types match FreeBSD so
 * that the LP64 size is 64 bytes (56 for the v0 layout without rec_seq).
 */
struct tls_enable {
	const uint8_t *cipher_key;
	const uint8_t *iv; /* implicit IV / salt */
	const uint8_t *auth_key;
	int cipher_algorithm;
	int cipher_key_len;
	int iv_len;
	int auth_algorithm;
	int auth_key_len;
	int flags;
	uint8_t tls_vmajor;
	uint8_t tls_vminor;
	uint8_t rec_seq[8]; /* big-endian initial sequence number */
};

/* The pre-rec_seq layout; accepted when the option length matches it. */
struct tls_enable_v0 {
	const uint8_t *cipher_key;
	const uint8_t *iv;
	const uint8_t *auth_key;
	int cipher_algorithm;
	int cipher_key_len;
	int iv_len;
	int auth_algorithm;
	int auth_key_len;
	int flags;
	uint8_t tls_vmajor;
	uint8_t tls_vminor;
};

/* Structure passed back with TLS_GET_RECORD (not packed, 6 bytes). */
struct tls_get_record {
	uint8_t tls_type;
	uint8_t tls_vmajor;
	uint8_t tls_vminor;
	uint16_t tls_length;
};

struct tls_session_params {
	uint8_t *cipher_key;
	uint8_t *auth_key;
	uint8_t iv[16]; /* TLS 1.2 GCM: bytes 8..15 hold the nonce counter */
	int cipher_algorithm;
	int auth_algorithm;
	uint16_t cipher_key_len;
	uint16_t iv_len;
	uint16_t auth_key_len;
	uint16_t max_frame_len;
	uint8_t tls_vmajor;
	uint8_t tls_vminor;
	uint8_t tls_hlen; /* header incl. explicit IV/nonce */
	uint8_t tls_tlen; /* maximum trailer */
	uint8_t tls_bs;	  /* cipher block size */
	uint8_t flags;
};

#define KTLS_TX 1
#define KTLS_RX 2

#ifdef _KERNEL

struct inpcb;
struct mbuf;
struct sockbuf;
struct socket;
struct sockopt;
struct ktls_crypto_backend;
struct ktls_ocf_session;
struct m_snd_tag;

struct ktls_session {
	/* The backend's per-session state (whichever backend it is). */
	struct ktls_ocf_session *ocf_session;
	/*
	 * SIM: the software backend that took the session, as in FreeBSD
	 * 12 (tls->be).
	 */
	const struct ktls_crypto_backend *be;
	/*
	 * IFNET mode: the send tag on the route's interface, NULL while
	 * ktls_reset_send_tag() replaces it; reset_pending guards that task
	 * (under the socket lock, SIM for FreeBSD's mtx_pool lock).  SIM: gen
	 * is unused and initial_offload_seqno only set.
	 */
	struct m_snd_tag *snd_tag;
	struct tls_session_params params;
	u_int wq_index;
	volatile u_int refcount;
	int mode;
	struct socket *so; /* SIM: stands in for the inpcb reference */
	bool reset_pending;
	bool tx;
	bool sync_dispatch;
	bool sequential_records;
	/* Only used for TLS 1.0 (sequential_records). */
	uint64_t next_seqno;
	STAILQ_HEAD(, mbuf) pending_records;
	uint64_t initial_offload_seqno;
	uint32_t gen;
};

/*
 * The kern.ipc.tls counters.  Each entry is one counter's definition: the
 * counter_u64_t variable under FreeBSD's name (sys/kern/uipc_ktls.c, and
 * sys/opencrypto/ktls_ocf.c for the ocf_ ones), its sysctl leaf below
 * kern.ipc.tls, so that a dump can be compared with `sysctl kern.ipc.tls`
 * on FreeBSD, and what it counts, as `sysctl -d` would tell.  Change them
 * with counter_u64_add(), read them with counter_u64_fetch().
 * uipc_ktls.c defines them all.  SIM: FreeBSD's stats.threads is the int
 * ktls_number_threads (SYSCTL_INT); here it is a counter like the rest.
 * The stats.ipsecmb ones are the simulator's own: the ocf ones of the
 * ipsec-mb backend (opencrypto/ktls_ipsecmb.c), counted in every build.
 */
#define KTLS_COUNTERS(X)                                                      \
	X(ktls_offload_active, "stats.active",                                \
	    "TLS sessions in existence now, in any mode")                     \
	X(ktls_offload_total, "stats.offload_total",                          \
	    "TLS sessions set up successfully")                               \
	X(ktls_offload_enable_calls, "stats.enable_calls",                    \
	    "Requests to enable TLS on a socket, successful or not")          \
	X(ktls_tasks_active, "stats.tasks_active",                            \
	    "Deferred session tasks in progress")                             \
	X(ktls_cnt_tx_queued, "stats.sw_tx_inqueue",                          \
	    "Records waiting in the worker queues for software encryption")   \
	X(ktls_cnt_tx_pending, "stats.sw_tx_pending",                         \
	    "TLS 1.0 records held back until the records before them are "    \
	    "queued")                                                         \
	X(ktls_cnt_threads, "stats.threads",                                  \
	    "Worker threads that encrypt records")                            \
	X(ktls_offload_failed_crypto, "stats.failed_crypto",                  \
	    "Records whose encryption failed")                                \
	X(ktls_switch_to_ifnet, "stats.switch_to_ifnet",                      \
	    "Sessions moved from software to NIC (ifnet) encryption")         \
	X(ktls_switch_to_sw, "stats.switch_to_sw",                            \
	    "Sessions moved from NIC (ifnet) to software encryption")         \
	X(ktls_switch_failed, "stats.switch_failed",                          \
	    "Requests to move a session between software and ifnet that "     \
	    "failed")                                                         \
	X(ktls_sw_cbc, "sw.cbc", "Software sessions using AES-CBC now")       \
	X(ktls_sw_gcm, "sw.gcm", "Software sessions using AES-GCM now")       \
	X(ktls_sw_chacha20, "sw.chacha20",                                    \
	    "Software sessions using ChaCha20-Poly1305 now")                  \
	X(ktls_ifnet_cbc, "ifnet.cbc",                                        \
	    "NIC (ifnet) sessions using AES-CBC now")                         \
	X(ktls_ifnet_gcm, "ifnet.gcm",                                        \
	    "NIC (ifnet) sessions using AES-GCM now")                         \
	X(ktls_ifnet_chacha20, "ifnet.chacha20",                              \
	    "NIC (ifnet) sessions using ChaCha20-Poly1305 now")               \
	X(ktls_ifnet_reset, "ifnet.reset",                                    \
	    "TLS sessions given a new send tag after a reset")                \
	X(ktls_ifnet_reset_dropped, "ifnet.reset_dropped",                    \
	    "Connections dropped for want of a new send tag")                 \
	X(ktls_ifnet_reset_failed, "ifnet.reset_failed",                      \
	    "Send tag resets that could not allocate a new tag")              \
	X(ktls_ifnet_disable_ok, "stats.ifnet_disable_ok",                    \
	    "Sessions moved to software for excess retransmission")           \
	X(ktls_ifnet_disable_fail, "stats.ifnet_disable_failed",              \
	    "Moves to software for excess retransmission that failed")        \
	X(ocf_tls10_cbc_encrypts, "stats.ocf.tls10_cbc_encrypts",             \
	    "TLS 1.0 AES-CBC records encrypted through OCF")                  \
	X(ocf_tls11_cbc_encrypts, "stats.ocf.tls11_cbc_encrypts",             \
	    "TLS 1.1 and 1.2 AES-CBC records encrypted through OCF")          \
	X(ocf_cbc_stitched, "stats.ocf.cbc_stitched",                         \
	    "SIM: AES-CBC records MACed and encrypted in one pass by "        \
	    "OpenSSL's stitched cipher (also in the two counters above)")     \
	X(ocf_tls12_gcm_encrypts, "stats.ocf.tls12_gcm_encrypts",             \
	    "TLS 1.2 AES-GCM records encrypted through OCF")                  \
	X(ocf_tls13_gcm_encrypts, "stats.ocf.tls13_gcm_encrypts",             \
	    "TLS 1.3 AES-GCM records encrypted through OCF")                  \
	X(ocf_tls12_chacha20_encrypts, "stats.ocf.tls12_chacha20_encrypts",   \
	    "TLS 1.2 ChaCha20-Poly1305 records encrypted through OCF")        \
	X(ocf_tls13_chacha20_encrypts, "stats.ocf.tls13_chacha20_encrypts",   \
	    "TLS 1.3 ChaCha20-Poly1305 records encrypted through OCF")        \
	X(ipsecmb_tls12_gcm_encrypts, "stats.ipsecmb.tls12_gcm_encrypts",     \
	    "SIM: TLS 1.2 AES-GCM records encrypted by the ipsec-mb backend") \
	X(ipsecmb_tls13_gcm_encrypts, "stats.ipsecmb.tls13_gcm_encrypts",     \
	    "SIM: TLS 1.3 AES-GCM records encrypted by the ipsec-mb backend") \
	X(ipsecmb_tls12_chacha20_encrypts,                                    \
	    "stats.ipsecmb.tls12_chacha20_encrypts",                          \
	    "SIM: TLS 1.2 ChaCha20-Poly1305 records encrypted by the "        \
	    "ipsec-mb backend")                                               \
	X(ipsecmb_tls13_chacha20_encrypts,                                    \
	    "stats.ipsecmb.tls13_chacha20_encrypts",                          \
	    "SIM: TLS 1.3 ChaCha20-Poly1305 records encrypted by the "        \
	    "ipsec-mb backend")                                               \
	X(ocf_inplace, "stats.ocf.inplace",                                   \
	    "OCF encryptions that overwrote the plaintext's own pages")       \
	X(ocf_separate_output, "stats.ocf.separate_output",                   \
	    "OCF encryptions written to new pages, leaving the plaintext as " \
	    "it was")

#define KTLS_COUNTER_DECLARE(var, leaf, descr) extern counter_u64_t var;
KTLS_COUNTERS(KTLS_COUNTER_DECLARE)
#undef KTLS_COUNTER_DECLARE

/*
 * Visit every counter: its sysctl leaf, its description and its value
 * (sim_server's dumps).
 */
void ktls_counters_foreach(void (*fn)(void *arg, const char *leaf,
			       const char *descr, uint64_t value),
    void *arg);

/* kern.ipc.tls sysctl knobs (FreeBSD main's defaults). */
extern bool ktls_enable_sysctl; /* kern.ipc.tls.enable */
extern bool ktls_cbc_enable;	/* kern.ipc.tls.cbc_enable */
extern bool mb_use_ext_pgs;	/* kern.ipc.mb_use_ext_pgs */
/* kern.ipc.tls.maxlen; SIM: boot-time in FreeBSD, read per session here */
extern u_int ktls_maxlen;
extern bool ktls_sim_async; /* SIM: backend completes per record */
/*
 * SIM: the kernel has options COMPAT_FREEBSD12 (GENERIC does); false
 * models one without, which refuses GMAC ids with AES-GCM.
 */
extern bool ktls_sim_compat_freebsd12;
/* kern.ipc.tls.ifnet.permitted: 0 (FreeBSD's default) skips ifnet at enable */
extern u_int ktls_ifnet_permitted;
/* kern.ipc.tls.ifnet_max_rexmit_pct (FreeBSD default 2) */
extern u_int ktls_ifnet_max_rexmit_pct;
/*
 * SIM: false (the default) switches modes in FreeBSD's order, cloning the
 * session before SOCK_IO_SEND_LOCK; true takes the lock first, which
 * closes the nonce-reuse window described in docs/differences.md.
 */
extern bool ktls_sim_safe_mode_switch;
/*
 * SIM test hook: ktls_set_tx_mode() calls it, with no lock held, at the
 * last point before SOCK_IO_SEND_LOCK where another writer may run (after
 * the clone in FreeBSD's order, before it in the safe order).
 */
extern void (*ktls_sim_switch_hook)(struct socket *so);

int ktls_copyin_tls_enable(struct sockopt *sopt, struct tls_enable *tls);
void ktls_cleanup_tls_enable(struct tls_enable *tls);
int ktls_enable_tx(struct socket *so, struct tls_enable *en);
int ktls_get_rx_mode(struct socket *so, int *modep);
int ktls_get_tx_mode(struct socket *so, int *modep);
int ktls_set_tx_mode(struct socket *so, int mode);
void ktls_destroy(struct ktls_session *tls);
void ktls_frame(struct mbuf *m, struct ktls_session *tls, int *enqcnt,
    uint8_t record_type);
void ktls_seq(struct sockbuf *sb, struct mbuf *m);
void ktls_enqueue(struct mbuf *m, struct socket *so, int page_count);
void ktls_enqueue_to_free(struct mbuf *m);
bool ktls_permit_empty_frames(struct ktls_session *tls);
/* ip_output_send() could not use the session's tag: reset it (ENOBUFS). */
int ktls_output_eagain(struct inpcb *inp, struct ktls_session *tls);
/* Too many retransmissions on a NIC TLS connection (tcp_account_for_send). */
void ktls_disable_ifnet(void *arg);
/*
 * Worker queues (ktls_work_thread()).  SIM: ktls_init() creates one queue
 * per platform CPU; after pl_wq_wakeup(idx) the platform calls
 * ktls_work_once(idx) until it returns false: each call detaches
 * everything queued on idx and processes it (the body of
 * ktls_work_thread()'s loop), and false means the queue was empty, where
 * the thread would sleep.  ktls_uninit() requires all queues to be empty.
 */
int ktls_init(void);
void ktls_uninit(void);
bool ktls_work_once(int idx);

static inline struct ktls_session *
ktls_hold(struct ktls_session *tls)
{

	if (tls != NULL)
		refcount_acquire(&tls->refcount);
	return (tls);
}

static inline void
ktls_free(struct ktls_session *tls)
{

	if (refcount_release(&tls->refcount))
		ktls_destroy(tls);
}

#endif /* _KERNEL */
#endif /* !_SYS_KTLS_H_ */
