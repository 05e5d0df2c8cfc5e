/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * In-process pcapng writer: SHB, IDB, DSB and EPB blocks
 * (draft-ietf-opsawg-pcapng) around synthetic Ethernet/IPv4/TCP frames.
 *
 * libpcap cannot write pcapng and Wireshark's own writer (libwiretap) is
 * GPL and needs GLib, so the few blocks needed here are written by hand.
 */

#include <sys/endian.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pcapng.h"
#include "pcapng_format.h"

/*
 * pcapng readers bound the size of a block they will load; a 16 MiB key log
 * block was checked to load in tshark 4.0, so larger ones are refused here
 * rather than written into a file a reader may reject.
 */
#define MAX_BLOCK_LEN (16U * 1024 * 1024)

#define TCP_SYN_OPTLEN 8
#define TCP_MAXHDR (TCP_HDR_LEN + TCP_SYN_OPTLEN)
#define FRAME_MAXHDR (ETHER_HDR_LEN + IP_HDR_LEN + TCP_MAXHDR)

/*
 * The SYNs advertise an MSS of 1460 and a window scale of 7 (RFC 7323
 * §2), so the advertised receive window (WINDOW << 7 = 512 KiB) exceeds
 * any data the writer leaves unacknowledged (two segments of at most
 * PCAPNG_TCP_MAXPAYLOAD) and Wireshark never reports "window full".
 */
#define TCP_MSS 1460
#define TCP_WSCALE 7
#define TCP_WINDOW 4096
#define TCP_SYN_WINDOW 65535

#define CLIENT 0
#define SERVER 1

/* One direction of a flow, named after the side that sends it. */
struct pcapng_half {
	uint32_t isn;
	uint16_t port;
	uint16_t ip_id;
	uint64_t sent;	      /* end of the highest byte written */
	unsigned int unacked; /* new segments not acked by peer */
	bool fin;
	uint64_t fin_off;
	/*
	 * pcapng_flow_peer_acks(): the peer acknowledges this side's bytes
	 * only through pcapng_flow_ack_to(), up to acked (a lossy path).
	 */
	bool ext_ack;
	uint64_t acked;
};

struct pcapng_flow {
	LIST_ENTRY(pcapng_flow) link;
	struct pcapng_writer *w;
	struct pcapng_half h[2];
};

struct pcapng_writer {
	FILE *fp;
	int error; /* sticky: first write error */
	uint64_t npackets;
	uint64_t nflows;
	LIST_HEAD(, pcapng_flow) flows;
	bool late_secrets; /* pcapng_set_late_secrets() */
	char *comment;	   /* pcapng_set_comment(): for the next data EPB */
};

static const uint8_t mac_addr[2][6] = {
	[CLIENT] = { 0x02, 0x00, 0x0a, 0x00, 0x00, 0x01 },
	[SERVER] = { 0x02, 0x00, 0x0a, 0x00, 0x00, 0x02 },
};

static const uint32_t ip_addr[2] = {
	[CLIENT] = 0x0a000001, /* 10.0.0.1 */
	[SERVER] = 0x0a000002, /* 10.0.0.2 */
};

static int
pw_write(struct pcapng_writer *w, const void *buf, size_t len)
{

	if (w->error != 0)
		return (w->error);
	if (len != 0 && fwrite(buf, 1, len, w->fp) != len)
		w->error = errno != 0 ? errno : EIO;
	return (w->error);
}

static int
pw_pad(struct pcapng_writer *w, size_t len)
{
	static const uint8_t zero[4];

	return (pw_write(w, zero, PAD4(len) - len));
}

static void
put32(uint8_t *p, uint32_t v)
{

	memcpy(p, &v, sizeof(v));
}

static void
put16(uint8_t *p, uint16_t v)
{

	memcpy(p, &v, sizeof(v));
}

/*
 * Append one option (§3.5): code, length, value padded to 32 bits.
 * Returns the new offset.
 */
static size_t
opt_put(uint8_t *buf, size_t off, uint16_t code, const void *val, uint16_t len)
{

	put16(buf + off, code);
	put16(buf + off + 2, len);
	off += 4;
	if (len != 0)
		memcpy(buf + off, val, len);
	memset(buf + off + len, 0, PAD4(len) - len);
	return (off + PAD4(len));
}

/*
 * Finish a block built in buf: buf[0..4) holds the type, and body bytes run
 * from offset 8 to len.  Fills in both length fields and writes it.
 */
