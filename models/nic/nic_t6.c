/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The T6 profile: Chelsio T6 as FreeBSD's cxgbe drives it
 * (sys/dev/cxgbe/crypto/t6_kern_tls.c).  The card keeps no crypto state
 * between work requests: each record window of a packet becomes one work
 * request (ktls_write_tls_wr()) and the TCP engine (TP) of a
 * pseudo-connection cuts the crypto output into MSS-sized packets.
 *   - A window that reaches the record end ("full"/"partial") is fed to
 *     the crypto engine from the record start: the header as immediate
 *     data, the whole payload by DMA; the card makes the trailer.  TX_MAX
 *     is set to the first byte the host wants and TP drops every MSS
 *     piece wholly below it; a piece straddling it goes out whole.
 *   - A window that stops short of the trailer ("short") is cut to end
 *     before the trailer (a partial trailer cannot be made) and, for
 *     CBC, at a cipher block.  GCM is then run as AES-CTR from the
 *     16-byte block holding the first wanted byte, with the counter
 *     block built by the driver (salt, explicit nonce, 2 + block); CBC
 *     from the payload start (ktls_payload_offset()).
 *   - A window of header bytes only leaves as a raw packet
 *     (ktls_write_tunnel_packet()).
 * So in-order traffic is cheap only in whole-record bursts; every window
 * that starts inside a record and holds its trailer re-reads the prefix.
 */

#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "nic_var.h"

/*
 * Work request sizes: ktls_base_wr_size() is 96 bytes with the key in
 * card memory (16 + 8 + 8 + 32 + 8 + 8 + 16); an inline key replaces the
 * 16-byte memory read by the key context.  Each TCB field update is a
 * 48-byte ULP command (LEN__SET_TCB_FIELD_ULP rounded to 16), the
 * one-segment SGL 16 bytes, a raw packet 32 bytes plus its data.
 */
#define T6_WR_BASE 96
#define T6_WR_BASE_INLINE (T6_WR_BASE - 16)
#define T6_TCB_FIELD 48
#define T6_SGL 16
#define T6_RAW_WR 32

#define ROUNDUP16(x) (((x) + 15u) & ~15u)
#define ROUNDDOWN16(x) ((x) & ~15u)

static int
t6_check(const struct tls_session_params *p)
{

	/* t6_tls_tag_alloc(): TLS 1.1 and 1.2 only. */
	if (p->tls_vmajor != TLS_MAJOR_VER_ONE ||
	    p->tls_vminor < TLS_MINOR_VER_ONE ||
	    p->tls_vminor > TLS_MINOR_VER_TWO)
		return (EPROTONOSUPPORT);
	switch (p->cipher_algorithm) {
	case CRYPTO_AES_CBC:
		if (p->cipher_key_len != 16 && p->cipher_key_len != 24 &&
		    p->cipher_key_len != 32)
			return (EINVAL);
		if (p->auth_algorithm != CRYPTO_SHA1_HMAC &&
		    p->auth_algorithm != CRYPTO_SHA2_256_HMAC &&
		    p->auth_algorithm != CRYPTO_SHA2_384_HMAC)
			return (EPROTONOSUPPORT);
		return (0);
	case CRYPTO_AES_NIST_GCM_16:
		if (p->iv_len != TLS_AEAD_GCM_LEN)
			return (EINVAL);
		if (p->cipher_key_len != 16 && p->cipher_key_len != 24 &&
		    p->cipher_key_len != 32)
			return (EINVAL);
		return (0);
	default:
		return (EPROTONOSUPPORT);
	}
}

/* Approximate key context size (t4_tls_key_info_size()). */
static uint32_t
t6_key_info_size(const struct nic_keys *k)
{

	if (k->cipher == NIC_AES_GCM)
		return (16 + (uint32_t)k->keylen + 16);
	/* Key and the HMAC inner and outer partial hash states. */
	return (16 + (uint32_t)k->keylen + 2 * ROUNDUP16(k->maclen));
}

/* A window of header bytes only: a raw packet the CPU fills. */
static int
t6_tunnel(struct nic_tx *tx, const struct nic_record *rec, uint32_t woff,
    uint32_t wend)
{
	struct nic *nic = tx->nic;
	uint32_t n;
	uint8_t *out;
	size_t off;
	int error;

	/*
	 * The driver copies the whole window starting in m_epg_hdr; bytes
	 * past the header would not be the record's, so the model sends the
	 * header part only and counts the rest as not sent.
	 */
	n = 0;
	if (woff < rec->hdrlen)
		n = (wend < rec->hdrlen ? wend : rec->hdrlen) - woff;
	nic->c.tunnel_packets++;
	nic->c.wire_bytes_trimmed += (wend - woff) - n;
	nic->c.dma_bytes_descriptors += T6_RAW_WR + ROUNDUP16(n);
	if (n == 0)
		return (0);
	out = nic_wire_alloc(tx, n, &off);
	if (out == NULL)
		return (ENOMEM);
	error = nic_host_read(tx, rec, woff, n, out, NIC_CPU);
	if (error != 0)
		return (error);
	nic->c.host_cpu_copy_bytes += n;
	return (nic_wire_emit(tx, rec->seq + woff, n, off, 0));
}

