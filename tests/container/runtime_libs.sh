#!/usr/bin/env bash
# Checks that the Containerfile's runtime stage installs every shared library the built programs
# load: each library `ldd` resolves for them must belong to a Debian package that the stage's
# `apt-get install` names, or that those packages depend on (recursively), or an essential one.
# Usage: tests/container/runtime_libs.sh CONTAINERFILE PROGRAM...
set -euo pipefail
containerfile=$1; shift
for program in "$@"; do
  [ -x "$program" ] || { echo "$program: not a built program" >&2; exit 1; }
done

# The runtime stage is the last FROM; its packages are the words after `apt-get install` up to
# the end of that command, options dropped.
listed=$(awk '/^FROM /{stage=""} {stage=stage $0 "\n"} END{printf "%s", stage}' "$containerfile" |
  sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep -m1 'apt-get install' |
  sed -e 's/.*apt-get install//' -e 's/&&.*//' | tr ' ' '\n' | grep -v '^-' | grep -v '^$' || true)
[ -n "$listed" ] || { echo "no apt-get install in the runtime stage of $containerfile" >&2; exit 1; }

closure=$( {
  # shellcheck disable=SC2086
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances $listed | grep -v '^ ' | grep -v '^<'
  dpkg-query -W -f='${Package} ${Essential}\n' | awk '$2=="yes"{print $1}'
} | sed 's/:.*//' | sort -u)

# Which package holds each library: one dpkg query for all of them, asked under every merged-/usr
# alias of each path (dpkg knows a file under the name its package shipped it with).
libraries=$(for program in "$@"; do ldd "$program"; done | awk '$2=="=>" && $3 ~ /^\// {print $1, $3}' |
  sort -u)
aliases() { local p=$1 r; r=$(readlink -f "$p"); printf '%s\n' "$p" "${p#/usr}" "$r" "${r#/usr}"; }
owners=$(while read -r _ path; do aliases "$path"; done <<<"$libraries" | sort -u |
  xargs dpkg -S 2>/dev/null | sed 's/:[a-z0-9_]*: /: /; s/: / /' || true)
owner() {
  local candidate
  for candidate in $(aliases "$1"); do
    awk -v f="$candidate" '$2==f {print $1; found=1; exit} END {exit !found}' <<<"$owners" && return 0
  done
  return 1
}

failed=0
for program in "$@"; do
  if ldd "$program" | grep -q 'not found'; then
    echo "$program: libraries not found on this machine:" >&2
    ldd "$program" | grep 'not found' >&2
    failed=1
  fi
done
while read -r soname path; do
  package=$(owner "$path") || { echo "$soname ($path): no Debian package owns it" >&2; failed=1; continue; }
  if ! grep -qx "$package" <<<"$closure"; then
    echo "the programs need $soname from the package $package, which the runtime stage of" \
         "$containerfile does not install" >&2
    failed=1
  fi
done <<<"$libraries"
((failed == 0)) && echo "runtime stage holds every library of: $*"
exit "$failed"
