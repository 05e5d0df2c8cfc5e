/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The per-record crypto state of the NIC TLS engine: what a card holds
 * while a record's bytes stream through it (Linux
 * Documentation/networking/tls-offload.rst, "device state": record
 * number, offset, partial block and partial tag).  The header bytes pass
 * through raw and give the record length, the GCM 1.2 explicit nonce
 * (RFC 5288 section 3; FreeBSD fills it from a counter in ktls_frame(),
 * so the card must read it from the header) and the CBC explicit IV.  The
 * payload runs through an incrementally fed EVP context: GCM keeps the
 * counter and GHASH across calls of any length; CBC keeps the chain and a
 * running HMAC (RFC 5246 section 6.2.3) but can only emit whole blocks.
 * The trailer is produced here: the GCM tag after the TLS 1.3 inner type
 * byte (RFC 8446 section 5.2), or the CBC MAC and padding, encrypted.
 */

#include <errno.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "nic_var.h"

static void
put_be64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

int
nic_cursor_init(struct nic_cursor *cur, const struct nic_keys *k)
{

	memset(cur, 0, sizeof(*cur));
	cur->k = k;
	cur->ctx = EVP_CIPHER_CTX_new();
	if (cur->ctx == NULL)
		return (ENOMEM);
	if (k->cipher == NIC_AES_CBC) {
		cur->mac = EVP_MAC_CTX_new(k->hmac);
		if (cur->mac == NULL) {
			EVP_CIPHER_CTX_free(cur->ctx);
			cur->ctx = NULL;
			return (ENOMEM);
		}
	}
	return (0);
}

void
nic_cursor_fini(struct nic_cursor *cur)
{

	EVP_CIPHER_CTX_free(cur->ctx);
	EVP_MAC_CTX_free(cur->mac);
	/* The tail may hold a tag or MAC; the header an IV. */
	OPENSSL_cleanse(cur, sizeof(*cur));
}

void
nic_cursor_start(struct nic_cursor *cur, uint64_t recno, uint32_t trl_hint)
{

	cur->valid = true;
	cur->recno = recno;
	cur->off = 0;
	cur->reclen = 0;
	cur->plen = 0;
	cur->trllen = 0;
	cur->trl_hint = trl_hint;
	cur->tail_ready = false;
	cur->ct_in = 0;
	cur->ct_out = 0;
}

void
nic_cursor_invalidate(struct nic_cursor *cur)
{

	cur->valid = false;
}

bool
nic_cursor_done(const struct nic_cursor *cur)
{

	return (cur->valid && cur->reclen != 0 && cur->off == cur->reclen);
}

/* The header is complete: learn the record's layout and key the cipher. */
static int
cursor_begin_record(struct nic_cursor *cur)
{
	const struct nic_keys *k = cur->k;
	OSSL_PARAM prm[2];
	uint8_t seq[8], nonce[12], aad[13];
	size_t aadlen, i;
	int outl;

	cur->reclen = NIC_HDR_LEN + ((uint32_t)cur->hdr[3] << 8 | cur->hdr[4]);
	put_be64(seq, cur->recno);
	if (k->cipher == NIC_AES_GCM) {
		cur->trllen = NIC_GCM_TAG_LEN + (k->tls13 ? 1 : 0);
		if (cur->reclen < k->hdrlen + cur->trllen)
			return (-1);
		cur->plen = cur->reclen - k->hdrlen - cur->trllen;
		if (cur->plen > NIC_MAX_PAYLOAD)
			return (-1);
		if (k->tls13) {
			/* RFC 8446 5.3 nonce; 5.2 AAD = the outer header. */
			memcpy(nonce, k->iv, 12);
			for (i = 0; i < 8; i++)
				nonce[4 + i] ^= seq[i];
			memcpy(aad, cur->hdr, NIC_HDR_LEN);
			aadlen = NIC_HDR_LEN;
		} else {
			/* RFC 5288 3: salt || explicit nonce from the header.
			 */
			memcpy(nonce, k->iv, 4);
			memcpy(nonce + 4, cur->hdr + NIC_HDR_LEN, 8);
			memcpy(aad, seq, 8);
			memcpy(aad + 8, cur->hdr, 3);
			aad[11] = (uint8_t)(cur->plen >> 8);
			aad[12] = (uint8_t)cur->plen;
			aadlen = 13;
		}
		if (!EVP_EncryptInit_ex2(cur->ctx, k->evp, k->key, nonce,
			NULL) ||
		    !EVP_EncryptUpdate(cur->ctx, NULL, &outl, aad, (int)aadlen))
			return (-1);
		cur->tail_off = cur->reclen - NIC_GCM_TAG_LEN;
		return (0);
	}

	/*
	 * CBC: the header does not tell the payload length (the padding
	 * hides it), so the driver gives the trailer length (m_epg_trllen).
	 */
	cur->trllen = cur->trl_hint;
	if (cur->trllen < k->maclen + 1 || cur->trllen > k->maclen + 16 ||
	    cur->reclen < k->hdrlen + cur->trllen ||
	    (cur->reclen - k->hdrlen) % AES_BLOCK_LEN != 0)
		return (-1);
	cur->plen = cur->reclen - k->hdrlen - cur->trllen;
	if (cur->plen > NIC_MAX_PAYLOAD)
		return (-1);
	if (!EVP_EncryptInit_ex2(cur->ctx, k->evp, k->key,
		cur->hdr + NIC_HDR_LEN, NULL))
		return (-1);
	EVP_CIPHER_CTX_set_padding(cur->ctx, 0);
	prm[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)(uintptr_t)k->digest, 0);
	prm[1] = OSSL_PARAM_construct_end();
	memcpy(aad, seq, 8);
	memcpy(aad + 8, cur->hdr, 3);
	aad[11] = (uint8_t)(cur->plen >> 8);
	aad[12] = (uint8_t)cur->plen;
	if (!EVP_MAC_init(cur->mac, k->auth, k->authlen, prm) ||
	    !EVP_MAC_update(cur->mac, aad, 13))
		return (-1);
	cur->tail_off = k->hdrlen + cur->plen;
	return (0);
}