/* GCM without the trailer: counter mode from block poff / 16. */
static int
t6_ctr(struct nic_tag *tag, const uint8_t *hdr, uint32_t poff,
    const uint8_t *in, uint32_t n, uint8_t *out)
{
	const struct nic_keys *k = &tag->keys;
	EVP_CIPHER_CTX *ctx = tag->dev.ctx;
	uint8_t iv[16];
	uint32_t ctr;
	int outl;

	/* The device context is only scratch here: T6 keeps none. */
	nic_cursor_invalidate(&tag->dev);
	memcpy(iv, k->iv, 4);
	memcpy(iv + 4, hdr + NIC_HDR_LEN, 8);
	ctr = 2 + poff / AES_BLOCK_LEN;
	iv[12] = (uint8_t)(ctr >> 24);
	iv[13] = (uint8_t)(ctr >> 16);
	iv[14] = (uint8_t)(ctr >> 8);
	iv[15] = (uint8_t)ctr;
	if (!EVP_EncryptInit_ex2(ctx, k->evp_ctr, k->key, iv, NULL) ||
	    !EVP_EncryptUpdate(ctx, out, &outl, in, (int)n) ||
	    (uint32_t)outl != n)
		return (-1);
	return (0);
}

/*
 * One work request: the window [woff, wend) of rec (offsets from the
 * header's first byte).
 */
static int
t6_wr(struct nic_tx *tx, const struct nic_record *rec, uint32_t woff,
    uint32_t wend, uint32_t mss)
{
	struct nic *nic = tx->nic;
	struct nic_tag *tag = tx->tag;
	const struct nic_keys *k = &tag->keys;
	uint8_t hdr[NIC_MAX_HDRLEN], *in, *out;
	uint32_t R, H, pe, plen, tlen, poff, txmax_off, tx_max, tp_from;
	uint32_t tp_len, tp_start, dma_from, dma_to, fields, imm, a, b;
	uint32_t sent, resync0, lo, hi;
	size_t base;
	bool cbc, is_short;
	int error, r;

	cbc = k->cipher == NIC_AES_CBC;
	R = rec->len;
	H = rec->hdrlen;
	pe = R - rec->trllen;
	plen = pe - H;

	/* ktls_tcp_payload_length(). */
	if (wend == R) {
		tlen = R;
	} else {
		tlen = wend > pe ? pe : wend;
		if (cbc && tlen > NIC_HDR_LEN)
			tlen = NIC_HDR_LEN + ROUNDDOWN16(tlen - NIC_HDR_LEN);
	}
	if (tlen <= H)
		return (t6_tunnel(tx, rec, woff, wend));
	is_short = tlen != R;

	/* ktls_payload_offset(): where a short GCM window may start. */
	poff = 0;
	if (is_short && tlen < pe && woff > H && !cbc && plen > 0) {
		poff = woff - H;
		if (poff > plen - 1)
			poff = plen - 1;
		poff = ROUNDDOWN16(poff);
	}

	/*
	 * TX_MAX: the first byte TP may send; a window starting in the
	 * trailer sends the whole trailer, and CBC starts at a block.
	 */
	txmax_off = woff > pe ? pe : woff;
	if (cbc && txmax_off > NIC_HDR_LEN)
		txmax_off = NIC_HDR_LEN + ROUNDDOWN16(txmax_off - NIC_HDR_LEN);
	tx_max = rec->seq + txmax_off;
	fields = 0;
	if (tag->t6_first_wr || tag->t6_prev_seq != tx_max)
		fields++; /* TX_MAX */
	if (tag->t6_prev_seq != tx_max || woff != 0)
		fields++; /* SND_UNA_RAW */
	if (tag->t6_first_wr)
		fields += 2; /* RCV_NXT, RCV_WND */
	tag->t6_first_wr = false;
	tag->t6_prev_seq = rec->seq + tlen;

	/* What goes to TP, and what is read from host memory. */
	tp_from = poff == 0 ? 0 : H + poff;
	tp_len = (is_short ? tlen : R) - tp_from;
	dma_from = H + poff;
	dma_to = is_short ? tlen : pe;
	out = nic_wire_alloc(tx, tp_len, &base);
	in = nic_scratch(nic, 1, R);
	if (out == NULL || in == NULL)
		return (ENOMEM);

	/* The CPU copies the header (and a short window's IV) into the WR. */
	error = nic_host_read(tx, rec, 0, H, hdr, NIC_CPU);
	if (error != 0)
		return (error);
	imm = 0;
	if (tp_from == 0) {
		imm += H;
		nic->c.host_cpu_copy_bytes += H;
	}
	if (is_short) {
		imm += AES_BLOCK_LEN;
		nic->c.host_cpu_copy_bytes += AES_BLOCK_LEN;
	}
	resync0 = tx->res->resync_bytes;
	error = nic_host_read(tx, rec, dma_from, dma_to - dma_from,
	    in + dma_from, NIC_DMA);
	if (error != 0)
		return (error);
	if (tx->res->resync_bytes != resync0)
		nic->c.resync_events++;

	if (is_short && !cbc) {
		if (tp_from == 0)
			memcpy(out, hdr, H);
		r = t6_ctr(tag, hdr, poff, in + dma_from, dma_to - dma_from,
		    out + (dma_from - tp_from));
	} else {
		/*
		 * From the record start through a fresh context; the card
		 * makes the trailer, nothing of it is read from the host.
		 */
		memcpy(in, hdr, H);
		memset(in + pe, 0, R - pe);
		nic_cursor_start(&tag->dev, rec->recno, rec->trllen);
		r = nic_cursor_feed(&tag->dev, in, tp_len, out);
		r = r == (int)tp_len ? 0 : -1;
		nic_cursor_invalidate(&tag->dev);
	}
	if (r != 0) {
		nic->c.hw_state_errors++;
		memset(out, 0, tp_len);
	}

	/* TP: MSS pieces from its start; those wholly below TX_MAX drop. */
	tp_start = rec->seq + tp_from;
	sent = 0;
	for (a = 0; a < tp_len; a += mss) {
		b = tp_len - a < mss ? tp_len : a + mss;
		if (NIC_SEQ_LEQ(tp_start + b, tx_max))
			continue;
		error = nic_wire_emit(tx, tp_start + a, b - a, base + a, 0);
		if (error != 0)
			return (error);
		/* Requested bytes in this piece (record offsets). */
		lo = tp_from + a > woff ? tp_from + a : woff;
		hi = tp_from + b < wend ? tp_from + b : wend;
		if (hi > lo)
			sent += hi - lo;
	}
	nic->c.wire_bytes_trimmed += (wend - woff) - sent;

	nic->c.t6_records++;
	if (is_short)
		nic->c.t6_short++;
	else if (woff == 0)
		nic->c.t6_full++;
	else
		nic->c.t6_partial++;
	nic->c.dma_bytes_descriptors +=
	    (tag->inline_key ? T6_WR_BASE_INLINE + t6_key_info_size(k) :
			       T6_WR_BASE) +
	    ROUNDUP16(imm) + T6_SGL + fields * T6_TCB_FIELD;
	if (tag->inline_key)
		nic->c.dma_bytes_inline_key += t6_key_info_size(k);
	return (0);
}

