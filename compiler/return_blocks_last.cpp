#include "return_blocks_last.hpp"

#include <llvm/IR/Function.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/InstrTypes.h>
#include <llvm/IR/Instructions.h>

#include <vector>

namespace whistler {

namespace {

// The condition inverted: a comparison with the inverse predicate (a fresh
// one when the original has other uses), or a `not`.
llvm::Value* inverted(llvm::Value* cond, llvm::Instruction* before) {
  if (auto* cmp = llvm::dyn_cast<llvm::ICmpInst>(cond)) {
    auto* inv = llvm::CmpInst::Create(cmp->getOpcode(), cmp->getInversePredicate(), cmp->getOperand(0), cmp->getOperand(1), "",
                                      before);
    inv->setDebugLoc(cmp->getDebugLoc());
    return inv;
  }
  return llvm::BinaryOperator::CreateNot(cond, "", before);
}

// `br (a && b), T, R` where R returns: the BPF backend cannot reverse a
// branch once selected, so this becomes `if !a goto R; if b goto T; goto R`
// with T next, one jump more than `br (!a || !b), R, T` gives
// (`if !a goto R; if !b goto R`, falling into T).
bool send_taken_edges_to_returns(llvm::Function& f) {
  bool changed = false;
  for (llvm::BasicBlock& bb : f) {
    auto* br = llvm::dyn_cast<llvm::BranchInst>(bb.getTerminator());
    if (!br || !br->isConditional()) continue;
    llvm::BasicBlock* taken = br->getSuccessor(0);
    llvm::BasicBlock* other = br->getSuccessor(1);
    if (llvm::isa<llvm::ReturnInst>(taken->getTerminator()) || !llvm::isa<llvm::ReturnInst>(other->getTerminator())) continue;
    auto* sel = llvm::dyn_cast<llvm::SelectInst>(br->getCondition());
    auto* f_const = sel ? llvm::dyn_cast<llvm::ConstantInt>(sel->getFalseValue()) : nullptr;
    if (!sel || !f_const || !f_const->isZero() || !sel->hasOneUse()) continue;  // a && b
    llvm::Value* a = inverted(sel->getCondition(), br);
    llvm::Value* b = inverted(sel->getTrueValue(), br);
    auto* either = llvm::SelectInst::Create(a, llvm::ConstantInt::getTrue(f.getContext()), b, "", br);
    br->setCondition(either);
    br->swapSuccessors();
    sel->eraseFromParent();
    changed = true;
  }
  return changed;
}

}  // namespace

llvm::PreservedAnalyses ReturnBlocksLastPass::run(llvm::Function& f, llvm::FunctionAnalysisManager&) {
  if (f.isDeclaration()) return llvm::PreservedAnalyses::all();
  bool changed = send_taken_edges_to_returns(f);
  std::vector<llvm::BasicBlock*> returns;
  for (llvm::BasicBlock& bb : f)
    if (&bb != &f.getEntryBlock() && llvm::isa<llvm::ReturnInst>(bb.getTerminator())) returns.push_back(&bb);
  for (llvm::BasicBlock* bb : returns) {
    if (bb == &f.back()) continue;
    bb->moveAfter(&f.back());
    changed = true;
  }
  if (!changed) return llvm::PreservedAnalyses::all();
  // Only the order of blocks changed: the CFG and every analysis of it hold.
  llvm::PreservedAnalyses pa;
  pa.preserveSet<llvm::CFGAnalyses>();
  return pa;
}

}  // namespace whistler
