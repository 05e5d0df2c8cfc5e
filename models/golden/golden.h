/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Golden record-layout model: an executable specification of the TLS records
 * FreeBSD's in-kernel TLS puts on the wire for a sequence of write(2),
 * sendmsg(2) with TLS_SET_RECORD_TYPE, and sendfile(2) calls.
 *
 * It is written from the RFCs (RFC 5246 6.2, RFC 8446 5.1-5.4, RFC 7905) and
 * FreeBSD's ktls_frame(), ktls_seq() (sys/kern/uipc_ktls.c),
 * sosend_generic() (sys/kern/uipc_socket.c) and vn_sendfile()
 * (sys/kern/kern_sendfile.c), independently of src/ (only the constants of
 * src/sys/ktls.h are shared), so that tests can compare the simulated kernel
 * against it.  It knows nothing about keys or ciphertext: only record
 * boundaries, headers, lengths, types and sequence numbers.  See
 * models/golden/README.md for the rules.
 */

#ifndef _MODELS_GOLDEN_H_
#define _MODELS_GOLDEN_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Page size assumed for sendfile page geometry (vn_sendfile works in
 * PAGE_SIZE units).  Must match the simulator's PAGE_SIZE.
 */
#define GOLDEN_PAGE_SIZE 4096

/* TLS record header length (RFC 5246 6.2.1, RFC 8446 5.1). */
#define GOLDEN_HDR_LEN 5

/* A transmit suite; ids and minor versions are those of sys/ktls.h. */
struct golden_suite {
	int cipher_algorithm; /* CRYPTO_AES_CBC, ... */
	int auth_algorithm;   /* CRYPTO_SHA*_HMAC for CBC, else 0 */
	int tls_vminor;	      /* TLS_MINOR_VER_ZERO .. _THREE */
};

enum golden_op_kind {
	GOLDEN_WRITE,	/* write(2)/send(2) of len bytes */
	GOLDEN_CONTROL, /* sendmsg(2) with TLS_SET_RECORD_TYPE */
	GOLDEN_SENDFILE /* sendfile(2) */
};

struct golden_op {
	enum golden_op_kind kind;
	/* write/control: bytes; sendfile: file bytes after EOF clipping. */
	size_t len;
	uint8_t type;	   /* CONTROL: record type from the cmsg */
	uint64_t file_off; /* SENDFILE: first file offset */
	size_t hdr_len;	   /* SENDFILE: bytes of sf_hdtr headers */
	/*
	 * Successive sbspace() readings (plaintext bytes, may be <= 0).
	 * The model consumes one entry each time the system call samples
	 * the space: at the top of every loop iteration and again after
	 * every wait.  NULL, or once exhausted: unlimited space.
	 */
	const long *space;
	size_t nspace;
};

/* Where a record's plaintext comes from. */
enum golden_src {
	GOLDEN_SRC_USER, /* write/control buffer */
	GOLDEN_SRC_HDR,	 /* sendfile sf_hdtr headers */
	GOLDEN_SRC_FILE	 /* sendfile file pages */
};

struct golden_record {
	uint8_t outer_type; /* type in the header (23 for 1.3) */
	uint8_t inner_type; /* real content type */
	uint8_t vmajor;	    /* header version bytes */
	uint8_t vminor;
	uint8_t hdr[GOLDEN_HDR_LEN]; /* the exact 5 header bytes */
	size_t plen;		     /* plaintext payload P */
	size_t explicit_len;	     /* explicit nonce/IV after header */
	size_t trailer_len;	     /* tag / MAC+padding / type+tag */
	size_t reclen;		     /* 5 + explicit + P + trailer */
	uint64_t seqno;		     /* record sequence number */
	size_t op_index;	     /* index of the op that produced it */
	enum golden_src src;
	/* First payload byte: offset in user buffer, headers or file. */
	uint64_t src_off;
};

/* Socket-buffer and session parameters. */
struct golden_sock {
	size_t max_frame_len; /* session max_frame_len, 16384 */
	long sb_hiwat;	      /* send buffer high-water mark */
	long sb_lowat;	      /* send buffer low-water mark (2048) */
	/*
	 * SB_AUTOLOWAT: vn_sendfile raises sb_lowat (persistently) to
	 * max(hiwat / 2, PAGE_SIZE).  Set by default; an application's
	 * SO_SNDLOWAT clears it.
	 */
	bool autolowat;
};

/*
 * Frame one record: header, explicit, trailer and total lengths of a
 * record of type 'type' with 'plen' payload bytes for 'suite'.  seqno,
 * op_index and src fields are zeroed.  Returns 0, or EINVAL if the suite
 * is not one FreeBSD accepts for transmit or plen exceeds 2^14.
 */
int golden_frame(const struct golden_suite *suite, uint8_t type, size_t plen,
    struct golden_record *rec);

/*
 * Run ops in order and return the records they produce, in sequence
 * number order starting at initial_seq.  *out is malloc'd (free with
 * golden_free()), *nout its length.
 *
 * Returns 0, or the errno the system call of the first failing op would
 * return (EINVAL: zero-length send where empty records are not allowed,
 * unsupported suite, bad parameters; EMSGSIZE: TLS_SET_RECORD_TYPE send
 * larger than sb_hiwat; ENOMEM).  Processing stops at a failing op: *out
 * then holds the records of the ops before it (a failing call frames
 * nothing), so a caller may resume with the following ops and the next
 * sequence number.
 */
int golden_run_sock(const struct golden_suite *suite,
    const struct golden_sock *sock, uint64_t initial_seq,
    const struct golden_op *ops, size_t nops, struct golden_record **out,
    size_t *nout);

/* As golden_run_sock() with autolowat set (the FreeBSD default). */
int golden_run(const struct golden_suite *suite, uint64_t initial_seq,
    size_t max_frame_len, long sb_lowat, long sb_hiwat,
    const struct golden_op *ops, size_t nops, struct golden_record **out,
    size_t *nout);

void golden_free(struct golden_record *recs);

/* True iff the suite may send zero-length records (AES-CBC TLS 1.0). */
bool golden_permit_empty(const struct golden_suite *suite);

#endif /* !_MODELS_GOLDEN_H_ */
