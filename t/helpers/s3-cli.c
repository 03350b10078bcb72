/* s3-cli: a small S3 client over common/s3.c, for the tests.
 *
 *   s3-cli [options] mb   s3://bucket
 *   s3-cli [options] put  s3://bucket/key FILE [OFFSET LENGTH]
 *   s3-cli [options] get  s3://bucket/key FILE      (prints the sha256)
 *   s3-cli [options] cat  s3://bucket/key           (body on stdout)
 *   s3-cli [options] head s3://bucket/key           (prints the size)
 *   s3-cli [options] ls   s3://bucket/prefix        ("size<TAB>key" lines)
 *   s3-cli [options] rm   s3://bucket/key
 *   s3-cli [options] pput s3://bucket/prefix FILE...   (parallel, -j)
 *   s3-cli [options] pget s3://bucket/prefix DIR NAME... (parallel, -j)
 * options: -j N, --retries N, --max-keys N, --delimiter D, --path-style,
 * --virtual, --unsigned (PUT with UNSIGNED-PAYLOAD), --profile P.
 * Exit: 0 ok, 1 failure (one line on stderr), 2 usage, 3 no such object.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "awsconf.h"
#include "s3obj.h"
#include "s3pool.h"
#include "util.h"

static struct awsconf conf;
static struct s3 cli;
static struct s3_url url;
static int jobs = 4, max_keys, unsigned_put;
static const char *delimiter;

static void
open_client(const char *s3url, const struct s3_opts *o, const char *profile)
{
	if (s3_url_parse(s3url, &url) < 0 || awsconf_load(&conf, profile) < 0 ||
	    s3_open(&cli, &conf, url.bucket, o) < 0)
		die("%s", errmsg());
}

static int
done(int r)
{
	if (r < 0)
		die("%s", errmsg());
	if (r > 0)
		die_status(3, "%s", errmsg());
	return 0;
}

static int
file_hash(int fd, off_t off, off_t len, char hx[SHA256_HEX_LEN + 1])
{
	static char buf[1 << 16];
	struct sha256 c;
	unsigned char d[SHA256_LEN];
	off_t got = 0;
	ssize_t k;

	sha256_init(&c);
	while (got < len) {
		size_t want = sizeof buf;
		if ((off_t)want > len - got)
			want = (size_t)(len - got);
		if ((k = pread(fd, buf, want, off + got)) <= 0)
			return fail("reading the file");
		sha256_update(&c, buf, (size_t)k);
		got += k;
	}
	sha256_final(&c, d);
	sha256_hex(d, hx);
	return 0;
}

static int
cmd_put(char **av, int ac)
{
	char hx[SHA256_HEX_LEN + 1];
	struct stat st;
	long long off = 0, len;
	int fd, r;

	if (ac != 1 && ac != 3)
		usage_die("put s3://bucket/key FILE [OFFSET LENGTH]");
	if ((fd = open(av[0], O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		die("cannot open %s", av[0]);
	len = st.st_size;
	if (ac == 3 && (parse_long(av[1], 0, st.st_size, &off, "offset") < 0 ||
	    parse_long(av[2], 0, st.st_size - off, &len, "length") < 0))
		usage_die("%s", errmsg());
	if (!unsigned_put && file_hash(fd, off, len, hx) < 0)
		die("%s", errmsg());
	r = s3_put_file(&cli, url.prefix, fd, off, len, unsigned_put ? NULL : hx);
	close(fd);
	return done(r);
}

static int
cmd_get(char **av, int ac)
{
	unsigned char d[SHA256_LEN];
	char hx[SHA256_HEX_LEN + 1];
	off_t n;
	int fd, r;

	if (ac != 1)
		usage_die("get s3://bucket/key FILE");
	if ((fd = open(av[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		die("cannot create %s", av[0]);
	r = s3_get_fd(&cli, url.prefix, fd, 0, &n, d);
	if (r == 0 && ftruncate(fd, n) < 0)
		die("truncating %s", av[0]);
	close(fd);
	done(r);
	sha256_hex(d, hx);
	printf("%s\n", hx);
	return 0;
}

static int
cmd_cat(void)
{
	char *buf;
	size_t n;

	done(s3_get_mem(&cli, url.prefix, 0, &buf, &n));
	fwrite(buf, 1, n, stdout);
	free(buf);
	return 0;
}

static int
cmd_head(void)
{
	long long size;

	done(s3_head(&cli, url.prefix, &size));
	printf("%lld\n", size);
	return 0;
}

/* The URL's trailing '/' matters to a listing ("a/" is not "a"). */
static int
cmd_ls(const char *s3url)
{
	struct s3_list l;
	size_t i;
	int r;
	char *prefix = *url.prefix && s3url[strlen(s3url) - 1] == '/' ?
	    s3_key_join(url.prefix, "") : strdup(url.prefix);

	if (!prefix)
		die("%s", errmsg());
	r = s3_list(&cli, prefix, delimiter, max_keys, &l);
	free(prefix);
	if (r < 0)
		die("%s", errmsg());
	for (i = 0; i < l.n; i++)
		printf("%lld\t%s\n", l.objs[i].size, l.objs[i].key);
	for (i = 0; i < l.nprefixes; i++)
		printf("PRE\t%s\n", l.prefixes[i]);
	s3_list_free(&l);
	return 0;
}

static int
cmd_mb(void)
{
	struct s3_req r = S3_REQ_INIT;
	struct s3_result res;
	int k;

	r.method = "PUT";
	k = s3_do(&cli, &r, &res);
	s3_result_free(&res);
	return done(k);
}

