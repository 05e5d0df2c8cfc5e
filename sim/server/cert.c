/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server's generated certificate.  See cert.h.
 */

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdio.h>

#include "sim/server/cert.h"

int
sim_cert_make(const char *cn, EVP_PKEY **pkeyp, X509 **certp)
{
	char san[300];
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	X509_NAME *name;
	EVP_PKEY *pkey;
	X509 *x;

	*pkeyp = NULL;
	*certp = NULL;
	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	x = X509_new();
	if (pkey == NULL || x == NULL)
		goto fail;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), 1) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) == NULL ||
	    !X509_set_pubkey(x, pkey))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name))
		goto fail;
	snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1", cn);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext == NULL)
		goto fail;
	if (!X509_add_ext(x, ext, -1)) {
		X509_EXTENSION_free(ext);
		goto fail;
	}
	X509_EXTENSION_free(ext);
	if (X509_sign(x, pkey, EVP_sha256()) == 0)
		goto fail;
	*pkeyp = pkey;
	*certp = x;
	return (0);
fail:
	EVP_PKEY_free(pkey);
	X509_free(x);
	return (-1);
}
