/* snapls: the snapshots fc-snap-ls lists, local or remote.
 *
 *   struct snapls l;
 *   snapls_local(&l, &store, names, n, load)    the store's (all when n is 0)
 *   snapls_remote(&l, &remote, names, n, load)  those with a manifest under
 *                                               <prefix>/snapshots/
 *   ... l.v[0 .. l.n-1], sorted (all) or in the order asked ...
 *   snapls_free(&l)
 *
 * A NAME asked for that is not there (or not a valid name) gets one line
 * on stderr and sets l.missing; the rest are listed.  With load, each
 * entry's meta.json is read: locally with its files checked (meta_read,
 * meta_check_files: never following a symlink); from a bucket only its
 * data (meta_take_data), read whole up to 1 MiB.  An entry that does not
 * check out has ok 0 and the reason, and is listed, not skipped.  Returns
 * 0, or -1 (message set) when nothing could be listed.
 */
#ifndef FCSNAP_SNAPLS_H
#define FCSNAP_SNAPLS_H

#include "meta.h"
#include "remote.h"
#include "store.h"

struct snapls_ent {
	char *name;
	int ok;                 /* loaded and checked: m is valid */
	struct meta m;
	char reason[512];       /* !ok: why ("damaged: <reason>") */
};

struct snapls {
	struct snapls_ent *v;
	int n;
	int missing;            /* a NAME asked for was not there */
};

int snapls_local(struct snapls *l, const struct store *s, char **names, int nnames,
    int load);
int snapls_remote(struct snapls *l, struct remote *r, char **names, int nnames, int load);
void snapls_free(struct snapls *l);

#endif
