/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The NIC TLS engine: the NIC object, tags (contexts), host memory reads
 * and their accounting, the wire output, and the transmit entry point that
 * hands each packet to the vendor profile (docs/nic-engine.md).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "nic_var.h"

static const struct nic_profile_ops *const nic_profiles[NIC_NPROFILES] = {
	[NIC_PROFILE_MLX5] = &nic_mlx5_ops,
	[NIC_PROFILE_T6] = &nic_t6_ops,
	[NIC_PROFILE_LINUX] = &nic_linux_ops,
};

struct nic *
nic_create(const struct nic_config *cfg)
{
	const struct nic_profile_ops *ops;
	struct nic *nic;

	if (cfg == NULL || (unsigned int)cfg->profile >= NIC_NPROFILES ||
	    (cfg->mtu != 0 && (cfg->mtu < 576 || cfg->mtu > 65535)) ||
	    cfg->lost_error < 0) {
		errno = EINVAL;
		return (NULL);
	}
	nic = calloc(1, sizeof(*nic));
	if (nic == NULL)
		return (NULL);
	ops = nic_profiles[cfg->profile];
	nic->ops = ops;
	nic->profile = cfg->profile;
	nic->max_tags = cfg->max_tags != 0 ? cfg->max_tags : ops->max_tags;
	nic->key_slots = cfg->key_slots != 0 ? cfg->key_slots : ops->key_slots;
	nic->mtu = cfg->mtu != 0 ? cfg->mtu : 1500;
	nic->lost_error =
	    cfg->lost_error != 0 ? cfg->lost_error : ops->lost_error;
	LIST_INIT(&nic->tags);
	return (nic);
}

static void tag_free(struct nic_tag *tag);

unsigned int
nic_destroy(struct nic *nic)
{
	struct nic_tag *tag;
	unsigned int leaked;
	int i;

	if (nic == NULL)
		return (0);
	leaked = 0;
	while ((tag = LIST_FIRST(&nic->tags)) != NULL) {
		leaked++;
		tag_free(tag);
	}
	free(nic->wbuf);
	for (i = 0; i < 2; i++)
		free(nic->scratch[i]);
	free(nic->segs);
	free(nic->segoff);
	free(nic);
	return (leaked);
}

enum nic_profile
nic_profile_of(const struct nic *nic)
{

	return (nic->profile);
}

const char *
nic_profile_name(enum nic_profile profile)
{

	if ((unsigned int)profile >= NIC_NPROFILES)
		return ("unknown");
	return (nic_profiles[profile]->name);
}

int
nic_profile_lookup(const char *name, enum nic_profile *profile)
{
	int i;

	for (i = 0; i < NIC_NPROFILES; i++) {
		if (name != NULL && strcmp(name, nic_profiles[i]->name) == 0) {
			*profile = (enum nic_profile)i;
			return (0);
		}
	}
	return (-1);
}

int
nic_profile_check(enum nic_profile profile,
    const struct tls_session_params *params)
{

	if ((unsigned int)profile >= NIC_NPROFILES || params == NULL)
		return (EINVAL);
	return (nic_profiles[profile]->check(params));
}

bool
nic_fault_take(struct nic *nic, enum nic_fault fault)
{

	if (nic->faults[fault] == 0)
		return (false);
	nic->faults[fault]--;
	return (true);
}

void
nic_inject(struct nic *nic, enum nic_fault fault, unsigned int count)
{

	if ((unsigned int)fault < NIC_NFAULTS)
		nic->faults[fault] = count;
}

void
nic_reset(struct nic *nic)
{
	struct nic_tag *tag;

	/* Every context of the old generation is gone with the firmware. */
	LIST_FOREACH(tag, &nic->tags, link) {
		if (tag->gen == nic->gen)
			nic->c.tag_resets++;
	}
	nic->gen++;
	nic->c.nic_resets++;
}

unsigned int
nic_generation(const struct nic *nic)
{

	return (nic->gen);
}

unsigned int
nic_tags_live(const struct nic *nic)
{

	return (nic->ntags);
}

const struct nic_counters *
nic_counters(const struct nic *nic)
{

	return (&nic->c);
}

