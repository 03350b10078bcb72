/* fc-snap-pull: fetch a snapshot from S3 into the local store, verified,
 * resumable, published atomically.  See man/fc-snap-pull.1, common/pull.h
 * and fcsnap-s3(5). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "json.h"
#include "pull.h"
#include "remote.h"
#include "store.h"
#include "util.h"

static const char usage_text[] =
"usage: fc-snap-pull [options] NAME [s3://BUCKET/PREFIX]\n"
"       fc-snap-pull [options] -l NAME --bucket BUCKET [--prefix PREFIX]\n"
"Download the snapshot NAME from S3 into the local store: chunks already\n"
"present locally (an older copy, or an interrupted pull) are reused, every\n"
"chunk is verified, and the snapshot is published with one rename.  A\n"
"snapshot already up to date (unchanged on both sides since its last pull)\n"
"is left as it is, with one line saying so.  The URL defaults to\n"
"$FCSNAP_REMOTE.\n"
"\n"
"  -l, --lang NAME         the snapshot name (instead of the NAME argument)\n"
"      --bucket BUCKET     the bucket (instead of the URL)\n"
"      --prefix PREFIX     key prefix inside the bucket (with --bucket)\n"
"      --as NEWNAME        store it under NEWNAME\n"
"  -j, --jobs N            parallel downloads (default 8, at most 64)\n"
"      --lock-timeout SECS wait at most this long for the local lock\n"
"                          (default: wait forever)\n"
"      --attempts N        tries per request, retries included (default\n"
"                          $AWS_MAX_ATTEMPTS, else 6)\n"
"      --stall-timeout DUR retry a request that moved < 1 KiB/s over DUR\n"
"                          (default 120s)\n"
"      --json              print a JSON summary on stdout\n"
"  -v, --verbose           progress on stderr even when it is not a terminal\n"
"  -h, --help              show this help\n"
"      --version           print the version\n";

enum { O_BUCKET = 256, O_PREFIX, O_AS, O_LOCK, O_JSON, O_VERSION, O_ATTEMPTS, O_STALL };

static void
summary(const char *name, const char *local, const char *url, const struct pull_stats *s)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "name", local);
	jw_kstr(&w, "remote_name", name);
	jw_kstr(&w, "remote", url);
	jw_key(&w, "chunks_total"); jw_uint(&w, s->total);
	jw_key(&w, "downloaded"); jw_uint(&w, s->downloaded);
	jw_key(&w, "reused_local"); jw_uint(&w, s->reused_local);
	jw_key(&w, "resumed"); jw_uint(&w, s->resumed);
	jw_key(&w, "duplicate"); jw_uint(&w, s->duplicate);
	jw_key(&w, "skipped_zero"); jw_uint(&w, s->zero);
	jw_key(&w, "bytes_downloaded"); jw_uint(&w, s->bytes);
	jw_key(&w, "bytes_raw"); jw_uint(&w, s->bytes_raw);
	jw_kbool(&w, "up_to_date", s->up_to_date);
	jw_key(&w, "seconds"); jw_double(&w, s->seconds);
	jw_obj_end(&w);
	if (jw_text(&w))
		printf("%s\n", jw_text(&w));
	jw_free(&w);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lang", required_argument, NULL, 'l' },
		{ "bucket", required_argument, NULL, O_BUCKET },
		{ "prefix", required_argument, NULL, O_PREFIX },
		{ "as", required_argument, NULL, O_AS },
		{ "jobs", required_argument, NULL, 'j' },
		{ "lock-timeout", required_argument, NULL, O_LOCK },
		{ "json", no_argument, NULL, O_JSON },
		{ "attempts", required_argument, NULL, O_ATTEMPTS },
		{ "stall-timeout", required_argument, NULL, O_STALL },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	struct pull_opts po = PULL_OPTS_INIT;
	struct s3_opts so = S3_OPTS_INIT;
	struct pull_stats st;
	struct remote rem;
	struct store s;
	const char *name = NULL, *url = NULL, *bucket = NULL, *prefix = NULL;
	char *u = NULL;
	long long v;
	int c, json = 0;

	prog_init(argv);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:j:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': name = optarg; break;
		case O_BUCKET: bucket = optarg; break;
		case O_PREFIX: prefix = optarg; break;
		case O_AS: po.as = optarg; break;
		case 'j':
			if (parse_long(optarg, 1, 64, &v, "--jobs") < 0)
				usage_die("%s", errmsg());
			po.jobs = (int)v;
			break;
		case O_LOCK:
			if (parse_duration_ms(optarg, &po.lock_timeout_ms, "--lock-timeout") < 0)
				usage_die("%s", errmsg());
			break;
		case O_JSON: json = 1; break;
		case O_ATTEMPTS:
			if (remote_opt_attempts(&so, optarg) < 0)
				usage_die("%s", errmsg());
			break;
		case O_STALL:
			if (remote_opt_stall(&so, optarg) < 0)
				usage_die("%s", errmsg());
			break;
		case 'v': po.verbose = 1; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case O_VERSION: printf("%s (fcsnap) %s\n", progname, FCSNAP_VERSION); return 0;
		case ':': usage_die("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				usage_die("unknown option '-%c'", optopt);
			usage_die("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!name && optind < argc)
		name = argv[optind++];
	if (optind < argc)
		url = argv[optind++];
	if (optind < argc)
		usage_die("unexpected argument '%s'", argv[optind]);
	if (!name)
		usage_die("which snapshot? give NAME (or --lang NAME)");
	if (name_check(name, "snapshot name") < 0 ||
	    (po.as && name_check(po.as, "--as name") < 0))
		usage_die("%s", errmsg());
	if (remote_resolve(url, bucket, prefix, &u) < 0)
		usage_die("%s", errmsg());
	remote_catch_signals();
	if (store_init(&s) < 0 || remote_open(&rem, u, &so) < 0)
		die("%s", errmsg());
	if (pull_snapshot(&rem, &s, name, &po, &st) < 0)
		die("%s", errmsg());
	if (st.up_to_date)
		warnmsg("snapshot %s is up to date with %s (nothing changed since the "
		    "last pull): nothing to do", po.as ? po.as : name, rem.url);
	if (json)
		summary(name, po.as ? po.as : name, rem.url, &st);
	remote_close(&rem);
	free(u);
	if (fflush(stdout) != 0)
		die("writing to stdout failed");
	return 0;
}
