/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Kernel TLS transmit path: sessions, ktls_frame(), ktls_seq(), worker
 * queues and software encryption.  Models sys/kern/uipc_ktls.c of
 * FreeBSD main, transmit side.  Functions keep FreeBSD's names and steps
 * so the two files can be read side by side; divergences are tagged SIM
 * and listed in docs/differences.md.
 */

#include <sys/socket.h>
#include <netinet/in.h>

#include "net/if_var.h"
#include "net/route/nhop.h"
#include "netinet/tcp_var.h"
#include "opencrypto/ktls.h"
#include "sys/ktls.h"
#include "sys/ktls_trace.h"
#include "sys/mbuf.h"
#include "sys/socketvar.h"

bool ktls_enable_sysctl = true; /* FreeBSD main: on by default */
bool ktls_cbc_enable = true;
bool mb_use_ext_pgs = true;
u_int ktls_maxlen = 16384;
bool ktls_sim_async = false;
bool ktls_sim_compat_freebsd12 = true;
u_int ktls_ifnet_permitted = 0;
u_int ktls_ifnet_max_rexmit_pct = 2;
bool ktls_sim_safe_mode_switch = false;
void (*ktls_sim_switch_hook)(struct socket *so);
/*
 * SIM: the software backends, fastest first (opencrypto/ktls.h); FreeBSD
 * 12 kept a list ordered by priority (ktls_crypto_backend_register()).
 */
#if defined(KTLS_NULL_CIPHER)
#define KTLS_BACKEND_AUTO (&ktls_null_backend)
#elif defined(KTLS_HAVE_IPSECMB)
#define KTLS_BACKEND_AUTO (&ktls_ipsecmb_backend)
#else
#define KTLS_BACKEND_AUTO (&ktls_ocf_backend)
#endif
const struct ktls_crypto_backend *const ktls_backends[] = {
#ifdef KTLS_NULL_CIPHER
	&ktls_null_backend, /* -Dnull_cipher=true: fuzzing and benchmarks */
#endif
#ifdef KTLS_HAVE_IPSECMB
	&ktls_ipsecmb_backend,
#endif
	&ktls_ocf_backend,
	NULL,
};
/* "auto" from the start: the first of ktls_backends[]. */
const struct ktls_crypto_backend *ktls_backend = KTLS_BACKEND_AUTO;
#ifdef KTLS_NULL_CIPHER
const bool ktls_sim_null_cipher = true;
#else
const bool ktls_sim_null_cipher = false;
#endif

/* The kern.ipc.tls counters (sys/ktls.h). */
#define KTLS_COUNTER_DEFINE(var, leaf, descr) counter_u64_t var;
KTLS_COUNTERS(KTLS_COUNTER_DEFINE)
#undef KTLS_COUNTER_DEFINE
/* SIM: the record-trace sink, NULL unless sim/trace installed one. */
struct ktls_trace_hooks *ktls_trace_hooks;

/*
 * One queue per CPU (struct ktls_wq).  running is true from the moment its
 * worker takes work until it finds the queue empty again; only then does
 * an enqueuer have to wake it.
 */
struct ktls_wq {
	struct mtx mtx;
	STAILQ_HEAD(, mbuf) m_head;
	bool running;
};

static struct ktls_wq *ktls_wq;
static int ktls_number_threads;

int
ktls_backend_select(const char *name)
{

	if (strcmp(name, "auto") == 0) {
		ktls_backend = ktls_backends[0];
		return (0);
	}
	for (int i = 0; ktls_backends[i] != NULL; i++) {
		if (strcmp(ktls_backends[i]->kb_name, name) == 0) {
			ktls_backend = ktls_backends[i];
			return (0);
		}
	}
	return (ENOENT);
}

void
ktls_backend_names(char *buf, size_t len)
{
	size_t off;

	off = 0;
	buf[0] = '\0';
	for (int i = 0; ktls_backends[i] != NULL && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i > 0 ? " " : "",
		    ktls_backends[i]->kb_name);
}

void
ktls_counters_foreach(void (*fn)(void *, const char *, const char *, uint64_t),
    void *arg)
{

#define KTLS_COUNTER_VISIT(var, leaf, descr) \
	fn(arg, leaf, descr, counter_u64_fetch(var));
	KTLS_COUNTERS(KTLS_COUNTER_VISIT)
#undef KTLS_COUNTER_VISIT
}

/*
 * ktls_init()/ktls_start_kthreads(): FreeBSD starts the workers lazily on
 * the first session; SIM: the platform owns the threads, so the queues are
 * created when the platform is installed.
 */
int
ktls_init(void)
{

	MPASS(ktls_wq == NULL);
	ktls_number_threads = platform->pl_ncpus;
	MPASS(ktls_number_threads > 0);
	ktls_wq =
	    kmalloc(sizeof(*ktls_wq) * ktls_number_threads, M_WAITOK | M_ZERO);
	for (int i = 0; i < ktls_number_threads; i++) {
		mtx_init(&ktls_wq[i].mtx, "ktls_wq");
		STAILQ_INIT(&ktls_wq[i].m_head);
	}
	counter_u64_add(ktls_cnt_threads, ktls_number_threads);
	return (0);
}

void
ktls_uninit(void)
{

	if (ktls_wq == NULL)
		return;
	for (int i = 0; i < ktls_number_threads; i++) {
		KASSERT(STAILQ_EMPTY(&ktls_wq[i].m_head),
		    ("ktls_uninit: queue %d busy", i));
		mtx_destroy(&ktls_wq[i].mtx);
	}
	kfree(ktls_wq);
	ktls_wq = NULL;
	vm_page_drain_sim();
	counter_u64_add(ktls_cnt_threads, -ktls_number_threads);
	ktls_number_threads = 0;
}

/* Only AES-CBC with TLS 1.0 may send empty records (1/n-1 splitting). */
bool
ktls_permit_empty_frames(struct ktls_session *tls)
{

	return (tls->params.cipher_algorithm == CRYPTO_AES_CBC &&
	    tls->params.tls_vminor == TLS_MINOR_VER_ZERO);
}

/*
 * Copy one piece of key material (cipher key, IV or MAC key) of len bytes
 * from the caller into a kernel allocation; *kaddr is NULL for len 0.
 * SIM: a NULL pointer with a non-zero length is the one bad user address
 * the simulator can recognise (EFAULT, as copyin() would fail).
 */
static int
ktls_copyin_key(const uint8_t *uaddr, int len, const uint8_t **kaddr)
{
	uint8_t *p;

	*kaddr = NULL;
	if (len == 0)
		return (0);
	if (uaddr == NULL)
		return (EFAULT);
	p = kmalloc(len, M_WAITOK);
	memcpy(p, uaddr, len);
	*kaddr = p;
	return (0);
}

/*
 * ktls_copyin_tls_enable(): take the option, accepting the v0 layout
 * (no rec_seq) by its size, bound the three lengths, and deep-copy the key
 * material (ktls_copyin_key()) so later steps never touch user memory.
 * ktls_cleanup_tls_enable() zeroes and frees the copies.
 */
