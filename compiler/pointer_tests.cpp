#include "pointer_tests.hpp"

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>

#include <vector>

#include "verifier_ir.hpp"

namespace whistler {

using namespace llvm;

namespace {

// What `x == 0` / `x != 0` tests, or nullptr.
Value* zero_tested(Value* v) {
  auto* cmp = dyn_cast<ICmpInst>(v);
  if (!cmp || !cmp->isEquality()) return nullptr;
  for (unsigned k : {0u, 1u})
    if (auto* c = dyn_cast<Constant>(cmp->getOperand(1 - k)); c && c->isNullValue()) return cmp->getOperand(k);
  return nullptr;
}

// `p == null` / `p != null` on a pointer (or its integer).
bool is_pointer_zero_test(Value* v) {
  Value* x = zero_tested(v);
  return x && (x->getType()->isPointerTy() || isa<PtrToIntInst>(x));
}

// The two conditions an i1 combination (and, or, or a logical select) joins
// as a value, or nothing.
std::vector<unsigned> combined_operands(Instruction& i) {
  if (!i.getType()->isIntegerTy(1)) return {};
  if (i.getOpcode() == Instruction::And || i.getOpcode() == Instruction::Or) return {0, 1};
  if (auto* sel = dyn_cast<SelectInst>(&i)) {
    if (isa<ConstantInt>(sel->getFalseValue())) return {0, 1};  // select a, b, C
    if (isa<ConstantInt>(sel->getTrueValue())) return {0, 2};   // select a, C, b
  }
  return {};
}

// A test for 0, or an and/or of such tests: the DAG folds `(a != 0) | (b !=
// 0)` into `(a | b) != 0`, itself a test for 0 that the next combination up
// folds again (`((a | b) != 0) | (p != 0)` into `(a | b | p) != 0`).
bool is_zero_test_tree(Value* v, int depth = 0) {
  if (zero_tested(v)) return true;
  auto* i = dyn_cast<Instruction>(v);
  if (!i || depth > 8) return false;
  auto ops = combined_operands(*i);
  return ops.size() == 2 && is_zero_test_tree(i->getOperand(ops[0]), depth + 1) &&
         is_zero_test_tree(i->getOperand(ops[1]), depth + 1);
}

}  // namespace

// A select of two constant offsets from one pointer: the code generator
// rewrites it as the pointer plus a select of the offsets for some uses and
// keeps the branches for others; the verifier, following the two copies of
// the condition independently, pairs a check on one with an access through
// the other. Behind a barrier every use takes the same register.
static bool pin_offset_selects(Function& f) {
  std::vector<Instruction*> found;
  for (BasicBlock& bb : f)
    for (Instruction& i : bb) {
      if (!i.getType()->isPointerTy() || (!isa<SelectInst>(i) && !isa<PHINode>(i))) continue;
      std::vector<Value*> arms;
      if (auto* sel = dyn_cast<SelectInst>(&i)) arms = {sel->getTrueValue(), sel->getFalseValue()};
      else arms.assign(cast<PHINode>(i).incoming_values().begin(), cast<PHINode>(i).incoming_values().end());
      Value* base = nullptr;
      bool same = arms.size() >= 2;
      bool differ = false;
      for (Value* arm : arms) {
        Value* b = arm->stripInBoundsConstantOffsets();
        if (isa<Constant>(b) || (base && b != base)) same = false;
        if (base && arm != arms[0]) differ = true;
        base = b;
      }
      if (same && differ) found.push_back(&i);
    }
  for (Instruction* sel : found) {
    IRBuilder<> b(isa<PHINode>(sel) ? &*sel->getParent()->getFirstInsertionPt() : sel->getNextNode());
    b.SetCurrentDebugLocation(sel->getDebugLoc());
    Value* pinned = emit_opaque(b, sel);
    sel->replaceUsesWithIf(pinned, [&](Use& u) { return u.getUser() != pinned; });
  }
  return !found.empty();
}

PreservedAnalyses PointerTestsPass::run(Function& f, FunctionAnalysisManager&) {
  bool pinned = pin_offset_selects(f);
  std::vector<std::pair<Instruction*, unsigned>> uses;  // (combination, operand index)
  for (BasicBlock& bb : f)
    for (Instruction& i : bb)
      if (auto ops = combined_operands(i); ops.size() == 2) {
        // Only tests for 0 fold into one OR (the DAG's and/or of setcc),
        // also through combinations of them.
        if (!is_zero_test_tree(i.getOperand(ops[0])) || !is_zero_test_tree(i.getOperand(ops[1]))) continue;
        for (unsigned k : ops)
          if (is_pointer_zero_test(i.getOperand(k))) uses.push_back({&i, k});
      }
  if (uses.empty()) return pinned ? PreservedAnalyses::none() : PreservedAnalyses::all();
  for (auto [user, k] : uses) {
    auto* test = cast<Instruction>(user->getOperand(k));
    IRBuilder<> b(user);
    b.SetCurrentDebugLocation(user->getDebugLoc());
    Value* bit = emit_opaque(b, b.CreateZExt(test, b.getInt64Ty()));
    user->setOperand(k, b.CreateICmpNE(bit, b.getInt64(0)));
  }
  return PreservedAnalyses::none();
}

}  // namespace whistler
