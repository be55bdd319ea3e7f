// The public compile API (include/whistler/compiler.hpp) over Compilation.
//
// The internal headers come first: the public ones make whistler::v1 visible
// in namespace whistler, which would make the internal headers' unqualified
// names (Diagnostic, Severity) ambiguous. Below, whistler::X is the internal
// type and an unqualified X the public one.
#include "compilation.hpp"

#include <whistler/compiler.hpp>
#include <whistler/version.hpp>

#include <algorithm>
#include <exception>
#include <new>
#include <tuple>

namespace whistler::v1 {

namespace {

SourceLocation location(const whistler::Diagnostics& diags, whistler::SourceLoc loc) {
  if (loc.file == 0) return {};
  if (!loc.valid()) return SourceLocation{diags.sources().file(loc.file).path(), 0, 0};  // the whole file
  return SourceLocation{diags.sources().file(loc.file).path(), loc.line, loc.col};
}

const char* map_type_name(whistler::MapKind kind) {
  switch (kind) {
    case whistler::MapKind::Hash: return "hash";
    case whistler::MapKind::Array: return "array";
    case whistler::MapKind::ProgArray: return "prog-array";
    case whistler::MapKind::PerfEventArray: return "perf-event-array";
    case whistler::MapKind::PercpuHash: return "percpu-hash";
    case whistler::MapKind::PercpuArray: return "percpu-array";
    case whistler::MapKind::LruHash: return "lru-hash";
    case whistler::MapKind::LruPercpuHash: return "lru-percpu-hash";
    case whistler::MapKind::LpmTrie: return "lpm-trie";
    case whistler::MapKind::Devmap: return "devmap";
    case whistler::MapKind::Cpumap: return "cpumap";
    case whistler::MapKind::Xskmap: return "xskmap";
    case whistler::MapKind::DevmapHash: return "devmap-hash";
    case whistler::MapKind::Ringbuf: return "ringbuf";
  }
  return "?";
}

CompileResult finish(whistler::Compilation& c, const CompileOptions& options) {
  whistler::EmitKind kind = options.output == OutputKind::Object     ? whistler::EmitKind::Object
                            : options.output == OutputKind::Assembly ? whistler::EmitKind::Assembly
                                                                     : whistler::EmitKind::LLVM;
  whistler::CompileOutput out = c.generate(kind);
  CompileResult result;
  const whistler::Diagnostics& diags = c.diags();
  std::vector<const whistler::Diagnostic*> sorted;
  for (const auto& d : diags.all()) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    return std::tie(a->loc.file, a->loc.line, a->loc.col) < std::tie(b->loc.file, b->loc.line, b->loc.col);
  });
  for (const auto* d : sorted) {
    Diagnostic pd;
    pd.severity = d->severity == whistler::Severity::Error     ? Severity::Error
                  : d->severity == whistler::Severity::Warning ? Severity::Warning
                                                               : Severity::Note;
    pd.location = location(diags, d->loc);
    pd.message = d->message;
    pd.hint = d->hint;
    for (const auto& n : d->notes) pd.notes.push_back({location(diags, n.loc), n.message});
    pd.rendered = diags.render(*d);
    result.diagnostics.push_back(std::move(pd));
  }
  if (out.ok) result.output.assign(out.bytes.begin(), out.bytes.end());
  for (const auto& p : out.programs)
    result.programs.push_back({p.name, p.elf_name, p.section, p.instructions, location(diags, p.loc)});
  for (const auto& m : c.module().maps)
    result.maps.push_back({m.name->name, m.elf_name, map_type_name(m.kind), m.key_size, m.value_size, m.max_entries, m.map_flags});
  result.files_read = c.files_read();
  if (!out.ok && result.ok()) {
    // Should not happen: every failure reports an error. Make sure callers see one.
    Diagnostic failure;
    failure.message = "compilation failed";
    failure.rendered = "error: compilation failed\n";
    result.diagnostics.push_back(std::move(failure));
  }
  return result;
}

whistler::CompileOptions internal_options(const CompileOptions& options) {
  whistler::CompileOptions o;
  o.opt_level = std::clamp(options.optimization_level, 0, 3);
  o.include_dirs = options.include_paths;
  o.defines = options.defines;
  o.count_verdicts = options.count_verdicts;
  return o;
}

}  // namespace

const char* version() { return WHISTLER_VERSION_STRING; }

namespace {

// Every failure is a diagnostic; an exception that escapes the compiler (a
// bug, or memory exhausted) becomes one too rather than reaching the caller.
template <class F>
CompileResult guarded(F&& compile) {
  std::string what;
  try {
    return compile();
  } catch (const std::bad_alloc&) {
    what = "out of memory";
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "an unexpected exception";
  }
  CompileResult result;
  Diagnostic d;
  d.message = "internal error: " + what;
  d.rendered = "error: " + d.message + "\n";
  result.diagnostics.push_back(std::move(d));
  return result;
}

}  // namespace

CompileResult compile_file(const std::string& path, const CompileOptions& options) {
  return guarded([&] {
    whistler::Compilation c(internal_options(options));
    c.add_file(path);
    return finish(c, options);
  });
}

CompileResult compile_source(std::string_view source, std::string_view name, const CompileOptions& options) {
  return guarded([&] {
    whistler::Compilation c(internal_options(options));
    c.add_source(std::string(name), std::string(source));
    return finish(c, options);
  });
}

}  // namespace whistler::v1