void
nic_counters_foreach(const struct nic *nic, nic_counter_fn *fn, void *arg)
{

#define NIC_COUNTER_VISIT(f, desc) fn(arg, #f, nic->c.f, desc);
	NIC_COUNTERS(NIC_COUNTER_VISIT)
#undef NIC_COUNTER_VISIT
}

/*
 * Copy the session parameters the way a driver copies them into its
 * context (mlx5e_tls_set_params(), t4_tls_key_ctx()).  The profile has
 * already accepted the suite.
 */
static int
keys_init(struct nic_keys *k, const struct tls_session_params *p)
{
	char name[32];

	memset(k, 0, sizeof(*k));
	if (p->cipher_key == NULL || p->cipher_key_len == 0 ||
	    p->cipher_key_len > sizeof(k->key))
		return (EINVAL);
	k->vminor = p->tls_vminor;
	k->tls13 = p->tls_vminor == TLS_MINOR_VER_THREE;
	k->keylen = p->cipher_key_len;
	memcpy(k->key, p->cipher_key, k->keylen);
	switch (p->cipher_algorithm) {
	case CRYPTO_AES_NIST_GCM_16:
		k->cipher = NIC_AES_GCM;
		if (p->iv_len != (k->tls13 ? 12 : TLS_AEAD_GCM_LEN))
			return (EINVAL);
		memcpy(k->iv, p->iv, p->iv_len);
		k->hdrlen = NIC_HDR_LEN + (k->tls13 ? 0 : 8);
		snprintf(name, sizeof(name), "AES-%zu-GCM", k->keylen * 8);
		break;
	case CRYPTO_AES_CBC:
		k->cipher = NIC_AES_CBC;
		/* Explicit IV in every record (TLS 1.1+). */
		if (p->tls_vminor < TLS_MINOR_VER_ONE)
			return (EPROTONOSUPPORT);
		switch (p->auth_algorithm) {
		case CRYPTO_SHA1_HMAC:
			k->digest = "SHA1";
			k->maclen = SHA1_HASH_LEN;
			break;
		case CRYPTO_SHA2_256_HMAC:
			k->digest = "SHA256";
			k->maclen = SHA2_256_HASH_LEN;
			break;
		case CRYPTO_SHA2_384_HMAC:
			k->digest = "SHA384";
			k->maclen = SHA2_384_HASH_LEN;
			break;
		default:
			return (EPROTONOSUPPORT);
		}
		if (p->auth_key == NULL || p->auth_key_len == 0 ||
		    p->auth_key_len > sizeof(k->auth))
			return (EINVAL);
		k->authlen = p->auth_key_len;
		memcpy(k->auth, p->auth_key, k->authlen);
		k->hdrlen = NIC_HDR_LEN + AES_BLOCK_LEN;
		snprintf(name, sizeof(name), "AES-%zu-CBC", k->keylen * 8);
		k->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		if (k->hmac == NULL)
			return (ENOMEM);
		break;
	default:
		return (EPROTONOSUPPORT);
	}
	k->evp = EVP_CIPHER_fetch(NULL, name, NULL);
	snprintf(name, sizeof(name), "AES-%zu-CTR", k->keylen * 8);
	k->evp_ctr = EVP_CIPHER_fetch(NULL, name, NULL);
	if (k->evp == NULL || k->evp_ctr == NULL)
		return (EINVAL);
	return (0);
}

static void
keys_fini(struct nic_keys *k)
{

	EVP_CIPHER_free(k->evp);
	EVP_CIPHER_free(k->evp_ctr);
	EVP_MAC_free(k->hmac);
	/* A freed context must not leave the key behind (mlx5e_tls_tag_zfree).
	 */
	OPENSSL_cleanse(k, sizeof(*k));
}

