/* Unit tests for common/store.c: paths, prepare, locks, temp dirs,
 * publish, remove, list. */
#include "tap.h"
#include "store.h"
#include "util.h"

#define PB (PATH_MAX + 128)

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char base[64];

static void
put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror(path);
		close(fd);
	}
}

static int
has_text(const char *path, const char *text)
{
	char *s = read_file(path, 4096, NULL);
	int r = s && !strcmp(s, text);

	free(s);
	return r;
}

static int
exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

static int
count_tmp(const struct store *s)
{
	char d[PB];
	DIR *dd;
	struct dirent *e;
	int n = 0;

	store_sub(s, "snapshots", d, sizeof d);
	dd = opendir(d);
	if (!dd)
		return -1;
	while ((e = readdir(dd)))
		if (!strncmp(e->d_name, ".tmp", 4))
			n++;
	closedir(dd);
	return n;
}

static void
test_init(void)
{
	struct store s;
	char want[PB], cwd[PATH_MAX];

	setenv("FCSNAP_DIR", "rel/store", 1);
	ok(store_init(&s) == 0, "store_init with a relative FCSNAP_DIR");
	ok(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
	snprintf(want, sizeof want, "%s/rel/store", cwd);
	is_str(s.root, want, "a relative FCSNAP_DIR is made absolute");
	setenv("FCSNAP_DIR", "/x/y", 1);
	store_init(&s);
	is_str(s.root, "/x/y", "FCSNAP_DIR is the root");
	unsetenv("FCSNAP_DIR");
	if (geteuid() == 0) {
		store_init(&s);
		is_str(s.root, "/var/lib/fcsnap", "root's default store");
	} else {
		setenv("XDG_STATE_HOME", "/st", 1);
		store_init(&s);
		is_str(s.root, "/st/fcsnap", "XDG_STATE_HOME/fcsnap for users");
	}
}

static void
test_prepare(void)
{
	struct store s;
	char p[PB];

	snprintf(s.root, sizeof s.root, "%s/file", base);
	put(s.root, "x");
	ok(store_prepare(&s) < 0, "prepare fails when the root is a file");
	ok(strstr(errmsg(), s.root) && strstr(errmsg(), "FCSNAP_DIR"),
	    "the message names the dir and FCSNAP_DIR: %s", errmsg());
	snprintf(s.root, sizeof s.root, "%s/file/sub", base);
	ok(store_prepare(&s) < 0, "prepare fails below a file: %s", errmsg());

	snprintf(s.root, sizeof s.root, "%s/s", base);
	ok(store_prepare(&s) == 0, "prepare creates a fresh store");
	snprintf(p, sizeof p, "%s/s/snapshots", base);
	ok(exists(p), "snapshots/ exists");
	snprintf(p, sizeof p, "%s/s/locks", base);
	ok(exists(p), "locks/ exists");
	snprintf(p, sizeof p, "%s/s/run", base);
	ok(exists(p), "run/ exists");
	ok(store_prepare(&s) == 0, "prepare again is fine");
}

static void
test_names(struct store *s)
{
	char p[PB], want[PB];

	ok(store_snap_dir(s, "../x", p, sizeof p) < 0, "'../x' is refused");
	ok(strstr(errmsg(), "snapshot name") != NULL, "message says snapshot name: %s", errmsg());
	ok(store_snap_dir(s, "A", p, sizeof p) < 0, "upper case is refused");
	ok(store_snap_dir(s, "", p, sizeof p) < 0, "empty is refused");
	ok(store_snap_file(s, "py3.12", "mem", p, sizeof p) == 0, "snap_file");
	snprintf(want, sizeof want, "%s/snapshots/py3.12/mem", s->root);
	is_str(p, want, "snap_file path");
	ok(store_lock(s, "a/b", 0) < 0, "lock refuses a bad name");
	ok(store_open_snap(s, "nope") < 0 && strstr(errmsg(), "no snapshot named nope"),
	    "open_snap of a missing one: %s", errmsg());
}

static void
test_locks(struct store *s)
{
	int a, b;
	int64_t t0;

	a = store_lock(s, "lk", 0);
	ok(a >= 0, "first lock");
	b = store_lock(s, "lk", 0);
	ok(b < 0, "second lock fails at once");
	ok(strstr(errmsg(), "snapshot lk is locked") != NULL, "message: %s", errmsg());
	t0 = now_ms();
	b = store_lock_timeout(s, "lk", 200);
	ok(b < 0 && now_ms() - t0 >= 190, "a timed lock waits, then fails");
	ok(strstr(errmsg(), "still locked") != NULL, "message: %s", errmsg());
	b = store_lock(s, "other", 0);
	ok(b >= 0, "another name is independent");
	store_unlock(b);
	store_unlock(a);
	a = store_lock_timeout(s, "lk", 200);
	ok(a >= 0, "lock again after unlock");
	ok(fcntl(a, F_GETFD) & FD_CLOEXEC, "lock fd is close-on-exec");
	store_unlock(a);
}

static void
make_snap(const char *dir, const char *gen)
{
	char p[PB];

	snprintf(p, sizeof p, "%s/vmstate", dir);
	put(p, gen);
	snprintf(p, sizeof p, "%s/mem", dir);
	put(p, gen);
}

static void
test_publish(struct store *s)
{
	char tmp[PB], p[PB], stale[PB], other[PB];
	char **names;
	int n, lk;

	lk = store_lock(s, "pub", 0);
	ok(store_tmp_dir(s, "pub", tmp, sizeof tmp) == 0, "tmp dir");
	ok(strstr(tmp, "/snapshots/.tmp-pub-") != NULL, "tmp dir beside the target: %s", tmp);
	make_snap(tmp, "one");
	ok(store_publish(s, "pub", tmp) == 0, "publish new: %s", errmsg());
	ok(!exists(tmp), "tmp is gone");
	store_snap_file(s, "pub", "mem", p, sizeof p);
	ok(has_text(p, "one"), "published content");
	ok(store_has(s, "pub") == 1, "store_has");

	store_tmp_dir(s, "pub", tmp, sizeof tmp);
	make_snap(tmp, "two");
	ok(store_publish(s, "pub", tmp) == 0, "publish over an old one: %s", errmsg());
	ok(has_text(p, "two"), "the new content replaced the old");
	is_int(count_tmp(s), 0, "no temp dirs left after a replace");

	/* stale temp dirs from a killed writer: only this name's are removed */
	snprintf(stale, sizeof stale, "%s/snapshots/.tmp-pub-AbC123", s->root);
	mkdir(stale, 0700);
	snprintf(other, sizeof other, "%s/snapshots/.tmp-pub-x-AbC123", s->root);
	mkdir(other, 0700);
	ok(store_tmp_dir(s, "pub", tmp, sizeof tmp) == 0, "tmp dir again");
	ok(!exists(stale), "the stale temp dir of this name was removed");
	ok(exists(other), "the temp dir of name pub-x was kept");
	rm_rf(tmp);
	rm_rf(other);
	store_unlock(lk);

	n = store_list(s, &names);
	is_int(n, 1, "list has one snapshot");
	if (n == 1)
		is_str(names[0], "pub", "its name");
	store_free_names(names, n);

	ok(store_remove(s, "pub") == 0, "remove");
	ok(store_has(s, "pub") == 0, "removed");
	is_int(count_tmp(s), 0, "no temp dirs left after remove");
	ok(store_remove(s, "pub") < 0 && strstr(errmsg(), "no snapshot named pub"),
	    "removing a missing one fails: %s", errmsg());
}

static void
test_list(struct store *s)
{
	const char *mk[] = { "zeta", "alpha", "m1" };
	char p[PB], **names;
	size_t i;
	int n;

	for (i = 0; i < ARRAY_LEN(mk); i++) {
		store_snap_dir(s, mk[i], p, sizeof p);
		mkdir(p, 0755);
	}
	snprintf(p, sizeof p, "%s/snapshots/.tmp-x-aaaaaa", s->root);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/snapshots/afile", s->root);
	put(p, "x");
	snprintf(p, sizeof p, "%s/snapshots/Bad", s->root);
	mkdir(p, 0755);
	n = store_list(s, &names);
	is_int(n, 3, "list skips temp dirs, files and bad names");
	if (n == 3) {
		is_str(names[0], "alpha", "sorted 1");
		is_str(names[1], "m1", "sorted 2");
		is_str(names[2], "zeta", "sorted 3");
	}
	store_free_names(names, n);

	struct store none;
	snprintf(none.root, sizeof none.root, "%s/none", base);
	n = store_list(&none, &names);
	is_int(n, 0, "a missing store lists nothing");
	ok(!exists(none.root), "listing does not create the store");
}

int
main(void)
{
	struct store s;

	snprintf(base, sizeof base, "/tmp/fcu-store.XXXXXX");
	if (!mkdtemp(base))
		return 1;
	test_init();
	test_prepare();
	snprintf(s.root, sizeof s.root, "%s/s", base);
	test_names(&s);
	test_locks(&s);
	test_publish(&s);
	test_list(&s);
	rm_rf(base);
	return done_testing();
}