int
ktls_copyin_tls_enable(struct sockopt *sopt, struct tls_enable *tls)
{
	struct tls_enable_v0 tls_v0;
	const uint8_t *ck, *iv, *ak;
	int error;

	if (sopt->sopt_valsize == sizeof(tls_v0)) {
		error =
		    sooptcopyin(sopt, &tls_v0, sizeof(tls_v0), sizeof(tls_v0));
		if (error != 0)
			return (error);
		/*
		 * Field by field: the v0 struct's tail padding overlaps
		 * rec_seq[0..5] of the current layout, and a v0 caller's
		 * padding is whatever was on its stack.  rec_seq is 0.
		 */
		memset(tls, 0, sizeof(*tls));
		tls->cipher_key = tls_v0.cipher_key;
		tls->iv = tls_v0.iv;
		tls->auth_key = tls_v0.auth_key;
		tls->cipher_algorithm = tls_v0.cipher_algorithm;
		tls->cipher_key_len = tls_v0.cipher_key_len;
		tls->iv_len = tls_v0.iv_len;
		tls->auth_algorithm = tls_v0.auth_algorithm;
		tls->auth_key_len = tls_v0.auth_key_len;
		tls->flags = tls_v0.flags;
		tls->tls_vmajor = tls_v0.tls_vmajor;
		tls->tls_vminor = tls_v0.tls_vminor;
	} else {
		error = sooptcopyin(sopt, tls, sizeof(*tls), sizeof(*tls));
		if (error != 0)
			return (error);
	}

	if (tls->cipher_key_len < 1 || tls->cipher_key_len > TLS_MAX_PARAM_SIZE)
		return (EINVAL);
	if (tls->iv_len < 0 ||
	    tls->iv_len > (int)sizeof(((struct tls_session_params *)0)->iv))
		return (EINVAL);
	if (tls->auth_key_len < 0 || tls->auth_key_len > TLS_MAX_PARAM_SIZE)
		return (EINVAL);

	ck = iv = ak = NULL;
	if ((error = ktls_copyin_key(tls->cipher_key, tls->cipher_key_len,
		 &ck)) != 0 ||
	    (error = ktls_copyin_key(tls->iv, tls->iv_len, &iv)) != 0 ||
	    (error = ktls_copyin_key(tls->auth_key, tls->auth_key_len, &ak)) !=
		0) {
		zfree((void *)(uintptr_t)ck, tls->cipher_key_len);
		zfree((void *)(uintptr_t)iv, tls->iv_len);
		return (error);
	}
	tls->cipher_key = ck;
	tls->iv = iv;
	tls->auth_key = ak;
	return (0);
}

void
ktls_cleanup_tls_enable(struct tls_enable *tls)
{

	zfree((void *)(uintptr_t)tls->cipher_key, tls->cipher_key_len);
	zfree((void *)(uintptr_t)tls->iv, tls->iv_len);
	zfree((void *)(uintptr_t)tls->auth_key, tls->auth_key_len);
	tls->cipher_key = tls->iv = tls->auth_key = NULL;
}

/*
 * ktls_create_session(): validate the suite and derive the record layout
 * (docs/record-layouts.md).  Key sizes are left to the backend, as in FreeBSD,
 * where only ktls_ocf_try() knows which AES key lengths it supports.
 */
static int
ktls_create_session(struct socket *so, struct tls_enable *en,
    struct ktls_session **tlsp, int direction)
{
	struct ktls_session *tls;

	if (en->tls_vmajor != TLS_MAJOR_VER_ONE)
		return (EINVAL);
	if (en->tls_vminor < TLS_MINOR_VER_ZERO ||
	    en->tls_vminor > TLS_MINOR_VER_THREE)
		return (EINVAL);
	if (en->flags != 0)
		return (EINVAL);

	switch (en->cipher_algorithm) {
	case CRYPTO_AES_NIST_GCM_16:
		/*
		 * auth_algorithm is unused, but a kernel with options
		 * COMPAT_FREEBSD12, as GENERIC has (sys/amd64/conf/GENERIC),
		 * tolerates the GMAC ids early FreeBSD 13 userland passed.
		 */
		switch (en->auth_algorithm) {
		case 0:
			break;
		case CRYPTO_AES_128_NIST_GMAC:
		case CRYPTO_AES_192_NIST_GMAC:
		case CRYPTO_AES_256_NIST_GMAC:
			if (ktls_sim_compat_freebsd12)
				break;
			return (EINVAL);
		default:
			return (EINVAL);
		}
		if (en->auth_key_len != 0)
			return (EINVAL);
		switch (en->tls_vminor) {
		case TLS_MINOR_VER_TWO:
			if (en->iv_len != TLS_AEAD_GCM_LEN)
				return (EINVAL);
			break;
		case TLS_MINOR_VER_THREE:
			if (en->iv_len != TLS_1_3_GCM_IV_LEN)
				return (EINVAL);
			break;
		default:
			return (EINVAL);
		}
		break;
	case CRYPTO_AES_CBC:
		/*
		 * kern.ipc.tls.cbc_enable is checked here, after the version
		 * and flags, as in FreeBSD main (uipc_ktls.c,
		 * ktls_create_session()); older trees checked it in
		 * ktls_enable_tx() before the mb_use_ext_pgs check.
		 */
		if (!ktls_cbc_enable)
			return (EOPNOTSUPP);
		switch (en->auth_algorithm) {
		case CRYPTO_SHA1_HMAC:
			break;
		case CRYPTO_SHA2_256_HMAC:
		case CRYPTO_SHA2_384_HMAC:
			if (en->tls_vminor != TLS_MINOR_VER_TWO)
				return (EINVAL);
			break;
		default:
			return (EINVAL);
		}
		if (en->auth_key_len == 0)
			return (EINVAL);
		/* TLS 1.0 needs the initial chained IV; 1.3 has no CBC. */
		switch (en->tls_vminor) {
		case TLS_MINOR_VER_ZERO:
			if (en->iv_len != TLS_CBC_IMPLICIT_IV_LEN)
				return (EINVAL);
			break;
		case TLS_MINOR_VER_ONE:
		case TLS_MINOR_VER_TWO:
			/* Ignored: every record carries an explicit IV. */
			en->iv_len = 0;
			break;
		default:
			return (EINVAL);
		}
		break;
	case CRYPTO_CHACHA20_POLY1305:
		if (en->auth_algorithm != 0 || en->auth_key_len != 0)
			return (EINVAL);
		if (en->tls_vminor != TLS_MINOR_VER_TWO &&
		    en->tls_vminor != TLS_MINOR_VER_THREE)
			return (EINVAL);
		if (en->iv_len != TLS_CHACHA20_IV_LEN)
			return (EINVAL);
		break;
	default:
		return (EINVAL);
	}

	tls = kmalloc(sizeof(*tls), M_WAITOK | M_ZERO);
	counter_u64_add(ktls_offload_active, 1);
	refcount_init(&tls->refcount, 1);
	tls->so = so;
	tls->tx = (direction == KTLS_TX);
	STAILQ_INIT(&tls->pending_records);
	/* ktls_get_cpu(): the flow hash picks the queue for good. */
	tls->wq_index = so->so_flowid % (u_int)ktls_number_threads;

	tls->params.cipher_algorithm = en->cipher_algorithm;
	tls->params.auth_algorithm = en->auth_algorithm;
	tls->params.tls_vmajor = en->tls_vmajor;
	tls->params.tls_vminor = en->tls_vminor;
	tls->params.flags = en->flags;
	tls->params.max_frame_len = min(TLS_MAX_MSG_SIZE_V10_2, ktls_maxlen);

