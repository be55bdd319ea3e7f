// Bit operations on a zero-extended 32-bit value done in 32 bits.
//
// Whistler integers are 64-bit in the IR; a u32 (an address, a ntohl'd
// field) is a `zext i32` to i64. `(logand src #xFFFFFF00)` then becomes
// `and i64 (zext src), 0xffffff00`, whose constant needs a 2-slot ld_imm64 on
// BPF, where clang's `w4 &= imm` takes one. InstCombine narrows such an `and`
// only when the `zext` has one use; a rule set tests one source address many
// times, so it does not. This pass rewrites
//   and/or/xor i64 (zext i32 x), C   (C fits in 32 bits; any C for and)
// to `zext (op i32 x, trunc C)`, after which InstCombine narrows the
// comparisons of the result too.
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

class NarrowMasksPass : public llvm::PassInfoMixin<NarrowMasksPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
};

}  // namespace whistler