static int
block_write(struct pcapng_writer *w, uint8_t *buf, size_t len)
{

	put32(buf + 4, (uint32_t)(len + 4));
	put32(buf + len, (uint32_t)(len + 4));
	return (pw_write(w, buf, len + 4));
}

static int
write_shb(struct pcapng_writer *w)
{
	static const char appl[] = "ktlsim";
	uint8_t buf[64];
	size_t off;

	put32(buf, BT_SHB);
	put32(buf + 8, SHB_BYTE_ORDER_MAGIC);
	put16(buf + 12, 1); /* major version */
	put16(buf + 14, 0); /* minor version */
	/*
	 * §4.1: a Section Length of -1 means "not specified"; the writer
	 * streams and does not seek back to fill it in.
	 */
	memset(buf + 16, 0xff, 8);
	off = 24;
	off = opt_put(buf, off, OPT_SHB_USERAPPL, appl, sizeof(appl) - 1);
	off = opt_put(buf, off, OPT_ENDOFOPT, NULL, 0);
	return (block_write(w, buf, off));
}

static int
write_idb(struct pcapng_writer *w)
{
	static const char name[] = "sim0";
	/*
	 * §4.2 if_tsresol: the most significant bit clear means a negative
	 * power of 10, so 9 gives nanoseconds, the unit of every ts_ns
	 * argument.  Without the option the resolution would default to
	 * microseconds.
	 */
	const uint8_t tsresol = 9;
	uint8_t buf[64];
	size_t off;

	put32(buf, BT_IDB);
	put16(buf + 8, LINKTYPE_ETHERNET);
	put16(buf + 10, 0); /* reserved */
	put32(buf + 12, PCAPNG_SNAPLEN);
	off = 16;
	off = opt_put(buf, off, OPT_IF_NAME, name, sizeof(name) - 1);
	off = opt_put(buf, off, OPT_IF_TSRESOL, &tsresol, 1);
	off = opt_put(buf, off, OPT_ENDOFOPT, NULL, 0);
	return (block_write(w, buf, off));
}

struct pcapng_writer *
pcapng_open(const char *path, int *errp)
{
	struct pcapng_writer *w;
	int error;

	if (path == NULL) {
		error = EINVAL;
		goto fail;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		error = ENOMEM;
		goto fail;
	}
	LIST_INIT(&w->flows);
	w->fp = fopen(path, "wbe");
	if (w->fp == NULL) {
		error = errno;
		free(w);
		goto fail;
	}
	/*
	 * A trace holds mostly full-sized segments; a buffer of several of
	 * them keeps a record to a handful of write(2) calls.
	 */
	(void)setvbuf(w->fp, NULL, _IOFBF, 256 * 1024);
	if ((error = write_shb(w)) != 0 || (error = write_idb(w)) != 0) {
		(void)pcapng_close(w);
		goto fail;
	}
	return (w);
fail:
	if (errp != NULL)
		*errp = error;
	return (NULL);
}

int
pcapng_write_secrets(struct pcapng_writer *w, const char *keylog, size_t len)
{
	uint8_t hdr[16];
	size_t blen;

	if (w == NULL || (keylog == NULL && len != 0))
		return (EINVAL);
	if (w->error != 0)
		return (w->error);
	/*
	 * Wireshark dissects packets in one sequential pass and feeds a DSB
	 * to the TLS dissector only when the reader reaches it, so secrets
	 * after a handshake would leave that connection undecrypted on the
	 * first pass (and in tshark, which makes only one).
	 */
	if (w->npackets != 0 && !w->late_secrets)
		return (EINVAL);
	if (len > MAX_BLOCK_LEN - BLK_OVERHEAD - 8)
		return (EMSGSIZE);
	blen = BLK_OVERHEAD + 8 + PAD4(len);

	/* §4.8: Secrets Type, Secrets Length, Secrets Data, no options. */
	put32(hdr, BT_DSB);
	put32(hdr + 4, (uint32_t)blen);
	put32(hdr + 8, PCAPNG_SECRETS_TLS_KEYLOG);
	put32(hdr + 12, (uint32_t)len);
	pw_write(w, hdr, sizeof(hdr));
	pw_write(w, keylog, len);
	pw_pad(w, len);
	put32(hdr, (uint32_t)blen);
	return (pw_write(w, hdr, 4));
}

