/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server's embedded default certificate (and its tests' certificates).
 */

#ifndef _SIM_SERVER_CERT_H_
#define _SIM_SERVER_CERT_H_

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * An in-memory self-signed certificate: EC P-256 key, SHA-256 signature,
 * CN and subjectAltName DNS:cn and IP:127.0.0.1, valid for a year.
 * Returns 0 or -1.
 */
int sim_cert_make(const char *cn, EVP_PKEY **pkeyp, X509 **certp);

#endif /* !_SIM_SERVER_CERT_H_ */
