// whistlerc: compiles Whistler source to BPF ELF objects (or assembly, or IR).
//
// Exit codes: 0 success; 1 the program has errors (or the verifier rejected
// it under --check), including an input that cannot be read; 2 bad command
// line; 3 the output could not be written; 4 an internal error (a bug).

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>
#include <new>
#include <nlohmann/json.hpp>

#include "bpf_object.hpp"
#include "compilation.hpp"
#include "diagnostics_json.hpp"
#include "emit_kind.hpp"
#include "file_io.hpp"
#include "verifier_diagnostic.hpp"
#include "verifier_log.hpp"

#ifndef WHISTLER_VERSION
#define WHISTLER_VERSION "0.0.0"
#endif

namespace fs = std::filesystem;
using namespace whistler;

namespace {

enum Exit { kOk = 0, kProgramErrors = 1, kUsage = 2, kOutputError = 3, kInternalError = 4 };

struct Args {
  std::string input;
  std::string output;
  std::string emit = "obj";
  int opt_level = 2;
  bool check = false;
  bool verbose = false;
  bool json = false;
  bool count_verdicts = false;
  std::vector<std::string> include_dirs;
  std::vector<std::string> defines;
  bool depfile = false;
  std::string depfile_path;
};

std::string default_output(const Args& a) {
  if (a.input == "-") return "-";
  std::string ext = a.emit == "obj" ? ".o" : a.emit == "asm" ? ".s" : ".ll";
  return fs::path(a.input).stem().string() + ext;
}

// "-" is standard output; anything else goes through write_file: a regular
// file is replaced atomically (a failed run leaves no partial output), a
// symbolic link's target is written, a device or FIFO is written in place.
bool write_output(const std::string& path, const std::string& bytes, std::string& error) {
  if (path == "-") {
    std::cout.flush();
    if (write_all(STDOUT_FILENO, bytes)) return true;
    error = fmt::format("cannot write to standard output: {}", std::strerror(errno));
    return false;
  }
  return write_file(path, bytes, error);
}

std::string make_escape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ' ' || c == '#' || c == ':') out += '\\';
    if (c == '$') out += '$';
    out += c;
  }
  return out;
}

// gcc-style spellings (-MD, -MF FILE) become CLI11 long options.
std::vector<std::string> normalise_arguments(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-MD") a = "--MD";
    else if (a == "-MF") a = "--MF";
    args.push_back(a);
  }
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  return args;
}

