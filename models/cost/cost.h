/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Analytic cost model of TLS transmission on a FreeBSD host
 * (docs/cost-model.md): what each transmit mode costs per payload byte
 * delivered, in CPU memory reads and writes, CPU copies, cipher bytes, DMA
 * bytes, system calls and context switches; and, from per-quantity costs,
 * the CPU cycles, the throughput bound and the memory bandwidth that
 * follow.
 *
 * Modes, as a real host pays them:
 *   USERLAND     read(2) of the file into a user buffer, encryption by the
 *                TLS library into its own buffer, write(2) of each record
 *                into the socket buffer;
 *   SW_WRITE     software KTLS after write(2): one copy into anonymous
 *                pages (sys/kern/uipc_mbuf.c m_uiotombuf_nomap()),
 *                encrypted in place by a ktls worker
 *                (sys/kern/uipc_ktls.c ktls_encrypt());
 *   SW_SENDFILE  software KTLS after sendfile(2): no copy; the worker reads
 *                the page cache and writes the ciphertext to new pages
 *                (ktls_encrypt(), the !anon case);
 *   NIC          ifnet KTLS after sendfile(2): the host writes only the
 *                record headers; the NIC DMA-reads the plaintext, and on a
 *                retransmission rebuilds its cipher state as the resync
 *                profile says.
 */

#ifndef _MODELS_COST_H_
#define _MODELS_COST_H_

#include <stdbool.h>

enum cost_mode {
	COST_USERLAND,
	COST_SW_WRITE,
	COST_SW_SENDFILE,
	COST_NIC,
};

/* How a NIC rebuilds its cipher state for an out-of-order segment. */
enum cost_resync {
	/*
	 * mlx5: DMA the record prefix [record start, S) as DUMP entries it
	 * does not transmit, and again when new data resumes at snd_max
	 * (sys/dev/mlx5/mlx5_en/mlx5_en_hw_tls.c mlx5e_sq_tls_xmit()).
	 */
	COST_RESYNC_MLX5,
	/*
	 * T6: a window holding the record's trailer is re-read from the
	 * record start; one without it is sent in counter mode from the
	 * 16-byte block at or before S (sys/dev/cxgbe/crypto/t6_kern_tls.c
	 * ktls_write_tls_wr()).
	 */
	COST_RESYNC_T6,
};

struct cost_params {
	unsigned record_size; /* plaintext bytes per full record */
	unsigned hdr_len;     /* header + explicit nonce per record */
	unsigned trl_len;     /* tag (+ TLS 1.3 type byte) per record */
	unsigned mss;	      /* TCP payload bytes per segment */
	unsigned sndbuf;      /* send-buffer bytes: one fill per wakeup */
	unsigned io_size;     /* USERLAND: bytes per read(2) of the file */
	double rexmit_rate;   /* fraction of wire segments sent again */
	enum cost_resync resync;
	double disk_fraction; /* payload the disk DMAs into the page cache */
	bool write_allocate;  /* CPU stores read each line first (no NT) */
};

/* Per payload byte delivered. */
struct cost_q {
	double mem_rd;	 /* bytes the CPU reads */
	double mem_wr;	 /* bytes the CPU writes */
	double copy;	 /* of those, bytes moved by a plain copy */
	double crypto;	 /* bytes through the host's cipher */
	double nic_dma;	 /* bytes the NIC DMA-reads from host memory */
	double disk_dma; /* bytes the disk DMA-writes into the page cache */
	double syscalls;
	double ctxsw;
	double wire;	   /* bytes put on the wire, retransmissions too */
	double resync;	   /* of nic_dma, bytes read only to rebuild state */
	double rfo;	   /* reads for ownership before CPU stores */
	double nic_crypto; /* bytes through the NIC's cipher */
};

/* What each quantity costs on a given host. */
struct cost_rates {
	double cpu_hz;
	double aes_cpb;	       /* cycles per byte of AES-GCM (measured) */
	double copy_cpb;       /* cycles per byte copied */
	double syscall_cycles; /* one system call's entry and exit */
	double ctxsw_cycles;   /* one sleep and wakeup */
	double mem_bw;	       /* bytes/s the memory system sustains */
	double link_bps;       /* payload-independent link rate, bits/s */
	int ncpu;	       /* cores the ktls workers may use */
	int workers;	       /* application processes (nginx workers) */
};

struct cost_eval {
	double worker_cpb;    /* cycles per payload byte in the application */
	double kthread_cpb;   /* cycles per payload byte in ktls workers */
	double dram_per_byte; /* memory traffic per payload byte */
	double bytes_per_sec; /* payload throughput: the least bound */
	const char *bound;    /* "cpu", "workers", "memory" or "link" */
};

/*
 * What a run counted (docs/cost-model.md, "What the simulator counts"):
 * the simulated kernel's sim.cost counters, what the application did
 * outside it (userland TLS's read(2) copy and encryption), and the
 * application's system calls and waits.
 */
struct cost_counts {
	double payload;		/* plaintext bytes delivered */
	double copyin, copyout; /* uiomove() */
	double crypto_read;	/* kernel cipher: plaintext read */
	double crypto_inplace;	/* ... ciphertext over the plaintext */
	double crypto_newpages; /* ... ciphertext to new pages */
	double framing;		/* ... header and trailer bytes */
	double wire;		/* bytes the wire read out of the buffer */
	double user_copy;	/* application: read(2) into its buffer */
	double user_crypto_read, user_crypto_write; /* its library's cipher */
	double syscalls;
	double fills;	/* waits for send-buffer space */
	double wakeups; /* ktls worker wakeups */
};

/* The counts of a run as the model's quantities (per payload byte). */
int cost_measured(const struct cost_counts *c, struct cost_q *q);

/* A TLS 1.2 AES-GCM session with FreeBSD's defaults. */
void cost_params_default(struct cost_params *p);
/* Wire bytes per payload byte of a full record, before retransmissions. */
double cost_expansion(const struct cost_params *p);
/*
 * Extra NIC DMA bytes, averaged over the segments of one record, that one
 * retransmitted segment costs to rebuild the cipher state.
 */
double cost_resync_per_segment(const struct cost_params *p);
int cost_model(enum cost_mode mode, const struct cost_params *p,
    struct cost_q *q);
/* Memory traffic per payload byte: CPU touches plus DMA. */
double cost_dram_per_byte(const struct cost_q *q);
void cost_evaluate(enum cost_mode mode, const struct cost_q *q,
    const struct cost_rates *r, struct cost_eval *ev);
const char *cost_mode_name(enum cost_mode mode);
/* "userland", "sw-write", "sw-sendfile", "nic"; -1 if none. */
int cost_mode_parse(const char *name, enum cost_mode *mode);

#endif /* !_MODELS_COST_H_ */
