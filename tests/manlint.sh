#!/bin/sh
# manlint.sh: every man page lints without a warning (mandoc -Tlint, or
# groff -ww -z), every command has a page, and every long option that
# `dtcl COMMAND --help' prints is documented in dtcl-COMMAND.1.
set -u
srcdir=${DTCL_SRCDIR:-.}
dtcl=${DTCL:-./dtcl}
fail=0
if [ -n "${MANDOC:-}" ]; then
    lint() { "$MANDOC" -Tlint -Wwarning "$1" 2>&1; }
elif [ -n "${GROFF:-}" ]; then
    lint() { "$GROFF" -ww -z -man "$1" 2>&1; }
else
    echo "skip: neither mandoc nor groff is installed"
    exit 77
fi
for page in "$srcdir"/man/*.1; do
    out=$(lint "$page")
    if [ -n "$out" ]; then
        echo "FAIL: $page has lint warnings:"
        echo "$out"
        fail=1
    else
        echo "ok: $page lints clean"
    fi
done
for cmd in $("$dtcl" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p'); do
    page="$srcdir/man/dtcl-$cmd.1"
    if [ ! -f "$page" ]; then
        echo "FAIL: command '$cmd' has no man page ($page)"
        fail=1
        continue
    fi
    text=$(sed 's/\\-/-/g; s/\\f[BIR]//g' "$page")
    for opt in $("$dtcl" "$cmd" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        case "$text" in
        *"$opt"*) ;;
        *) echo "FAIL: $opt of 'dtcl $cmd' is not in $page"; fail=1 ;;
        esac
    done
    echo "ok: every option of 'dtcl $cmd --help' is in its page"
done
exit $fail
