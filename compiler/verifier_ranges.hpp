// What the kernel verifier will know of an integer's largest value where it
// is used: a model of its scalar tracking, not of LLVM's. LLVM proves more
// (it knows x mod 40 < 40; the verifier does not track division or
// remainder), and a bound only LLVM knows is worth nothing to the verifier,
// so the bounds passes decide from this model whether a variable offset
// needs a check of its own.
//
// The model follows what the verifier tracks exactly (measured on 6.18):
// constants, zero-extending loads and casts, and/or/xor, shifts by
// constants (a shift by a register is unknown to it, whatever the count's
// range), additions and multiplications without overflow, byte swaps,
// the merge of branches (phi, select), and the comparisons of the value
// with a constant on the branches that dominate the use. Everything else
// (division, remainder, subtraction, helper results, 64-bit loads) is
// unbounded.
#pragma once

#include <llvm/ADT/SmallPtrSet.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/Value.h>

#include <cstdint>
#include <vector>

namespace whistler {

inline constexpr uint64_t kUnbounded = UINT64_MAX;

class VerifierRanges {
 public:
  explicit VerifierRanges(llvm::DominatorTree& dt) : dt_(dt) {}

  // The largest value `v` can have when `at` runs, as the verifier sees it
  // (kUnbounded when it knows nothing). `at` may be null: no branch facts.
  uint64_t umax(llvm::Value* v, const llvm::Instruction* at);

  // The bound umax gave, made to hold through code generation: the masks
  // (and, umin) it relied on that LLVM might find redundant (it follows
  // remainders and divisions the verifier does not) get their operand behind
  // an opaque barrier, or the code generator may drop them. True when
  // anything changed.
  bool pin_clamps(llvm::Value* v, const llvm::Instruction* at);

 private:
  uint64_t structural(llvm::Value* v, const llvm::Instruction* at, int depth);
  uint64_t from_branches(llvm::Value* v, const llvm::Instruction* at);
  bool llvm_knows_at_most(llvm::Value* v, uint64_t bound, const llvm::Instruction* at);
  uint64_t llvm_bound(llvm::Value* v, int depth);

  llvm::DominatorTree& dt_;
  llvm::SmallPtrSet<const llvm::PHINode*, 8> visiting_;
  std::vector<llvm::Instruction*>* clamps_ = nullptr;  // pin_clamps collects the masks relied on here
};

}  // namespace whistler
