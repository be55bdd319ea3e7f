#!/bin/sh
# Installs the build into a temporary prefix, then builds examples/embed (an
# external CMake project: find_package(Whistler), whistler_add_bpf_object,
# Whistler::whistler) and a pkg-config consumer against it, and runs both.
#   package_test.sh BUILD_DIR SOURCE_DIR
set -eu
build_dir=$1
source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null

cmake -S "$source_dir/examples/embed" -B "$work/embed" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/embed" -j2 >/dev/null
out=$("$work/embed/embed_example")
echo "$out"
echo "$out" | grep -q "embedded object: [0-9]* bytes, ELF"
echo "$out" | grep -q "compiled drop-port (section xdp)"
echo "$out" | grep -q "error at bad.lisp:1:25: unknown form 'frob'"

# Editing a file the .lisp includes rebuilds the object (whistlerc's depfile).
cp -r "$source_dir/examples/embed" "$work/embed-src"
cmake -S "$work/embed-src" -B "$work/embed2" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/embed2" >/dev/null
sleep 1
echo "(defconstant +blocked-port+ 23)" > "$work/embed-src/lib/ports.lisp"
cmake --build "$work/embed2" 2>&1 | grep -q "Compiling drop_port.lisp"

# pkg-config: flags for the library and the compiler's path.
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
whistlerc=$(pkg-config --variable=whistlerc whistler)
test -x "$whistlerc"
cat > "$work/pc.cpp" <<'CPP'
#include <whistler/compiler.hpp>
int main() { return whistler::compile_source("(defprog p (:type :xdp) XDP_PASS)").ok() ? 0 : 1; }
CPP
c++ -std=c++20 "$work/pc.cpp" -o "$work/pc" $(pkg-config --cflags --libs whistler) -Wl,-rpath,"$work/prefix/lib"
"$work/pc"
"$whistlerc" --version
echo "package test passed"
