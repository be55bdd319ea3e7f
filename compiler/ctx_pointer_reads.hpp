// Reads of the context's pointer fields (data, data_end, data_meta) kept
// 64 bits wide. They are 32-bit loads (`w1 = *(u32 *)(r1 + 0)`) that the
// verifier types as pointers, widened by a zext. When LLVM merges two reads
// (early CSE at -O0, GVN at -O2), the 32-bit value can live on into other
// blocks, and the register allocator then spills it as 32 bits, which the
// verifier refuses for a pointer ("invalid size of register spill"). This
// pass, run last, widens each read once, right after it, so only the 64-bit
// value lives on.
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

class CtxPointerReadsPass : public llvm::PassInfoMixin<CtxPointerReadsPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }
};

}  // namespace whistler