/* Parallel: one request per file; all through one pool of -j curls. */
static void
run_pool(struct s3_req *rq, struct s3_result *rs, int n)
{
	struct s3_pool *p = s3_pool_new(&cli, jobs);
	struct s3_req *d;
	int i = 0, bad = 0;

	if (!p)
		die("%s", errmsg());
	while (i < n || s3_pool_running(p)) {
		while (i < n && s3_pool_slots(p) > 0 && !bad) {
			if (s3_pool_start(p, &rq[i], &rs[i]) < 0)
				die("%s", errmsg());
			i++;
		}
		if (bad)
			i = n;
		/* short waits, as a progress display would do */
		if (s3_pool_wait_for(p, &d, 20) < 0)
			die("%s", errmsg());
		if (d && !d->res->ok) {
			warnmsg("%s", d->res->err);
			bad = 1;
		}
	}
	s3_pool_free(p);
	if (bad)
		exit(1);
}

static int
cmd_pput(char **av, int ac)
{
	struct s3_req *rq = calloc((size_t)ac, sizeof *rq);
	struct s3_result *rs = calloc((size_t)ac, sizeof *rs);
	struct stat st;
	int i;

	for (i = 0; i < ac; i++) {
		const char *base = strrchr(av[i], '/') ? strrchr(av[i], '/') + 1 : av[i];
		rq[i] = (struct s3_req)S3_REQ_INIT;
		rq[i].method = "PUT";
		rq[i].key = s3_key_join(url.prefix, base);
		if ((rq[i].body_fd = open(av[i], O_RDONLY | O_CLOEXEC)) < 0 ||
		    fstat(rq[i].body_fd, &st) < 0)
			die("cannot open %s", av[i]);
		rq[i].body_len = st.st_size;
	}
	run_pool(rq, rs, ac);
	for (i = 0; i < ac; i++) {
		close(rq[i].body_fd);
		free((char *)rq[i].key);
		s3_result_free(&rs[i]);
	}
	free(rq);
	free(rs);
	return 0;
}

static int
cmd_pget(char **av, int ac)
{
	struct s3_req *rq;
	struct s3_result *rs;
	char path[4096], hx[SHA256_HEX_LEN + 1];
	int i, n = ac - 1;

	if (ac < 2)
		usage_die("pget s3://bucket/prefix DIR NAME...");
	rq = calloc((size_t)n, sizeof *rq);
	rs = calloc((size_t)n, sizeof *rs);
	for (i = 0; i < n; i++) {
		rq[i] = (struct s3_req)S3_REQ_INIT;
		rq[i].key = s3_key_join(url.prefix, av[i + 1]);
		if (path_join(path, sizeof path, av[0], av[i + 1]) < 0)
			die("%s", errmsg());
		if ((rq[i].out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
			die("cannot create %s", path);
		rq[i].hash_body = 1;
	}
	run_pool(rq, rs, n);
	for (i = 0; i < n; i++) {
		sha256_hex(rs[i].sha256, hx);
		printf("%s  %s\n", hx, av[i + 1]);
		close(rq[i].out_fd);
		free((char *)rq[i].key);
		s3_result_free(&rs[i]);
	}
	free(rq);
	free(rs);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: s3-cli [-j N] [--retries N] [--max-keys N] [--delimiter D] "
	    "[--path-style|--virtual] [--unsigned] [--profile P] "
	    "mb|put|get|cat|head|ls|rm|pput|pget s3://bucket/key [args]\n");
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "retries", 1, NULL, 'r' }, { "max-keys", 1, NULL, 'm' },
		{ "delimiter", 1, NULL, 'd' }, { "path-style", 0, NULL, 'P' },
		{ "virtual", 0, NULL, 'V' }, { "unsigned", 0, NULL, 'u' },
		{ "profile", 1, NULL, 'p' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct s3_opts o = S3_OPTS_INIT;
	const char *profile = NULL, *cmd;
	long long v;
	int c, ac;
	char **av;

	prog_init(argv);
	while ((c = getopt_long(argc, argv, "j:h", lo, NULL)) != -1) {
		switch (c) {
		case 'j': if (parse_long(optarg, 1, 64, &v, "-j") < 0) usage_die("%s", errmsg());
			jobs = (int)v; break;
		case 'r': if (parse_long(optarg, 0, 100, &v, "--retries") < 0) usage_die("%s", errmsg());
			o.retries = (int)v; o.backoff_ms = 50; break;
		case 'm': if (parse_long(optarg, 1, 1000, &v, "--max-keys") < 0) usage_die("%s", errmsg());
			max_keys = (int)v; break;
		case 'd': delimiter = optarg; break;
		case 'P': o.addressing = S3_ADDR_PATH; break;
		case 'V': o.addressing = S3_ADDR_VIRTUAL; break;
		case 'u': unsigned_put = 1; break;
		case 'p': profile = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind < 2)
		usage_die("need a command and an s3:// URL");
	cmd = argv[optind];
	open_client(argv[optind + 1], &o, profile);
	av = argv + optind + 2;
	ac = argc - optind - 2;
	if (!strcmp(cmd, "put"))
		cmd_put(av, ac);
	else if (!strcmp(cmd, "get"))
		cmd_get(av, ac);
	else if (!strcmp(cmd, "cat"))
		cmd_cat();
	else if (!strcmp(cmd, "head"))
		cmd_head();
	else if (!strcmp(cmd, "ls"))
		cmd_ls(argv[optind + 1]);
	else if (!strcmp(cmd, "rm"))
		done(s3_delete(&cli, url.prefix));
	else if (!strcmp(cmd, "mb"))
		cmd_mb();
	else if (!strcmp(cmd, "pput"))
		cmd_pput(av, ac);
	else if (!strcmp(cmd, "pget"))
		cmd_pget(av, ac);
	else
		usage_die("unknown command '%s'", cmd);
	s3_close(&cli);
	awsconf_free(&conf);
	s3_url_free(&url);
	return 0;
}
