#!/bin/sh
# install.sh: install fcsnap's programs and man pages.  POSIX sh.
# Usage: ./install.sh [--prefix DIR] [--bindir DIR] [--mandir DIR] [--destdir DIR] [--from DIR]
set -eu

prog=install.sh
prefix=${PREFIX:-/usr/local}
bindir=
mandir=
destdir=${DESTDIR:-}
from=build/bin

usage() {
	cat <<USAGE
Usage: $prog [OPTION]...
Install fcsnap's programs and man pages (run 'make' first).

  --prefix DIR   install under DIR (default /usr/local, or \$PREFIX)
  --bindir DIR   programs go here (default PREFIX/bin)
  --mandir DIR   man pages go under here (default PREFIX/share/man)
  --destdir DIR  stage into DIR (for packaging; default \$DESTDIR)
  --from DIR     where the built programs are (default build/bin)
  -h, --help     show this help
USAGE
}

die() { echo "$prog: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case $1 in
	--prefix) [ $# -ge 2 ] || die "--prefix needs a value"; prefix=$2; shift 2 ;;
	--bindir) [ $# -ge 2 ] || die "--bindir needs a value"; bindir=$2; shift 2 ;;
	--mandir) [ $# -ge 2 ] || die "--mandir needs a value"; mandir=$2; shift 2 ;;
	--destdir) [ $# -ge 2 ] || die "--destdir needs a value"; destdir=$2; shift 2 ;;
	--from) [ $# -ge 2 ] || die "--from needs a value"; from=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "$prog: unknown option '$1' (see '$prog --help')" >&2; exit 2 ;;
	esac
done
[ -n "$bindir" ] || bindir=$prefix/bin
[ -n "$mandir" ] || mandir=$prefix/share/man

cd "$(dirname "$0")"
[ -d "$from" ] || die "no built programs in $from: run 'make' first"
set -- "$from"/*
[ -e "$1" ] || die "no built programs in $from: run 'make' first"
for f in man/*.[1-8]; do
	[ -f "$f" ] || die "no man pages in man/"
done

mkdir -p "$destdir$bindir" || die "cannot create $destdir$bindir"
for f in "$from"/*; do
	[ -x "$f" ] || continue
	cp "$f" "$destdir$bindir/.inst.$$" && chmod 755 "$destdir$bindir/.inst.$$" &&
		mv -f "$destdir$bindir/.inst.$$" "$destdir$bindir/$(basename "$f")" ||
		die "cannot install $(basename "$f") into $destdir$bindir"
	echo "installed $destdir$bindir/$(basename "$f")"
done
for f in man/*.[1-8]; do
	sec=${f##*.}
	mkdir -p "$destdir$mandir/man$sec" || die "cannot create $destdir$mandir/man$sec"
	cp "$f" "$destdir$mandir/man$sec/" && chmod 644 "$destdir$mandir/man$sec/$(basename "$f")" ||
		die "cannot install $f"
	echo "installed $destdir$mandir/man$sec/$(basename "$f")"
done
