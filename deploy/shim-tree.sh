#!/bin/sh
# shim-tree.sh GLIBC_SO MUSL_SO DIR - lay out both builds of libtokenring.so
# so that one LD_PRELOAD value picks the right one in every container:
#
#   LD_PRELOAD='DIR/$LIB/libtokenring.so'      (literally "$LIB")
#
# glibc's loader replaces $LIB in LD_PRELOAD with its library directory
# name (lib/x86_64-linux-gnu on Debian and Ubuntu, lib64 on RHEL, Amazon
# Linux and SUSE, lib on Arch and NixOS): each of those is a link to the
# glibc build. musl's loader expands nothing: it opens the directory named
# "$LIB" itself, which holds the musl build. A glibc whose $LIB is none of
# these prints one "cannot be preloaded ... ignored" line and runs without
# the shim; every build also steps aside by itself in the other C
# library's process (docs/containers.md).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 GLIBC_SO MUSL_SO DIR" >&2; exit 2; }
glibc=$1 musl=$2 dir=$3
for f in "$glibc" "$musl"; do
  [ -f "$f" ] || { echo "shim-tree.sh: $f: no such file" >&2; exit 1; }
done
install -D -m 0644 "$glibc" "$dir/glibc/libtokenring.so"
install -D -m 0644 "$musl" "$dir/musl/libtokenring.so"
mkdir -p "$dir/\$LIB"
ln -sfn ../musl/libtokenring.so "$dir/\$LIB/libtokenring.so"
for lib in lib64 lib; do
  mkdir -p "$dir/$lib"
  ln -sfn ../glibc/libtokenring.so "$dir/$lib/libtokenring.so"
done
for triplet in x86_64-linux-gnu aarch64-linux-gnu; do
  mkdir -p "$dir/lib/$triplet"
  ln -sfn ../../glibc/libtokenring.so "$dir/lib/$triplet/libtokenring.so"
done