	switch (en->cipher_algorithm) {
	case CRYPTO_AES_NIST_GCM_16:
		if (en->tls_vminor == TLS_MINOR_VER_TWO) {
			tls->params.tls_hlen =
			    sizeof(struct tls_record_layer) + sizeof(uint64_t);
			tls->params.tls_tlen = AES_GMAC_HASH_LEN;
		} else {
			tls->params.tls_hlen = sizeof(struct tls_record_layer);
			tls->params.tls_tlen = AES_GMAC_HASH_LEN + 1;
		}
		tls->params.tls_bs = 1;
		break;
	case CRYPTO_AES_CBC:
		switch (en->auth_algorithm) {
		case CRYPTO_SHA1_HMAC:
			tls->params.tls_tlen = AES_BLOCK_LEN + SHA1_HASH_LEN;
			break;
		case CRYPTO_SHA2_256_HMAC:
			tls->params.tls_tlen =
			    AES_BLOCK_LEN + SHA2_256_HASH_LEN;
			break;
		case CRYPTO_SHA2_384_HMAC:
			tls->params.tls_tlen =
			    AES_BLOCK_LEN + SHA2_384_HASH_LEN;
			break;
		}
		if (en->tls_vminor == TLS_MINOR_VER_ZERO) {
			tls->params.tls_hlen = sizeof(struct tls_record_layer);
			tls->sequential_records = true;
			tls->next_seqno = be64dec(en->rec_seq);
		} else
			tls->params.tls_hlen =
			    sizeof(struct tls_record_layer) + AES_BLOCK_LEN;
		tls->params.tls_bs = AES_BLOCK_LEN;
		break;
	case CRYPTO_CHACHA20_POLY1305:
		tls->params.tls_hlen = sizeof(struct tls_record_layer);
		tls->params.tls_tlen = POLY1305_HASH_LEN +
		    (en->tls_vminor == TLS_MINOR_VER_THREE ? 1 : 0);
		tls->params.tls_bs = 1;
		break;
	}
	KASSERT(tls->params.tls_hlen <= MBUF_PEXT_HDR_LEN,
	    ("TLS header length too long"));
	KASSERT(tls->params.tls_tlen <= MBUF_PEXT_TRAIL_LEN,
	    ("TLS trailer length too long"));

	tls->params.cipher_key_len = en->cipher_key_len;
	tls->params.cipher_key = kmalloc(en->cipher_key_len, M_WAITOK);
	memcpy(tls->params.cipher_key, en->cipher_key, en->cipher_key_len);
	if (en->auth_key_len != 0) {
		tls->params.auth_key_len = en->auth_key_len;
		tls->params.auth_key = kmalloc(en->auth_key_len, M_WAITOK);
		memcpy(tls->params.auth_key, en->auth_key, en->auth_key_len);
	}
	tls->params.iv_len = en->iv_len;
	if (en->iv_len != 0)
		memcpy(tls->params.iv, en->iv, en->iv_len);

	/*
	 * TLS 1.2 GCM: the explicit nonce is a counter starting at a random
	 * value, kept in iv[8..15] in host order (not the sequence number,
	 * unlike OpenSSL and Linux).
	 */
	if (en->cipher_algorithm == CRYPTO_AES_NIST_GCM_16 &&
	    en->tls_vminor == TLS_MINOR_VER_TWO)
		arc4rand(tls->params.iv + 8, sizeof(uint64_t), 0);

	*tlsp = tls;
	return (0);
}

/*
 * ktls_clone_session(): copy the parameters (keys, the TLS 1.0 initial IV,
 * the TLS 1.2 GCM nonce counter) and the queue for a mode switch, as
 * FreeBSD's ktls_clone_session() does.  Its clone leaves
 * sequential_records, next_seqno and initial_offload_seqno zero.
 *
 * SIM: a TLS 1.0 clone keeps sequential_records and starts next_seqno at
 * the socket buffer's next sequence number, which ktls_set_tx_mode()
 * passes in.  FreeBSD's clone would, under INVARIANTS, fail its first
 * record in ktls_ocf_tls_cbc_encrypt()'s order check and drop the
 * connection, and without INVARIANTS encrypt sendfile batches in
 * completion order rather than sequence order; carrying the numbering is
 * a candidate fix upstream (docs/differences.md).  Either way the CBC
 * chain restarts from the initial IV: records framed before the switch are
 * still encrypted by the old session, so the new one cannot know their
 * last ciphertext block.
 */
static struct ktls_session *
ktls_clone_session(struct ktls_session *tls, uint64_t next_seqno)
{
	struct ktls_session *tls_new;

	tls_new = kmalloc(sizeof(*tls_new), M_WAITOK | M_ZERO);
	counter_u64_add(ktls_offload_active, 1);
	refcount_init(&tls_new->refcount, 1);
	tls_new->so = tls->so;
	tls_new->tx = tls->tx;
	tls_new->wq_index = tls->wq_index;
	tls_new->params = tls->params;
	STAILQ_INIT(&tls_new->pending_records);
	tls_new->params.cipher_key =
	    kmalloc(tls->params.cipher_key_len, M_WAITOK);
	memcpy(tls_new->params.cipher_key, tls->params.cipher_key,
	    tls->params.cipher_key_len);
	if (tls->params.auth_key_len != 0) {
		tls_new->params.auth_key =
		    kmalloc(tls->params.auth_key_len, M_WAITOK);
		memcpy(tls_new->params.auth_key, tls->params.auth_key,
		    tls->params.auth_key_len);
	}
	if (tls->sequential_records) {
		tls_new->sequential_records = true;
		tls_new->next_seqno = next_seqno;
	}
	return (tls_new);
}

/* Bump sw.gcm / sw.cbc / sw.chacha20 (ktls_try_sw()). */
static void
ktls_count_sw(const struct ktls_session *tls, int delta)
{

	switch (tls->params.cipher_algorithm) {
	case CRYPTO_AES_CBC:
		counter_u64_add(ktls_sw_cbc, delta);
		break;
	case CRYPTO_AES_NIST_GCM_16:
		counter_u64_add(ktls_sw_gcm, delta);
		break;
	case CRYPTO_CHACHA20_POLY1305:
		counter_u64_add(ktls_sw_chacha20, delta);
		break;
	}
}

/*
 * SIM: the chosen backend first; a suite it declines (EOPNOTSUPP) goes to
 * the EVP backend, which does every suite, much as FreeBSD 12's
 * ktls_try_sw() moved down its list of backends until one took the
 * session.  Any other error is the answer (main has one backend, whose
 * errors reach ktls_enable_tx()).
 */
static int
ktls_try_sw(struct ktls_session *tls, int direction)
{
	const struct ktls_crypto_backend *be;
	int error;

	be = ktls_backend;
	error = be->kb_try(tls, direction);
	if (error == EOPNOTSUPP && be != &ktls_ocf_backend) {
		be = &ktls_ocf_backend;
		error = be->kb_try(tls, direction);
	}
	if (error != 0)
		return (error);
	tls->be = be;
	tls->mode = TCP_TLS_MODE_SW;
	ktls_count_sw(tls, 1);
	return (0);
}

/* Bump ifnet.gcm / ifnet.cbc / ifnet.chacha20 (ktls_try_ifnet()). */
static void
ktls_count_ifnet(const struct ktls_session *tls, int delta)
{

	switch (tls->params.cipher_algorithm) {
	case CRYPTO_AES_CBC:
		counter_u64_add(ktls_ifnet_cbc, delta);
		break;
	case CRYPTO_AES_NIST_GCM_16:
		counter_u64_add(ktls_ifnet_gcm, delta);
		break;
	case CRYPTO_CHACHA20_POLY1305:
		counter_u64_add(ktls_ifnet_chacha20, delta);
		break;
	}
}

