#include "narrow_masks.hpp"

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/Instructions.h>

#include <vector>

namespace whistler {

using namespace llvm;

PreservedAnalyses NarrowMasksPass::run(Function& f, FunctionAnalysisManager&) {
  std::vector<BinaryOperator*> work;
  for (Instruction& i : instructions(f)) {
    auto* op = dyn_cast<BinaryOperator>(&i);
    if (!op || !op->getType()->isIntegerTy(64)) continue;
    unsigned opcode = op->getOpcode();
    if (opcode != Instruction::And && opcode != Instruction::Or && opcode != Instruction::Xor) continue;
    auto* zext = dyn_cast<ZExtInst>(op->getOperand(0));
    auto* c = dyn_cast<ConstantInt>(op->getOperand(1));
    if (!zext || !c || !zext->getSrcTy()->isIntegerTy(32)) continue;
    if (opcode != Instruction::And && !c->getValue().isIntN(32)) continue;
    work.push_back(op);
  }
  for (BinaryOperator* op : work) {
    auto* zext = cast<ZExtInst>(op->getOperand(0));
    auto* c = cast<ConstantInt>(op->getOperand(1));
    IRBuilder<> b(op);
    Value* narrow = b.CreateBinOp(op->getOpcode(), zext->getOperand(0), b.getInt32(static_cast<uint32_t>(c->getZExtValue())));
    if (auto* ni = dyn_cast<Instruction>(narrow)) ni->setDebugLoc(op->getDebugLoc());
    Value* wide = b.CreateZExt(narrow, op->getType());
    op->replaceAllUsesWith(wide);
    wide->takeName(op);
    op->eraseFromParent();
  }
  if (work.empty()) return PreservedAnalyses::all();
  PreservedAnalyses pa;
  pa.preserveSet<CFGAnalyses>();
  return pa;
}

}  // namespace whistler
