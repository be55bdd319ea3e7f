// Automatic packet bounds checks.
//
// Every load, store, atomic, memcpy/memset and helper memory argument that goes
// through a packet pointer must be proven in bounds before it runs, or the
// kernel verifier rejects the program. This pass tracks packet pointers as
// (root, constant offset) pairs, where a root is ctx->data or a pointer derived
// from it with a variable offset, and collects what each program already
// proves: every `root + N > data_end` comparison whose false edge dominates an
// access proves N bytes after the root. Where an access is not covered it
// inserts that comparison itself, covering in one check all the accesses on the
// same root that follow in the same block with no call in between, and branches
// to a block that returns the program's short-packet action.
#pragma once

#include <llvm/IR/PassManager.h>

#include "bounds_check_stats.hpp"

namespace whistler {

class PacketBoundsPass : public llvm::PassInfoMixin<PacketBoundsPass> {
 public:
  explicit PacketBoundsPass(BoundsCheckStats* stats = nullptr) : stats_(stats) {}
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }

 private:
  BoundsCheckStats* stats_;
};

}  // namespace whistler
