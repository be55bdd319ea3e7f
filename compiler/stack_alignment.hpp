// Accesses to the stack at an offset their size does not divide. The
// verifier refuses a misaligned stack access outright ("misaligned stack
// access off 0+0+-7 size 4"), where it lets the packet and map values be
// read at any offset; `(load u32 (stack-addr v) 1)` is such an access.
// Whistler's loads and stores claim their natural alignment (right for the
// packet, where the code generator would otherwise split every read into
// bytes); this pass gives each access to stack memory the alignment it really
// has, from its slot's alignment and offset, so that the code generator
// splits only those that are misaligned into aligned pieces.
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

class StackAlignmentPass : public llvm::PassInfoMixin<StackAlignmentPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }
};

}  // namespace whistler
