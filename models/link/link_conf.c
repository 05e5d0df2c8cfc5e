/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A link configuration as text, "key=value,..." (docs/link-model.md), so
 * that a program can take one on its command line and a failing run can
 * print the exact scenario to replay.  link_conf_format() writes what
 * link_conf_parse() reads back to the same struct, probabilities
 * included (%.17g round-trips a double).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"

static const struct {
	const char *name;
	uint32_t tag;
} tag_names[] = {
	{ "end", LINK_TAG_RECORD_END },
	{ "hdr", LINK_TAG_SPLIT_HDR },
	{ "tag", LINK_TAG_SPLIT_TAG },
	{ "rexmit", LINK_TAG_REXMIT },
};

static int __attribute__((format(printf, 3, 4)))
parse_error(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return (EINVAL);
}

/* A decimal number, then one of units[] (NULL-terminated). */
static bool
parse_unit(const char *s, const char *const *units, const uint64_t *mult,
    uint64_t *out)
{
	unsigned long long v;
	char *end;
	int i;

	if (*s < '0' || *s > '9')
		return (false);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return (false);
	for (i = 0; units[i] != NULL; i++) {
		if (strcmp(end, units[i]) != 0)
			continue;
		if (mult[i] != 0 && v > UINT64_MAX / mult[i])
			return (false);
		*out = v * mult[i];
		return (true);
	}
	return (false);
}

static bool
parse_count(const char *s, uint64_t *out)
{
	static const char *const units[] = { "", NULL };
	static const uint64_t mult[] = { 1 };

	return (parse_unit(s, units, mult, out));
}

/* Durations need a unit: "10ms" is clear, "10" is not. */
static bool
parse_ns(const char *s, uint64_t *out)
{
	static const char *const units[] = { "ns", "us", "ms", "s", NULL };
	static const uint64_t mult[] = { 1, 1000, 1000000, 1000000000 };

	return (parse_unit(s, units, mult, out));
}

/* Bytes, with binary multiples. */
static bool
parse_bytes(const char *s, uint64_t *out)
{
	static const char *const units[] = { "", "k", "m", "g", NULL };
	static const uint64_t mult[] = { 1, 1 << 10, 1 << 20, 1 << 30 };

	return (parse_unit(s, units, mult, out));
}

/* Bits per second, with decimal multiples as line rates are given. */
static bool
parse_bps(const char *s, uint64_t *out)
{
	static const char *const units[] = { "", "k", "M", "G", NULL };
	static const uint64_t mult[] = { 1, 1000, 1000000, 1000000000 };

	return (parse_unit(s, units, mult, out));
}

static bool
parse_prob(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= 0 && v <= 1))
		return (false);
	*out = v;
	return (true);
}

/* "p/dur": a probability and a duration, e.g. reorder=0.01/5ms. */
static bool
parse_prob_ns(char *s, double *p, uint64_t *ns)
{
	char *slash;

	if ((slash = strchr(s, '/')) == NULL)
		return (false);
	*slash = '\0';
	return (parse_prob(s, p) && parse_ns(slash + 1, ns));
}

/* "end+hdr", "any" (0), or a number for the caller's own bits. */
static bool
parse_tags(const char *s, uint32_t *out)
{
	char buf[128], *tok, *save;
	uint64_t v;
	size_t i;
	bool found;

	*out = 0;
	if (strcmp(s, "any") == 0)
		return (true);
	if (strlen(s) >= sizeof(buf))
		return (false);
	strcpy(buf, s);
	for (tok = strtok_r(buf, "+", &save); tok != NULL;
	     tok = strtok_r(NULL, "+", &save)) {
		found = false;
		for (i = 0; i < sizeof(tag_names) / sizeof(tag_names[0]); i++) {
			if (strcmp(tok, tag_names[i].name) == 0) {
				*out |= tag_names[i].tag;
				found = true;
			}
		}
		if (found)
			continue;
		if (!parse_count(tok, &v) || v > UINT32_MAX)
			return (false);
		*out |= (uint32_t)v;
	}
	return (true);
}

/* "TAGS[/not=TAGS][/p=P][/nth=N][/max=N]". */
static bool
parse_drop(char *s, struct link_drop *ld)
{
	char *field, *save;
	bool first;

	memset(ld, 0, sizeof(*ld));
	first = true;
	for (field = strtok_r(s, "/", &save); field != NULL;
	     field = strtok_r(NULL, "/", &save)) {
		if (first) {
			first = false;
			if (!parse_tags(field, &ld->ld_tags_any))
				return (false);
		} else if (strncmp(field, "not=", 4) == 0) {
			if (!parse_tags(field + 4, &ld->ld_tags_none))
				return (false);
		} else if (strncmp(field, "p=", 2) == 0) {
			if (!parse_prob(field + 2, &ld->ld_prob))
				return (false);
		} else if (strncmp(field, "nth=", 4) == 0) {
			if (!parse_count(field + 4, &ld->ld_nth))
				return (false);
		} else if (strncmp(field, "max=", 4) == 0) {
			if (!parse_count(field + 4, &ld->ld_max))
				return (false);
		} else
			return (false);
	}
	return (!first);
}