int
nic_tag_alloc(struct nic *nic, const struct tls_session_params *params,
    uint32_t tcp_seq, uint64_t recno, struct nic_tag **tagp)
{
	struct nic_tag *tag;
	int error;

	*tagp = NULL;
	if (params == NULL) {
		error = EINVAL;
		goto fail;
	}
	if (nic_fault_take(nic, NIC_FAULT_ALLOC)) {
		error = ENOMEM;
		goto fail;
	}
	/* mlx5e_tls_snd_tag_alloc() checks the limit before the suite. */
	if (nic->profile == NIC_PROFILE_MLX5 && nic->ntags >= nic->max_tags) {
		error = ENOMEM;
		goto fail;
	}
	error = nic->ops->check(params);
	if (error != 0)
		goto fail;
	if (nic->ntags >= nic->max_tags) {
		error = ENOMEM;
		goto fail;
	}
	tag = calloc(1, sizeof(*tag));
	if (tag == NULL) {
		error = ENOMEM;
		goto fail;
	}
	error = keys_init(&tag->keys, params);
	if (error == 0)
		error = nic_cursor_init(&tag->dev, &tag->keys);
	if (error != 0) {
		keys_fini(&tag->keys);
		free(tag);
		goto fail;
	}
	tag->state = NIC_TAG_SETUP;
	if (nic_fault_take(nic, NIC_FAULT_SETUP)) {
		if (nic->profile != NIC_PROFILE_MLX5) {
			/* T6 and Linux set up synchronously: the alloc fails.
			 */
			nic_cursor_fini(&tag->dev);
			keys_fini(&tag->keys);
			free(tag);
			error = ENOMEM;
			goto fail;
		}
		/*
		 * mlx5e_tls_work(): TIS or DEK creation failed; the tag was
		 * handed out anyway and stays in INIT.
		 */
		tag->state = NIC_TAG_INIT;
	}
	tag->magic = NIC_TAG_MAGIC;
	tag->refcount = 1;
	tag->nic = nic;
	tag->gen = nic->gen;
	tag->init_seq = tcp_seq;
	tag->init_recno = recno;
	tag->expected_seq = tcp_seq;
	tag->t6_first_wr = true;
	if (nic->profile == NIC_PROFILE_T6) {
		/* t6_tls_tag_alloc(): no key slot means an inline key. */
		if (nic->key_slots_used < nic->key_slots)
			nic->key_slots_used++;
		else
			tag->inline_key = true;
	}
	LIST_INSERT_HEAD(&nic->tags, tag, link);
	nic->ntags++;
	nic->c.tag_allocs++;
	*tagp = tag;
	return (0);
fail:
	nic->c.tag_alloc_failures++;
	return (error);
}

/*
 * A reference taken or dropped on a freed tag is a caller bug that must
 * not pass silently: say so and abort (ASan reports the use after free
 * first).
 */
static void
tag_check(const struct nic_tag *tag, const char *fn)
{

	if (tag == NULL || tag->magic != NIC_TAG_MAGIC || tag->refcount == 0) {
		fprintf(stderr, "%s: tag %p is not live\n", fn,
		    (const void *)tag);
		abort();
	}
}

struct nic_tag *
nic_tag_ref(struct nic_tag *tag)
{

	tag_check(tag, __func__);
	tag->refcount++;
	return (tag);
}

static void
tag_free(struct nic_tag *tag)
{
	struct nic *nic = tag->nic;

	LIST_REMOVE(tag, link);
	nic->ntags--;
	if (nic->profile == NIC_PROFILE_T6 && !tag->inline_key)
		nic->key_slots_used--;
	nic_cursor_fini(&tag->dev);
	keys_fini(&tag->keys);
	tag->state = NIC_TAG_FREED;
	tag->magic = 0;
	nic->c.tag_frees++;
	free(tag);
}

void
nic_tag_rele(struct nic_tag *tag)
{

	tag_check(tag, __func__);
	if (--tag->refcount == 0)
		tag_free(tag);
}

void
nic_tag_info(const struct nic_tag *tag, struct nic_tag_info *info)
{

	memset(info, 0, sizeof(*info));
	info->refcount = tag->refcount;
	info->generation = tag->gen;
	info->lost = tag->gen != tag->nic->gen;
	info->ready = tag->state != NIC_TAG_INIT;
	info->synced = tag->dev.valid;
	info->inline_key = tag->inline_key;
	info->expected_seq = tag->expected_seq;
}

uint8_t *
nic_scratch(struct nic *nic, int which, size_t n)
{
	uint8_t *p;

	if (n == 0)
		n = 1;
	if (nic->scratchcap[which] < n) {
		p = realloc(nic->scratch[which], n);
		if (p == NULL)
			return (NULL);
		nic->scratch[which] = p;
		nic->scratchcap[which] = n;
	}
	return (nic->scratch[which]);
}

