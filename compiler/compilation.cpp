#include "compilation.hpp"

#include <fmt/format.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/Support/raw_ostream.h>

#include <unistd.h>

#include <filesystem>
#include <sstream>

#include "file_io.hpp"
#include "large_stack.hpp"
#include "lowering.hpp"
#include "object_emitter.hpp"
#include "pass_diagnostic.hpp"
#include "reader.hpp"
#include "stdlib_sources.hpp"

#ifndef WHISTLER_VERSION
#define WHISTLER_VERSION "0.0.0"
#endif

namespace whistler {

namespace fs = std::filesystem;

namespace {
std::string lower_name(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

ObjectEmitter& object_emitter() {
  static ObjectEmitter* emitter = new ObjectEmitter();  // lives for the process
  return *emitter;
}

Compilation::Compilation(CompileOptions options) : options_(std::move(options)), diags_(sources_) {
  interp_ = std::make_unique<Interpreter>(heap_, diags_, module_);
  expander_ = std::make_unique<Expander>(heap_, diags_, module_, *interp_);
  load_stdlib();
}

Compilation::~Compilation() = default;

void Compilation::load_stdlib() {
  for (const auto& file : stdlib_files()) {
    uint32_t id = sources_.add(std::string("<stdlib>/") + file.name, file.text, /*system=*/true);
    process(id);
  }
}

void Compilation::apply_defines() {
  if (defines_applied_) return;
  defines_applied_ = true;
  for (const auto& [name, value] : options_.defines) {
    uint32_t id = sources_.add(fmt::format("<-D {}>", name), value.empty() ? "1" : value);
    Reader reader(heap_, diags_, id);
    Value* form = reader.read();
    if (!form) {
      diags_.error(SourceLoc{id, 1, 1}, fmt::format("-D {}: no value", name));
      continue;
    }
    Value* def = heap_.list({heap_.symbol("defconstant", form->loc), heap_.symbol(intern(lower_name(name)), form->loc), form}, form->loc);
    expander_->top_level(def);
  }
}

std::optional<std::string> Compilation::read_file(const std::string& path) {
  bool from_stdin = path == "-";
  FileContents file = from_stdin ? read_fd(STDIN_FILENO, kMaxSourceBytes) : whistler::read_file(path, kMaxSourceBytes);
  if (file.ok()) return std::move(file.bytes);
  // Located at the file as a whole: "x.lisp: error: cannot read: Is a directory".
  uint32_t id = sources_.add(from_stdin ? "<stdin>" : path, "");
  diags_.error(SourceLoc{id, 0, 0}, "cannot read: " + file.reason);
  return std::nullopt;
}

bool Compilation::add_file(const std::string& path) {
  std::optional<std::string> text = read_file(path);
  if (!text) return false;
  return add_source(path == "-" ? "<stdin>" : path, std::move(*text));
}

bool Compilation::add_source(const std::string& name, std::string text) {
  apply_defines();
  size_t errors_before = diags_.error_count();
  uint32_t id = sources_.add(name, std::move(text));
  if (!main_file_) main_file_ = id;
  files_read_.push_back(name);
  run_with_large_stack([&] { process(id); });
  return diags_.error_count() == errors_before;
}

void Compilation::process(uint32_t file) {
  for (Value* form : read_source(heap_, diags_, file)) {
    if (is_form(form, WSYM("include"))) {
      Value* target = nth(form, 1);
      if (!target || target->tag != Tag::Str || list_length(form) != 2) {
        diags_.error(form->loc, "(include \"FILE\") takes one file name");
        continue;
      }
      fs::path here = fs::path(sources_.file(file).path()).parent_path();
      std::vector<fs::path> candidates{here / *target->str};
      for (const auto& dir : options_.include_dirs) candidates.push_back(fs::path(dir) / *target->str);
      std::string found;
      for (const auto& c : candidates) {
        std::error_code ec;
        if (fs::is_regular_file(c, ec)) {
          found = c.lexically_normal().string();
          break;
        }
      }
      if (found.empty()) {
        std::string searched;
        for (const auto& c : candidates) searched += (searched.empty() ? "" : ", ") + c.parent_path().string();
        diags_.error(target->loc, fmt::format("cannot find include file \"{}\"", *target->str))
            .with_hint(fmt::format("searched {}; add directories with -I", searched.empty() ? "." : searched));
        continue;
      }
      bool seen = false;
      for (const auto& f : files_read_)
        if (fs::weakly_canonical(f) == fs::weakly_canonical(found)) seen = true;
      if (seen) continue;  // each file is included once
      FileContents text = whistler::read_file(found, kMaxSourceBytes);
      if (!text.ok()) {
        diags_.error(target->loc, fmt::format("cannot read include file \"{}\" ({}): {}", *target->str, found, text.reason));
        continue;
      }
      uint32_t id = sources_.add(found, std::move(text.bytes));
      files_read_.push_back(found);
      process(id);
      continue;
    }
    expander_->top_level(form);
  }
}

namespace {

struct DiagnosticContext {
  Diagnostics* diags;
  SourceLoc fallback;
};

SourceLoc find_location(const SourceManager& sources, llvm::StringRef file, unsigned line, unsigned col) {
  for (uint32_t id = 1; id < sources.size(); ++id) {
    const std::string& path = sources.file(id).path();
    if (path == file || fs::path(path).filename() == fs::path(file.str()).filename()) return SourceLoc{id, line, col};
  }
  return {};
}

void on_llvm_diagnostic(const llvm::DiagnosticInfo* diagnostic, void* context) {
  const llvm::DiagnosticInfo& info = *diagnostic;
  auto* dc = static_cast<DiagnosticContext*>(context);
  if (info.getSeverity() != llvm::DS_Error && info.getSeverity() != llvm::DS_Warning) return;
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::DiagnosticPrinterRawOStream printer(os);
  info.print(printer);
  os.flush();
  SourceLoc loc = dc->fallback;
  if (const auto* own = llvm::dyn_cast<PassDiagnostic>(&info)) {
    if (own->isLocationAvailable()) {
      unsigned line = 0, col = 0;
      llvm::StringRef file;
      own->getLocation(file, line, col);
      if (SourceLoc l = find_location(dc->diags->sources(), file, line, col); l.valid()) loc = l;
    }
    if (info.getSeverity() == llvm::DS_Error) dc->diags->error(loc, own->message()).hint = own->hint();
    else dc->diags->warning(loc, own->message()).hint = own->hint();
    return;
  }
  if (info.getKind() == llvm::DK_Unsupported) {
    const auto& located = static_cast<const llvm::DiagnosticInfoUnsupported&>(info);
    if (located.isLocationAvailable()) {
      llvm::StringRef file;
      unsigned line = 0, col = 0;
      located.getLocation(file, line, col);
      SourceLoc l = find_location(dc->diags->sources(), file, line, col);
      if (l.valid()) loc = l;
    }
  }
  std::string hint;
  if (text.find("stack limit") != std::string::npos) {
    text = "the program needs more than the 512 bytes of stack BPF allows";
    hint = "keep large structs in a per-CPU array map instead of the stack";
  }
  if (info.getSeverity() == llvm::DS_Error) dc->diags->error(loc, "code generation failed: " + text).hint = hint;
  else dc->diags->warning(loc, text).hint = hint;
}

}  // namespace

void Compilation::add_verdict_map() {
  const Symbol* name = intern("verdict-counts");
  for (const auto& m : module_.maps)
    if (m.elf_name == "verdict_counts") {
      if (m.name != name || m.kind != MapKind::PercpuArray)
        diags_.error(m.loc, "the map name verdict-counts is reserved for the verdict counters (whistler run)")
            .with_hint("rename this map");
      return;
    }
  MapDef m;
  m.name = name;
  m.elf_name = "verdict_counts";
  m.kind = MapKind::PercpuArray;
  m.key_size = 4;
  m.value_size = 8;
  m.max_entries = 8;
  m.key_type = Type::integer(32);
  m.value_type = Type::integer(64);
  m.loc = module_.programs.empty() ? SourceLoc{} : module_.programs.front().loc;
  module_.maps.push_back(m);
}

CompileOutput Compilation::generate(EmitKind kind) {
  CompileOutput out;
  run_with_large_stack([&] { out = generate_here(kind); });
  return out;
}

CompileOutput Compilation::generate_here(EmitKind kind) {
  CompileOutput out;
  ObjectEmitter& emitter = object_emitter();
  llvm::LLVMContext ctx;
  DiagnosticContext dc{&diags_, module_.programs.empty() ? SourceLoc{} : module_.programs.front().loc};
  ctx.setDiagnosticHandlerCallBack(on_llvm_diagnostic, &dc);
  if (options_.count_verdicts) add_verdict_map();
  LoweringOptions lowering;
  lowering.producer = std::string("whistler ") + WHISTLER_VERSION;
  lowering.optimized = options_.opt_level > 0;
  lowering.short_packet_override = options_.short_packet_override;
  // Lowering runs even after earlier errors, to report the errors it finds
  // too; nothing is emitted unless the whole run is clean.
  auto module = lower_module(ctx, module_, diags_, emitter.data_layout(), emitter.triple(), main_file_, lowering);
  if (!module || diags_.has_errors()) return out;
  emitter.optimize(*module, options_.opt_level, &out.bounds, options_.count_verdicts);
  if (diags_.has_errors()) return out;  // the bounds passes refused an access
  std::string error;
  if (!emitter.emit(*module, kind, out.bytes, error)) {
    diags_.error({}, error);
    return out;
  }
  if (diags_.has_errors()) return out;
  std::map<std::string, uint64_t> sizes;
  if (kind == EmitKind::Object) sizes = function_sizes(out.bytes);
  for (const auto& p : module_.programs) {
    CompiledProgram cp{p.name->name, p.elf_name, p.section, 0, p.loc};
    if (auto it = sizes.find(p.elf_name); it != sizes.end()) cp.instructions = it->second / 8;
    out.programs.push_back(cp);
  }
  out.ok = true;
  return out;
}

}  // namespace whistler