/* One "burst=enter/leave/loss". */
static bool
parse_burst(char *s, struct link_path_conf *pc)
{
	char *a, *b;

	if ((a = strchr(s, '/')) == NULL)
		return (false);
	*a++ = '\0';
	if ((b = strchr(a, '/')) == NULL)
		return (false);
	*b++ = '\0';
	return (parse_prob(s, &pc->lp_burst_enter) &&
	    parse_prob(a, &pc->lp_burst_leave) &&
	    parse_prob(b, &pc->lp_burst_loss));
}

static bool
parse_path_key(struct link_path_conf *pc, const char *key, char *val,
    bool *known)
{
	uint64_t v;

	*known = true;
	if (strcmp(key, "delay") == 0)
		return (parse_ns(val, &pc->lp_delay_ns));
	if (strcmp(key, "jitter") == 0)
		return (parse_ns(val, &pc->lp_jitter_ns));
	if (strcmp(key, "rate") == 0)
		return (parse_bps(val, &pc->lp_rate_bps));
	if (strcmp(key, "overhead") == 0) {
		if (!parse_bytes(val, &v) || v > UINT32_MAX)
			return (false);
		pc->lp_overhead = (uint32_t)v;
		return (true);
	}
	if (strcmp(key, "queue") == 0)
		return (parse_bytes(val, &pc->lp_queue_bytes));
	if (strcmp(key, "loss") == 0)
		return (parse_prob(val, &pc->lp_loss));
	if (strcmp(key, "burst") == 0)
		return (parse_burst(val, pc));
	if (strcmp(key, "reorder") == 0)
		return (
		    parse_prob_ns(val, &pc->lp_reorder, &pc->lp_reorder_ns));
	if (strcmp(key, "dup") == 0)
		return (parse_prob_ns(val, &pc->lp_dup, &pc->lp_dup_ns));
	if (strcmp(key, "drop") == 0) {
		if (pc->lp_ndrops >= LINK_DROPS_MAX)
			return (false);
		return (parse_drop(val, &pc->lp_drops[pc->lp_ndrops++]));
	}
	*known = false;
	return (false);
}

static bool
parse_rcv_key(struct link_rcv_conf *rc, const char *key, const char *val,
    bool *known)
{
	uint64_t v;

	*known = true;
	if (strcmp(key, "isn") == 0)
		return (parse_count(val, &rc->lr_isn));
	if (strcmp(key, "ackevery") == 0 || strcmp(key, "sack") == 0) {
		if (!parse_count(val, &v) || v > 64)
			return (false);
		if (key[0] == 'a')
			rc->lr_ack_every = (int)v;
		else
			rc->lr_sack = (int)v;
		return (true);
	}
	if (strcmp(key, "delack") == 0)
		return (parse_ns(val, &rc->lr_delack_ns));
	if (strcmp(key, "wnd") == 0)
		return (parse_bytes(val, &rc->lr_wnd));
	if (strcmp(key, "history") == 0)
		return (parse_bytes(val, &rc->lr_history));
	*known = false;
	return (false);
}

int
link_conf_parse(struct link_conf *lc, const char *spec, char *why,
    size_t whylen)
{
	struct link_conf tmp;
	struct link_path_conf *pc;
	char *copy, *item, *save, *eq, *key, *val;
	bool known, ok;
	int error;

	if (lc == NULL || spec == NULL)
		return (parse_error(why, whylen, "no configuration"));
	if ((copy = strdup(spec)) == NULL)
		return (parse_error(why, whylen, "out of memory"));
	/* All or nothing: a bad item leaves lc as it was. */
	tmp = *lc;
	error = 0;
	for (item = strtok_r(copy, ",", &save); item != NULL;
	     item = strtok_r(NULL, ",", &save)) {
		if ((eq = strchr(item, '=')) == NULL) {
			error = parse_error(why, whylen,
			    "\"%s\": not key=value", item);
			break;
		}
		*eq = '\0';
		key = item;
		val = eq + 1;
		pc = &tmp.lc_data;
		if (strncmp(key, "ack.", 4) == 0) {
			pc = &tmp.lc_ack;
			key += 4;
		} else if (strncmp(key, "data.", 5) == 0)
			key += 5;
		if (pc == &tmp.lc_data && strcmp(key, "seed") == 0) {
			known = true;
			ok = parse_count(val, &tmp.lc_seed);
		} else {
			ok = parse_path_key(pc, key, val, &known);
			if (!known && pc == &tmp.lc_data)
				ok = parse_rcv_key(&tmp.lc_rcv, key, val,
				    &known);
		}
		if (!known) {
			error = parse_error(why, whylen, "unknown key \"%s\"",
			    item);
			break;
		}
		if (!ok) {
			error = parse_error(why, whylen, "%s: bad value \"%s\"",
			    item, val);
			break;
		}
	}
	free(copy);
	if (error != 0)
		return (error);
	/* The same checks as link_create(), so that errors come early. */
	if (!link_conf_check(&tmp, why, whylen))
		return (EINVAL);
	*lc = tmp;
	return (0);
}