/*
 * ktls_alloc_snd_tag(): a TLS send tag on the interface of the route the
 * connection caches now, as FreeBSD's ktls_alloc_snd_tag() does at enable
 * and after a route change.  ECONNRESET for a dropped connection; ENXIO
 * when ifnet TLS is not permitted (unless forced) or there is no route;
 * EOPNOTSUPP without IFCAP_MEXTPG or IFCAP_TXTLS4/6 (enabled) or without
 * send tags; otherwise whatever the driver answers.  SIM: the socket lock
 * stands in for the inpcb lock; the driver is called without it.
 */
static int
ktls_alloc_snd_tag(struct socket *so, struct ktls_session *tls, bool force,
    struct m_snd_tag **mstp)
{
	union if_snd_tag_alloc_params params;
	struct nhop_object *nh;
	struct inpcb *inp;
	struct ifnet *ifp;
	struct tcpcb *tp;
	int error, cap;

	SOCKBUF_LOCK(&so->so_snd);
	tp = sototcpcb(so);
	inp = tptoinpcb(tp);
	if (tp->t_dropped) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (ECONNRESET);
	}
	if (!force && ktls_ifnet_permitted == 0) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (ENXIO);
	}
	nh = inp->inp_route.ro_nh;
	if (nh == NULL) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (ENXIO);
	}
	ifp = nh->nh_ifp;
	if_ref(ifp);
	memset(&params, 0, sizeof(params));
	params.hdr.type = IF_SND_TAG_TYPE_TLS;
	params.hdr.flowid = so->so_flowid;
	params.tls.inp = inp;
	params.tls.tls = tls;
	SOCKBUF_UNLOCK(&so->so_snd);

	cap = (inp->inp_vflag & INP_IPV6) ? IFCAP_TXTLS6 : IFCAP_TXTLS4;
	if ((ifp->if_capenable & IFCAP_MEXTPG) == 0 ||
	    (ifp->if_capenable & cap) == 0)
		error = EOPNOTSUPP;
	else
		error = m_snd_tag_alloc(ifp, &params, mstp);
	if_rele(ifp);
	return (error);
}

/*
 * ktls_try_ifnet(): the session takes a send tag and IFNET mode
 * (FreeBSD's ktls_try_ifnet(), transmit direction).
 */
static int
ktls_try_ifnet(struct ktls_session *tls, bool force)
{
	struct m_snd_tag *mst;
	int error;

	error = ktls_alloc_snd_tag(tls->so, tls, force, &mst);
	if (error != 0)
		return (error);
	tls->mode = TCP_TLS_MODE_IFNET;
	tls->snd_tag = mst;
	ktls_count_ifnet(tls, 1);
	return (0);
}

/*
 * ktls_reset_send_tag(): the task ktls_output_eagain() posts.  The old tag
 * goes first, so that ip_output_send() drops this session's packets until
 * the new one is in place; then a tag on the interface the route names
 * now.  Failing that the connection is dropped (ECONNABORTED), and
 * reset_pending stays set so that no further task is posted.
 */
static void
ktls_reset_send_tag(void *arg)
{
	struct ktls_session *tls = arg;
	struct socket *so = tls->so;
	struct m_snd_tag *old, *new;
	struct tcpcb *tp;
	int error;

	SOCKBUF_LOCK(&so->so_snd);
	old = tls->snd_tag;
	tls->snd_tag = NULL;
	SOCKBUF_UNLOCK(&so->so_snd);
	if (old != NULL)
		m_snd_tag_rele(old);

	error = ktls_alloc_snd_tag(so, tls, true, &new);
	SOCKBUF_LOCK(&so->so_snd);
	if (error == 0) {
		tls->snd_tag = new;
		tls->reset_pending = false;
		/*
		 * SIM: FreeBSD leaves the resend to the retransmission timer
		 * that tcp_output() armed when ip_output() refused the packet
		 * (tcp_output_enobufs() here); the simulator also sends at
		 * once, so a reset costs no timeout (docs/differences.md).
		 */
		tp = sototcpcb(so);
		if (!tp->t_dropped && !tp->t_in_ipoutput)
			tcp_output(tp);
		SOCKBUF_UNLOCK(&so->so_snd);
		counter_u64_add(ktls_ifnet_reset, 1);
	} else {
		tp = sototcpcb(so);
		if (!tp->t_dropped) {
			tcp_drop(tp, ECONNABORTED);
			counter_u64_add(ktls_ifnet_reset_dropped, 1);
		}
		SOCKBUF_UNLOCK(&so->so_snd);
		counter_u64_add(ktls_ifnet_reset_failed, 1);
	}
	ktls_free(tls);
	sorele(so);
}

/*
 * ktls_output_eagain(): ip_output_send() dropped a packet because the
 * session's tag is gone or on another interface.  Post the reset task
 * once (a session reference and a socket reference go with it) and tell
 * TCP ENOBUFS, a transient failure.  Called with the socket lock held.
 */
int
ktls_output_eagain(struct inpcb *inp, struct ktls_session *tls)
{
	struct socket *so;

	if (inp == NULL)
		return (ENOBUFS);
	so = inp->inp_socket;
	SOCKBUF_LOCK_ASSERT(&so->so_snd);
	if (!tls->reset_pending) {
		ktls_hold(tls);
		soref(so);
		tls->reset_pending = true;
		platform->pl_task_post(platform, 0, ktls_reset_send_tag, tls);
	}
	return (ENOBUFS);
}

/*
 * ktls_destroy(): the last reference is gone.  Frees TLS 1.0 batches still
 * parked out of order, the backend state and the zeroed keys.
 */
void
ktls_destroy(struct ktls_session *tls)
{
	struct mbuf *m;

	while ((m = STAILQ_FIRST(&tls->pending_records)) != NULL) {
		STAILQ_REMOVE_HEAD(&tls->pending_records, m_epg_stailq);
		mb_free_notready(m, m->m_epg_enc_cnt);
	}
	if (tls->mode == TCP_TLS_MODE_SW)
		ktls_count_sw(tls, -1);
	if (tls->mode == TCP_TLS_MODE_IFNET) {
		ktls_count_ifnet(tls, -1);
		if (tls->snd_tag != NULL)
			m_snd_tag_rele(tls->snd_tag);
	}
	if (tls->ocf_session != NULL)
		tls->be->kb_free(tls);
	zfree(tls->params.cipher_key, tls->params.cipher_key_len);
	zfree(tls->params.auth_key, tls->params.auth_key_len);
	explicit_bzero(tls, sizeof(*tls));
	kfree(tls);
	counter_u64_add(ktls_offload_active, -1);
}

/*
 * ktls_enable_tx(): the checks in the order of FreeBSD main's
 * ktls_enable_tx() (uipc_ktls.c), the cipher-specific ones, cbc_enable
 * included, in ktls_create_session(); then the modes in order TOE, ifnet,
 * software; the first success wins.
 */