/*
 * One's complement sum of buf (RFC 1071 §4.1), returned as the 16-bit
 * value of the big-endian words.  RFC 1071 §2(B) and §2(C): the sum is
 * independent of byte order and may be accumulated in wider words and
 * folded, so the loop adds native 32-bit words and converts once.
 */
static uint32_t
in_sum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t sum;
	uint32_t w32;
	uint16_t w16;
	uint8_t last[2];

	sum = 0;
	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w32, p, 4);
		sum += w32;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		sum += w16;
		p += 2;
		len -= 2;
	}
	if (len == 1) {
		/* An odd trailing byte is the high half of a padded word. */
		last[0] = *p;
		last[1] = 0;
		memcpy(&w16, last, 2);
		sum += w16;
	}
	while (sum >> 16 != 0)
		sum = (sum & 0xffff) + (sum >> 16);
	return (be16toh((uint16_t)sum));
}

static uint16_t
in_fold(uint64_t sum)
{

	while (sum >> 16 != 0)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)~sum);
}

/*
 * Length of the next opt_comment piece of a long comment: at most
 * PCAPNG_COMMENT_CHUNK bytes, cut after a newline when there is one.
 */
static size_t
comment_chunk(const char *s, size_t len)
{
	size_t n;

	if (len <= PCAPNG_COMMENT_CHUNK)
		return (len);
	for (n = PCAPNG_COMMENT_CHUNK; n > 0; n--)
		if (s[n - 1] == '\n')
			return (n);
	return (PCAPNG_COMMENT_CHUNK);
}

/*
 * The bytes of v, which starts pos bytes into the iovec, that fall in
 * [skip, skip + paylen): their count; their start in *basep and their
 * offset in the packet's payload in *offp.
 */
static size_t
iov_part(const struct iovec *v, size_t pos, size_t skip, size_t paylen,
    const uint8_t **basep, size_t *offp)
{
	size_t s, e;

	s = pos > skip ? pos : skip;
	e = pos + v->iov_len < skip + paylen ? pos + v->iov_len : skip + paylen;
	if (e <= s)
		return (0);
	*basep = (const uint8_t *)v->iov_base + (s - pos);
	*offp = s - skip;
	return (e - s);
}

/*
 * Write one frame from side dir of f: seq as given, ack (if TH_ACK) at the
 * end of everything the peer has sent.  The payload is paylen bytes of
 * iov[0..iovcnt) from byte skip on.
 */
