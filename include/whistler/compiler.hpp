// Compiling Whistler source to BPF ELF objects from C++.
//
//   #include <whistler/compiler.hpp>
//   whistler::CompileResult r = whistler::compile_file("drop.lisp");
//   if (!r) { std::cerr << r.error_text(); return 1; }
//   // r.output holds the ELF object; r.programs names its programs.
//
// Everything here is in namespace whistler::v1 (the ABI version) and visible
// as whistler::. Functions are thread-safe: each call is an independent
// compilation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <whistler/export.hpp>

namespace whistler::v1 {

enum class Severity { Error, Warning, Note };

struct SourceLocation {
  std::string file;  // empty when the message has no location
  unsigned line = 0;  // 0 when the message is about the whole file ("cannot read: ...")
  unsigned column = 0;
};

struct DiagnosticNote {
  SourceLocation location;
  std::string message;
};

// A message about the source: where, what, and how to fix it.
struct Diagnostic {
  Severity severity = Severity::Error;
  SourceLocation location;
  std::string message;
  std::string hint;  // empty when there is none
  std::vector<DiagnosticNote> notes;
  // As whistlerc prints it: "file:line:col: error: message", the source line
  // with a caret under the column, notes and the hint.
  std::string rendered;
};

enum class OutputKind {
  Object,    // BPF ELF object (libbpf, bpftool, ip, xdp-loader load it)
  Assembly,  // BPF assembly text
  LlvmIr,    // LLVM IR text
};

struct CompileOptions {
  int optimization_level = 2;  // 0 to 3
  OutputKind output = OutputKind::Object;
  // Directories searched by (include "FILE"), after the including file's own.
  std::vector<std::string> include_paths;
  // (NAME, VALUE) pairs, like whistlerc -D NAME=VALUE: VALUE is read as a
  // Whistler expression and NAME becomes a defconstant.
  std::vector<std::pair<std::string, std::string>> defines;
  // Count each program's verdicts in a per-CPU array map named
  // "verdict_counts" (u32 action -> u64 packets; slot 7 counts other values).
  bool count_verdicts = false;
};

struct ProgramInfo {
  std::string name;      // Whistler name: "drop-9999"
  std::string elf_name;  // ELF symbol and BPF program name: "drop_9999"
  std::string section;   // ELF section: "xdp", "xdp/drop_9999", "xdp.frags", ...
  std::uint64_t instructions = 0;  // BPF instruction slots (objects only)
  SourceLocation location;
};

struct MapInfo {
  std::string name;      // Whistler name
  std::string elf_name;  // ELF symbol and BPF map name
  std::string type;      // "hash", "array", "ringbuf", ... as in defmap's :type
  std::uint32_t key_size = 0;
  std::uint32_t value_size = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t flags = 0;
};

struct CompileResult {
  std::vector<std::uint8_t> output;     // the ELF object, or assembly / IR text; empty on errors
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in source order
  std::vector<ProgramInfo> programs;
  std::vector<MapInfo> maps;
  std::vector<std::string> files_read;  // the main file first, then included files

  // True when there are no errors (warnings allowed).
  bool ok() const {
    for (const auto& d : diagnostics)
      if (d.severity == Severity::Error) return false;
    return true;
  }
  explicit operator bool() const { return ok(); }
  // Every diagnostic, rendered, concatenated.
  std::string error_text() const {
    std::string text;
    for (const auto& d : diagnostics) text += d.rendered;
    return text;
  }
};

// Compiles a file ("-" reads standard input). A file that cannot be read (a
// missing file, a directory, more than 16 MiB) is an error diagnostic whose
// location names the file with line 0: "x.lisp: error: cannot read: ...".
WHISTLER_API CompileResult compile_file(const std::string& path, const CompileOptions& options = {});
// Compiles source text; `name` is the file name diagnostics show.
WHISTLER_API CompileResult compile_source(std::string_view source, std::string_view name = "<memory>",
                                          const CompileOptions& options = {});

}  // namespace whistler::v1

namespace whistler {
using namespace v1;
}
