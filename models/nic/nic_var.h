/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * NIC TLS engine internals shared by nic.c, the record crypto state
 * (nic_cursor.c) and the vendor profiles (nic_mlx5.c, nic_t6.c,
 * nic_linux.c).  docs/nic-engine.md describes the model.
 */

#ifndef _MODELS_NIC_VAR_H_
#define _MODELS_NIC_VAR_H_

#include <sys/queue.h>

#include <openssl/evp.h>

#include "nic.h"

#define NIC_HDR_LEN 5	  /* type, version, length */
#define NIC_MAX_HDRLEN 21 /* 5 + CBC explicit IV */
#define NIC_MAX_TRLLEN 64 /* SHA-384 MAC 48 + up to 16 padding */
#define NIC_GCM_TAG_LEN 16
#define NIC_MAX_PAYLOAD 16384 /* TLS_MAX_MSG_SIZE_V10_2 */
#define NIC_MAX_RECLEN (NIC_MAX_HDRLEN + NIC_MAX_PAYLOAD + NIC_MAX_TRLLEN)
#define NIC_MAX_RECS 64 /* records in one request: 64 KB TSO of tiny ones */

/* Sequence space comparisons (sys/netinet/tcp_seq.h). */
#define NIC_SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define NIC_SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)
#define NIC_SEQ_GT(a, b) ((int32_t)((a) - (b)) > 0)
#define NIC_SEQ_GEQ(a, b) ((int32_t)((a) - (b)) >= 0)

enum nic_cipher { NIC_AES_GCM, NIC_AES_CBC };

/* A tag's copy of the session parameters, and the EVP objects for them. */
struct nic_keys {
	enum nic_cipher cipher;
	bool tls13;
	uint8_t vminor;
	uint16_t hdrlen; /* 5 + explicit nonce (GCM 1.2) or IV (CBC) */
	uint8_t key[32];
	size_t keylen;
	uint8_t iv[12];	  /* GCM 1.2: 4-byte salt; 1.3: 12-byte IV */
	uint8_t auth[64]; /* CBC HMAC key */
	size_t authlen;
	size_t maclen;	     /* CBC HMAC output */
	const char *digest;  /* CBC HMAC hash */
	EVP_CIPHER *evp;     /* AES-GCM or AES-CBC */
	EVP_CIPHER *evp_ctr; /* AES-CTR (T6 short GCM records) */
	EVP_MAC *hmac;
};

/*
 * The crypto state of one record as a card holds it while the record's
 * bytes pass through: where in the record it is, the header it has seen
 * (which gives the length, the GCM 1.2 explicit nonce and the CBC IV), and
 * the running cipher (GCM counter and GHASH, or CBC chain and HMAC).
 */
struct nic_cursor {
	const struct nic_keys *k;
	EVP_CIPHER_CTX *ctx;
	EVP_MAC_CTX *mac;
	bool valid;	   /* holds a record context */
	uint64_t recno;	   /* record sequence number */
	uint32_t off;	   /* record bytes consumed */
	uint32_t reclen;   /* 0 until the header is complete */
	uint32_t plen;	   /* payload bytes */
	uint32_t trllen;   /* trailer bytes */
	uint32_t trl_hint; /* CBC: the trailer length the driver gave */
	uint8_t hdr[NIC_MAX_HDRLEN];
	uint8_t tail[NIC_MAX_TRLLEN + 16]; /* trailer output */
	uint32_t tail_off;		   /* record offset of tail[0] */
	bool tail_ready;
	uint32_t ct_in, ct_out; /* CBC: bytes into / out of the cipher */
};

int nic_cursor_init(struct nic_cursor *cur, const struct nic_keys *k);
void nic_cursor_fini(struct nic_cursor *cur);
/* Begin a record (its first header byte comes next). */
void nic_cursor_start(struct nic_cursor *cur, uint64_t recno,
    uint32_t trl_hint);
void nic_cursor_invalidate(struct nic_cursor *cur);
/* The whole current record has been consumed. */
bool nic_cursor_done(const struct nic_cursor *cur);
/*
 * Feed the next n record bytes as the host holds them (header, plaintext,
 * trailer placeholder; in may be NULL over the trailer except for the TLS
 * 1.3 inner type byte) and write their wire form to out.  Stops at the
 * record end.  Returns the bytes consumed, or -1 (the context is then
 * invalid) on a malformed header, an EVP failure, or a CBC call that ends
 * inside a cipher block (a card cannot emit a partial CBC block).
 */
int nic_cursor_feed(struct nic_cursor *cur, const uint8_t *in, uint32_t n,
    uint8_t *out);

/* Tag states, after mlx5's MLX5E_TLS_ST_* (en_hw_tls.h). */
enum nic_tag_state {
	NIC_TAG_INIT,  /* setup failed: never usable */
	NIC_TAG_SETUP, /* set up; no packet seen yet */
	NIC_TAG_READY, /* packets flow */
	NIC_TAG_FREED
};

#define NIC_TAG_MAGIC 0x6e696374u /* "nict" */

