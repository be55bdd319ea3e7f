// The whole public API of libwhistler: compile Whistler source to BPF
// objects (compiler.hpp), load and use them (runtime.hpp), and the version
// (version.hpp).
//
//   #include <whistler/whistler.hpp>
//
//   whistler::CompileResult compiled = whistler::compile_file("drop.lisp");
//   if (!compiled) { std::cerr << compiled.error_text(); return 1; }
//   whistler::Object object = whistler::Object::load(compiled);
//   whistler::TestRunResult r = object.program("drop-9999").test_run(frame);
//
// Link with Whistler::whistler (CMake: find_package(Whistler)) or
// `pkg-config --libs whistler`. Everything is in namespace whistler::v1, the
// ABI version, and visible as whistler::. The library's soname changes with
// the major version; minor versions only add to the API.
#pragma once

#include <whistler/compiler.hpp>
#include <whistler/runtime.hpp>
#include <whistler/version.hpp>
