/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The null cipher: a software backend that does no cryptography.  Only a
 * build configured with -Dnull_cipher=true has it (meson_options.txt),
 * and there it comes first in ktls_backends[], so "auto" picks it: the
 * deterministic runner and the fuzz harnesses then measure the framing,
 * socket-buffer and worker cost of the simulated kernel without the
 * cipher's (docs/fuzzing.md, "Null cipher builds").  SIM: FreeBSD has no
 * such thing for TLS; its closest relative is OCF's CRYPTO_NULL_CBC, a
 * cipher that leaves the data as it is.
 *
 * A record is "encrypted" by copying its plaintext to the output pages
 * (nothing to do when in place) and filling its tag or MAC with
 * KTLS_NULL_TAG_BYTE; a TLS 1.3 record keeps its real type in the first
 * trailer byte, as the real backends encrypt it there, and a CBC record
 * its padding as the real backends encrypt it, so that the records can be
 * read back (tests/lib/oracle.h oracle_new_null()).  It takes exactly the
 * suites and key sizes the EVP backend takes and answers the same errors
 * (ktls_ocf_check()), so the errno checks of the tests hold.  sim_server
 * refuses to start in such a build, and the tests that decrypt with
 * tests/lib's oracle are skipped (tests/lib/oracle.c), except fuzz_ops,
 * which reads the records with the oracle's null mode.
 */

#include "opencrypto/ktls.h"
#include "sys/ktls.h"
#include "sys/mbuf.h"

/* Any non-NULL cookie: the backend keeps no state per session. */
static char ktls_null_cookie;

static int
ktls_null_encrypt(struct ktls_session *tls, struct mbuf *m,
    const struct iovec *outiov, int outiovcnt)
{
	const uint8_t *in;
	int off, padlen, tlen, toff;

	off = m->m_epg_1st_off;
	for (int i = 0; i < outiovcnt; i++, off = 0) {
		in = vm_page_data(m->m_epg_pa[i]) + off;
		if (outiov[i].iov_base != in)
			memcpy(outiov[i].iov_base, in, outiov[i].iov_len);
	}
	toff = 0;
	tlen = m->m_epg_trllen;
	if (tls->params.tls_vminor == TLS_MINOR_VER_THREE) {
		m->m_epg_trail[0] = m->m_epg_record_type;
		toff = 1;
	} else if (tls->params.cipher_algorithm == CRYPTO_AES_CBC) {
		/*
		 * The padding as CBC lays it out before encrypting, each
		 * byte its length less one (RFC 5246 section 6.2.3.2), so
		 * that a reader finds where the plaintext ends; the trailer
		 * is the MAC (tls_tlen less a block) and then the padding.
		 */
		padlen = tlen - (tls->params.tls_tlen - AES_BLOCK_LEN);
		memset(m->m_epg_trail + tlen - padlen, padlen - 1, padlen);
		tlen -= padlen;
	}
	memset(m->m_epg_trail + toff, KTLS_NULL_TAG_BYTE, tlen - toff);
	return (0);
}

static void
ktls_null_free(struct ktls_session *tls)
{

	tls->ocf_session = NULL;
}

static int
ktls_null_try(struct ktls_session *tls, int direction)
{
	int error;

	error = ktls_ocf_check(tls, direction, NULL);
	if (error != 0)
		return (error);
	tls->ocf_session = (void *)&ktls_null_cookie;
	/* As the EVP backend: CBC synchronous, the AEADs as configured. */
	if (tls->params.cipher_algorithm == CRYPTO_AES_CBC)
		tls->sync_dispatch = true;
	else
		tls->sync_dispatch = !ktls_sim_async;
	return (0);
}

const struct ktls_crypto_backend ktls_null_backend = {
	.kb_name = "null",
	.kb_try = ktls_null_try,
	.kb_encrypt = ktls_null_encrypt,
	.kb_free = ktls_null_free,
};
