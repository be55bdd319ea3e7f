// Object emission: the BPF target machine, the optimisation pipeline (with the
// packet bounds-check pass) and code generation to ELF, assembly or IR text.
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <map>
#include <memory>
#include <string>

#include "bounds_checks.hpp"
#include "emit_kind.hpp"

namespace whistler {

// Size in bytes of each function symbol of an ELF object (instructions are 8 bytes).
std::map<std::string, uint64_t> function_sizes(const std::string& elf);

class ObjectEmitter {
 public:
  // Initialises the BPF target once per process.
  ObjectEmitter();
  ~ObjectEmitter();

  const llvm::DataLayout& data_layout() const;
  std::string triple() const { return "bpfel"; }

  // Runs the pipeline for `opt_level` (0..3) on the module: canonicalise,
  // insert packet bounds checks, then LLVM's default pipeline when opt_level > 0.
  // With count_verdicts, every program counts its verdicts in kVerdictMapName.
  void optimize(llvm::Module& module, int opt_level, BoundsCheckStats* stats, bool count_verdicts = false);
  // Code generation; returns false and sets `error` on failure.
  bool emit(llvm::Module& module, EmitKind kind, std::string& out, std::string& error);

 private:
  std::unique_ptr<llvm::TargetMachine> machine_;
};

}  // namespace whistler
