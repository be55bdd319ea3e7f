// Bounds of the memory that is not the packet: stack buffers, map values and
// ring buffer records. The verifier checks every access to them against the
// object's size, refuses arithmetic on a map value or record that may still
// be null, and knows a variable offset only as far as it tracks it; LLVM
// treats an access outside an object as undefined and may delete the code
// around it. So this pass runs first, on the program as lowered (variables
// in registers), and makes every access defined:
//
// - an access at a constant offset outside its object is a located error;
// - an offset the verifier could not bound is checked (the value made opaque
//   to LLVM, so the check stays), and one outside the object takes the
//   program's short-packet action;
// - an access through a map lookup or a ring buffer reservation that no
//   test for 0 dominates gets one, which takes the short-packet action.
#pragma once

#include <llvm/IR/PassManager.h>

#include "bounds_check_stats.hpp"

namespace whistler {

class ObjectBoundsPass : public llvm::PassInfoMixin<ObjectBoundsPass> {
 public:
  explicit ObjectBoundsPass(BoundsCheckStats* stats = nullptr) : stats_(stats) {}
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }

 private:
  BoundsCheckStats* stats_;
};

}  // namespace whistler