static int
flow_emit(struct pcapng_flow *f, int dir, uint32_t seq, uint8_t flags,
    const struct iovec *iov, int iovcnt, size_t skip, size_t paylen,
    uint64_t ts_ns)
{
	struct pcapng_writer *w = f->w;
	struct pcapng_half *me = &f->h[dir], *peer = &f->h[!dir];
	uint8_t epb[28], frame[FRAME_MAXHDR], *ip, *th;
	const uint8_t *part;
	uint64_t sum;
	uint32_t ack;
	size_t thlen, framelen, pos, poff, optlen, cmtlen, n;
	int i;

	cmtlen = 0;
	thlen = TCP_HDR_LEN + ((flags & TH_SYN) != 0 ? TCP_SYN_OPTLEN : 0);
	framelen = ETHER_HDR_LEN + IP_HDR_LEN + thlen + paylen;

	memcpy(frame, mac_addr[!dir], 6);
	memcpy(frame + 6, mac_addr[dir], 6);
	be16enc(frame + 12, ETHERTYPE_IP);

	ip = frame + ETHER_HDR_LEN;
	ip[0] = 0x45; /* version 4, 5 words */
	ip[1] = 0;
	be16enc(ip + 2, (uint16_t)(IP_HDR_LEN + thlen + paylen));
	be16enc(ip + 4, me->ip_id++);
	be16enc(ip + 6, IP_DF);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP_;
	be16enc(ip + 10, 0);
	be32enc(ip + 12, ip_addr[dir]);
	be32enc(ip + 16, ip_addr[!dir]);
	be16enc(ip + 10, in_fold(in_sum(ip, IP_HDR_LEN)));

	ack = 0;
	if ((flags & TH_ACK) != 0 && peer->ext_ack)
		ack = peer->isn + 1 + (uint32_t)peer->acked;
	else if ((flags & TH_ACK) != 0)
		ack = peer->isn + 1 + (uint32_t)peer->sent + peer->fin;
	th = ip + IP_HDR_LEN;
	be16enc(th, me->port);
	be16enc(th + 2, peer->port);
	be32enc(th + 4, seq);
	be32enc(th + 8, ack);
	th[12] = (uint8_t)((thlen / 4) << 4);
	th[13] = flags;
	/* RFC 7323 §2.2: the window in a SYN is never scaled. */
	be16enc(th + 14, (flags & TH_SYN) != 0 ? TCP_SYN_WINDOW : TCP_WINDOW);
	be16enc(th + 16, 0);
	be16enc(th + 18, 0);
	if ((flags & TH_SYN) != 0) {
		th[20] = 2; /* MSS */
		th[21] = 4;
		be16enc(th + 22, TCP_MSS);
		th[24] = 1; /* NOP, aligns the window scale */
		th[25] = 3; /* window scale */
		th[26] = 3;
		th[27] = TCP_WSCALE;
	}

	/*
	 * RFC 9293 §3.1: the checksum covers a pseudo-header of the
	 * addresses, the protocol and the TCP length, then the header and
	 * the payload.  The header length is even, so the payload starts on
	 * a word boundary; a piece that starts at an odd payload offset has
	 * its partial sum byte-swapped (RFC 1071 §2(B)).
	 */
	sum = (ip_addr[dir] >> 16) + (ip_addr[dir] & 0xffff) +
	    (ip_addr[!dir] >> 16) + (ip_addr[!dir] & 0xffff) + IPPROTO_TCP_ +
	    thlen + paylen;
	sum += in_sum(th, thlen);
	for (i = 0, pos = 0; i < iovcnt; pos += iov[i].iov_len, i++) {
		uint32_t s;

		n = iov_part(&iov[i], pos, skip, paylen, &part, &poff);
		if (n == 0)
			continue;
		s = in_sum(part, n);
		if ((poff & 1) != 0)
			s = ((s & 0xff) << 8) | (s >> 8);
		sum += s;
	}
	be16enc(th + 16, in_fold(sum));

	/*
	 * §4.3: Enhanced Packet Block, interface 0; a data frame carries the
	 * pending comment (opt_comment, §3.5) if there is one.
	 */
	optlen = 0;
	if (w->comment != NULL) {
		cmtlen = strlen(w->comment);
		for (pos = 0; pos < cmtlen; pos += n)
			optlen += 4 +
			    PAD4(n = comment_chunk(w->comment + pos,
				     cmtlen - pos));
		optlen += 4;
	}
	put32(epb, BT_EPB);
	put32(epb + 4, (uint32_t)(sizeof(epb) + PAD4(framelen) + optlen + 4));
	put32(epb + 8, 0);
	put32(epb + 12, (uint32_t)(ts_ns >> 32));
	put32(epb + 16, (uint32_t)ts_ns);
	put32(epb + 20, (uint32_t)framelen);
	put32(epb + 24, (uint32_t)framelen);
	pw_write(w, epb, sizeof(epb));
	pw_write(w, frame, framelen - paylen);
	for (i = 0, pos = 0; i < iovcnt; pos += iov[i].iov_len, i++)
		if ((n = iov_part(&iov[i], pos, skip, paylen, &part, &poff)) !=
		    0)
			pw_write(w, part, n);
	pw_pad(w, framelen);
	if (optlen != 0) {
		uint8_t opt[4];

		for (pos = 0; pos < cmtlen; pos += n) {
			n = comment_chunk(w->comment + pos, cmtlen - pos);
			put16(opt, OPT_COMMENT);
			put16(opt + 2, (uint16_t)n);
			pw_write(w, opt, 4);
			pw_write(w, w->comment + pos, n);
			pw_pad(w, n);
		}
		put16(opt, OPT_ENDOFOPT);
		put16(opt + 2, 0);
		pw_write(w, opt, 4);
		free(w->comment);
		w->comment = NULL;
	}
	pw_write(w, epb + 4, 4);
	if (w->error != 0)
		return (w->error);

	w->npackets++;
	if ((flags & TH_ACK) != 0)
		peer->unacked = 0;
	return (0);
}

/* A pure ACK from side dir at its next sequence number. */
static int
flow_ack(struct pcapng_flow *f, int dir, uint64_t ts_ns)
{
	struct pcapng_half *me = &f->h[dir];

	return (flow_emit(f, dir, me->isn + 1 + (uint32_t)me->sent + me->fin,
	    TH_ACK, NULL, 0, 0, 0, ts_ns));
}

