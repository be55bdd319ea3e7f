#include "program_check.hpp"

#include <cstring>
#include <exception>
#include <regex>

#include "bpf_object.hpp"
#include "compilation.hpp"
#include "large_stack.hpp"
#include "verifier_log.hpp"

namespace whistler::torture {

namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string collapse_spaces(std::string s) {
  static const std::regex spaces(R"(\s+)");
  s = std::regex_replace(s, spaces, " ");
  while (!s.empty() && s.back() == ' ') s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

}  // namespace

std::string normalize_message(const std::string& message) {
  static const std::regex numbers(R"(-?\b(0x[0-9a-fA-F]+|\d+)\b)");
  static const std::regex generated_names(R"(\b([a-z]+)\d+\b)");
  std::string s = first_line(message);
  s = std::regex_replace(s, generated_names, "$1N");
  s = std::regex_replace(s, numbers, "N");
  s = collapse_spaces(s);
  if (s.size() > 140) s = s.substr(0, 140) + "...";
  return s;
}

std::string verifier_cause(const std::string& reason) {
  static const std::regex parens(R"(\([^()]*\))");
  static const std::regex registers(R"(\bR\d+\b)");
  static const std::regex hex(R"(0x[0-9a-fA-F]+)");
  // Offsets past 0xffff are a cause of their own: the verifier tracks no packet range beyond it.
  static const std::regex big_offset(R"(off=(6553[5-9]|655[4-9]\d|65[6-9]\d\d|6[6-9]\d{3}|[7-9]\d{4}|\d{6,}))");
  static const std::regex numbers(R"(\d+)");  // the sign stays: off=-N is not off=N
  std::string s = reason;
  // The kernel sometimes ends a reason without a newline: "... R3 6 6processed 104 insns".
  if (size_t at = s.find("processed "); at != std::string::npos && at > 0) s = s.substr(0, at);
  for (int i = 0; i < 4; ++i) s = std::regex_replace(s, parens, "");
  s = std::regex_replace(s, big_offset, "off=LARGE");
  s = std::regex_replace(s, registers, "R");
  s = std::regex_replace(s, hex, "N");
  s = std::regex_replace(s, numbers, "N");
  s = collapse_spaces(s);
  if (s.size() > 160) s = s.substr(0, 160) + "...";
  return s.empty() ? "(no reason in the verifier log)" : s;
}

CompileResult compile_program(const std::string& source, int opt_level, int64_t short_packet) {
  CompileResult result;
  result.failure.opt_level = opt_level;
  try {
    CompileOptions options;
    options.opt_level = opt_level;
    options.short_packet_override = short_packet;
    Compilation compilation(options);
    CompileOutput out;
    compilation.add_source("torture.lisp", source);
    out = compilation.generate(EmitKind::Object);
    if (out.ok) {
      result.ok = true;
      result.object = std::move(out.bytes);
      for (const auto& p : out.programs) result.programs.push_back(p.elf_name);
      return result;
    }
    const auto& all = compilation.diags().all();
    std::string message = "compilation failed without a diagnostic";
    for (const auto& d : all)
      if (d.severity == Severity::Error) {
        message = d.message;
        break;
      }
    for (const auto& d : all)
      if (d.severity == Severity::Error && normalize_message(d.message) != normalize_message(message))
        ++result.failure.other_errors;
    result.failure.log = compilation.diags().render_all();
    result.failure.detail = first_line(message);
    bool internal = message.find("internal compiler error") != std::string::npos ||
                    message.find("invalid LLVM IR") != std::string::npos;
    result.failure.kind = internal ? OutcomeKind::InternalError : OutcomeKind::CompileError;
    result.failure.category = normalize_message(message);
    if (internal) result.failure.log = message + "\n" + result.failure.log;
  } catch (const std::exception& e) {
    result.failure.kind = OutcomeKind::InternalError;
    result.failure.detail = std::string("exception from the compiler: ") + e.what();
    result.failure.category = normalize_message(result.failure.detail);
  } catch (...) {
    result.failure.kind = OutcomeKind::InternalError;
    result.failure.detail = "unknown exception from the compiler";
    result.failure.category = result.failure.detail;
  }
  return result;
}

LoadResult load_program(const std::string& elf, int opt_level) {
  LoadResult result;
  result.outcome.opt_level = opt_level;
  runtime::RuntimeError error;
  runtime::OpenOptions open;
  open.name = "torture";
  open.no_pinning = true;
  auto object = runtime::BpfObject::open_memory(elf, open, error);
  if (!object) {
    result.outcome.kind = OutcomeKind::LoadError;
    result.outcome.detail = "libbpf cannot open the object: " + error.message;
    result.outcome.category = normalize_message(result.outcome.detail);
    result.outcome.log = error.detail;
    return result;
  }
  if (object->load(error)) {
    if (object->libbpf_messages().find("BTF is optional") != std::string::npos) {
      result.outcome.kind = OutcomeKind::LoadError;
      result.outcome.detail = "libbpf dropped the object's BTF";
      result.outcome.category = result.outcome.detail;
      result.outcome.log = object->libbpf_messages();
      return result;
    }
    result.object = std::move(object);
    return result;
  }
  result.outcome.program = object->failed_program();
  std::string log = object->failed_program().empty() ? std::string() : object->verifier_log(object->failed_program());
  runtime::VerifierReport report = runtime::analyze_verifier_log(log);
  // A log that ends in "processed N insns" and nothing else: the verifier
  // passed the program and the load failed after it (errno says why).
  bool verifier_reason = !log.empty() && !report.reason.empty() && report.reason.rfind("processed ", 0) != 0;
  if (verifier_reason) {
    result.outcome.kind = OutcomeKind::VerifierRejected;
    result.outcome.detail = report.reason;
    if (report.line) result.outcome.detail += " (torture.lisp:" + std::to_string(report.line) + ")";
    result.outcome.category = verifier_cause(report.reason);
    result.outcome.log = log;
  } else {
    result.outcome.kind = OutcomeKind::LoadError;
    std::string why = error.error ? std::strerror(error.error) : "no errno";
    result.outcome.detail = error.message + " (" + why + ", after the verifier passed it)";
    result.outcome.category = "load failed after verification: " + why;
    result.outcome.log = log + "\n" + error.detail + "\n" + object->libbpf_messages();
  }
  return result;
}

Outcome check_program(const std::string& source, int opt_level, std::unique_ptr<runtime::BpfObject>* loaded) {
  CompileResult compiled = compile_program(source, opt_level);
  if (!compiled.ok) return compiled.failure;
  LoadResult load = load_program(compiled.object, opt_level);
  if (loaded) *loaded = std::move(load.object);
  return load.outcome;
}

}  // namespace whistler::torture