int
ktls_enable_tx(struct socket *so, struct tls_enable *en)
{
	struct ktls_session *tls;
	int error;

	/* Calls refused by kern.ipc.tls.enable are not counted. */
	if (!ktls_enable_sysctl)
		return (ENOTSUP);
	counter_u64_add(ktls_offload_enable_calls, 1);
	if (so->so_proto != IPPROTO_TCP)
		return (EINVAL);
	if (so->so_snd.sb_tls_info != NULL)
		return (EALREADY);
	if (!mb_use_ext_pgs)
		return (ENXIO);

	error = ktls_create_session(so, en, &tls, KTLS_TX);
	if (error != 0)
		return (error);
	/* For NICs that need the first sequence number (ktls_enable_tx()). */
	tls->initial_offload_seqno = be64dec(en->rec_seq);

	error = ktls_try_ifnet(tls, false);
	if (error != 0)
		error = ktls_try_sw(tls, KTLS_TX);
	if (error != 0) {
		ktls_free(tls);
		return (error);
	}

	/*
	 * SOCK_IO_SEND_LOCK refuses listening sockets; FreeBSD's tests see
	 * ENOTCONN for TX enable on a listener.
	 */
	error = sock_io_send_lock(so);
	if (error != 0) {
		ktls_free(tls);
		return (error);
	}
	SOCKBUF_LOCK(&so->so_snd);
	if (so->so_snd.sb_tls_info != NULL) {
		SOCKBUF_UNLOCK(&so->so_snd);
		sock_io_send_unlock(so);
		ktls_free(tls);
		return (EALREADY);
	}
	so->so_snd.sb_tls_info = tls;
	so->so_snd.sb_tls_seqno = be64dec(en->rec_seq);
	if (tls->mode != TCP_TLS_MODE_SW)
		sototcpcb(so)->t_nic_ktls_xmit = 1;
	SOCKBUF_UNLOCK(&so->so_snd);
	sock_io_send_unlock(so);

	counter_u64_add(ktls_offload_total, 1);
	return (0);
}

/*
 * ktls_get_rx_mode(): a listener is refused as in FreeBSD.  SIM: the
 * receive path is not modelled, so no socket has a receive session.
 */
int
ktls_get_rx_mode(struct socket *so, int *modep)
{

	if (so->so_options & SO_ACCEPTCONN_SIM)
		return (EINVAL);
	*modep = TCP_TLS_MODE_NONE;
	return (0);
}

int
ktls_get_tx_mode(struct socket *so, int *modep)
{
	struct ktls_session *tls;

	if (so->so_options & SO_ACCEPTCONN_SIM)
		return (EINVAL);
	SOCKBUF_LOCK(&so->so_snd);
	tls = so->so_snd.sb_tls_info;
	*modep = tls == NULL ? TCP_TLS_MODE_NONE : tls->mode;
	SOCKBUF_UNLOCK(&so->so_snd);
	return (0);
}

/*
 * ktls_set_tx_mode(): switch between SW and IFNET by cloning the session.
 * Records already framed keep their old session.  The sequence counter
 * lives in the socket buffer, so numbering continues.
 */
int
ktls_set_tx_mode(struct socket *so, int mode)
{
	struct ktls_session *tls, *tls_new;
	struct tcpcb *tp;
	uint64_t seqno;
	int error;

	if (so->so_options & SO_ACCEPTCONN_SIM)
		return (EINVAL);
	switch (mode) {
	case TCP_TLS_MODE_SW:
	case TCP_TLS_MODE_IFNET:
		break;
	default:
		return (EINVAL);
	}
	tp = sototcpcb(so);
	if (mode == TCP_TLS_MODE_IFNET && tp->t_nic_ktls_xmit)
		return (EALREADY);
	if (mode == TCP_TLS_MODE_IFNET && tp->t_nic_ktls_xmit_dis)
		return (ENXIO);

	SOCKBUF_LOCK(&so->so_snd);
	tls = so->so_snd.sb_tls_info;
	if (tls == NULL || tls->mode == mode) {
		SOCKBUF_UNLOCK(&so->so_snd);
		return (0);
	}
	ktls_hold(tls);
	SOCKBUF_UNLOCK(&so->so_snd);

	/*
	 * FreeBSD clones the session and tries the new mode before it takes
	 * SOCK_IO_SEND_LOCK.  A writer that frames records with the old
	 * session in between advances the old session's TLS 1.2 GCM nonce
	 * counter after the clone copied it, so the new session's first
	 * records reuse (key, nonce) pairs; a TLS 1.0 clone also starts from a
	 * stale record number.  SIM: ktls_sim_safe_mode_switch takes the lock
	 * first, which closes that window (docs/differences.md).  A failure
	 * to lock counts as a failed switch, as in FreeBSD.
	 */
	if (ktls_sim_safe_mode_switch) {
		if (ktls_sim_switch_hook != NULL)
			ktls_sim_switch_hook(so);
		error = sock_io_send_lock(so);
		if (error != 0) {
			counter_u64_add(ktls_switch_failed, 1);
			ktls_free(tls);
			return (error);
		}
	}
	SOCKBUF_LOCK(&so->so_snd);
	seqno = so->so_snd.sb_tls_seqno;
	SOCKBUF_UNLOCK(&so->so_snd);

	tls_new = ktls_clone_session(tls, seqno);
	if (mode == TCP_TLS_MODE_IFNET)
		error = ktls_try_ifnet(tls_new, true);
	else
		error = ktls_try_sw(tls_new, KTLS_TX);
	if (error != 0) {
		if (ktls_sim_safe_mode_switch)
			sock_io_send_unlock(so);
		counter_u64_add(ktls_switch_failed, 1);
		ktls_free(tls_new);
		ktls_free(tls);
		return (error);
	}
	if (!ktls_sim_safe_mode_switch) {
		if (ktls_sim_switch_hook != NULL)
			ktls_sim_switch_hook(so);
		error = sock_io_send_lock(so);
		if (error != 0) {
			counter_u64_add(ktls_switch_failed, 1);
			ktls_free(tls_new);
			ktls_free(tls);
			return (error);
		}
	}

	/* Another switch may have won the race for the lock. */
	SOCKBUF_LOCK(&so->so_snd);
	if (so->so_snd.sb_tls_info != tls) {
		SOCKBUF_UNLOCK(&so->so_snd);
		sock_io_send_unlock(so);
		counter_u64_add(ktls_switch_failed, 1);
		ktls_free(tls_new);
		ktls_free(tls);
		return (EBUSY);
	}
	so->so_snd.sb_tls_info = tls_new;
	/*
	 * SIM: no record of the clone exists yet, so its queue order starts
	 * here.  In FreeBSD's order a writer may have taken the number the
	 * clone read; the backend's own copy (ktls_ocf_try()) keeps that one,
	 * so the first record fails the INVARIANTS order check and the
	 * connection is dropped, as FreeBSD's clone, which starts at zero,
	 * always is (docs/differences.md).  Without this the record would
	 * wait for a number that went to the old session, forever.
	 */
	if (tls_new->sequential_records)
		tls_new->next_seqno = so->so_snd.sb_tls_seqno;
	/*
	 * SIM: FreeBSD clears t_nic_ktls_xmit in ktls_destroy() of the
	 * ifnet session, which holds its inpcb; the simulator's session does
	 * not hold its socket, so the flag is cleared at the switch (the NIC
	 * engine has to revisit this).
	 */
	if (tls_new->mode != TCP_TLS_MODE_SW)
		tp->t_nic_ktls_xmit = 1;
	else
		tp->t_nic_ktls_xmit = 0;
	SOCKBUF_UNLOCK(&so->so_snd);
	sock_io_send_unlock(so);

	/* The hold above and the socket buffer's reference. */
	ktls_free(tls);
	ktls_free(tls);
	if (mode == TCP_TLS_MODE_IFNET)
		counter_u64_add(ktls_switch_to_ifnet, 1);
	else
		counter_u64_add(ktls_switch_to_sw, 1);
	return (0);
}

/*
 * ktls_disable_ifnet_help(): the task ktls_disable_ifnet() posts; the
 * switch itself is ktls_set_tx_mode()'s.  Counted in
 * stats.ifnet_disable_ok / stats.ifnet_disable_failed.
 */
