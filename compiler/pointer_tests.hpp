// Tests of pointers for 0 that the code generator would fold into
// arithmetic on the pointer. Two tests for 0 combined as a value
// (`(zerop (or len (if p 1 0)))`: `len == 0 && p == null` in one i1) become,
// in the SelectionDAG, `(len | p) == 0`: an OR on a pointer register, which
// the verifier refuses ("bitwise operator |= on pointer prohibited", "math
// between pkt pointer and register with unbounded min value"). This pass,
// run last, gives each such pointer test's result to the combination
// through a barrier (a 0/1 scalar), which the DAG cannot merge. A
// combination of tests for 0 is one too (the DAG folds it into one first):
// an unrolled loop's `(when (parse-udp ...) ...)` made a chain of four.
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

class PointerTestsPass : public llvm::PassInfoMixin<PointerTestsPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }
};

}  // namespace whistler
