/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The Linux-style profile: a device with a stream context that is never
 * rebuilt from record bytes.  Linux Documentation/networking/
 * tls-offload.rst calls it "next record sync" (the nfp driver,
 * drivers/net/ethernet/netronome/nfp/nfp_net_common.c nfp_net_tls_tx()):
 *   - a packet at the expected sequence goes through the device;
 *   - any other packet is encrypted by the host (the kernel's software
 *     fallback, net/tls/tls_device_fallback.c: the record prefix and the
 *     packet through the cipher, the prefix's output thrown away);
 *   - behind the expected sequence it is a retransmission and the device
 *     context is left alone; ahead of it the device missed data and asks
 *     for a resync, which happens at the next record the stack starts
 *     (the driver hands the device that record's sequence and number);
 *     until then every packet goes to software;
 *   - after the device went away (tls_device_down()) the connection
 *     stays in software for good.
 * Errors never drop a packet the fallback can build.
 */

#include <errno.h>

#include "nic_var.h"

/* A send descriptor, and a context resync message, approximate. */
#define LINUX_DESC_DATA 64
#define LINUX_DESC_RESYNC 64

static int
linux_check(const struct tls_session_params *p)
{

	/* tls_set_device_offload(): TLS 1.2 AES-GCM only. */
	if (p->tls_vmajor != TLS_MAJOR_VER_ONE ||
	    p->tls_vminor != TLS_MINOR_VER_TWO)
		return (EOPNOTSUPP);
	if (p->cipher_algorithm != CRYPTO_AES_NIST_GCM_16 ||
	    (p->cipher_key_len != 16 && p->cipher_key_len != 32) ||
	    p->iv_len != TLS_AEAD_GCM_LEN)
		return (EINVAL);
	return (0);
}

/* The host encrypts the packet: each record window from its record start. */
static int
linux_fallback(struct nic_tx *tx)
{
	struct nic *nic = tx->nic;
	struct nic_tag *tag = tx->tag;
	const struct nic_txreq *req = tx->req;
	const struct nic_record *rec;
	struct nic_cursor host;
	uint32_t seq, end, woff, n, pos;
	uint8_t *out, *junk;
	size_t off;
	bool hw_error;
	int error, r;
	unsigned int i;

	if (nic_fault_take(nic, NIC_FAULT_RESYNC)) {
		/* No memory for the new packet: tls_sw_fallback() drops. */
		nic->c.drops_resync_failed++;
		return (ENOBUFS);
	}
	out = nic_wire_alloc(tx, req->len, &off);
	if (out == NULL)
		return (ENOMEM);
	error = nic_cursor_init(&host, &tag->keys);
	if (error != 0)
		return (error);
	hw_error = false;
	seq = req->seq;
	end = req->seq + req->len;
	pos = 0;
	for (i = 0; i < req->nrecs && error == 0; i++) {
		rec = &req->recs[i];
		woff = seq - rec->seq;
		n = rec->len - woff;
		if (n > end - seq)
			n = end - seq;
		nic_cursor_start(&host, rec->recno, rec->trllen);
		r = 0;
		if (woff != 0) {
			junk = nic_scratch(nic, 1, woff);
			r = junk == NULL ? ENOMEM :
					   nic_stream(tx, &host, rec->seq, woff,
					       junk, NIC_CPU);
		}
		if (r == 0)
			r = nic_stream(tx, &host, seq, n, out + pos, NIC_CPU);
		if (r > 0)
			error = r;
		else if (r < 0)
			hw_error = true;
		nic->c.host_cpu_crypto_bytes += woff + n;
		seq += n;
		pos += n;
	}
	nic_cursor_fini(&host);
	if (error != 0)
		return (error);
	if (hw_error)
		nic->c.hw_state_errors++;
	/* The new packet is ciphertext to the card: DMA'd as it is. */
	nic_count_dma(tx, req->seq, req->len);
	nic->c.fallback_packets++;
	nic->c.fallback_bytes += req->len;
	nic->c.dma_bytes_descriptors += LINUX_DESC_DATA;
	tx->res->fallback = true;
	return (nic_wire_emit(tx, req->seq, req->len, off, req->mss));
}

static int
linux_transmit(struct nic_tx *tx)
{
	struct nic *nic = tx->nic;
	struct nic_tag *tag = tx->tag;
	const struct nic_txreq *req = tx->req;
	const struct nic_record *rec;

	if (tag->gen != nic->gen && !tag->sw_only) {
		/* tls_device_down(): software from now on. */
		tag->sw_only = true;
		nic_cursor_invalidate(&tag->dev);
	}
	if (tag->state == NIC_TAG_SETUP) {
		/*
		 * tls_set_device_offload() installed the context at the
		 * start marker: this sequence and record number.
		 */
		tag->state = NIC_TAG_READY;
		tag->expected_seq = tag->init_seq;
		nic_cursor_start(&tag->dev, tag->init_recno, 0);
	}
	if (tag->sw_only)
		return (linux_fallback(tx));

	rec = &req->recs[0];
	if (tag->resync_pending && req->seq == rec->seq &&
	    req->seq == tag->hiwat) {
		/* The next new record: tell the device where it is. */
		nic_cursor_start(&tag->dev, rec->recno, 0);
		tag->expected_seq = req->seq;
		tag->resync_pending = false;
		nic->c.resync_events++;
		nic->c.param_posts++;
		nic->c.dma_bytes_descriptors += LINUX_DESC_RESYNC;
	}
	if (tag->resync_pending || req->seq != tag->expected_seq) {
		nic->c.tx_ooo++;
		tx->res->ooo = true;
		/* Ahead: the device missed bytes and needs a resync. */
		if (NIC_SEQ_GT(req->seq, tag->expected_seq))
			tag->resync_pending = true;
		return (linux_fallback(tx));
	}
	nic->c.dma_bytes_descriptors += LINUX_DESC_DATA;
	return (nic_device_send(tx, false));
}

const struct nic_profile_ops nic_linux_ops = {
	.name = "linux",
	.max_tags = 1024,
	.key_slots = 0,
	/* Unused: a lost device means software fallback, not drops. */
	.lost_error = ENOBUFS,
	.check = linux_check,
	.transmit = linux_transmit,
};