static void
ktls_disable_ifnet_help(void *arg)
{
	struct ktls_session *tls = arg;
	struct socket *so = tls->so;
	bool dropped, have;
	int error;

	SOCKBUF_LOCK(&so->so_snd);
	dropped = sototcpcb(so)->t_dropped;
	have = so->so_snd.sb_tls_info != NULL;
	SOCKBUF_UNLOCK(&so->so_snd);
	if (!dropped) {
		error = have ? ktls_set_tx_mode(so, TCP_TLS_MODE_SW) : ENXIO;
		if (error == 0)
			counter_u64_add(ktls_ifnet_disable_ok, 1);
		else
			counter_u64_add(ktls_ifnet_disable_fail, 1);
	}
	ktls_free(tls);
	sorele(so);
}

/*
 * ktls_disable_ifnet(): called by tcp_account_for_send() with the socket
 * lock held when retransmissions pass kern.ipc.tls.ifnet_max_rexmit_pct.
 * t_nic_ktls_xmit_dis is never cleared: a connection goes back to
 * software at most once, and TCP_TXTLS_MODE cannot bring it back.
 * Records already framed for the NIC keep their session and tag and
 * still leave through it.
 */
void
ktls_disable_ifnet(void *arg)
{
	struct tcpcb *tp = arg;
	struct socket *so = tp->t_socket;
	struct ktls_session *tls;

	SOCKBUF_LOCK_ASSERT(&so->so_snd);
	tls = so->so_snd.sb_tls_info;
	if (tp->t_nic_ktls_xmit_dis == 1 || tls == NULL)
		return;
	ktls_hold(tls);
	soref(so);
	tp->t_nic_ktls_xmit_dis = 1;
	platform->pl_task_post(platform, 0, ktls_disable_ifnet_help, tls);
}

/*
 * ktls_frame(): turn each M_EXTPG mbuf of the chain (one record's
 * plaintext each) into a TLS record: session reference, header with
 * explicit nonce or IV, trailer length; software sessions also mark it
 * not ready until a worker has encrypted it.  Sequence
 * numbers are assigned later, by ktls_seq() at append time.
 */
void
ktls_frame(struct mbuf *top, struct ktls_session *tls, int *enq_cnt,
    uint8_t record_type)
{
	struct tls_record_layer *tlshdr;
	struct mbuf *m;
	uint64_t *noncep;
	uint16_t tls_len;
	int maxlen;

#ifdef INVARIANTS
	/* SIM: a chain broken before framing panics here (m_chain_check()). */
	(void)m_chain_check(top);
#endif
	maxlen = tls->params.max_frame_len;
	*enq_cnt = 0;
	for (m = top; m != NULL; m = m->m_next) {
		/* At most max_frame_len; empty only for TLS 1.0 CBC. */
		KASSERT(m->m_len <= maxlen && m->m_len >= 0 &&
			(m->m_len > 0 || ktls_permit_empty_frames(tls)),
		    ("ktls_frame: mbuf %p has bad length %d", (void *)m,
			m->m_len));
		KASSERT(m->m_flags & M_EXTPG,
		    ("ktls_frame: mapped mbuf %p", (void *)m));
		KASSERT(m->m_epg_off == 0, ("ktls_frame: trimmed mbuf"));

		tls_len = m->m_len;
		m->m_epg_tls = ktls_hold(tls);
		m->m_epg_hdrlen = tls->params.tls_hlen;
		m->m_epg_trllen = tls->params.tls_tlen;
		if (tls->params.cipher_algorithm == CRYPTO_AES_CBC) {
			int bs, delta;

			/*
			 * Minimal padding: MAC plus 1..16 bytes of padding,
			 * rounding plaintext + trailer up to the block size
			 * (RFC 5246 section 6.2.3.2).
			 */
			bs = tls->params.tls_bs;
			delta = (tls_len + tls->params.tls_tlen) & (bs - 1);
			m->m_epg_trllen -= delta;
		}
		m->m_len += m->m_epg_hdrlen + m->m_epg_trllen;

		tlshdr = (struct tls_record_layer *)m->m_epg_hdr;
		tlshdr->tls_vmajor = tls->params.tls_vmajor;
		if (tls->params.tls_vminor == TLS_MINOR_VER_THREE) {
			/* RFC 8446 section 5.2: outer type and version. */
			tlshdr->tls_vminor = TLS_MINOR_VER_TWO;
			tlshdr->tls_type = TLS_RLTYPE_APP;
			m->m_epg_record_type = record_type;
			m->m_epg_trail[0] = record_type;
		} else {
			tlshdr->tls_vminor = tls->params.tls_vminor;
			tlshdr->tls_type = record_type;
		}
		tlshdr->tls_length =
		    htobe16(m->m_len - sizeof(struct tls_record_layer));

		if (tls->params.cipher_algorithm == CRYPTO_AES_NIST_GCM_16 &&
		    tls->params.tls_vminor == TLS_MINOR_VER_TWO) {
			/* The explicit nonce counter (ktls_create_session()).
			 */
			noncep = (uint64_t *)(void *)(tls->params.iv + 8);
			be64enc(tlshdr + 1, *noncep);
			(*noncep)++;
		} else if (tls->params.cipher_algorithm == CRYPTO_AES_CBC &&
		    tls->params.tls_vminor >= TLS_MINOR_VER_ONE)
			arc4rand(tlshdr + 1, AES_BLOCK_LEN, 0);

		if (tls->mode == TCP_TLS_MODE_SW) {
			m->m_flags |= M_NOTREADY;
			if (__predict_false(tls_len == 0)) {
				/* TLS 1.0 empty fragment. */
				m->m_epg_nrdy = 1;
			} else
				m->m_epg_nrdy = m->m_epg_npgs;
			*enq_cnt += m->m_epg_nrdy;
		}
	}
}

/*
 * ktls_seq(): number the records in socket-buffer order, which is TCP byte
 * order, at append time, before any of them is encrypted.
 */
void
ktls_seq(struct sockbuf *sb, struct mbuf *m)
{

	for (; m != NULL; m = m->m_next) {
		KASSERT((m->m_flags & M_EXTPG) != 0,
		    ("ktls_seq: mapped mbuf %p", (void *)m));
		m->m_epg_seqno = sb->sb_tls_seqno;
		sb->sb_tls_seqno++;
		/* Framed and numbered: the record's layout is now final. */
		KTLS_TRACE_RECORD(KTR_FRAMED, sbtoso(sb), m);
	}
}

/*
 * Number of records in a batch whose units add up to m_epg_enc_cnt.
 * SIM: m_next is read only while units remain (see ktls_encrypt()).
 */
static int
ktls_batched_records(struct mbuf *m)
{
	int page_count, records;

	page_count = m->m_epg_enc_cnt;
	records = 0;
	while (page_count > 0) {
		records++;
		page_count -= m->m_epg_nrdy;
		if (page_count > 0)
			m = m->m_next;
	}
	KASSERT(page_count == 0, ("ktls_batched_records: page count mismatch"));
	return (records);
}

#ifdef INVARIANTS
/*
 * SIM: m_chain_check() over one batch only: the records from m whose
 * units add up to page_count, walked as ktls_batched_records() walks them.
 * The records behind the batch may be another batch's, already with a
 * worker or a disk read that is changing them, so the check stops where
 * this batch does.
 */
