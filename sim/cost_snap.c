/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The sim.cost counters (src/sys/kern_compat.h KSIM_COST_COUNTERS) read
 * into the cost model's counts.
 */

#include "sim/cost_snap.h"
#include "sys/kern_compat.h"

void
cost_snap(struct cost_counts *c)
{

	c->copyin = counter_u64_fetch(ksim_copyin_bytes);
	c->copyout = counter_u64_fetch(ksim_copyout_bytes);
	c->crypto_read = counter_u64_fetch(ksim_crypto_read_bytes);
	c->crypto_inplace = counter_u64_fetch(ksim_crypto_inplace_bytes);
	c->crypto_newpages = counter_u64_fetch(ksim_crypto_newpage_bytes);
	c->framing = counter_u64_fetch(ksim_crypto_framing_bytes);
	c->wire = counter_u64_fetch(ksim_wire_read_bytes);
}

void
cost_snap_since(const struct cost_counts *before, struct cost_counts *c)
{
	struct cost_counts now;

	cost_snap(&now);
	c->copyin += now.copyin - before->copyin;
	c->copyout += now.copyout - before->copyout;
	c->crypto_read += now.crypto_read - before->crypto_read;
	c->crypto_inplace += now.crypto_inplace - before->crypto_inplace;
	c->crypto_newpages += now.crypto_newpages - before->crypto_newpages;
	c->framing += now.framing - before->framing;
	c->wire += now.wire - before->wire;
}