/*
 * ISNs are derived from the flow's serial number and ports rather than
 * drawn at random, so a deterministic run writes a byte-identical trace.
 * The mix is splitmix64's finaliser.
 */
static uint32_t
flow_isn(uint64_t serial, uint16_t cport, uint16_t sport, int dir)
{
	uint64_t z;

	z = (serial << 33 | (uint64_t)cport << 17 | (uint64_t)sport << 1 |
		(uint64_t)dir) +
	    0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return ((uint32_t)(z ^ (z >> 31)));
}

struct pcapng_flow *
pcapng_flow_open(struct pcapng_writer *w, uint16_t client_port,
    uint16_t server_port, uint64_t ts_ns, uint64_t rtt_ns, int *errp)
{
	struct pcapng_flow *f;
	uint64_t syn_ns;
	int error, dir;

	if (w == NULL || client_port == 0 || server_port == 0) {
		error = EINVAL;
		goto fail;
	}
	if ((error = w->error) != 0)
		goto fail;
	LIST_FOREACH(f, &w->flows, link) {
		if (f->h[CLIENT].port == client_port &&
		    f->h[SERVER].port == server_port) {
			error = EEXIST;
			goto fail;
		}
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		error = ENOMEM;
		goto fail;
	}
	f->w = w;
	f->h[CLIENT].port = client_port;
	f->h[SERVER].port = server_port;
	for (dir = CLIENT; dir <= SERVER; dir++)
		f->h[dir].isn =
		    flow_isn(w->nflows, client_port, server_port, dir);
	w->nflows++;

	/*
	 * RFC 9293 §3.5, Figure 7: the three-way handshake, as a capture at
	 * the server sees it: the SYN arrives and the SYN-ACK leaves at once,
	 * and the client's ACK comes back one round trip later.  Wireshark
	 * takes that interval for the connection's first RTT (see
	 * docs/trace-format.md, "pcapng").
	 */
	syn_ns = ts_ns > rtt_ns ? ts_ns - rtt_ns : 0;
	if ((error = flow_emit(f, CLIENT, f->h[CLIENT].isn, TH_SYN, NULL, 0, 0,
		 0, syn_ns)) != 0 ||
	    (error = flow_emit(f, SERVER, f->h[SERVER].isn, TH_SYN | TH_ACK,
		 NULL, 0, 0, 0, syn_ns)) != 0 ||
	    (error = flow_ack(f, CLIENT, ts_ns)) != 0) {
		free(f);
		goto fail;
	}
	LIST_INSERT_HEAD(&w->flows, f, link);
	return (f);
fail:
	if (errp != NULL)
		*errp = error;
	return (NULL);
}

int
pcapng_flow_data(struct pcapng_flow *f, int from_server, uint64_t stream_off,
    const struct iovec *iov, int iovcnt, uint64_t ts_ns)
{
	struct pcapng_half *me;
	size_t len, old;
	int dir, error, i;

	if (f == NULL || iovcnt < 0 || (iovcnt > 0 && iov == NULL))
		return (EINVAL);
	if (f->w->error != 0)
		return (f->w->error);
	dir = from_server ? SERVER : CLIENT;
	me = &f->h[dir];
	for (i = 0, len = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > PCAPNG_TCP_MAXPAYLOAD)
			return (EMSGSIZE);
		if (iov[i].iov_len != 0 && iov[i].iov_base == NULL)
			return (EINVAL);
		len += iov[i].iov_len;
		if (len > PCAPNG_TCP_MAXPAYLOAD)
			return (EMSGSIZE);
	}
	if (len == 0)
		return (flow_ack(f, dir, ts_ns));
	if (stream_off > UINT64_MAX - len ||
	    (me->fin && stream_off + len > me->fin_off))
		return (EINVAL);

	/*
	 * A segment that repeats bytes and carries new ones after them (a
	 * retransmission from snd_una that FreeBSD's tcp_output() filled up
	 * to the MSS with data queued since) is written as two packets with
	 * the same timestamp, cut where the new bytes start.  Wireshark's
	 * desegment_tcp() (epan/dissectors/packet-tcp.c) passes nothing of a
	 * segment its analysis marked as a retransmission on to the next
	 * protocol, new bytes included, and the TLS records in them would be
	 * lost to it.
	 */
	old = 0;
	if (stream_off < me->sent && stream_off + len > me->sent) {
		old = (size_t)(me->sent - stream_off);
		error = flow_emit(f, dir, me->isn + 1 + (uint32_t)stream_off,
		    TH_ACK | TH_PUSH, iov, iovcnt, 0, old, ts_ns);
		if (error != 0)
			return (error);
	}
	/*
	 * PSH on every data segment: the trace does not know where the
	 * application's writes end, and PSH does not affect dissection.
	 */
	error = flow_emit(f, dir, me->isn + 1 + (uint32_t)(stream_off + old),
	    TH_ACK | TH_PUSH, iov, iovcnt, old, len - old, ts_ns);
	if (error != 0)
		return (error);
	if (stream_off + len <= me->sent)
		return (0); /* retransmission */
	me->sent = stream_off + len;
	/*
	 * RFC 9293 §3.8.6.3 (after RFC 1122 §4.2.3.2): a receiver acks at
	 * least every second full-sized segment.  Doing the same keeps
	 * Wireshark's bytes-in-flight small and its analysis quiet.
	 */
	if (++me->unacked >= 2 && !me->ext_ack)
		return (flow_ack(f, !dir, ts_ns));
	return (0);
}