/* Overlap of [a, a + n) with [b, b + m), all in sequence space. */
static uint32_t
seq_overlap(uint32_t a, uint32_t n, uint32_t b, uint32_t m)
{
	int64_t lo, hi, ra;

	ra = (int32_t)(a - b);
	lo = ra > 0 ? ra : 0;
	hi = ra + n < (int64_t)m ? ra + n : (int64_t)m;
	return (hi > lo ? (uint32_t)(hi - lo) : 0);
}

void
nic_count_dma(struct nic_tx *tx, uint32_t seq, uint32_t n)
{
	struct nic *nic = tx->nic;
	const struct nic_txreq *req = tx->req;
	uint32_t inside, retx, m;

	tx->res->dma_bytes += n;
	if (tx->tag == NULL) {
		nic->c.dma_bytes_plain += n;
		return;
	}
	inside = seq_overlap(seq, n, req->seq, req->len);
	nic->c.dma_bytes_resync += n - inside;
	tx->res->resync_bytes += n - inside;
	/* Requested bytes below the high-water mark were sent before. */
	retx = 0;
	if (NIC_SEQ_GT(tx->tag->hiwat, req->seq)) {
		m = tx->tag->hiwat - req->seq;
		retx =
		    seq_overlap(seq, n, req->seq, m < req->len ? m : req->len);
	}
	nic->c.dma_bytes_retx_payload += retx;
	nic->c.dma_bytes_inorder += inside - retx;
}

/* Copy [off, off + n) of a record held as header, payload and trailer. */
static void
record_copy(const struct nic_record *rec, uint32_t off, uint32_t n, uint8_t *d)
{
	uint32_t pe, t;

	pe = rec->len - rec->trllen;
	for (; n > 0; d += t, off += t, n -= t) {
		if (off < rec->hdrlen) {
			t = rec->hdrlen - off < n ? rec->hdrlen - off : n;
			memcpy(d, rec->hdr + off, t);
		} else if (off < pe) {
			t = pe - off < n ? pe - off : n;
			memcpy(d, rec->payload + (off - rec->hdrlen), t);
		} else {
			t = n;
			memcpy(d, rec->trail + (off - pe), t);
		}
	}
}

int
nic_host_read(struct nic_tx *tx, const struct nic_record *rec, uint32_t off,
    uint32_t n, void *dst, enum nic_reader who)
{
	const struct nic_txreq *req = tx->req;
	uint32_t pe;

	if (n == 0)
		return (0);
	if (off > rec->len || n > rec->len - off ||
	    (req->read != NULL &&
		req->read(req->read_arg, rec, off, dst, n) != 0)) {
		tx->nic->c.drops_bad_request++;
		return (EIO);
	}
	if (req->read == NULL)
		record_copy(rec, off, n, dst);
	pe = rec->len - rec->trllen;
	if (who == NIC_DMA)
		nic_count_dma(tx, rec->seq + off, n);
	else
		tx->nic->c.host_cpu_touched_payload_bytes +=
		    seq_overlap(off, n, rec->hdrlen, pe - rec->hdrlen);
	return (0);
}

const struct nic_record *
nic_view_find(const struct nic_tx *tx, uint32_t seq)
{
	const struct nic_txreq *req = tx->req;
	unsigned int i;

	for (i = 0; i < req->nrecs; i++) {
		if (seq - req->recs[i].seq < req->recs[i].len)
			return (&req->recs[i]);
	}
	return (NULL);
}

int
nic_view_read(struct nic_tx *tx, uint32_t seq, uint32_t n, void *dst,
    enum nic_reader who)
{
	const struct nic_record *rec;
	uint8_t *d = dst;
	uint32_t off, t;
	int error;

	while (n > 0) {
		rec = nic_view_find(tx, seq);
		if (rec == NULL) {
			tx->nic->c.drops_bad_request++;
			return (EIO);
		}
		off = seq - rec->seq;
		t = rec->len - off;
		if (t > n)
			t = n;
		error = nic_host_read(tx, rec, off, t, d, who);
		if (error != 0)
			return (error);
		d += t;
		seq += t;
		n -= t;
	}
	return (0);
}

