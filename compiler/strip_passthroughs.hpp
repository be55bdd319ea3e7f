// Removes the llvm.bpf.passthrough calls (the library's %opaque, the BPF
// backend's own comparison guards) that hide a constant or are unused, once
// LLVM's optimisers are done with the function, so that the final
// SimplifyCFG folds what they hid: the backend removes them only later, and a
// branch whose two sides then do nothing becomes a jump to the next
// instruction, which the verifier follows both ways (on one side a packet
// pointer is "beyond the end" and every later access through it is refused).
// Those around values keep guarding them until code generation.
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

class StripPassthroughsPass : public llvm::PassInfoMixin<StripPassthroughsPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }
};

}  // namespace whistler
