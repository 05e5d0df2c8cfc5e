/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The cost model's formulas (docs/cost-model.md, "Per byte").  Every
 * quantity is per payload byte delivered; a "fill" is one send buffer's
 * worth of wire bytes, sndbuf / w payload bytes, because FreeBSD's
 * sbspace() counts whole records, header and trailer included
 * (sys/kern/uipc_ktls.c ktls_frame() sets m_len to the full record).
 */

#include <string.h>

#include "cost.h"

static const char *const cost_mode_names[] = {
	[COST_USERLAND] = "userland",
	[COST_SW_WRITE] = "sw-write",
	[COST_SW_SENDFILE] = "sw-sendfile",
	[COST_NIC] = "nic",
};

const char *
cost_mode_name(enum cost_mode mode)
{

	if ((unsigned)mode >=
	    sizeof(cost_mode_names) / sizeof(cost_mode_names[0]))
		return ("?");
	return (cost_mode_names[mode]);
}

int
cost_mode_parse(const char *name, enum cost_mode *mode)
{

	for (unsigned i = 0;
	     i < sizeof(cost_mode_names) / sizeof(cost_mode_names[0]); i++)
		if (strcmp(name, cost_mode_names[i]) == 0) {
			*mode = (enum cost_mode)i;
			return (0);
		}
	return (-1);
}

/*
 * TLS 1.2 AES-GCM: a 5-byte header and 8-byte explicit nonce before the
 * payload, a 16-byte tag after it (RFC 5288 section 3); 16 KiB records
 * (kern.ipc.tls.maxlen); MSS 1448 (1500-byte MTU with TCP timestamps);
 * FreeBSD's default net.inet.tcp.sendspace of 32 KiB.
 */
void
cost_params_default(struct cost_params *p)
{

	memset(p, 0, sizeof(*p));
	p->record_size = 16384;
	p->hdr_len = 13;
	p->trl_len = 16;
	p->mss = 1448;
	p->sndbuf = 32768;
	p->io_size = 16384;
	p->rexmit_rate = 0;
	p->resync = COST_RESYNC_MLX5;
	p->disk_fraction = 0;
	p->write_allocate = false;
}

double
cost_expansion(const struct cost_params *p)
{

	return ((double)(p->record_size + p->hdr_len + p->trl_len) /
	    p->record_size);
}

/*
 * The segments of one record on the wire start at S_k = k * mss, k = 0
 * .. n - 1.  A lost segment is equally likely to be any of them, so the
 * average extra DMA is the sum over k divided by n.
 */
double
cost_resync_per_segment(const struct cost_params *p)
{
	unsigned wlen, n, s;
	double sum;

	wlen = p->record_size + p->hdr_len + p->trl_len;
	n = (wlen + p->mss - 1) / p->mss;
	sum = 0;
	for (unsigned k = 0; k < n; k++) {
		s = k * p->mss;
		switch (p->resync) {
		case COST_RESYNC_MLX5:
			/*
			 * The prefix once for the retransmission, and once
			 * more when new data resumes at snd_max, whose
			 * offset in its record is as likely as any other.
			 */
			sum += 2.0 * s;
			break;
		case COST_RESYNC_T6:
			/*
			 * Only the window with the trailer needs the whole
			 * prefix (the tag covers it); the others restart the
			 * counter at the 16-byte block holding S.
			 */
			sum += k == n - 1 ? s : s % 16;
			break;
		}
	}
	return (sum / n);
}