/* Append to buf as snprintf does; *n counts what would be written. */
static void __attribute__((format(printf, 4, 5)))
put(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(*n < len ? buf + *n : NULL, *n < len ? len - *n : 0, fmt,
	    ap);
	va_end(ap);
	if (k > 0)
		*n += (size_t)k;
}

static void
put_tags(char *buf, size_t len, size_t *n, uint32_t tags)
{
	const char *sep;
	size_t i;

	if (tags == 0) {
		put(buf, len, n, "any");
		return;
	}
	sep = "";
	for (i = 0; i < sizeof(tag_names) / sizeof(tag_names[0]); i++) {
		if (tags & tag_names[i].tag) {
			put(buf, len, n, "%s%s", sep, tag_names[i].name);
			tags &= ~tag_names[i].tag;
			sep = "+";
		}
	}
	if (tags != 0)
		put(buf, len, n, "%s%" PRIu32, sep, tags);
}

static void
put_path(char *buf, size_t len, size_t *n, const struct link_path_conf *pc,
    const char *pre)
{
	const struct link_drop *ld;
	int i;

	if (pc->lp_delay_ns != 0)
		put(buf, len, n, ",%sdelay=%" PRIu64 "ns", pre,
		    pc->lp_delay_ns);
	if (pc->lp_jitter_ns != 0)
		put(buf, len, n, ",%sjitter=%" PRIu64 "ns", pre,
		    pc->lp_jitter_ns);
	if (pc->lp_rate_bps != 0)
		put(buf, len, n, ",%srate=%" PRIu64, pre, pc->lp_rate_bps);
	if (pc->lp_overhead != 0)
		put(buf, len, n, ",%soverhead=%" PRIu32, pre, pc->lp_overhead);
	if (pc->lp_queue_bytes != 0)
		put(buf, len, n, ",%squeue=%" PRIu64, pre, pc->lp_queue_bytes);
	if (pc->lp_loss != 0)
		put(buf, len, n, ",%sloss=%.17g", pre, pc->lp_loss);
	if (pc->lp_burst_enter != 0 || pc->lp_burst_leave != 0 ||
	    pc->lp_burst_loss != 0)
		put(buf, len, n, ",%sburst=%.17g/%.17g/%.17g", pre,
		    pc->lp_burst_enter, pc->lp_burst_leave, pc->lp_burst_loss);
	if (pc->lp_reorder != 0 || pc->lp_reorder_ns != 0)
		put(buf, len, n, ",%sreorder=%.17g/%" PRIu64 "ns", pre,
		    pc->lp_reorder, pc->lp_reorder_ns);
	if (pc->lp_dup != 0 || pc->lp_dup_ns != 0)
		put(buf, len, n, ",%sdup=%.17g/%" PRIu64 "ns", pre, pc->lp_dup,
		    pc->lp_dup_ns);
	for (i = 0; i < pc->lp_ndrops && i < LINK_DROPS_MAX; i++) {
		ld = &pc->lp_drops[i];
		put(buf, len, n, ",%sdrop=", pre);
		put_tags(buf, len, n, ld->ld_tags_any);
		if (ld->ld_tags_none != 0) {
			put(buf, len, n, "/not=");
			put_tags(buf, len, n, ld->ld_tags_none);
		}
		if (ld->ld_prob != 0)
			put(buf, len, n, "/p=%.17g", ld->ld_prob);
		if (ld->ld_nth != 0)
			put(buf, len, n, "/nth=%" PRIu64, ld->ld_nth);
		if (ld->ld_max != 0)
			put(buf, len, n, "/max=%" PRIu64, ld->ld_max);
		if (ld->ld_pred != NULL)
			put(buf, len, n, "/(predicate)");
	}
}

size_t
link_conf_format(const struct link_conf *lc, char *buf, size_t len)
{
	const struct link_rcv_conf *rc;
	size_t n;

	n = 0;
	if (len > 0)
		buf[0] = '\0';
	put(buf, len, &n, "seed=%" PRIu64, lc->lc_seed);
	put_path(buf, len, &n, &lc->lc_data, "");
	rc = &lc->lc_rcv;
	if (rc->lr_isn != 0)
		put(buf, len, &n, ",isn=%" PRIu64, rc->lr_isn);
	if (rc->lr_ack_every != 0)
		put(buf, len, &n, ",ackevery=%d", rc->lr_ack_every);
	if (rc->lr_delack_ns != 0)
		put(buf, len, &n, ",delack=%" PRIu64 "ns", rc->lr_delack_ns);
	if (rc->lr_sack != 0)
		put(buf, len, &n, ",sack=%d", rc->lr_sack);
	if (rc->lr_wnd != 0)
		put(buf, len, &n, ",wnd=%" PRIu64, rc->lr_wnd);
	if (rc->lr_history != 0)
		put(buf, len, &n, ",history=%" PRIu64, rc->lr_history);
	put_path(buf, len, &n, &lc->lc_ack, "ack.");
	return (n);
}