static int
t6_transmit(struct nic_tx *tx)
{
	struct nic *nic = tx->nic;
	struct nic_tag *tag = tx->tag;
	const struct nic_txreq *req = tx->req;
	const struct nic_record *rec;
	uint32_t mss, woff, wend, end;
	unsigned int i;
	int error;

	if (tag->gen != nic->gen) {
		nic->c.drops_lost_context++;
		return (nic->lost_error);
	}
	tag->state = NIC_TAG_READY;
	/* The MSS TP cuts at: the TSO size, else the last one, else MTU. */
	if (req->mss != 0) {
		mss = req->mss;
		tag->t6_prev_mss = mss;
	} else if (tag->t6_prev_mss != 0) {
		mss = tag->t6_prev_mss;
	} else {
		mss = nic->mtu - 40 - 12; /* IPv4, TCP with timestamps */
	}
	if (req->seq != tag->expected_seq) {
		nic->c.tx_ooo++;
		tx->res->ooo = true;
	}
	end = req->seq + req->len;
	for (i = 0; i < req->nrecs; i++) {
		rec = &req->recs[i];
		woff = i == 0 ? req->seq - rec->seq : 0;
		wend = end - rec->seq < rec->len ? end - rec->seq : rec->len;
		error = t6_wr(tx, rec, woff, wend, mss);
		if (error != 0)
			return (error);
	}
	tag->expected_seq = end;
	return (0);
}

const struct nic_profile_ops nic_t6_ops = {
	.name = "t6",
	/* Hardware connection ids for pseudo-connections; a default. */
	.max_tags = 1024,
	/* TLS key slots in card memory (t4_alloc_tls_keyid()); a default. */
	.key_slots = 256,
	.lost_error = ENOBUFS,
	.check = t6_check,
	.transmit = t6_transmit,
};