static void
ktls_check_batch(const struct mbuf *m, int page_count)
{

	for (;;) {
		if (m_chain_check_one(m) != 0)
			return;
		page_count -= m->m_epg_nrdy;
		if (page_count <= 0)
			break;
		m = m->m_next;
		KASSERT(m != NULL,
		    ("ktls_enqueue: batch ends %d units short", page_count));
	}
	KASSERT(page_count == 0, ("ktls_enqueue: page count mismatch"));
}
#endif

/*
 * ktls_enqueue(): hand a batch of not-ready records to the session's
 * worker.  TLS 1.0 must encrypt strictly in sequence order (the IV chains
 * from record to record), so batches that complete disk I/O early wait in
 * pending_records until their predecessors are queued.
 */
void
ktls_enqueue(struct mbuf *m, struct socket *so, int page_count)
{
	struct ktls_session *tls;
	struct ktls_wq *wq;
	struct mbuf *n, *prev;
	int queued, wq_index;
	bool running;

	KASSERT(((m->m_flags & (M_EXTPG | M_NOTREADY)) ==
		    (M_EXTPG | M_NOTREADY)),
	    ("ktls_enqueue: %p not unready & nomap", (void *)m));
	KASSERT(page_count != 0, ("ktls_enqueue: no pages"));
#ifdef INVARIANTS
	ktls_check_batch(m, page_count);
#endif
	tls = m->m_epg_tls;
	KASSERT(tls->mode == TCP_TLS_MODE_SW, ("ktls_enqueue: !SW TLS"));

	m->m_epg_enc_cnt = page_count;
	m->m_epg_so = so;
	/*
	 * Once the queue lock is dropped a worker may encrypt and free the
	 * batch, and with it the last session reference, so nothing after
	 * mtx_unlock() may look at m or tls.
	 */
	wq_index = tls->wq_index;
	wq = &ktls_wq[wq_index];
	queued = 1;

	mtx_lock(&wq->mtx);
	if (!tls->sequential_records) {
		STAILQ_INSERT_TAIL(&wq->m_head, m, m_epg_stailq);
	} else if (m->m_epg_seqno != tls->next_seqno) {
		prev = NULL;
		STAILQ_FOREACH(n, &tls->pending_records, m_epg_stailq) {
			if (n->m_epg_seqno > m->m_epg_seqno)
				break;
			prev = n;
		}
		if (prev == NULL)
			STAILQ_INSERT_HEAD(&tls->pending_records, m,
			    m_epg_stailq);
		else
			STAILQ_INSERT_AFTER(&tls->pending_records, prev, m,
			    m_epg_stailq);
		counter_u64_add(ktls_cnt_tx_pending, 1);
		mtx_unlock(&wq->mtx);
		return;
	} else {
		tls->next_seqno += ktls_batched_records(m);
		STAILQ_INSERT_TAIL(&wq->m_head, m, m_epg_stailq);
		while ((n = STAILQ_FIRST(&tls->pending_records)) != NULL &&
		    n->m_epg_seqno == tls->next_seqno) {
			STAILQ_REMOVE_HEAD(&tls->pending_records, m_epg_stailq);
			counter_u64_add(ktls_cnt_tx_pending, -1);
			tls->next_seqno += ktls_batched_records(n);
			STAILQ_INSERT_TAIL(&wq->m_head, n, m_epg_stailq);
			queued++;
		}
	}
	/*
	 * SIM: counted before the queue lock is dropped, where FreeBSD counts
	 * after its wakeup: counter(9) sums per-CPU values and tolerates the
	 * worker's decrement coming first, an atomic counter read by a
	 * concurrent dump would not.
	 */
	counter_u64_add(ktls_cnt_tx_queued, queued);
	running = wq->running;
	mtx_unlock(&wq->mtx);
	if (!running)
		platform->pl_wq_wakeup(platform, wq_index);
}

/*
 * ktls_enqueue_to_free(): the last session reference must not be dropped
 * where the caller may hold locks ktls_destroy() needs; the worker does it.
 */
void
ktls_enqueue_to_free(struct mbuf *m)
{
	struct ktls_wq *wq;
	int wq_index;
	bool running;

	m->m_epg_flags |= EPG_FLAG_2FREE;
	/* As in ktls_enqueue(), m is the worker's once the lock drops. */
	wq_index = m->m_epg_tls->wq_index;
	wq = &ktls_wq[wq_index];
	mtx_lock(&wq->mtx);
	STAILQ_INSERT_TAIL(&wq->m_head, m, m_epg_stailq);
	running = wq->running;
	mtx_unlock(&wq->mtx);
	if (!running)
		platform->pl_wq_wakeup(platform, wq_index);
}

/*
 * ktls_drop(): drop the connection after a failed encryption.  On one that
 * is already gone, FreeBSD records the error and wakes the receive
 * buffer's readers (sorwakeup_locked()); its writers were woken by the
 * drop.  SIM: there is no receive buffer to wake.
 */
static void
ktls_drop(struct socket *so, int error)
{
	struct tcpcb *tp;

	SOCKBUF_LOCK(&so->so_snd);
	tp = sototcpcb(so);
	if (!tp->t_dropped)
		tcp_drop(tp, error);
	else
		so->so_error = error;
	SOCKBUF_UNLOCK(&so->so_snd);
}

/*
 * ktls_finish_nonanon(): sendfile pages belong to the page cache and must
 * not be overwritten, so the ciphertext went to new pages; release the
 * file pages and adopt the new ones.
 */
static void
ktls_finish_nonanon(struct mbuf *m, struct vm_page **newpg)
{

	if (m->m_ext.ext_free != NULL)
		m->m_ext.ext_free(m);
	for (int i = 0; i < m->m_epg_npgs; i++)
		m->m_epg_pa[i] = newpg[i];
	m->m_ext.ext_free = mb_free_mext_pgs;
	m->m_epg_flags |= EPG_FLAG_ANON;
}

/*
 * ktls_encrypt_record(): anonymous pages (write(2) data) are encrypted in
 * place; file pages into freshly allocated ones with the same geometry.
 * SIM: FreeBSD may take one contiguous buffer from ktls_buffer_zone
 * instead of separate pages (same offsets), from a per-CPU cache; the
 * simulator takes the record's pages in one trip through the page
 * allocator's lock (vm_page_alloc_npages_sim()); and FreeBSD counts
 * stats.ocf.inplace/separate_output in ktls_ocf.c before dispatching the
 * request, where the simulator counts here once encryption succeeded.
 */
static int
ktls_encrypt_record(struct ktls_session *tls, struct mbuf *m)
{
	struct vm_page *newpg[MBUF_PEXT_MAX_PGS];
	struct iovec outiov[MBUF_PEXT_MAX_PGS];
	int error, off, len;
	bool anon;

	anon = (m->m_epg_flags & EPG_FLAG_ANON) != 0;
	if (anon)
		memcpy(newpg, m->m_epg_pa, sizeof(newpg[0]) * m->m_epg_npgs);
	else
		vm_page_alloc_npages_sim(newpg, m->m_epg_npgs);
	off = m->m_epg_1st_off;
	for (int i = 0; i < m->m_epg_npgs; i++, off = 0) {
		len = m_epg_pagelen(m, i, off);
		outiov[i].iov_base = vm_page_data(newpg[i]) + off;
		outiov[i].iov_len = len;
	}

	error = tls->be->kb_encrypt(tls, m, outiov, m->m_epg_npgs);
	/* SIM: the bytes the cipher moved (docs/cost-model.md). */
	if (error == 0) {
		len = m_epg_datalen(m);
		counter_u64_add(ksim_crypto_read_bytes, len);
		if (anon)
			counter_u64_add(ksim_crypto_inplace_bytes, len);
		else
			counter_u64_add(ksim_crypto_newpage_bytes, len);
		counter_u64_add(ksim_crypto_framing_bytes,
		    m->m_epg_hdrlen + m->m_epg_trllen);
	}
	if (!anon) {
		if (error == 0) {
			ktls_finish_nonanon(m, newpg);
			counter_u64_add(ocf_separate_output, 1);
		} else
			vm_page_release_npages_sim(newpg, m->m_epg_npgs);
	} else if (error == 0)
		counter_u64_add(ocf_inplace, 1);
	if (error == 0)
		KTLS_TRACE_RECORD(KTR_ENCRYPTED, tls->so, m);
	else
		counter_u64_add(ktls_offload_failed_crypto, 1);
	return (error);
}

