/* fc-snap-push: ship a local snapshot to S3 as deduplicated chunks.
 * See man/fc-snap-push.1 and fcsnap-s3(5); the engine is push.h. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "push.h"
#include "util.h"

static const char usage_text[] =
"usage: fc-snap-push [options] NAME [s3://BUCKET/PREFIX]\n"
"       fc-snap-push [options] -l NAME --bucket BUCKET [--prefix PREFIX]\n"
"Upload the local snapshot NAME to S3 as deduplicated chunks; all-zero\n"
"chunks and chunks the bucket already has are skipped, and the zero 4 KiB\n"
"pages inside chunks are not stored.  The URL defaults to $FCSNAP_REMOTE.\n"
"\n"
"  -l, --lang NAME         the snapshot name (instead of the NAME argument)\n"
"      --bucket BUCKET     the bucket (instead of the URL)\n"
"      --prefix PREFIX     key prefix inside the bucket (with --bucket)\n"
"  -j, --jobs N            parallel uploads (default 8, at most 64)\n"
"      --chunk-size SIZE   chunk size (default 4M; 64K..1G)\n"
"      --attempts N        tries per request, retries included (default\n"
"                          $AWS_MAX_ATTEMPTS, else 6)\n"
"      --stall-timeout DUR retry a request that moved < 1 KiB/s over DUR\n"
"                          (default 120s)\n"
"  -n, --dry-run           compute and report, upload nothing\n"
"      --verify[=MODE]     check the listed chunks it relies on and upload\n"
"                          those that are not right: MODE head (the\n"
"                          default: missing or of the wrong size) or full\n"
"                          (GET and hash each: also corrupted content)\n"
"      --json              print a JSON summary on stdout\n"
"  -v, --verbose           progress on stderr even when it is not a terminal\n"
"  -h, --help              show this help\n"
"      --version           print the version\n";

enum { O_BUCKET = 256, O_PREFIX, O_CHUNK, O_JSON, O_VERIFY, O_VERSION, O_ATTEMPTS, O_STALL };

static struct opts {
	const char *name, *url, *bucket, *prefix;
	int json;
	struct push_opts p;
	struct s3_opts s3;
} o = { .p = PUSH_OPTS_INIT, .s3 = S3_OPTS_INIT };

static struct remote rem;

static void
summary(const struct push_stats *S, double secs)
{
	struct jw w;

	jw_init(&w);
	jw_obj(&w);
	jw_kstr(&w, "name", o.name);
	jw_kstr(&w, "remote", rem.url);
	jw_kbool(&w, "dry_run", o.p.dry_run);
	jw_key(&w, "chunk_size"); jw_uint(&w, S->chunk_size);
	jw_key(&w, "chunks_total"); jw_uint(&w, S->total);
	jw_key(&w, "uploaded"); jw_uint(&w, S->uploaded);
	jw_key(&w, "skipped_zero"); jw_uint(&w, S->zero);
	jw_key(&w, "skipped_present"); jw_uint(&w, S->present);
	jw_key(&w, "skipped_duplicate"); jw_uint(&w, S->dup);
	jw_key(&w, "verified"); jw_uint(&w, S->verified);
	jw_key(&w, "repaired"); jw_uint(&w, S->repaired);
	jw_key(&w, "bytes_uploaded"); jw_uint(&w, S->bytes);
	jw_key(&w, "bytes_raw"); jw_uint(&w, S->raw);
	jw_key(&w, "seconds"); jw_double(&w, secs);
	jw_obj_end(&w);
	if (jw_text(&w))
		printf("%s\n", jw_text(&w));
	jw_free(&w);
}

static void
parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "lang", required_argument, NULL, 'l' },
		{ "bucket", required_argument, NULL, O_BUCKET },
		{ "prefix", required_argument, NULL, O_PREFIX },
		{ "jobs", required_argument, NULL, 'j' },
		{ "chunk-size", required_argument, NULL, O_CHUNK },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "attempts", required_argument, NULL, O_ATTEMPTS },
		{ "stall-timeout", required_argument, NULL, O_STALL },
		{ "verify", optional_argument, NULL, O_VERIFY },
		{ "json", no_argument, NULL, O_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long sz;
	long long v;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":l:j:nvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': o.name = optarg; break;
		case O_BUCKET: o.bucket = optarg; break;
		case O_PREFIX: o.prefix = optarg; break;
		case 'j':
			if (parse_long(optarg, 1, 64, &v, "--jobs") < 0)
				usage_die("%s", errmsg());
			o.p.jobs = (int)v;
			break;
		case O_CHUNK:
			if (parse_size(optarg, &sz, "--chunk-size") < 0)
				usage_die("%s", errmsg());
			o.p.chunk_size = sz;
			if (o.p.chunk_size < MANIFEST_MIN_CHUNK || o.p.chunk_size > MANIFEST_MAX_CHUNK)
				usage_die("bad --chunk-size '%s': use 64K..1G", optarg);
			break;
		case 'n': o.p.dry_run = 1; break;
		case O_ATTEMPTS:
			if (remote_opt_attempts(&o.s3, optarg) < 0)
				usage_die("%s", errmsg());
			break;
		case O_STALL:
			if (remote_opt_stall(&o.s3, optarg) < 0)
				usage_die("%s", errmsg());
			break;
		case O_VERIFY:
			if (!optarg || !strcmp(optarg, "head"))
				o.p.verify = PUSH_VERIFY_HEAD;
			else if (!strcmp(optarg, "full"))
				o.p.verify = PUSH_VERIFY_FULL;
			else
				usage_die("bad --verify mode '%s': use --verify (or "
				    "--verify=head) or --verify=full", optarg);
			break;
		case O_JSON: o.json = 1; break;
		case 'v': o.p.verbose = 1; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case O_VERSION: printf("%s (fcsnap) %s\n", progname, FCSNAP_VERSION); exit(0);
		case ':': usage_die("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt)
				usage_die("unknown option '-%c'", optopt);
			usage_die("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (!o.name && optind < argc)
		o.name = argv[optind++];
	if (!o.url && optind < argc)
		o.url = argv[optind++];
	if (optind < argc)
		usage_die("unexpected argument '%s'", argv[optind]);
	if (!o.name)
		usage_die("which snapshot? give NAME (or --lang NAME)");
	if (name_check(o.name, "snapshot name") < 0)
		usage_die("%s", errmsg());
}


int
main(int argc, char **argv)
{
	struct push_stats S;
	struct store st;
	char *url = NULL;
	int64_t t0 = now_ms();

	prog_init(argv);
	parse_args(argc, argv);
	if (remote_resolve(o.url, o.bucket, o.prefix, &url) < 0)
		usage_die("%s", errmsg());
	remote_catch_signals();
	if (store_init(&st) < 0 || push_open(&st, o.name, &o.p) < 0)
		die("%s", errmsg());
	if (remote_open(&rem, url, &o.s3) < 0)
		die("%s", errmsg());
	if (push_snapshot(&rem, &S) < 0)
		die("%s", errmsg());
	if (o.json)
		summary(&S, (double)(now_ms() - t0) / 1000.0);
	free(url);
	remote_close(&rem);
	if (fflush(stdout) != 0)
		die("writing to stdout failed");
	return 0;
}
