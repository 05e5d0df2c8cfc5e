/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Simulated NIC TLS transmit engine: what an "ifnet" KTLS card does with
 * the plaintext records FreeBSD hands it (docs/nic-engine.md).
 *
 * One engine, parameterised by a vendor profile:
 *   MLX5   ConnectX-6 Dx as driven by sys/dev/mlx5/mlx5_en/mlx5_en_hw_tls.c:
 *          a stream context per tag; an out-of-order packet makes the
 *          driver re-post the parameters and DMA the record prefix again
 *          as DUMP entries (mlx5e_sq_tls_xmit(), sbtls_recover_record()).
 *   T6     Chelsio T6 as driven by sys/dev/cxgbe/crypto/t6_kern_tls.c: no
 *          stream context; every record window is its own work request,
 *          fed to the crypto engine from the record start (or, for GCM
 *          without the trailer, in counter mode from the aligned block)
 *          and cut into MSS pieces by TP (ktls_write_tls_wr()).
 *   LINUX  a Linux-style device with next-record resync and software
 *          fallback (Linux Documentation/networking/tls-offload.rst,
 *          net/tls/tls_device_fallback.c, the nfp driver's strategy).
 *
 * The engine keeps the crypto state a card keeps (record number, offset in
 * the record, running GCM counter and GHASH, CBC chain and HMAC) and
 * encrypts each segment from it, so a state bug shows as wrong bytes.  It
 * reads host memory only through the request's record view and counts
 * every byte it reads.  It is synchronous and single threaded: a transmit
 * returns the wire bytes at once; nothing stays queued.
 */

#ifndef _MODELS_NIC_H_
#define _MODELS_NIC_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sys/ktls.h"

enum nic_profile {
	NIC_PROFILE_MLX5,
	NIC_PROFILE_T6,
	NIC_PROFILE_LINUX,
	NIC_NPROFILES
};

struct nic_config {
	enum nic_profile profile;
	unsigned int max_tags;	/* context limit; 0: the profile's default */
	unsigned int key_slots; /* T6 key memory slots; 0: the default */
	unsigned int mtu;	/* 0: 1500 */
	int lost_error;		/* errno on a lost context; 0: the profile's */
};

/*
 * Counters: name, description.  Byte counters count TCP payload or host
 * memory bytes; descriptor sizes are approximations (docs/nic-engine.md).
 */
#define NIC_COUNTERS(X)                                                        \
	X(tx_requests, "transmit requests handed to the driver")               \
	X(tx_tls_requests, "requests carrying TLS record bytes")               \
	X(tx_ooo,                                                              \
	    "TLS requests not at the tag's expected sequence "                 \
	    "(mlx5 tx_packets_ooo)")                                           \
	X(tx_passthrough, "requests without record bytes, sent unchanged")     \
	X(wire_packets, "packets put on the wire")                             \
	X(wire_bytes_payload, "TCP payload bytes put on the wire")             \
	X(wire_bytes_redundant,                                                \
	    "wire bytes before the requested range (T6 straddling MSS piece)") \
	X(wire_bytes_trimmed,                                                  \
	    "requested bytes not put on the wire (T6 partial trailer, CBC "    \
	    "block, header-only request)")                                     \
	X(dma_bytes_inorder,                                                   \
	    "record bytes DMA'd for the requested range at or above the "      \
	    "tag's high-water mark (first transmissions)")                     \
	X(dma_bytes_retx_payload,                                              \
	    "record bytes DMA'd for the requested range below the high-water " \
	    "mark (retransmissions)")                                          \
	X(dma_bytes_resync,                                                    \
	    "record bytes DMA'd outside the requested range only to rebuild "  \
	    "crypto state (mlx5 tx_bytes_ooo, T6 kern_tls_waste)")             \
	X(dma_bytes_plain, "non-TLS payload bytes DMA'd")                      \
	X(dma_bytes_descriptors,                                               \
	    "descriptor and work-request bytes (approximate)")                 \
	X(dma_bytes_inline_key,                                                \
	    "T6 key context bytes carried in work requests for lack of a key " \
	    "slot")                                                            \
	X(resync_events, "out-of-order requests that rebuilt crypto state")    \
	X(param_posts,                                                         \
	    "context (re)programming: mlx5 static+progress "                   \
	    "parameters, Linux-style record resync")                           \
	X(dump_entries, "mlx5 DUMP entries, one per MTU of dumped bytes")      \
	X(t6_records, "T6 TLS work requests (kern_tls_records)")               \
	X(t6_full, "T6 whole records from offset 0 (kern_tls_full)")           \
	X(t6_partial,                                                          \
	    "T6 records with the trailer from a later offset "                 \
	    "(kern_tls_partial)")                                              \
	X(t6_short, "T6 records without the trailer (kern_tls_short)")         \
	X(tunnel_packets,                                                      \
	    "T6 header-only requests sent as raw packets (kern_tls_header)")   \
	X(fallback_packets, "requests encrypted by the host (software)")       \
	X(fallback_bytes, "wire bytes of software-encrypted requests")         \
	X(host_cpu_crypto_bytes, "record bytes run through host crypto")       \
	X(host_cpu_copy_bytes,                                                 \
	    "bytes the host CPU copied into descriptors (headers, IVs)")       \
	X(host_cpu_touched_payload_bytes,                                      \
	    "record payload bytes the host CPU read")                          \
	X(hw_state_errors,                                                     \
	    "requests encrypted from a context the device did not hold "       \
	    "(wrong bytes on the wire)")                                       \
	X(untagged_tls_bytes,                                                  \
	    "record bytes sent without a tag, i.e. plaintext on the wire")     \
	X(drops_lost_context, "drops: tag of an earlier firmware generation")  \
	X(drops_not_ready, "drops: context setup never completed")             \
	X(drops_resync_failed, "drops: resync or fallback could not be built") \
	X(drops_bad_request, "drops: malformed request or record view")        \
	X(drops_tag_mismatch, "drops: tag belongs to another NIC")             \
	X(tag_allocs, "tags allocated")                                        \
	X(tag_alloc_failures, "tag allocations refused")                       \
	X(tag_frees, "tags freed")                                             \
	X(tag_resets, "live tags invalidated by a firmware reset")             \
	X(nic_resets, "firmware resets (generation bumps)")

struct nic_counters {
#define NIC_COUNTER_FIELD(f, desc) uint64_t f;
	NIC_COUNTERS(NIC_COUNTER_FIELD)
#undef NIC_COUNTER_FIELD
};

struct nic;
struct nic_tag;

/* Create an engine; NULL with errno set on a bad config or no memory. */
struct nic *nic_create(const struct nic_config *cfg);
/*
 * Destroy it.  Returns the number of tags still referenced (each is a
 * leak of the caller's; they are freed here regardless).
 */
unsigned int nic_destroy(struct nic *nic);

enum nic_profile nic_profile_of(const struct nic *nic);
const char *nic_profile_name(enum nic_profile profile);
/* 0 and *profile set, or -1 for an unknown name. */
int nic_profile_lookup(const char *name, enum nic_profile *profile);
/*
 * Whether the profile's driver accepts these session parameters: 0, or
 * the errno its tag allocation fails with (EPROTONOSUPPORT, EINVAL, ...).
 * Capabilities only; context limits are not considered.
 */
int nic_profile_check(enum nic_profile profile,
    const struct tls_session_params *params);

/*
 * Tags (if_snd_tag_alloc / m_snd_tag).  The session's parameters are
 * copied.  tcp_seq and recno are the TCP sequence of the first record the
 * tag will carry and its record number: the Linux-style device starts
 * there; the FreeBSD drivers learn both from the first packet instead.
 * The new tag has one reference; it is freed when the last one is
 * released.
 */
int nic_tag_alloc(struct nic *nic, const struct tls_session_params *params,
    uint32_t tcp_seq, uint64_t recno, struct nic_tag **tagp);
struct nic_tag *nic_tag_ref(struct nic_tag *tag);
void nic_tag_rele(struct nic_tag *tag);

struct nic_tag_info {
	unsigned int refcount;
	unsigned int generation; /* firmware generation it was made in */
	bool lost;		 /* a firmware reset invalidated it */
	bool ready;		 /* context setup completed */
	bool synced;		 /* the device holds a record context */
	bool inline_key;	 /* T6: no key slot, key carried per request */
	uint32_t expected_seq;	 /* where the device context continues */
};
void nic_tag_info(const struct nic_tag *tag, struct nic_tag_info *info);

/*
 * One record of the host view a FreeBSD driver has through an M_EXTPG
 * mbuf: the whole record, with header, plaintext payload and trailer
 * placeholder as ktls_frame() (sys/kern/uipc_ktls.c) left them.
 */
struct nic_record {
	uint32_t seq;		/* TCP sequence of the header's first byte */
	uint32_t len;		/* hdrlen + payload + trllen */
	uint64_t recno;		/* record sequence number (m_epg_seqno) */
	uint16_t hdrlen;	/* m_epg_hdrlen */
	uint16_t trllen;	/* m_epg_trllen */
	const uint8_t *hdr;	/* hdrlen bytes (m_epg_hdr) */
	const uint8_t *payload; /* len - hdrlen - trllen plaintext bytes */
	const uint8_t *trail;	/* trllen bytes (m_epg_trail) */
	void *cookie;		/* for a nic_read_t */
};

/*
 * Copy len bytes of rec at off (counted from the header's first byte, so
 * header, payload and trailer in one space) to dst; 0 or an errno.  Used
 * instead of the three pointers when the request names one.
 */
typedef int nic_read_t(void *arg, const struct nic_record *rec, uint32_t off,
    void *dst, uint32_t len);

/*
 * One packet (or TSO burst) handed to the driver.  A packet either
 * carries record bytes of one session only (recs, in sequence order,
 * contiguous, covering [seq, seq + len)) or none (raw), as FreeBSD's
 * tcp_m_copym() guarantees.
 */
struct nic_txreq {
	uint32_t seq; /* th_seq of the first payload byte */
	uint32_t len; /* TCP payload bytes */
	uint32_t mss; /* TSO segment size; 0: not TSO */
	const struct nic_record *recs;
	unsigned int nrecs;
	nic_read_t *read; /* NULL: read through the record pointers */
	void *read_arg;
	const uint8_t *raw; /* nrecs == 0: the payload bytes */
};

/* One packet on the wire: TCP payload [seq, seq + len). */
struct nic_wire_seg {
	uint32_t seq;
	uint32_t len;
	const uint8_t *data;
};

struct nic_txres {
	const struct nic_wire_seg *segs; /* valid until the next transmit */
	unsigned int nsegs;
	uint32_t dma_bytes;    /* record and plain bytes DMA'd this call */
	uint32_t resync_bytes; /* of which only to rebuild state */
	bool ooo;	       /* not at the expected sequence */
	bool fallback;	       /* encrypted by the host */
};

/*
 * Transmit one packet on tag (NULL: an untagged packet).  0: *res holds
 * what went on the wire (possibly nothing, or not exactly the request on
 * T6: docs/nic-engine.md).  Otherwise the packet was dropped: ENOBUFS
 * (the driver failed it, as mlx5e_xmit_locked() reports any drop), the
 * configured lost-context errno, EINVAL for a malformed request or a tag
 * of another NIC, EIO when the record view cannot supply the bytes.
 */
int nic_transmit(struct nic *nic, struct nic_tag *tag,
    const struct nic_txreq *req, struct nic_txres *res);

/* Faults; each armed count fails the next that many operations. */
enum nic_fault {
	NIC_FAULT_ALLOC,  /* tag allocation fails with ENOMEM */
	NIC_FAULT_SETUP,  /* mlx5: setup fails after alloc (state INIT);
			     others: the allocation fails */
	NIC_FAULT_RESYNC, /* mlx5 dump / Linux fallback cannot be built */
	NIC_NFAULTS
};
void nic_inject(struct nic *nic, enum nic_fault fault, unsigned int count);

/*
 * Firmware reset: bump the generation; every live tag loses its context
 * and the next packet on it fails as the profile's driver would.
 */
void nic_reset(struct nic *nic);
unsigned int nic_generation(const struct nic *nic);
unsigned int nic_tags_live(const struct nic *nic);

const struct nic_counters *nic_counters(const struct nic *nic);
typedef void nic_counter_fn(void *arg, const char *name, uint64_t value,
    const char *desc);
void nic_counters_foreach(const struct nic *nic, nic_counter_fn *fn, void *arg);

#endif /* !_MODELS_NIC_H_ */
