#include "pointer_tests.hpp"

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>

#include <vector>

#include "verifier_ir.hpp"

namespace whistler {

using namespace llvm;

namespace {

// `p == null` / `p != null` on a pointer (or its integer).
bool is_pointer_zero_test(Value* v) {
  auto* cmp = dyn_cast<ICmpInst>(v);
  if (!cmp || !cmp->isEquality()) return false;
  Value* a = cmp->getOperand(0);
  Value* b = cmp->getOperand(1);
  auto zero = [](Value* x) { return isa<ConstantPointerNull>(x) || (isa<ConstantInt>(x) && cast<ConstantInt>(x)->isZero()); };
  if (zero(a)) std::swap(a, b);
  if (!zero(b)) return false;
  if (a->getType()->isPointerTy()) return true;
  return isa<PtrToIntInst>(a);
}

// `x == 0` / `x != 0` on anything.
bool is_zero_test(Value* v) {
  auto* cmp = dyn_cast<ICmpInst>(v);
  if (!cmp || !cmp->isEquality()) return false;
  auto zero = [](Value* x) { return isa<ConstantPointerNull>(x) || (isa<ConstantInt>(x) && cast<ConstantInt>(x)->isZero()); };
  return zero(cmp->getOperand(0)) || zero(cmp->getOperand(1));
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

}  // namespace

PreservedAnalyses PointerTestsPass::run(Function& f, FunctionAnalysisManager&) {
  std::vector<std::pair<Instruction*, unsigned>> uses;  // (combination, operand index)
  for (BasicBlock& bb : f)
    for (Instruction& i : bb)
      if (auto ops = combined_operands(i); ops.size() == 2) {
        // Only two tests for 0 fold into one OR (the DAG's and/or of setcc).
        if (!is_zero_test(i.getOperand(ops[0])) || !is_zero_test(i.getOperand(ops[1]))) continue;
        for (unsigned k : ops)
          if (is_pointer_zero_test(i.getOperand(k))) uses.push_back({&i, k});
      }
  if (uses.empty()) return PreservedAnalyses::all();
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
