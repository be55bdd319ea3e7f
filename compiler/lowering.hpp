// Lowering: expanded Whistler programs to LLVM IR for the BPF target, with
// debug info that becomes BTF (maps, func_info, line_info) pointing at the
// .lisp source.
#pragma once

#include <llvm/IR/DataLayout.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

#include <memory>
#include <string>

#include "diagnostics.hpp"
#include "module.hpp"

namespace whistler {

// Function attribute carrying the program's short-packet action.
inline constexpr const char* kShortPacketAttr = "whistler-short-packet";

struct LoweringOptions {
  std::string producer = "whistler";
  bool optimized = true;
  int64_t short_packet_override = -1;  // see CompileOptions
};

// Returns nullptr when errors were reported.
std::unique_ptr<llvm::Module> lower_module(llvm::LLVMContext& ctx, const Module& module, Diagnostics& diags,
                                           const llvm::DataLayout& layout, const std::string& triple,
                                           uint32_t main_file, const LoweringOptions& options);

}  // namespace whistler
