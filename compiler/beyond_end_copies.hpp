// Comparisons of a packet pointer with data_end that the verifier answers by
// marking the register. Where `p + N > end` holds (or `p < end` fails) the
// verifier marks the register it compared "at or beyond the end" and refuses
// every later access through that register ("R3 offset is outside of the
// packet"), also on paths the program's other checks make impossible, which
// it explores all the same. The code generator keeps one register for equal
// addresses: `data + 14` of a parse that failed and of a later read of byte
// 14 that another check proved; `data` itself for `(< 0 (- end data))`.
// This pass, run last, compares a copy (a side-effect barrier the code
// generator cannot merge with anything) wherever the marked edge leads to
// code that touches memory: the mark stays on the copy. The copy keeps the
// pointer's identity, so the range a passing check proves still reaches
// every register of the pointer.
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

class BeyondEndCopiesPass : public llvm::PassInfoMixin<BeyondEndCopiesPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }
};

}  // namespace whistler