/*
 * Mark an encrypted record read-only, as ktls_encrypt() and
 * ktls_encrypt_cb() do.  SIM: under the socket buffer lock.  FreeBSD sets
 * the flag without it, while sbready() or sbdrop() on another CPU may be
 * reading the same record's m_flags (it is queued in the socket buffer):
 * a data race, undefined in C11 and reported by ThreadSanitizer, which
 * the lock avoids; a candidate upstream fix (docs/differences.md).
 */
static void
ktls_set_rdonly(struct socket *so, struct mbuf *m)
{

	SOCKBUF_LOCK(&so->so_snd);
	m->m_flags |= M_RDONLY;
	SOCKBUF_UNLOCK(&so->so_snd);
}

/*
 * ktls_encrypt(): synchronous backend.  Encrypt every record of the batch,
 * dropping each record's session reference as it is done, then mark the
 * whole batch ready with one pr_ready().
 */
static void
ktls_encrypt(struct mbuf *top)
{
	struct ktls_session *tls;
	struct socket *so;
	struct mbuf *m;
	int error, npages, total_pages;

	so = top->m_epg_so;
	tls = top->m_epg_tls;
	KASSERT(tls != NULL, ("tls = NULL, top = %p", (void *)top));
	KASSERT(so != NULL, ("so = NULL, top = %p", (void *)top));
	top->m_epg_so = NULL;
	total_pages = top->m_epg_enc_cnt;
	npages = 0;
	error = 0;

	/*
	 * SIM: the batch's last record may already be followed by newer data
	 * whose append writes its m_next under the socket lock, which this
	 * loop does not hold.  FreeBSD's loop (m = m->m_next; npages !=
	 * total_pages) reads that m_next once more after the last record and
	 * discards the value: no harm in practice, but a data race, which C11
	 * leaves undefined and ThreadSanitizer reports.  m_next is read here
	 * only while records remain, a candidate upstream fix
	 * (docs/differences.md); ktls_encrypt_async(), ktls_batched_records()
	 * and mb_free_notready() do the same.
	 */
	for (m = top;; m = m->m_next) {
		KASSERT(m->m_epg_tls == tls,
		    ("different TLS sessions in a single mbuf chain"));
		KASSERT((m->m_flags & (M_EXTPG | M_NOTREADY)) ==
			(M_EXTPG | M_NOTREADY),
		    ("%p not unready & nomap", (void *)m));
		error = ktls_encrypt_record(tls, m);
		if (error != 0)
			break;
		/* The ciphertext is final: nothing may write the pages now. */
		ktls_set_rdonly(so, m);
		npages += m->m_epg_nrdy;
		/*
		 * Drop the reference now: a software-encrypted record no
		 * longer needs its session and may outlive it.
		 */
		m->m_epg_tls = NULL;
		ktls_free(tls);
		if (npages == total_pages)
			break;
	}

	if (error == 0)
		(void)tcp_usr_ready(so, top, npages);
	else {
		ktls_drop(so, EIO);
		mb_free_notready(top, total_pages);
	}
	sorele(so);
}

/* Per-record state of the asynchronous path (ktls_ocf_encrypt_state). */
struct ktls_async_state {
	struct socket *so;
	struct mbuf *m;
};

/*
 * ktls_encrypt_cb(): one record of an asynchronous batch completed, in
 * whatever order the "co-processor" chose; pr_ready() per record, and
 * sbready() keeps later records blocked until earlier ones are ready.
 * SIM: the record is encrypted here, in the completion task; FreeBSD's
 * worker dispatches the request in ktls_encrypt_async() (where a dispatch
 * error drops the connection) and the OCF driver completes it.
 */
static void
ktls_encrypt_cb(void *arg)
{
	struct ktls_async_state *state = arg;
	struct ktls_session *tls;
	struct mbuf *m;
	struct socket *so;
	int error, npages;

	so = state->so;
	m = state->m;
	tls = m->m_epg_tls;
	error = ktls_encrypt_record(tls, m);
	if (error == 0) {
		ktls_set_rdonly(so, m);
		npages = m->m_epg_nrdy;
		m->m_epg_tls = NULL;
		ktls_free(tls);
		(void)tcp_usr_ready(so, m, npages);
	} else {
		ktls_drop(so, EIO);
		mb_free_notready(m, m->m_epg_nrdy);
	}
	sorele(so);
	kfree(state);
}

static void
ktls_encrypt_async(struct mbuf *top)
{
	struct ktls_async_state *state;
	struct socket *so;
	struct mbuf *m, *n;
	int npages, total_pages;

	so = top->m_epg_so;
	top->m_epg_so = NULL;
	total_pages = top->m_epg_enc_cnt;
	npages = 0;
	for (m = top; npages != total_pages; m = n) {
		/*
		 * Read before the callback can free or ready m.  SIM: and
		 * only while the batch goes on (see ktls_encrypt()).
		 */
		npages += m->m_epg_nrdy;
		n = npages != total_pages ? m->m_next : NULL;
		state = kmalloc(sizeof(*state), M_WAITOK);
		state->so = so;
		state->m = m;
		soref(so);
		platform->pl_task_post(platform, 0, ktls_encrypt_cb, state);
	}
	sorele(so);
}

/*
 * ktls_work_once(): one pass of ktls_work_thread()'s loop: detach every
 * queued batch and process them in FIFO order, counting each out of
 * sw_tx_inqueue once it has been handed on (after its pr_ready() when
 * encryption is synchronous).  The platform calls it again while it
 * returns true, as the thread loops; finding the queue empty is where the
 * thread would sleep, so running goes false there and not before.
 */
bool
ktls_work_once(int idx)
{
	STAILQ_HEAD(, mbuf) local_m_head;
	struct ktls_wq *wq;
	struct ktls_session *tls;
	struct mbuf *m, *n;

	wq = &ktls_wq[idx];
	STAILQ_INIT(&local_m_head);
	mtx_lock(&wq->mtx);
	if (STAILQ_EMPTY(&wq->m_head)) {
		wq->running = false;
		mtx_unlock(&wq->mtx);
		return (false);
	}
	wq->running = true;
	STAILQ_CONCAT(&local_m_head, &wq->m_head);
	mtx_unlock(&wq->mtx);

	STAILQ_FOREACH_SAFE(m, &local_m_head, m_epg_stailq, n) {
		if (m->m_epg_flags & EPG_FLAG_2FREE) {
			tls = m->m_epg_tls;
			m->m_epg_tls = NULL;
			ktls_free(tls);
			kfree(m);
			continue;
		}
		tls = m->m_epg_tls;
		if (tls->sync_dispatch)
			ktls_encrypt(m);
		else
			ktls_encrypt_async(m);
		counter_u64_add(ktls_cnt_tx_queued, -1);
	}
	return (true);
}
