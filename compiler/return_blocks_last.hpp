// Moves the blocks that return to the end of their function, just before
// code generation. Each `(return X)` lowers to its own `ret`; SimplifyCFG
// merges them into one block that stays where the first return was, and
// with no branch weights the BPF block placement keeps that order, so the
// code after it needs a jump back. clang emits its return block last and
// falls into it; this does the same (one instruction fewer in most programs).
// It also turns `br (a && b), T, RETURN` into `br (!a || !b), RETURN, T`:
// the BPF backend cannot reverse a branch once selected, and the first form
// costs a jump more when T is the next block.
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

class ReturnBlocksLastPass : public llvm::PassInfoMixin<ReturnBlocksLastPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }
};

}  // namespace whistler
