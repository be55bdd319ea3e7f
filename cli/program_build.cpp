#include "program_build.hpp"

#include "verifier_diagnostic.hpp"
#include "verifier_log.hpp"

namespace whistler {

std::unique_ptr<runtime::BpfObject> load_compiled(Compilation& compilation, const CompileOutput& object,
                                                  const runtime::OpenOptions& options, runtime::RuntimeError& error) {
  auto obj = runtime::BpfObject::open_memory(object.bytes, options, error);
  if (!obj) return nullptr;
  if (obj->load(error)) return obj;
  // Any rejection with a verifier log (EACCES, but also EINVAL for a leaked
  // ring buffer record or a helper XDP may not call) maps to its line; a
  // missing capability stays a capability error.
  std::string log = obj->failed_program().empty() ? std::string() : obj->verifier_log(obj->failed_program());
  if (!log.empty() && error.kind != runtime::ErrorKind::MissingCapability) {
    error.kind = runtime::ErrorKind::VerifierRejected;
    error.detail = log;
    const ProgramDef* prog = nullptr;
    for (const auto& p : compilation.module().programs)
      if (p.elf_name == obj->failed_program()) prog = &p;
    runtime::VerifierReport report = runtime::analyze_verifier_log(log);
    std::string name = prog ? prog->name->name : obj->failed_program();
    report_verifier_rejection(compilation.diags(), name, report, prog ? prog->loc : SourceLoc{});
  }
  return nullptr;
}

bool is_attachable_section(const std::string& section) {
  return section.find("devmap") == std::string::npos && section.find("cpumap") == std::string::npos;
}

std::vector<const ProgramDef*> attachable_programs(const Module& module) {
  std::vector<const ProgramDef*> out;
  for (const auto& p : module.programs)
    if (is_attachable_section(p.section)) out.push_back(&p);
  return out;
}

const ProgramDef* find_program_named(const Module& module, const std::string& name) {
  for (const auto& p : module.programs)
    if ((p.name && p.name->name == name) || p.elf_name == name || p.elf_name == elf_name(name)) return &p;
  return nullptr;
}

const MapDef* find_map_named(const Module& module, const std::string& name) {
  for (const auto& m : module.maps)
    if ((m.name && m.name->name == name) || m.elf_name == name || m.elf_name == elf_name(name)) return &m;
  return nullptr;
}

std::string program_names(const Module& module) {
  std::string out;
  for (const auto& p : module.programs) out += (out.empty() ? "" : ", ") + (p.name ? p.name->name : p.elf_name);
  return out;
}

std::string map_names(const Module& module) {
  std::string out;
  for (const auto& m : module.maps) out += (out.empty() ? "" : ", ") + (m.name ? m.name->name : m.elf_name);
  return out;
}

}  // namespace whistler