/*
 * CBC: encrypt t more plaintext bytes.  The cipher emits whole blocks
 * only; they belong at record offset hdrlen + ct_out, which lies inside
 * this call's output because every call ends on a block boundary.
 */
static int
cursor_cbc(struct nic_cursor *cur, const uint8_t *in, uint32_t t, uint8_t *out,
    uint32_t off0)
{
	int outl;

	if (cur->k->hdrlen + cur->ct_out < off0)
		return (-1);
	if (!EVP_EncryptUpdate(cur->ctx,
		out + (cur->k->hdrlen + cur->ct_out - off0), &outl, in, (int)t))
		return (-1);
	cur->ct_in += t;
	cur->ct_out += (uint32_t)outl;
	return (0);
}

/* The first trailer byte is due: finish the MAC or the tag. */
static int
cursor_finish(struct nic_cursor *cur, uint8_t *out, uint32_t off0)
{
	const struct nic_keys *k = cur->k;
	uint8_t buf[NIC_MAX_TRLLEN], ct[NIC_MAX_TRLLEN + AES_BLOCK_LEN];
	size_t ml;
	uint32_t pending, i;
	int outl, fl;

	if (k->cipher == NIC_AES_GCM) {
		if (!EVP_EncryptFinal_ex(cur->ctx, buf, &fl) || fl != 0 ||
		    !EVP_CIPHER_CTX_ctrl(cur->ctx, EVP_CTRL_AEAD_GET_TAG,
			NIC_GCM_TAG_LEN, cur->tail))
			return (-1);
		cur->tail_ready = true;
		return (0);
	}

	/* MAC, then padding bytes all equal to the padding length. */
	if (!EVP_MAC_final(cur->mac, buf, &ml, sizeof(buf)) || ml != k->maclen)
		return (-1);
	for (i = (uint32_t)ml; i < cur->trllen; i++)
		buf[i] = (uint8_t)(cur->trllen - ml - 1);
	pending = cur->ct_in - cur->ct_out;
	if (k->hdrlen + cur->ct_out < off0 ||
	    !EVP_EncryptUpdate(cur->ctx, ct, &outl, buf, (int)cur->trllen) ||
	    (uint32_t)outl != pending + cur->trllen)
		return (-1);
	/* The last partial payload block, then the trailer's blocks. */
	memcpy(out + (k->hdrlen + cur->ct_out - off0), ct, pending);
	memcpy(cur->tail, ct + pending, cur->trllen);
	cur->ct_in += cur->trllen;
	cur->ct_out += (uint32_t)outl;
	cur->tail_ready = true;
	OPENSSL_cleanse(buf, sizeof(buf));
	return (0);
}

int
nic_cursor_feed(struct nic_cursor *cur, const uint8_t *in, uint32_t n,
    uint8_t *out)
{
	const struct nic_keys *k = cur->k;
	uint32_t done, t, pe, off0;
	int outl;

	if (!cur->valid)
		return (-1);
	off0 = cur->off;
	done = 0;
	while (done < n) {
		if (cur->reclen != 0 && cur->off == cur->reclen)
			break;
		t = n - done;
		if (cur->off < k->hdrlen) {
			/* Header: public, passes raw; may arrive in pieces. */
			if (in == NULL)
				goto fail;
			if (t > k->hdrlen - cur->off)
				t = k->hdrlen - cur->off;
			memcpy(cur->hdr + cur->off, in + done, t);
			memcpy(out + done, in + done, t);
			cur->off += t;
			done += t;
			if (cur->off == k->hdrlen &&
			    cursor_begin_record(cur) != 0)
				goto fail;
			continue;
		}
		pe = k->hdrlen + cur->plen;
		if (cur->off < pe) {
			if (in == NULL)
				goto fail;
			if (t > pe - cur->off)
				t = pe - cur->off;
			if (k->cipher == NIC_AES_GCM) {
				if (!EVP_EncryptUpdate(cur->ctx, out + done,
					&outl, in + done, (int)t) ||
				    (uint32_t)outl != t)
					goto fail;
			} else if (!EVP_MAC_update(cur->mac, in + done, t) ||
			    cursor_cbc(cur, in + done, t, out, off0) != 0)
				goto fail;
			cur->off += t;
			done += t;
			continue;
		}
		if (cur->off < cur->tail_off) {
			/* TLS 1.3: the real type, encrypted after the data. */
			if (in == NULL ||
			    !EVP_EncryptUpdate(cur->ctx, out + done, &outl,
				in + done, 1) ||
			    outl != 1)
				goto fail;
			cur->off++;
			done++;
			continue;
		}
		if (!cur->tail_ready && cursor_finish(cur, out, off0) != 0)
			goto fail;
		if (t > cur->reclen - cur->off)
			t = cur->reclen - cur->off;
		memcpy(out + done, cur->tail + (cur->off - cur->tail_off), t);
		cur->off += t;
		done += t;
	}
	/* A card cannot emit a CBC block it has not seen all of. */
	if (k->cipher == NIC_AES_CBC && cur->ct_in != cur->ct_out)
		goto fail;
	return ((int)done);
fail:
	cur->valid = false;
	return (-1);
}