int
pcapng_flow_peer_acks(struct pcapng_flow *f, int from_server)
{

	if (f == NULL)
		return (EINVAL);
	f->h[from_server ? SERVER : CLIENT].ext_ack = true;
	return (0);
}

int
pcapng_flow_ack_to(struct pcapng_flow *f, int from_server, uint64_t ack_off,
    uint64_t ts_ns)
{
	struct pcapng_half *peer;
	int dir;

	if (f == NULL)
		return (EINVAL);
	if (f->w->error != 0)
		return (f->w->error);
	dir = from_server ? SERVER : CLIENT;
	peer = &f->h[!dir];
	if (!peer->ext_ack || ack_off > peer->sent + 1)
		return (EINVAL);
	if (ack_off > peer->acked)
		peer->acked = ack_off;
	return (flow_ack(f, dir, ts_ns));
}

int
pcapng_flow_fin(struct pcapng_flow *f, int from_server, uint64_t stream_off,
    uint64_t ts_ns)
{
	struct pcapng_half *me;
	int dir, error;

	if (f == NULL)
		return (EINVAL);
	if (f->w->error != 0)
		return (f->w->error);
	dir = from_server ? SERVER : CLIENT;
	me = &f->h[dir];
	if (stream_off < me->sent || (me->fin && stream_off != me->fin_off))
		return (EINVAL);

	/* The FIN occupies the sequence number after the last byte. */
	me->sent = stream_off;
	error = flow_emit(f, dir, me->isn + 1 + (uint32_t)stream_off,
	    TH_FIN | TH_ACK, NULL, 0, 0, 0, ts_ns);
	if (error != 0)
		return (error);
	me->fin = true;
	me->fin_off = stream_off;
	return (flow_ack(f, !dir, ts_ns));
}

void
pcapng_flow_close(struct pcapng_flow *f)
{

	if (f == NULL)
		return;
	LIST_REMOVE(f, link);
	free(f);
}

int
pcapng_close(struct pcapng_writer *w)
{
	struct pcapng_flow *f, *tf;
	int error;

	if (w == NULL)
		return (EINVAL);
	LIST_FOREACH_SAFE(f, &w->flows, link, tf)
		pcapng_flow_close(f);
	error = w->error;
	if (fflush(w->fp) != 0 && error == 0)
		error = errno != 0 ? errno : EIO;
	if (fclose(w->fp) != 0 && error == 0)
		error = errno != 0 ? errno : EIO;
	free(w->comment);
	free(w);
	return (error);
}

void
pcapng_set_late_secrets(struct pcapng_writer *w, int allow)
{

	if (w != NULL)
		w->late_secrets = allow != 0;
}

int
pcapng_set_comment(struct pcapng_writer *w, const char *comment)
{
	char *c;

	if (w == NULL)
		return (EINVAL);
	c = NULL;
	if (comment != NULL) {
		if (strlen(comment) > PCAPNG_MAX_COMMENT)
			return (EMSGSIZE);
		if ((c = strdup(comment)) == NULL)
			return (ENOMEM);
	}
	free(w->comment);
	w->comment = c;
	return (0);
}
