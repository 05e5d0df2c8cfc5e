/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The suite tables, expanded once from the X-macros in suites.h so that
 * every test iterates the same matrix (docs/conformance.md, "Suites").
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "suites.h"

const struct test_suite test_suites[] = { ALL_SUITES(TEST_SUITE_INIT) };
const int test_nsuites = sizeof(test_suites) / sizeof(test_suites[0]);

const struct test_suite test_invalid_suites[] = { INVALID_SUITES(
    TEST_SUITE_INIT) };
const int test_ninvalid_suites =
    sizeof(test_invalid_suites) / sizeof(test_invalid_suites[0]);

const struct test_suite *
test_suite_named(const char *name)
{

	for (int i = 0; i < test_nsuites; i++)
		if (strcmp(test_suites[i].name, name) == 0)
			return (&test_suites[i]);
	fail_msg("no suite %s", name);
	return (NULL);
}