int
nic_stream(struct nic_tx *tx, struct nic_cursor *cur, uint32_t seq, uint32_t n,
    uint8_t *out, enum nic_reader who)
{
	uint8_t *in;
	uint32_t done;
	int error, r;

	in = nic_scratch(tx->nic, 0, n);
	if (in == NULL)
		return (ENOMEM);
	error = nic_view_read(tx, seq, n, in, who);
	if (error != 0)
		return (error);
	for (done = 0; done < n; done += (uint32_t)r) {
		/* A card moves on to the next record by itself. */
		if (nic_cursor_done(cur))
			nic_cursor_start(cur, cur->recno + 1, 0);
		r = nic_cursor_feed(cur, in + done, n - done, out + done);
		if (r <= 0) {
			memset(out + done, 0, n - done);
			return (-1);
		}
	}
	return (0);
}

int
nic_device_send(struct nic_tx *tx, bool hw_error)
{
	struct nic_tag *tag = tx->tag;
	const struct nic_txreq *req = tx->req;
	uint8_t *out;
	size_t off;
	int error;

	out = nic_wire_alloc(tx, req->len, &off);
	if (out == NULL)
		return (ENOMEM);
	error = nic_stream(tx, &tag->dev, req->seq, req->len, out, NIC_DMA);
	if (error > 0)
		return (error);
	if (error < 0 || hw_error)
		tx->nic->c.hw_state_errors++;
	tag->expected_seq += req->len;
	return (nic_wire_emit(tx, req->seq, req->len, off, req->mss));
}

uint8_t *
nic_wire_alloc(struct nic_tx *tx, size_t n, size_t *offp)
{
	struct nic *nic = tx->nic;
	uint8_t *p;
	size_t cap;

	if (tx->wlen + n > nic->wbufcap) {
		cap = nic->wbufcap * 2;
		if (cap < tx->wlen + n)
			cap = tx->wlen + n;
		p = realloc(nic->wbuf, cap);
		if (p == NULL)
			return (NULL);
		nic->wbuf = p;
		nic->wbufcap = cap;
	}
	*offp = tx->wlen;
	tx->wlen += n;
	return (nic->wbuf + *offp);
}

static int
wire_push(struct nic_tx *tx, uint32_t seq, uint32_t n, size_t off)
{
	struct nic *nic = tx->nic;
	struct nic_wire_seg *s;
	size_t *o;
	unsigned int cap;

	if (nic->nsegs == nic->segcap) {
		cap = nic->segcap != 0 ? nic->segcap * 2 : 64;
		s = realloc(nic->segs, cap * sizeof(*s));
		if (s == NULL)
			return (ENOMEM);
		nic->segs = s;
		o = realloc(nic->segoff, cap * sizeof(*o));
		if (o == NULL)
			return (ENOMEM);
		nic->segoff = o;
		nic->segcap = cap;
	}
	nic->segs[nic->nsegs].seq = seq;
	nic->segs[nic->nsegs].len = n;
	nic->segoff[nic->nsegs] = off;
	nic->nsegs++;
	nic->c.wire_packets++;
	nic->c.wire_bytes_payload += n;
	/* Bytes before the request that go out again anyway. */
	if (NIC_SEQ_LT(seq, tx->req->seq))
		nic->c.wire_bytes_redundant +=
		    tx->req->seq - seq < n ? tx->req->seq - seq : n;
	return (0);
}

int
nic_wire_emit(struct nic_tx *tx, uint32_t seq, uint32_t n, size_t off,
    uint32_t mss)
{
	uint32_t t;
	int error;

	if (n == 0)
		return (0);
	if (mss == 0)
		mss = n;
	/* TSO: the NIC cuts the burst into MSS-sized packets. */
	for (; n > 0; seq += t, off += t, n -= t) {
		t = n < mss ? n : mss;
		error = wire_push(tx, seq, t, off);
		if (error != 0)
			return (error);
	}
	return (0);
}

int
nic_passthrough(struct nic_tx *tx)
{
	const struct nic_txreq *req = tx->req;
	uint8_t *out;
	size_t off;

	tx->nic->c.tx_passthrough++;
	out = nic_wire_alloc(tx, req->len, &off);
	if (out == NULL)
		return (ENOMEM);
	if (req->len != 0)
		memcpy(out, req->raw, req->len);
	tx->nic->c.dma_bytes_plain += req->len;
	tx->res->dma_bytes += req->len;
	return (nic_wire_emit(tx, req->seq, req->len, off, req->mss));
}

