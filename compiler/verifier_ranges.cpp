#include "verifier_ranges.hpp"

#include <llvm/Analysis/ValueTracking.h>
#include <llvm/IR/ConstantRange.h>
#include <llvm/IR/Constants.h>
#include <llvm/Support/KnownBits.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>

#include <algorithm>

#include "verifier_ir.hpp"

namespace whistler {

using namespace llvm;

namespace {

uint64_t ones(unsigned bits) { return bits >= 64 ? kUnbounded : (uint64_t{1} << bits) - 1; }

// Every bit up to the highest bit of `x`: the largest value an or/xor of
// values up to `x` can take.
uint64_t fill_down(uint64_t x) {
  for (unsigned s = 1; s < 64; s <<= 1) x |= x >> s;
  return x;
}

uint64_t add_bound(uint64_t a, uint64_t b) { return a > kUnbounded - b ? kUnbounded : a + b; }

uint64_t mul_bound(uint64_t a, uint64_t b) {
  // The verifier multiplies bounds only while both fit in 32 bits.
  if (a > UINT32_MAX || b > UINT32_MAX) return kUnbounded;
  return a * b;
}

}  // namespace

uint64_t VerifierRanges::umax(Value* v, const Instruction* at) { return structural(v, at, 0); }

// The most LLVM (or the code generator, which keeps known bits across
// blocks) could know of `v`'s largest value: like the verifier's model, but
// following remainders and divisions, and every value bounded by its type's
// width. Optimistic on purpose: it says where a mask might look redundant.
uint64_t VerifierRanges::llvm_bound(Value* v, int depth) {
  auto* type = dyn_cast<IntegerType>(v->getType());
  if (!type) return kUnbounded;
  uint64_t width = ones(type->getBitWidth());
  if (auto* c = dyn_cast<ConstantInt>(v)) return c->getValue().getActiveBits() > 64 ? kUnbounded : c->getZExtValue();
  if (depth > 8) return width;
  auto op = [&](unsigned i) { return llvm_bound(cast<User>(v)->getOperand(i), depth + 1); };
  uint64_t b = width;
  if (auto* bin = dyn_cast<BinaryOperator>(v)) {
    switch (bin->getOpcode()) {
      case Instruction::And: b = std::min(op(0), op(1)); break;
      case Instruction::Or:
      case Instruction::Xor: b = fill_down(std::max(op(0), op(1))); break;
      case Instruction::Add: b = add_bound(op(0), op(1)); break;
      case Instruction::URem: b = std::min(op(0), op(1) == 0 ? 0 : op(1) - 1); break;
      case Instruction::UDiv:
      case Instruction::LShr: b = op(0); break;
      default: break;
    }
  } else if (auto* cast = dyn_cast<CastInst>(v)) {
    if (cast->getOpcode() == Instruction::ZExt || cast->getOpcode() == Instruction::Trunc) b = op(0);
  } else if (auto* phi = dyn_cast<PHINode>(v)) {
    uint64_t m = 0;
    for (Value* in : phi->incoming_values()) m = std::max(m, in == v ? 0 : llvm_bound(in, depth + 1));
    b = m;
  } else if (auto* sel = dyn_cast<SelectInst>(v)) {
    b = std::max(llvm_bound(sel->getTrueValue(), depth + 1), llvm_bound(sel->getFalseValue(), depth + 1));
  } else if (isa<CmpInst>(v)) {
    b = 1;
  }
  return std::min(b, width);
}

bool VerifierRanges::pin_clamps(Value* v, const Instruction* at) {
  std::vector<Instruction*> clamps;
  clamps_ = &clamps;
  structural(v, at, 0);
  clamps_ = nullptr;
  bool changed = false;
  for (Instruction* clamp : clamps) {
    Value* operand = clamp->getOperand(0);
    if (opaque_operand(operand)) continue;  // pinned already
    IRBuilder<> b(clamp);
    clamp->setOperand(0, emit_opaque(b, operand));
    changed = true;
  }
  return changed;
}


// Whether LLVM itself can show `v <= bound` where `at` runs (known bits or a
// constant range, which follow remainders and divisions the verifier does
// not): then a mask or a comparison that says no more is redundant to LLVM,
// which may remove it.
bool VerifierRanges::llvm_knows_at_most(Value* v, uint64_t bound, const Instruction* at) {
  if (!v->getType()->isIntegerTy()) return false;
  const DataLayout& dl = at ? at->getDataLayout() : cast<Instruction>(v)->getDataLayout();
  KnownBits known = computeKnownBits(v, dl, 0, nullptr, at, &dt_);
  if (known.getMaxValue().getActiveBits() <= 64 && known.getMaxValue().getZExtValue() <= bound) return true;
  ConstantRange range = computeConstantRange(v, /*ForSigned=*/false, /*UseInstrInfo=*/true, nullptr, at, &dt_);
  return range.getUnsignedMax().getActiveBits() <= 64 && range.getUnsignedMax().getZExtValue() <= bound;
}

uint64_t VerifierRanges::structural(Value* v, const Instruction* at, int depth) {
  // An IR type's width bounds nothing by itself: LLVM computes an i8 urem
  // in a 32- or 64-bit register, and the verifier, which does not follow
  // remainders, knows nothing of it. Bounds come from the operations the
  // verifier follows.
  uint64_t bound = kUnbounded;
  if (auto* c = dyn_cast<ConstantInt>(v)) return c->getValue().getActiveBits() > 64 ? kUnbounded : c->getZExtValue();
  if (depth > 12) return from_branches(v, at);
  auto* type = dyn_cast<IntegerType>(v->getType());
  auto operand = [&](unsigned i) { return structural(cast<User>(v)->getOperand(i), at, depth + 1); };
  if (auto* bin = dyn_cast<BinaryOperator>(v)) {
    switch (bin->getOpcode()) {
      case Instruction::And: {
        // A constant mask bounds the value while it stays in the code. Where
        // LLVM may know the operand is within it anyway (a remainder, a
        // phi of small constants), the code generator can drop it as
        // redundant; pin_clamps keeps such masks.
        auto* mask = dyn_cast<ConstantInt>(bin->getOperand(1));
        uint64_t inner = operand(0);
        // The code generator also distributes a mask over an or/xor with a
        // constant ((x ^ 77) & 63 becomes (x & 63) ^ 13) and then drops the
        // inner mask where x is small: pinned too.
        auto redundant_inside = [&](Value* x) {
          auto* inner_op = dyn_cast<BinaryOperator>(x);
          if (!inner_op || (inner_op->getOpcode() != Instruction::Xor && inner_op->getOpcode() != Instruction::Or)) return false;
          for (unsigned k : {0u, 1u})
            if (isa<ConstantInt>(inner_op->getOperand(1 - k)) && llvm_bound(inner_op->getOperand(k), 0) <= mask->getZExtValue())
              return true;
          return false;
        };
        if (mask && mask->getValue().getActiveBits() <= 64 && inner > mask->getZExtValue() && clamps_ &&
            (llvm_bound(bin->getOperand(0), 0) <= mask->getZExtValue() || redundant_inside(bin->getOperand(0))))
          clamps_->push_back(bin);
        bound = std::min({bound, inner, operand(1)});
        break;
      }
      case Instruction::Or:
      case Instruction::Xor: bound = std::min(bound, fill_down(std::max(operand(0), operand(1)))); break;
      case Instruction::Add: bound = std::min(bound, add_bound(operand(0), operand(1))); break;
      case Instruction::Mul: bound = std::min(bound, mul_bound(operand(0), operand(1))); break;
      case Instruction::Shl:
        if (auto* n = dyn_cast<ConstantInt>(bin->getOperand(1)); n && n->getZExtValue() < 64) {
          uint64_t a = operand(0);
          unsigned shift = static_cast<unsigned>(n->getZExtValue());
          if (a == 0) bound = 0;
          else if (a != kUnbounded && static_cast<unsigned>(64 - __builtin_clzll(a)) + shift <= 64) bound = std::min(bound, a << shift);
        }
        break;
      case Instruction::LShr:
        // Only by a constant: the verifier marks a shift by a register
        // unknown, whatever it knows of the count (6.18).
        if (auto* n = dyn_cast<ConstantInt>(bin->getOperand(1)); n && n->getZExtValue() < 64)
          bound = std::min(bound, operand(0) >> n->getZExtValue());
        break;
      case Instruction::AShr:
        if (uint64_t a = operand(0); isa<ConstantInt>(bin->getOperand(1)) && a <= static_cast<uint64_t>(INT64_MAX))
          bound = std::min(bound, a);
        break;
      default: break;  // sub, div, rem: unknown to the verifier
    }
  } else if (isa<LoadInst>(v) && type) {
    bound = ones(type->getBitWidth());  // BPF loads zero-extend
  } else if (isa<CmpInst>(v)) {
    bound = 1;
  } else if (auto* cast = dyn_cast<CastInst>(v)) {
    switch (cast->getOpcode()) {
      case Instruction::ZExt:
      case Instruction::Trunc: bound = std::min(bound, operand(0)); break;
      case Instruction::SExt:
        if (uint64_t a = operand(0); a <= ones(cast->getSrcTy()->getIntegerBitWidth() - 1)) bound = std::min(bound, a);
        break;
      default: break;
    }
  } else if (auto* sel = dyn_cast<SelectInst>(v)) {
    bound = std::min(bound, std::max(structural(sel->getTrueValue(), at, depth + 1), structural(sel->getFalseValue(), at, depth + 1)));
  } else if (auto* phi = dyn_cast<PHINode>(v)) {
    // Each incoming value as it is at the end of its block; a cycle through
    // the phi (a loop) is unbounded unless a branch says otherwise.
    if (!visiting_.insert(phi).second) return from_branches(v, at);
    uint64_t m = 0;
    for (unsigned i = 0; i < phi->getNumIncomingValues() && m != kUnbounded; ++i)
      m = std::max(m, structural(phi->getIncomingValue(i), phi->getIncomingBlock(i)->getTerminator(), depth + 1));
    visiting_.erase(phi);
    bound = std::min(bound, m);
  } else if (auto* call = dyn_cast<CallInst>(v)) {
    if (auto* ii = dyn_cast<IntrinsicInst>(call)) {
      switch (ii->getIntrinsicID()) {
        case Intrinsic::umin: {
          auto* limit = dyn_cast<ConstantInt>(ii->getArgOperand(1));
          uint64_t inner = operand(0);
          if (limit && limit->getValue().getActiveBits() <= 64 && inner > limit->getZExtValue() && clamps_ &&
              llvm_bound(ii->getArgOperand(0), 0) <= limit->getZExtValue())
            clamps_->push_back(ii);
          bound = std::min({bound, inner, operand(1)});
          break;
        }
        case Intrinsic::umax: bound = std::min(bound, std::max(operand(0), operand(1))); break;
        case Intrinsic::bswap:  // be16 / be32 leave only that many bits
          if (type && type->getBitWidth() < 64) bound = ones(type->getBitWidth());
          break;
        default: break;
      }
    } else if (ctx_field(call) >= 0) {
      bound = ones(32);  // a 32-bit context field
    }
    // Helper results and opaque values: only branches bound them.
  }
  return std::min(bound, from_branches(v, at));
}

// Comparisons of `v` with a constant on the branches that lead to `at`.
uint64_t VerifierRanges::from_branches(Value* v, const Instruction* at) {
  if (!at) return kUnbounded;
  const BasicBlock* where = at->getParent();
  uint64_t bound = kUnbounded;
  auto refine = [&](ICmpInst* cmp, bool truth) {
    CmpInst::Predicate pred = cmp->getPredicate();
    auto* c = dyn_cast<ConstantInt>(cmp->getOperand(1));
    if (cmp->getOperand(0) != v) {
      if (cmp->getOperand(1) != v) return;
      c = dyn_cast<ConstantInt>(cmp->getOperand(0));
      pred = CmpInst::getSwappedPredicate(pred);
    }
    if (!c || c->getValue().getActiveBits() > 64) return;
    if (!truth) pred = CmpInst::getInversePredicate(pred);
    uint64_t k = c->getZExtValue();
    uint64_t limit = kUnbounded;
    switch (pred) {
      case CmpInst::ICMP_ULT: if (k > 0) limit = k - 1; break;
      case CmpInst::ICMP_ULE:
      case CmpInst::ICMP_EQ: limit = k; break;
      default: break;
    }
    // A comparison LLVM knows the answer to is folded away before the
    // verifier can learn from it.
    if (limit != kUnbounded && !llvm_knows_at_most(v, limit, cmp) && llvm_bound(v, 0) > limit) bound = std::min(bound, limit);
  };
  // A condition that holds on the edge: the comparison itself, or one side
  // of an `and` taken true (an `or` taken false).
  auto conditions_on_edge = [&](Value* cond, bool truth, auto&& self, int depth) -> void {
    if (auto* cmp = dyn_cast<ICmpInst>(cond)) return refine(cmp, truth);
    if (depth > 4) return;
    Value *a = nullptr, *b = nullptr;
    bool conj = false, disj = false;
    if (auto* bin = dyn_cast<BinaryOperator>(cond)) {
      a = bin->getOperand(0);
      b = bin->getOperand(1);
      conj = bin->getOpcode() == Instruction::And;
      disj = bin->getOpcode() == Instruction::Or;
    } else if (auto* sel = dyn_cast<SelectInst>(cond)) {
      auto* t = dyn_cast<ConstantInt>(sel->getTrueValue());
      auto* f = dyn_cast<ConstantInt>(sel->getFalseValue());
      a = sel->getCondition();
      if (f && f->isZero()) { conj = true; b = sel->getTrueValue(); }
      else if (t && t->isOne()) { disj = true; b = sel->getFalseValue(); }
    }
    if ((conj && truth) || (disj && !truth)) {
      self(a, truth, self, depth + 1);
      self(b, truth, self, depth + 1);
    }
  };
  for (User* u : v->users()) {
    auto* cmp = dyn_cast<ICmpInst>(u);
    if (!cmp) continue;
    std::vector<Value*> conds{cmp};
    for (User* cu : cmp->users())
      if (isa<BinaryOperator>(cu) || isa<SelectInst>(cu)) conds.push_back(cu);
    for (Value* cond : conds) {
      for (User* bu : cond->users()) {
        auto* br = dyn_cast<BranchInst>(bu);
        if (!br || !br->isConditional() || br->getCondition() != cond || br->getSuccessor(0) == br->getSuccessor(1)) continue;
        for (unsigned s = 0; s < 2; ++s) {
          if (!dt_.dominates(BasicBlockEdge(br->getParent(), br->getSuccessor(s)), where)) continue;
          conditions_on_edge(cond, s == 0, conditions_on_edge, 0);
        }
      }
    }
  }
  return bound;
}

}  // namespace whistler
