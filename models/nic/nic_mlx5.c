/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The mlx5 profile: ConnectX-6 Dx as FreeBSD's mlx5en drives it
 * (sys/dev/mlx5/mlx5_en/mlx5_en_hw_tls.c).  The device keeps one stream
 * context per tag and encrypts whatever arrives at the sequence the
 * driver expects.  Anything else is resynchronised by the driver
 * (mlx5e_sq_tls_xmit(), sbtls_recover_record()):
 *   - a packet that starts a record: post the static parameters (with
 *     this record's number) and the progress parameters, and a NOP;
 *   - a packet that starts later in a record whose earlier part the
 *     device has just processed (the old expected sequence lies inside
 *     this record, before the packet): DMA only the gap, as DUMP
 *     entries, and keep the context;
 *   - any other packet: post the parameters and DUMP the record from its
 *     first header byte up to the packet.
 * The device runs DUMP bytes through its crypto engine without sending
 * them.  Afterwards it continues from the end of the packet, so new data
 * after a retransmission is out of order again (a second resync).
 */

#include <errno.h>

#include "nic_var.h"

/*
 * Work queue entry sizes in 64-byte basic blocks (WQEBBs), approximate:
 * a send WQE with inline L2-L4 headers and a data pointer (2), the UMR
 * WQE carrying the static parameters (3), the progress parameters, a NOP
 * and each DUMP entry (1).
 */
#define MLX5_WQEBB 64
#define MLX5_DESC_DATA (2 * MLX5_WQEBB)
#define MLX5_DESC_STATIC (3 * MLX5_WQEBB)
#define MLX5_DESC_PROGRESS MLX5_WQEBB
#define MLX5_DESC_NOP MLX5_WQEBB
#define MLX5_DESC_DUMP MLX5_WQEBB

static int
mlx5_check(const struct tls_session_params *p)
{

	/* mlx5e_tls_snd_tag_alloc(): TLS 1.2 and 1.3, AES-GCM-128/256. */
	if (p->tls_vmajor != TLS_MAJOR_VER_ONE ||
	    (p->tls_vminor != TLS_MINOR_VER_TWO &&
		p->tls_vminor != TLS_MINOR_VER_THREE))
		return (EPROTONOSUPPORT);
	if (p->cipher_algorithm != CRYPTO_AES_NIST_GCM_16)
		return (EPROTONOSUPPORT);
	if (p->cipher_key_len != 16 && p->cipher_key_len != 32)
		return (EINVAL);
	/* mlx5e_tls_set_params(): the salt, or salt and implicit IV. */
	if (p->iv_len != TLS_AEAD_GCM_LEN && p->iv_len != TLS_1_3_GCM_IV_LEN)
		return (EINVAL);
	return (0);
}

/* Static parameters (initial record number) and progress parameters. */
static void
mlx5_post_params(struct nic_tx *tx, uint64_t recno)
{
	struct nic *nic = tx->nic;

	nic_cursor_start(&tx->tag->dev, recno, 0);
	nic->c.param_posts++;
	nic->c.dma_bytes_descriptors += MLX5_DESC_STATIC + MLX5_DESC_PROGRESS;
}

static int
mlx5_transmit(struct nic_tx *tx)
{
	struct nic *nic = tx->nic;
	struct nic_tag *tag = tx->tag;
	const struct nic_txreq *req = tx->req;
	const struct nic_record *rec;
	uint32_t s, delta, from, n, entries;
	uint8_t *junk;
	bool hw_error;
	int error;

	if (tag->state == NIC_TAG_INIT) {
		/* Setup never finished: MLX5E_TLS_FAILURE, a drop. */
		nic->c.drops_not_ready++;
		return (ENOBUFS);
	}
	if (tag->gen != nic->gen) {
		/* The DEK went with the firmware; the packet cannot go. */
		nic->c.drops_lost_context++;
		return (nic->lost_error);
	}
	if (tag->state == NIC_TAG_SETUP) {
		/* The first packet is forced out of order to post params. */
		tag->state = NIC_TAG_READY;
		tag->expected_seq = ~req->seq;
	}
	hw_error = false;
	rec = &req->recs[0];
	if (tag->expected_seq != req->seq) {
		nic->c.tx_ooo++;
		nic->c.resync_events++;
		tx->res->ooo = true;
		s = req->seq - rec->seq;
		if (s == 0) {
			mlx5_post_params(tx, rec->recno);
			nic->c.dma_bytes_descriptors += MLX5_DESC_NOP;
		} else {
			/*
			 * sbtls_recover_record(): unsigned delta; below the
			 * offset means the device stopped earlier in this
			 * record, so the gap is enough.
			 */
			delta = req->seq - tag->expected_seq;
			if (delta < s) {
				from = tag->expected_seq;
				n = delta;
			} else {
				mlx5_post_params(tx, rec->recno);
				from = rec->seq;
				n = s;
			}
			if (nic_fault_take(nic, NIC_FAULT_RESYNC)) {
				/*
				 * mlx5e_sq_dump_xmit() failed: drop, and
				 * expect the start of the dump range next.
				 */
				tag->expected_seq = from;
				nic->c.drops_resync_failed++;
				return (ENOBUFS);
			}
			junk = nic_scratch(nic, 1, n);
			if (junk == NULL)
				return (ENOMEM);
			error =
			    nic_stream(tx, &tag->dev, from, n, junk, NIC_DMA);
			if (error > 0)
				return (error);
			hw_error = error < 0;
			entries = (n + nic->mtu - 1) / nic->mtu;
			nic->c.dump_entries += entries;
			nic->c.dma_bytes_descriptors +=
			    entries * MLX5_DESC_DUMP;
		}
		tag->expected_seq = req->seq;
	}
	nic->c.dma_bytes_descriptors += MLX5_DESC_DATA;
	return (nic_device_send(tx, hw_error));
}

const struct nic_profile_ops nic_mlx5_ops = {
	.name = "mlx5",
	/* 2^(log_max_dek - 1) on the device; a simulator default. */
	.max_tags = 1024,
	.key_slots = 0,
	/*
	 * mlx5e_sq_xmit() drops a MLX5E_TLS_FAILURE packet and
	 * mlx5e_xmit_locked() reports any drop as ENOBUFS.
	 */
	.lost_error = ENOBUFS,
	.check = mlx5_check,
	.transmit = mlx5_transmit,
};
