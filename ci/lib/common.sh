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

# The clang tools are pinned to one major version, so the format and tidy checks give the same verdict on
# Debian 12, Debian 13 and Ubuntu 24.04 (all three ship it; versions format and check differently).
# ci/install-deps installs clang-format-19 and clang-tidy-19.
llvm_pin=19
# shellcheck disable=SC2034  # read by the scripts that source this file
clang_format="clang-format-$llvm_pin" clang_tidy="clang-tidy-$llvm_pin"

# use_pinned_llvm: put build/pinned-bin first on PATH, where clang-tidy and clang-format are the pinned
# versions, so that tools which look for plain "clang-tidy" (kit-grade) run the pinned one too.
use_pinned_llvm() {
    local bin=$kit_root/build/pinned-bin tool
    mkdir -p "$bin"
    for tool in clang-tidy clang-format; do
        if command -v "$tool-$llvm_pin" >/dev/null 2>&1; then
            ln -sfn "$(command -v "$tool-$llvm_pin")" "$bin/$tool"
        fi
    done
    PATH=$bin:$PATH
    export PATH
}

# lessons_of BUILDDIR: every lesson declared in lessons/meson.build, as the configured BUILDDIR's Meson
# wrote them (kit/lessons.json).
lessons_of() {
    kitjson lessons "$1/kit/lessons.json"
}
