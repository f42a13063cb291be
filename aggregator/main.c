/*
 * main.c - tokenringd's entry point: parse the flags (and --config), start
 * the daemon, run it until SIGTERM/SIGINT. Exit 0 after a clean drain, 2
 * for a bad flag, key or value (the message names it), 1 when a resource
 * (ring file, port, io_uring) cannot be set up.
 */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"

int main(int argc, char *argv[])
{
	static struct dcfg cfg;
	static struct daemon d;
	char err[768];
	dcfg_default(&cfg);
	switch (dcfg_parse_args(&cfg, argc, argv, err, sizeof err)) {
	case DCFG_OK:
		break;
	case DCFG_HELP:
		fputs(dcfg_usage(), stdout);
		return 0;
	case DCFG_VERSION:
		printf("tokenringd %s\n", TOKENRING_VERSION);
		return 0;
	default:
		fprintf(stderr, "tokenringd: %s\n", err);
		return DCFG_EXIT_USAGE;
	}
	if (daemon_start(&d, &cfg, argc, argv) != 0)
		return EXIT_FAILURE;
	int status = daemon_run(&d);
	daemon_stop(&d);
	return status;
}