struct nic_tag {
	uint32_t magic;
	unsigned int refcount;
	struct nic *nic;
	LIST_ENTRY(nic_tag) link;
	enum nic_tag_state state;
	unsigned int gen;
	struct nic_keys keys;
	struct nic_cursor dev; /* the device's context */
	uint32_t expected_seq; /* driver's and device's next sequence */
	uint32_t init_seq;     /* nic_tag_alloc()'s tcp_seq and recno */
	uint64_t init_recno;
	bool hiwat_valid;
	uint32_t hiwat; /* highest sequence requested so far */
	/* T6 (t6_kern_tls.c struct tlspcb). */
	bool inline_key;
	bool t6_first_wr;
	uint32_t t6_prev_seq;
	uint32_t t6_prev_mss;
	/* Linux-style. */
	bool sw_only;	     /* device gone: software for good */
	bool resync_pending; /* device context to be reset at a record */
};

/* What one transmit call is doing. */
struct nic_tx {
	struct nic *nic;
	struct nic_tag *tag;
	const struct nic_txreq *req;
	struct nic_txres *res;
	size_t wlen; /* wire bytes of this call, in nic->wbuf */
};

/* Vendor profile: capabilities, defaults and the per-packet path. */
struct nic_profile_ops {
	const char *name;
	unsigned int max_tags;
	unsigned int key_slots;
	int lost_error;
	int (*check)(const struct tls_session_params *params);
	int (*transmit)(struct nic_tx *tx);
};

extern const struct nic_profile_ops nic_mlx5_ops;
extern const struct nic_profile_ops nic_t6_ops;
extern const struct nic_profile_ops nic_linux_ops;

struct nic {
	const struct nic_profile_ops *ops;
	enum nic_profile profile;
	unsigned int max_tags;
	unsigned int key_slots;
	unsigned int key_slots_used;
	unsigned int mtu;
	int lost_error;
	unsigned int gen;
	unsigned int ntags;
	LIST_HEAD(, nic_tag) tags;
	unsigned int faults[NIC_NFAULTS];
	struct nic_counters c;
	/* Buffers reused by every transmit. */
	uint8_t *wbuf;
	size_t wbufcap;
	uint8_t *scratch[2];
	size_t scratchcap[2];
	struct nic_wire_seg *segs;
	size_t *segoff; /* segs[i].data as an offset in wbuf */
	unsigned int nsegs, segcap;
};

/* Take one armed fault: true if the operation must fail. */
bool nic_fault_take(struct nic *nic, enum nic_fault fault);

/* Who reads host memory: the card by DMA, or the host CPU. */
enum nic_reader { NIC_DMA, NIC_CPU };

/*
 * Read [off, off + n) of rec into dst, counting it: DMA bytes inside the
 * request are first transmissions or retransmissions by the tag's
 * high-water mark, DMA bytes outside it are resync bytes; CPU reads count
 * as host-touched payload where they cover payload.  0, or EIO (counted
 * as a bad request) when the view cannot supply the bytes.
 */
int nic_host_read(struct nic_tx *tx, const struct nic_record *rec, uint32_t off,
    uint32_t n, void *dst, enum nic_reader who);
/* Count n bytes at seq read by DMA (as nic_host_read() does). */
void nic_count_dma(struct nic_tx *tx, uint32_t seq, uint32_t n);
/* Read [seq, seq + n) of the request's records (possibly several). */
int nic_view_read(struct nic_tx *tx, uint32_t seq, uint32_t n, void *dst,
    enum nic_reader who);
/* The record of the request holding sequence seq, or NULL. */
const struct nic_record *nic_view_find(const struct nic_tx *tx, uint32_t seq);

/*
 * Run [seq, seq + n) of the request through the stream context cur (the
 * device's, or a fresh host one), reading the host bytes as who, and
 * write the wire form to out (not scratch 0).  Crossing a record end
 * starts the next record number, as a card does.  Returns 0, -1 if the
 * context could not encrypt (out then holds zeros past that point), or
 * an errno if the bytes could not be read.
 */
int nic_stream(struct nic_tx *tx, struct nic_cursor *cur, uint32_t seq,
    uint32_t n, uint8_t *out, enum nic_reader who);

/*
 * Room for n more wire bytes of this call: a pointer valid until the next
 * call, and their lasting offset *offp; NULL only on no memory.
 */
uint8_t *nic_wire_alloc(struct nic_tx *tx, size_t n, size_t *offp);
/*
 * Put [seq, seq + n) on the wire from the wire bytes at offset off, cut
 * into mss-sized packets (mss 0: one packet), and count it.
 */
int nic_wire_emit(struct nic_tx *tx, uint32_t seq, uint32_t n, size_t off,
    uint32_t mss);
/*
 * Scratch buffer which (0: nic_stream()'s host bytes; 1: the profiles') of
 * at least n bytes; NULL only on no memory.
 */
uint8_t *nic_scratch(struct nic *nic, int which, size_t n);

/*
 * The in-order path of a stream device: run the request through the
 * tag's device context by DMA, put it on the wire in MSS packets and
 * advance the expected sequence.  hw_error: the context was found broken
 * earlier in this call (counted once).
 */
int nic_device_send(struct nic_tx *tx, bool hw_error);

/* Emit a packet without record bytes unchanged. */
int nic_passthrough(struct nic_tx *tx);

#endif /* !_MODELS_NIC_VAR_H_ */
