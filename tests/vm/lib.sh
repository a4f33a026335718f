# Helpers for guest scripts (bash); a script gets this file with
#   # vm-files: tests/vm/lib.sh
# and `. /test/lib.sh`.

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# ok CMD...: CMD succeeds.
ok() {
        "$@" || fail "$* exited $?"
}

# expect ERE CMD...: CMD succeeds and a line of its output matches ERE.
expect() {
        local pat=$1 out
        shift
        out=$("$@") || fail "$* exited $?"
        grep -Eq -- "$pat" <<<"$out" || fail "$*: no line matches /$pat/ in:
$out"
        echo "ok: $* ~ /$pat/"
}

# reject ERE CMD...: CMD succeeds and no line of its output matches ERE.
reject() {
        local pat=$1 out
        shift
        out=$("$@") || fail "$* exited $?"
        if grep -Eq -- "$pat" <<<"$out"; then
                fail "$*: a line matches /$pat/ in:
$out"
        fi
        echo "ok: $* !~ /$pat/"
}

# fails CMD...: CMD exits non-zero.
fails() {
        if "$@"; then
                fail "$* succeeded, expected a failure"
        fi
        echo "ok: $* failed as expected"
}