int run(int argc, char** argv) {
  Args a;
  CLI::App app{"Compile Whistler, a Lisp for eBPF, to BPF ELF objects that libbpf, bpftool, ip and xdp-loader load.",
               "whistlerc"};
  app.set_version_flag("--version", std::string("whistlerc ") + WHISTLER_VERSION + " (LLVM 19 BPF backend, -mcpu=v3)");
  app.add_option("input", a.input, "Whistler source file, or - for standard input")->required();
  app.add_option("-o,--output", a.output, "output file (default: the input's name with .o, .s or .ll; - for standard output)");
  app.add_option("--emit", a.emit, "what to write: obj (ELF object), asm (BPF assembly) or llvm (LLVM IR)")
      ->check(CLI::IsMember({"obj", "asm", "llvm"}));
  app.add_option("-O", a.opt_level, "optimisation level, 0 to 3 (default 2)")->check(CLI::Range(0, 3));
  app.add_flag("--check", a.check,
               "load the object into the kernel and report the verifier's verdict at the .lisp line "
               "(needs CAP_BPF and CAP_PERFMON)");
  app.add_flag("-v,--verbose", a.verbose,
               "print instruction counts and bounds-check statistics; with --check, the full verifier log");
  app.add_flag("--json", a.json, "print diagnostics and results as JSON on standard output");
  app.add_flag("--count-verdicts", a.count_verdicts,
               "count each program's verdicts in a per-CPU array map verdict_counts (action -> packets)");
  app.add_option("-I", a.include_dirs, "add a directory searched by (include \"FILE\")")->allow_extra_args(false);
  app.add_option("-D", a.defines, "define a constant: -D NAME=VALUE (VALUE defaults to 1)")->allow_extra_args(false);
  app.add_flag("--MD", a.depfile, "also write a Makefile depfile (-MD); its name is OUTPUT.d unless --MF is given");
  app.add_option("--MF", a.depfile_path, "depfile name for -MD (also -MF FILE)");
  app.footer(
      "Exit status: 0 success, 1 errors in the program or an unreadable input (or a verifier rejection\n"
      "with --check), 2 bad command line, 3 the output could not be written, 4 internal error.");
  try {
    app.parse(normalise_arguments(argc, argv));
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kUsage;
  }
  if (a.output.empty()) a.output = default_output(a);
  EmitKind kind = a.emit == "obj" ? EmitKind::Object : a.emit == "asm" ? EmitKind::Assembly : EmitKind::LLVM;
  if (a.output == "-" && kind == EmitKind::Object && !a.json && isatty(STDOUT_FILENO)) {
    std::cerr << "whistlerc: refusing to write an ELF object to a terminal; use -o FILE\n";
    return kUsage;
  }
  if (a.json && a.output == "-") {
    std::cerr << "whistlerc: --json prints on standard output; write the object with -o FILE\n";
    return kUsage;
  }

  CompileOptions options;
  options.opt_level = a.opt_level;
  options.include_dirs = a.include_dirs;
  options.count_verdicts = a.count_verdicts;
  for (const auto& d : a.defines) {
    auto eq = d.find('=');
    options.defines.emplace_back(d.substr(0, eq), eq == std::string::npos ? "1" : d.substr(eq + 1));
  }
  Compilation compilation(options);
  Diagnostics& diags = compilation.diags();
  CompileOutput out;
  compilation.add_file(a.input);
  if (!compilation.sources().size() || compilation.main_file()) out = compilation.generate(kind);

  nlohmann::json result;
  result["input"] = a.input;
  if (out.ok && a.check) {
    // Load what was compiled (an object, even when writing assembly or IR).
    CompileOutput object = kind == EmitKind::Object ? out : compilation.generate(EmitKind::Object);
    runtime::RuntimeError error;
    runtime::OpenOptions open;
    open.name = fs::path(a.input).stem().string().substr(0, 15);
    open.verbose_log = a.verbose;
    open.no_pinning = true;
    auto obj = object.ok ? runtime::BpfObject::open_memory(object.bytes, open, error) : nullptr;
    bool loaded = obj && obj->load(error);
    if (obj && !obj->libbpf_messages().empty() && obj->libbpf_messages().find("BTF is optional") != std::string::npos)
      diags.error({}, "libbpf dropped the object's BTF: " + obj->libbpf_messages());
    nlohmann::json check;
    check["accepted"] = loaded;
    if (!loaded) {
      const ProgramDef* prog = nullptr;
      for (const auto& p : compilation.module().programs)
        if (obj && p.elf_name == obj->failed_program()) prog = &p;
      // Any rejection with a verifier log (EACCES, but also EINVAL for a leaked
      // ring buffer record or a helper XDP may not call) is mapped to its line.
      std::string log = prog ? obj->verifier_log(prog->elf_name) : std::string();
      if (prog && !log.empty()) {
        runtime::VerifierReport report = runtime::analyze_verifier_log(log);
        report_verifier_rejection(diags, prog->name->name, report, prog->loc);
        check["reason"] = report.reason;
        check["log"] = log;
      } else {
        diags.error(prog ? prog->loc : SourceLoc{}, error.message).hint = error.hint;
      }
      if (a.verbose && !a.json && !error.detail.empty()) std::cerr << "---- verifier log ----\n" << error.detail << "----\n";
      out.ok = false;
    } else if (a.verbose && !a.json) {
      for (const auto& p : compilation.module().programs)
        std::cerr << fmt::format("---- verifier log: {} ----\n{}", p.elf_name, obj->verifier_log(p.elf_name));
    }
    result["check"] = check;
  }

  if (!out.ok) {
    if (a.json) {
      result["ok"] = false;
      result["diagnostics"] = diagnostics_to_json(diags);
      std::cout << json_text(result, 2) << "\n";
    } else {
      std::cerr << diags.render_all();
      if (diags.error_count() > 1) std::cerr << fmt::format("{} errors\n", diags.error_count());
    }
    return kProgramErrors;
  }

  std::string error;
  if (!write_output(a.output, out.bytes, error)) {
    std::cerr << "whistlerc: " << error << "\n";
    return kOutputError;
  }
  if (a.depfile) {
    std::string path = a.depfile_path.empty() ? a.output + ".d" : a.depfile_path;
    std::string text = make_escape(a.output) + ":";
    for (const auto& f : compilation.files_read())
      if (f != "<stdin>") text += " " + make_escape(f);
    text += "\n";
    if (!write_output(path, text, error)) {
      std::cerr << "whistlerc: " << error << "\n";
      return kOutputError;
    }
  }

  if (a.json) {
    result["ok"] = true;
    result["output"] = a.output;
    result["diagnostics"] = diagnostics_to_json(diags);
    nlohmann::json programs = nlohmann::json::array();
    for (const auto& p : out.programs)
      programs.push_back({{"name", p.name}, {"elf_name", p.elf_name}, {"section", p.section}, {"instructions", p.instructions}});
    result["programs"] = programs;
    result["bounds_checks"] = {{"accesses", out.bounds.accesses},
                               {"proven", out.bounds.proven},
                               {"inserted", out.bounds.inserted},
                               {"merged", out.bounds.merged},
                               {"object_accesses", out.bounds.object_accesses},
                               {"object_checks", out.bounds.object_checks}};
    std::cout << json_text(result, 2) << "\n";
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "whistlerc: cannot write the JSON report to standard output\n";
      return kOutputError;
    }
    return kOk;
  }
  std::cerr << diags.render_all();  // warnings
  if (a.verbose) {
    for (const auto& p : out.programs)
      std::cerr << fmt::format("{}: program {} (section {}): {} instructions\n", a.input, p.name, p.section, p.instructions);
    std::cerr << fmt::format("{}: packet accesses: {}, proven by the program: {}, checks inserted: {} (covering {} more)\n",
                             a.input, out.bounds.accesses, out.bounds.proven, out.bounds.inserted, out.bounds.merged);
    if (out.bounds.object_accesses || out.bounds.object_checks)
      std::cerr << fmt::format("{}: stack, map value and record accesses: {}, checks inserted: {}\n", a.input,
                               out.bounds.object_accesses, out.bounds.object_checks);
  }
  if (a.check) std::cerr << fmt::format("{}: the kernel verifier accepted every program\n", a.input);
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  // The last resort: every failure should be a diagnostic, but an exception
  // that escapes is reported as a bug rather than ending in abort().
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    std::cerr << "whistlerc: internal error: out of memory\n";
  } catch (const std::exception& e) {
    std::cerr << "whistlerc: internal error: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "whistlerc: internal error: an unexpected exception\n";
  }
  return kInternalError;
}
