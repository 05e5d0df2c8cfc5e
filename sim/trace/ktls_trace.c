/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * ktls_trace: summarise a ktlsim record trace (pcapng or JSON lines) and
 * validate its framing against the golden model.  See
 * docs/trace-format.md.
 */

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/trace/trace.h"

/* Exit status: 0 valid, 1 divergence, 2 unreadable or malformed input. */
#define EXIT_DIVERGENCE 1
#define EXIT_BADINPUT 2
#define EX_USAGE_ 64

static void
usage(FILE *fp, int status)
{

	fprintf(fp,
	    "usage: ktls_trace [-q] file ...\n"
	    "       ktls_trace -h\n"
	    "\n"
	    "Print a per-record summary of ktlsim record traces (.pcapng or\n"
	    ".jsonl, detected by content) and validate the framing against\n"
	    "the golden model; the first divergence is reported.\n"
	    "\n"
	    "  -q, --quiet   print only divergences and the verdict line\n"
	    "  -h, --help    print this help and exit\n"
	    "\n"
	    "Exit status: 0 valid, 1 divergence, 2 unreadable or malformed\n"
	    "input, 64 usage error.\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct ktrace_log *log;
	char errbuf[256], first[256];
	size_t ndiv;
	int ch, error, i, status, quiet;

	quiet = 0;
	while ((ch = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout, 0);
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			usage(stderr, EX_USAGE_);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage(stderr, EX_USAGE_);

	status = 0;
	for (i = 0; i < argc; i++) {
		errbuf[0] = '\0';
		error = ktrace_read_file(argv[i], &log, errbuf, sizeof(errbuf));
		if (error != 0) {
			warnx("%s",
			    errbuf[0] != '\0' ? errbuf : strerror(error));
			status = EXIT_BADINPUT;
			continue;
		}
		if (argc > 1)
			printf("%s:\n", argv[i]);
		if (quiet) {
			ndiv = ktrace_check(log, NULL, first, sizeof(first));
			if (ndiv != 0)
				printf("DIVERGENCE: %s\n", first);
			printf("%s: %zu records: %s\n", argv[i],
			    ktrace_log_nrecords(log),
			    ndiv == 0 ? "OK" : "DIVERGENCE");
		} else
			ndiv = ktrace_check(log, stdout, first, sizeof(first));
		ktrace_log_free(log);
		if (ndiv != 0 && status == 0)
			status = EXIT_DIVERGENCE;
	}
	if (fflush(stdout) != 0)
		err(EXIT_BADINPUT, "stdout");
	return (status);
}