int
cost_model(enum cost_mode mode, const struct cost_params *p, struct cost_q *q)
{
	double w, r, fills, nseg;

	if (p->record_size == 0 || p->mss == 0 || p->sndbuf == 0 ||
	    p->io_size == 0 || p->rexmit_rate < 0 || p->rexmit_rate > 1 ||
	    p->disk_fraction < 0 || p->disk_fraction > 1)
		return (-1);
	memset(q, 0, sizeof(*q));
	w = cost_expansion(p);
	r = p->rexmit_rate;
	fills = w / p->sndbuf;
	q->wire = w * (1 + r);
	/* A retransmission re-reads what the socket buffer holds. */
	q->nic_dma = w * (1 + r);
	switch (mode) {
	case COST_USERLAND:
		/*
		 * read(2): page cache -> user buffer (1 read, 1 write);
		 * the library encrypts it into a record buffer (1 read, w
		 * written); write(2): record -> socket buffer (w, w).
		 */
		q->disk_dma = p->disk_fraction;
		q->mem_rd = 1 + 1 + w;
		q->mem_wr = 1 + w + w;
		q->copy = 1 + w;
		q->crypto = 1;
		/*
		 * read(2) per io_size, write(2) per record; per fill a
		 * kevent and the write(2) that finishes the record the
		 * full buffer cut short.
		 */
		q->syscalls =
		    1.0 / p->io_size + 1.0 / p->record_size + 2 * fills;
		q->ctxsw = fills;
		break;
	case COST_SW_WRITE:
		/*
		 * The data is already in user memory.  uiomove() into
		 * anonymous pages (1, 1); the worker encrypts in place
		 * (1 read, w written with the header and tag).
		 */
		q->mem_rd = 1 + 1;
		q->mem_wr = 1 + w;
		q->copy = 1;
		q->crypto = 1;
		/*
		 * write(2) and kevent per fill; the writer's wakeup and the
		 * ktls worker's per fill.
		 */
		q->syscalls = 2 * fills;
		q->ctxsw = 2 * fills;
		break;
	case COST_SW_SENDFILE:
		/* The worker reads the page cache, writes new pages. */
		q->disk_dma = p->disk_fraction;
		q->mem_rd = 1;
		q->mem_wr = w;
		q->crypto = 1;
		q->syscalls = 2 * fills;
		q->ctxsw = 2 * fills;
		break;
	case COST_NIC:
		/*
		 * ktls_frame() writes each header; the NIC reads header
		 * and payload and makes the tag itself.
		 */
		q->disk_dma = p->disk_fraction;
		q->mem_wr = (double)p->hdr_len / p->record_size;
		q->nic_dma =
		    (1 + (double)p->hdr_len / p->record_size) * (1 + r);
		nseg = (double)((p->record_size + p->hdr_len + p->trl_len +
				    p->mss - 1) /
			   p->mss) /
		    p->record_size;
		q->resync = r * nseg * cost_resync_per_segment(p);
		q->nic_dma += q->resync;
		q->nic_crypto = (1 + r) + q->resync;
		q->syscalls = 2 * fills;
		q->ctxsw = fills;
		break;
	default:
		return (-1);
	}
	if (p->write_allocate)
		q->rfo = q->mem_wr;
	return (0);
}

double
cost_dram_per_byte(const struct cost_q *q)
{

	return (q->mem_rd + q->mem_wr + q->rfo + q->nic_dma + q->disk_dma);
}

void
cost_evaluate(enum cost_mode mode, const struct cost_q *q,
    const struct cost_rates *r, struct cost_eval *ev)
{
	double crypto, other, t;

	crypto = r->aes_cpb * q->crypto;
	other = r->copy_cpb * q->copy + r->syscall_cycles * q->syscalls +
	    r->ctxsw_cycles * q->ctxsw;
	/* Software KTLS encrypts in the ktls workers, not the caller. */
	if (mode == COST_SW_WRITE || mode == COST_SW_SENDFILE) {
		ev->worker_cpb = other;
		ev->kthread_cpb = crypto;
	} else {
		ev->worker_cpb = other + crypto;
		ev->kthread_cpb = 0;
	}
	ev->dram_per_byte = cost_dram_per_byte(q);
	ev->bytes_per_sec = r->link_bps / 8 / q->wire;
	ev->bound = "link";
	t = r->ncpu * r->cpu_hz / (ev->worker_cpb + ev->kthread_cpb);
	if (t < ev->bytes_per_sec) {
		ev->bytes_per_sec = t;
		ev->bound = "cpu";
	}
	/* Each worker is one process: at most one core each. */
	t = r->workers * r->cpu_hz / ev->worker_cpb;
	if (ev->worker_cpb > 0 && t < ev->bytes_per_sec) {
		ev->bytes_per_sec = t;
		ev->bound = "workers";
	}
	t = r->mem_bw / ev->dram_per_byte;
	if (t < ev->bytes_per_sec) {
		ev->bytes_per_sec = t;
		ev->bound = "memory";
	}
}

/*
 * Every counted byte was read once and written once by whoever moved it;
 * the wire's bytes are the NIC's DMA.  Syscalls and waits are the
 * application's; a wait is a context switch, as is a worker's wakeup.
 */
int
cost_measured(const struct cost_counts *c, struct cost_q *q)
{
	double copy;

	if (c->payload <= 0)
		return (-1);
	memset(q, 0, sizeof(*q));
	copy = c->copyin + c->copyout + c->user_copy;
	q->copy = copy / c->payload;
	q->crypto = (c->crypto_read + c->user_crypto_read) / c->payload;
	q->mem_rd = (copy + c->crypto_read + c->user_crypto_read) / c->payload;
	q->mem_wr = (copy + c->crypto_inplace + c->crypto_newpages +
			c->framing + c->user_crypto_write) /
	    c->payload;
	q->nic_dma = c->wire / c->payload;
	q->wire = c->wire / c->payload;
	q->syscalls = c->syscalls / c->payload;
	q->ctxsw = (c->fills + c->wakeups) / c->payload;
	return (0);
}
