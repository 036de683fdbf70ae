# Shared helpers for the kit's bash scripts (sourced, not run).
# shellcheck shell=bash

kit_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kitjson() { python3 "$kit_root/ci/lib/kitjson.py" "$@"; }

# The meson -Db_sanitize value of a variant.
sanitize_of() {
    case "$1" in
        plain) echo none ;;
        asan) echo address,undefined ;;
        tsan) echo thread ;;
        *) echo "unknown variant '$1' (expected plain, asan or tsan)" >&2; return 2 ;;
    esac
}

# configure DIR VARIANT [meson -D options...]: set up a build directory, or reconfigure it in place so that a
# warm rebuild only recompiles what changed.
configure() {
    local dir=$1 variant=$2 san
    shift 2
    san=$(sanitize_of "$variant")
    if [ -f "$dir/build.ninja" ]; then
        meson configure "$dir" "-Db_sanitize=$san" "$@" >/dev/null
    else
        meson setup "$dir" "$kit_root" "-Db_sanitize=$san" "$@" >/dev/null
    fi
}

# gtest_matches NAME FILTER: does the gtest filter (POS1:POS2-NEG1:NEG2) select the test NAME (Suite.Case)?
gtest_matches() {
    local name=$1 filter=$2 pos neg p hit=0
    pos=${filter%%-*}
    neg=
    [[ $filter == *-* ]] && neg=${filter#*-}
    [ -n "$pos" ] || pos='*'
    local IFS=':'
    for p in $pos; do
        # shellcheck disable=SC2053  # the right side is a glob on purpose
        [[ $name == $p ]] && hit=1
    done
    [ "$hit" = 1 ] || return 1
    for p in $neg; do
        # shellcheck disable=SC2053
        [[ $name == $p ]] && return 1
    done
    return 0
}

# gtest_cases BINARY: every test case of a gtest binary as Suite.Case, one per line.
gtest_cases() {
    local suite='' line
    "$1" --gtest_list_tests | while IFS= read -r line; do
        line=${line%%#*}
        if [[ $line == "  "* ]]; then
            line=${line//[[:space:]]/}
            echo "$suite$line"
        elif [ -n "${line//[[:space:]]/}" ]; then
            suite=${line//[[:space:]]/}
        fi
    done
}
