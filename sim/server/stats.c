/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * sim_server's counters: its own, the simulated kernel's (kern.ipc.tls.*,
 * by sysctl leaf name) and its disk model's.  docs/sim_server.md describes
 * every field.
 */

#include <sys/mman.h>
#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sim/server/server.h"
#include "sim/server/tx.h"

void
srv_count_status(struct server *s, int status)
{

	if (status >= 100 && status < 600)
		s->status[status / 100]++;
}

void
srv_count_close(struct server *s, const char *reason)
{
	int i;

	for (i = 0; i < SRV_MAX_CLOSE_REASONS; i++) {
		if (s->closes[i].reason == NULL)
			s->closes[i].reason = reason;
		if (s->closes[i].reason == reason ||
		    strcmp(s->closes[i].reason, reason) == 0) {
			s->closes[i].n++;
			return;
		}
	}
}

/*
 * The simulated kernel's counter tables, by their key in the dump: the
 * kern.ipc.tls sysctls, where it moved data (docs/cost-model.md), the
 * disk model's reads.  Each gives its values, or what each counts.
 */
static const struct {
	const char *key;
	json_t *(*table)(bool descriptions);
} srv_kern_tables[] = {
	{ "kern.ipc.tls", tx_kern_counters },
	{ "sim.cost", tx_kern_cost_counters },
	{ "disk", tx_kern_disk_counters },
};

/* Every table of srv_kern_tables[] into o: values or descriptions. */
static void
srv_kern_tables_set(json_t *o, bool descriptions)
{
	json_t *t;

	for (size_t i = 0;
	     i < sizeof(srv_kern_tables) / sizeof(srv_kern_tables[0]); i++) {
		t = srv_kern_tables[i].table(descriptions);
		json_object_set_new(o, srv_kern_tables[i].key,
		    t != NULL ? t : json_null());
	}
}

static json_t *
srv_counters_json(struct server *s)
{
	json_t *o, *tx, *st, *closes;
	json_t *descr, *vm, *nic, *tcp;
	int i;

	st = json_object();
	for (i = 1; i < 6; i++) {
		char k[8];

		snprintf(k, sizeof(k), "%dxx", i);
		json_object_set_new(st, k, json_integer(s->status[i]));
	}
	tx = json_pack("{s:{s:I,s:I,s:I},s:{s:I,s:I,s:I},s:{s:I,s:I,s:I}}",
	    "userland", "connections", (json_int_t)s->tx_userland.conns,
	    "bytes", (json_int_t)s->tx_userland.bytes, "records",
	    (json_int_t)s->tx_userland.records, "ktls_sw", "connections",
	    (json_int_t)s->tx_sw.conns, "bytes", (json_int_t)s->tx_sw.bytes,
	    "records", (json_int_t)s->tx_sw.records, "ktls_nic", "connections",
	    (json_int_t)s->tx_nic.conns, "bytes", (json_int_t)s->tx_nic.bytes,
	    "records", (json_int_t)s->tx_nic.records);
	closes = json_object();
	for (i = 0; i < SRV_MAX_CLOSE_REASONS && s->closes[i].reason != NULL;
	     i++)
		json_object_set_new(closes, s->closes[i].reason,
		    json_integer((json_int_t)s->closes[i].n));
	vm = tx_kern_vm_counters();
	o = json_pack("{s:{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,"
		      "s:o},s:o}",
	    "sim_server", "mode", srv_mode_name(s->mode), "backend",
	    tx_kern_backend(), "accepted", (json_int_t)s->accepted,
	    "accept_errors", (json_int_t)s->accept_errors, "active",
	    (json_int_t)s->active, "handshake_failed",
	    (json_int_t)s->handshake_failed, "requests",
	    (json_int_t)s->requests, "ktls_fallbacks", (json_int_t)s->fallbacks,
	    "key_updates", (json_int_t)s->key_updates, "key_updates_refused",
	    (json_int_t)s->key_updates_refused, "responses", st, "closed",
	    closes, "tx", tx, "vm", vm != NULL ? vm : json_null());
	if (o != NULL)
		srv_kern_tables_set(o, false);
	/* --stats-descriptions: beside the values, keyed the same way. */
	if (o != NULL && s->stats_descr) {
		descr = json_object();
		if (descr != NULL)
			srv_kern_tables_set(descr, true);
		json_object_set_new(o, "descriptions",
		    descr != NULL ? descr : json_null());
	}
	/*
	 * --mode nic: the NIC engines' and the path's counters
	 * (docs/nic-engine.md, "Counters"), and TCP's, whose
	 * retransmissions the NIC has to resynchronise for.
	 */
	nic = tx_kern_nic_counters();
	if (o != NULL && nic != NULL)
		json_object_set_new(o, "nic", nic);
	tcp = s->mode != SRV_MODE_USERLAND ? tx_kern_tcp_counters() : NULL;
	if (o != NULL && tcp != NULL)
		json_object_set_new(o, "net.inet.tcp.stats", tcp);
	return (o);
}

void
srv_dump_counters(struct server *s, FILE *fp)
{
	json_t *o;

	o = srv_counters_json(s);
	if (o == NULL)
		return;
	json_dumpf(o, fp, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', fp);
	fflush(fp);
	json_decref(o);
}

int
srv_stats_file(struct server *s, off_t *sizep)
{
	struct stat sb;
	json_t *o;
	char *txt;
	size_t len, off;
	ssize_t n;
	int fd;

	o = srv_counters_json(s);
	txt = o != NULL ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (txt == NULL)
		return (-1);
	fd = memfd_create("sim_server-stats", MFD_CLOEXEC);
	len = strlen(txt);
	for (off = 0; fd >= 0 && off < len; off += n) {
		n = write(fd, txt + off, len - off);
		if (n <= 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0 && (write(fd, "\n", 1) != 1 || fstat(fd, &sb) != 0)) {
		close(fd);
		fd = -1;
	}
	free(txt);
	if (fd >= 0)
		*sizep = sb.st_size;
	return (fd);
}
