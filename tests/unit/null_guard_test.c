/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The null cipher (src/opencrypto/ktls_null.c) is in the kernel exactly
 * when the build was configured with -Dnull_cipher=true, which meson tells
 * this test by listing "null" in KTLSIM_BACKENDS.  In any other build the
 * kernel must not have it, must not say it has it (sim_server and the
 * oracle's skip read ktls_sim_null_cipher), and must not let anyone select
 * it.  No oracle here: this test runs, and must pass, in both builds.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "opencrypto/ktls.h"

static bool
meson_has_null(void)
{
	char list[256], *name, *last;
	const char *env;

	env = getenv("KTLSIM_BACKENDS");
	if (env == NULL)
		fail_msg("KTLSIM_BACKENDS unset (meson sets it)");
	snprintf(list, sizeof(list), "%s", env);
	for (name = strtok_r(list, " ", &last); name != NULL;
	     name = strtok_r(NULL, " ", &last))
		if (strcmp(name, "null") == 0)
			return (true);
	return (false);
}

static void
test_null_only_when_configured(void **state)
{
	bool configured, in_table;

	(void)state;
	configured = meson_has_null();
	in_table = false;
	for (int i = 0; ktls_backends[i] != NULL; i++)
		if (strcmp(ktls_backends[i]->kb_name, "null") == 0)
			in_table = true;
	assert_int_equal(in_table, configured);
	assert_int_equal(ktls_sim_null_cipher, configured);
	if (!configured) {
		assert_string_not_equal(ktls_backend->kb_name, "null");
		assert_int_equal(ktls_backend_select("null"), ENOENT);
		assert_int_equal(ktls_backend_select("auto"), 0);
		assert_string_not_equal(ktls_backend->kb_name, "null");
	} else
		assert_string_equal(ktls_backend->kb_name, "null");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_only_when_configured),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
