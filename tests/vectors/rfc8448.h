/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * Protected records and traffic keys from RFC 8448 ("Example Handshake
 * Traces for TLS 1.3"), section 3 "Simple 1-RTT Handshake".  The cipher
 * suite is TLS_AES_128_GCM_SHA256 (0x1301), i.e. the aes128_gcm_1_3 test
 * suite.  Strings are hex as printed in the RFC; decode with hex2buf().
 *
 * Sequence numbers (RFC 8446 5.3: each key starts at 0 and counts every
 * record protected with it, whatever its inner type):
 *
 *   server application key:  0 NewSessionTicket (inner type 22)
 *                            1 application_data (inner type 23)
 *                            2 alert close_notify (inner type 21)
 *   client application key:  0 application_data (inner type 23)
 *                            1 alert close_notify (inner type 21)
 *
 * The server's first application_data record is therefore seq 1, not 0:
 * the NewSessionTicket the server sends right after its Finished is the
 * first record under the application traffic key.
 */

#ifndef _TESTS_VECTORS_RFC8448_H_
#define _TESTS_VECTORS_RFC8448_H_

/*
 * {server}  derive write traffic keys for application data:
 *    PRK (32 octets):  a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32
 *       82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43
 *    key expanded (16 octets):  9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac
 *       92 e3 56
 *    iv expanded (12 octets):  cf 78 2b 88 dd 83 54 9a ad f1 e9 84
 */
#define	RFC8448_S_AP_KEY \
	"9f 02 28 3b 6c 9c 07 ef c2 6b b9 f2 ac 92 e3 56"
#define	RFC8448_S_AP_IV		"cf 78 2b 88 dd 83 54 9a ad f1 e9 84"

/*
 * {client}  derive write traffic keys for application data:
 *    PRK (32 octets):  9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52
 *       87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5
 *    key expanded (16 octets):  17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6
 *       3f 50 51
 *    iv expanded (12 octets):  5b 78 92 3d ee 08 57 90 33 e5 23 d9
 */
#define	RFC8448_C_AP_KEY \
	"17 42 2d da 59 6e d5 d9 ac d8 90 e3 c6 3f 50 51"
#define	RFC8448_C_AP_IV		"5b 78 92 3d ee 08 57 90 33 e5 23 d9"

/*
 * {server}  send handshake record:  (the NewSessionTicket, 205 octets of
 *    handshake message "04 00 00 c9 ..." plus the inner type byte 0x16)
 *    complete record (227 octets): ...
 * Server application key, seq 0.
 */
#define	RFC8448_S_NST_SEQ	0
#define	RFC8448_S_NST_PLEN	205
#define	RFC8448_S_NST_PREFIX	"04 00 00 c9"
#define	RFC8448_S_NST_RECORD						\
	"17 03 03 00 de 3a 6b 8f 90 41 4a 97 d6 95 9c 34 87 68 0d e5"	\
	"13 4a 2b 24 0e 6c ff ac 11 6e 95 d4 1d 6a f8 f6 b5 80 dc f3"	\
	"d1 1d 63 c7 58 db 28 9a 01 59 40 25 2f 55 71 3e 06 1d c1 3e"	\
	"07 88 91 a3 8e fb cf 57 53 ad 8e f1 70 ad 3c 73 53 d1 6d 9d"	\
	"a7 73 b9 ca 7f 2b 9f a1 b6 c0 d4 a3 d0 3f 75 e0 9c 30 ba 1e"	\
	"62 97 2a c4 6f 75 f7 b9 81 be 63 43 9b 29 99 ce 13 06 46 15"	\
	"13 98 91 d5 e4 c5 b4 06 f1 6e 3f c1 81 a7 7c a4 75 84 00 25"	\
	"db 2f 0a 77 f8 1b 5a b0 5b 94 c0 13 46 75 5f 69 23 2c 86 51"	\
	"9d 86 cb ee ac 87 aa c3 47 d1 43 f9 60 5d 64 f6 50 db 4d 02"	\
	"3e 70 e9 52 ca 49 fe 51 37 12 1c 74 bc 26 97 68 7e 24 87 46"	\
	"d6 df 35 30 05 f3 bc e1 86 96 12 9c 81 53 55 6b 3b 6c 67 79"	\
	"b3 7b f1 59 85 68 4f"

/*
 * {client}  send application_data record:
 *    payload (50 octets):  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e
 *       0f 10 11 12 13 14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23
 *       24 25 26 27 28 29 2a 2b 2c 2d 2e 2f 30 31
 *    complete record (72 octets): ...
 * {server}  send application_data record:  the same 50-octet payload.
 */
#define	RFC8448_APP_PAYLOAD						\
	"00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13"	\
	"14 15 16 17 18 19 1a 1b 1c 1d 1e 1f 20 21 22 23 24 25 26 27"	\
	"28 29 2a 2b 2c 2d 2e 2f 30 31"

/* Client application key, seq 0. */
#define	RFC8448_C_APP_SEQ	0
#define	RFC8448_C_APP_RECORD						\
	"17 03 03 00 43 a2 3f 70 54 b6 2c 94 d0 af fa fe 82 28 ba 55"	\
	"cb ef ac ea 42 f9 14 aa 66 bc ab 3f 2b 98 19 a8 a5 b4 6b 39"	\
	"5b d5 4a 9a 20 44 1e 2b 62 97 4e 1f 5a 62 92 a2 97 70 14 bd"	\
	"1e 3d ea e6 3a ee bb 21 69 49 15 e4"

/* Server application key, seq 1 (after the NewSessionTicket). */
#define	RFC8448_S_APP_SEQ	1
#define	RFC8448_S_APP_RECORD						\
	"17 03 03 00 43 2e 93 7e 11 ef 4a c7 40 e5 38 ad 36 00 5f c4"	\
	"a4 69 32 fc 32 25 d0 5f 82 aa 1b 36 e3 0e fa f9 7d 90 e6 df"	\
	"fc 60 2d cb 50 1a 59 a8 fc c4 9c 4b f2 e5 f0 a2 1c 00 47 c2"	\
	"ab f3 32 54 0d d0 32 e1 67 c2 95 5d"

/*
 * {client}  send alert record:  payload (2 octets):  01 00
 *    complete record (24 octets): ...
 * Client application key, seq 1.
 */
#define	RFC8448_ALERT_PAYLOAD	"01 00"
#define	RFC8448_C_ALERT_SEQ	1
#define	RFC8448_C_ALERT_RECORD						\
	"17 03 03 00 13 c9 87 27 60 65 56 66 b7 4d 7f f1 15 3e fd 6d"	\
	"b6 d0 b0 e3"

/*
 * {server}  send alert record:  payload (2 octets):  01 00
 *    complete record (24 octets): ...
 * Server application key, seq 2.
 */
#define	RFC8448_S_ALERT_SEQ	2
#define	RFC8448_S_ALERT_RECORD						\
	"17 03 03 00 13 b5 8f d6 71 66 eb f5 99 d2 47 20 cf be 7e fa"	\
	"7a 88 64 a9"

#endif /* !_TESTS_VECTORS_RFC8448_H_ */
