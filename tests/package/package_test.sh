#!/bin/sh
# Installs the build into a temporary prefix, then builds examples/embed (an
# external CMake project: find_package(Whistler), whistler_add_bpf_object,
# Whistler::whistler) and a pkg-config consumer against it, and runs both.
# The example loads the object it embeds into the kernel through the API and
# checks its verdicts with test runs, so this needs root (as the kernel tests).
#   package_test.sh BUILD_DIR SOURCE_DIR [FLAGS]
# FLAGS (one argument) go to the consumers' compile and link commands: a
# -DWHISTLER_SANITIZE build passes its -fsanitize=... flags, since programs
# linking a sanitized libwhistler need the sanitizer runtimes first.
set -eu
build_dir=$1
source_dir=$2
flags=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null

configure() {  # configure SOURCE BUILD: an external project against the installed package
  if [ -n "$flags" ]; then
    cmake -S "$1" -B "$2" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_FLAGS="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS="$flags" -DCMAKE_SHARED_LINKER_FLAGS="$flags" >/dev/null
  else
    cmake -S "$1" -B "$2" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
  fi
}

configure "$source_dir/examples/embed" "$work/embed"
cmake --build "$work/embed" -j2 >/dev/null
# Exits non-zero unless every test-run verdict is the expected one.
out=$("$work/embed/embed_example" 2>&1) || { echo "$out"; echo "embed_example failed"; exit 1; }
echo "$out"
expect() { echo "$out" | grep -qx -- "$1" || { echo "missing output line: $1"; exit 1; }; }
expect "embedded object: [0-9]* bytes"
expect "  drop_port: TCP/9999 -> XDP_DROP"
expect "  drop_port: TCP/80 -> XDP_PASS"
expect "compiled drop-port (section xdp): [0-9]* instructions"
expect "  drop_port: TCP/8080 -> XDP_DROP"
expect "  drop_port: TCP/9999 -> XDP_PASS"
expect "error at bad.lisp:1:25: unknown form 'frob'"
expect "runtime error: object 'drop_port' has no program named 'drop-8080'; its programs: drop_port"
expect "all verdicts as expected"

# Editing a file the .lisp includes rebuilds the object (whistlerc's depfile).
cp -r "$source_dir/examples/embed" "$work/embed-src"
configure "$work/embed-src" "$work/embed2"
cmake --build "$work/embed2" >/dev/null
sleep 1
echo "(defconstant +blocked-port+ 23)" > "$work/embed-src/lib/ports.lisp"
cmake --build "$work/embed2" 2>&1 | grep -q "Compiling drop_port.lisp"

# pkg-config: flags for the library and the compiler's path.
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
whistlerc=$(pkg-config --variable=whistlerc whistler)
test -x "$whistlerc"
grep -q '^prefix=${pcfiledir}/../..$' "$work/prefix/lib/pkgconfig/whistler.pc"
case "$whistlerc" in *//*) echo "double slash in $whistlerc"; exit 1;; esac
cat > "$work/pc.cpp" <<'CPP'
#include <whistler/whistler.hpp>
int main() {
  whistler::Object obj = whistler::Object::load(whistler::compile_source("(defprog p (:type :xdp) XDP_PASS)"));
  return obj.program("p").test_run(std::vector<std::uint8_t>(60)).verdict == whistler::XdpAction::Pass ? 0 : 1;
}
CPP
# shellcheck disable=SC2086
c++ -std=c++20 $flags "$work/pc.cpp" -o "$work/pc" $(pkg-config --cflags --libs whistler) -Wl,-rpath,"$work/prefix/lib"
"$work/pc"
"$whistlerc" --version
echo "package test passed"