/*
 * What tcp_m_copym() guarantees a driver (docs/nic-engine.md): records in
 * order, contiguous, of this session's layout, covering the packet.
 */
static bool
req_valid(const struct nic_txreq *req, const struct nic_tag *tag)
{
	const struct nic_record *r;
	unsigned int i;
	uint32_t end;

	if (req->nrecs == 0)
		return (req->len == 0 || req->raw != NULL);
	if (req->recs == NULL || req->nrecs > NIC_MAX_RECS || req->len == 0)
		return (false);
	for (i = 0; i < req->nrecs; i++) {
		r = &req->recs[i];
		if (r->hdrlen < NIC_HDR_LEN || r->hdrlen > NIC_MAX_HDRLEN ||
		    r->trllen > NIC_MAX_TRLLEN || r->len > NIC_MAX_RECLEN ||
		    r->len < (uint32_t)r->hdrlen + r->trllen)
			return (false);
		if (tag != NULL && r->hdrlen != tag->keys.hdrlen)
			return (false);
		if (req->read == NULL &&
		    (r->hdr == NULL || (r->trllen != 0 && r->trail == NULL) ||
			(r->payload == NULL &&
			    r->len != (uint32_t)r->hdrlen + r->trllen)))
			return (false);
		if (i > 0 &&
		    r->seq != req->recs[i - 1].seq + req->recs[i - 1].len)
			return (false);
	}
	if (req->seq - req->recs[0].seq >= req->recs[0].len)
		return (false);
	/* The last byte lies in the last record, which is needed. */
	end = req->seq + req->len;
	r = &req->recs[req->nrecs - 1];
	return (end - r->seq - 1 < r->len &&
	    (req->nrecs == 1 || NIC_SEQ_GT(end, r->seq)) &&
	    req->len <= 0x7fffffffu);
}

int
nic_transmit(struct nic *nic, struct nic_tag *tag, const struct nic_txreq *req,
    struct nic_txres *res)
{
	struct nic_tx tx;
	uint8_t *out;
	unsigned int i;
	size_t off;
	int error;

	memset(res, 0, sizeof(*res));
	nic->c.tx_requests++;
	nic->nsegs = 0;
	if (tag != NULL && tag->magic != NIC_TAG_MAGIC) {
		nic->c.drops_bad_request++;
		return (EINVAL);
	}
	if (tag != NULL && tag->nic != nic) {
		/* ip_output_send() frees such a packet before the driver. */
		nic->c.drops_tag_mismatch++;
		return (EINVAL);
	}
	if (req == NULL || !req_valid(req, tag)) {
		nic->c.drops_bad_request++;
		return (EINVAL);
	}
	memset(&tx, 0, sizeof(tx));
	tx.nic = nic;
	tx.tag = tag;
	tx.req = req;
	tx.res = res;
	if (req->nrecs != 0)
		nic->c.tx_tls_requests++;
	if (req->nrecs == 0) {
		error = nic_passthrough(&tx);
	} else if (tag == NULL) {
		/* No tag, no crypto: the plaintext leaves as it is. */
		nic->c.untagged_tls_bytes += req->len;
		out = nic_wire_alloc(&tx, req->len, &off);
		error = out == NULL ?
		    ENOMEM :
		    nic_view_read(&tx, req->seq, req->len, out, NIC_DMA);
		if (error == 0)
			error = nic_wire_emit(&tx, req->seq, req->len, off,
			    req->mss);
	} else {
		if (!tag->hiwat_valid) {
			tag->hiwat_valid = true;
			tag->hiwat = req->seq;
		}
		error = nic->ops->transmit(&tx);
		/* The stack has sent these bytes, whatever became of them. */
		if (NIC_SEQ_GT(req->seq + req->len, tag->hiwat))
			tag->hiwat = req->seq + req->len;
	}
	if (error != 0) {
		nic->nsegs = 0;
		return (error);
	}
	for (i = 0; i < nic->nsegs; i++)
		nic->segs[i].data = nic->wbuf + nic->segoff[i];
	res->segs = nic->segs;
	res->nsegs = nic->nsegs;
	return (0);
}
