// Code from which the program can never return. Every loop Whistler has is
// bounded, so a program always returns, and a block that cannot reach a
// return is dead; LLVM still leaves some: a loop split on a condition that
// decides it, whose copy for the case that cannot happen never exits (`br
// label %self`), or a loop that changes nothing and tests, each time round,
// only what it does not change (`if a goto out; if b goto out; goto head`).
// The verifier, which cannot tell the case cannot happen, follows the path
// and refuses the program ("infinite loop detected"). This pass, run last,
// ends such paths with a return of 0 instead.
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

class EndlessLoopsPass : public llvm::PassInfoMixin<EndlessLoopsPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }
};

}  // namespace whistler
