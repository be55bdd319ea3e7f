#include "endless_loops.hpp"

#include <llvm/ADT/SmallPtrSet.h>
#include <llvm/Analysis/LoopInfo.h>
#include <llvm/IR/CFG.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Instructions.h>

#include <vector>

namespace whistler {

using namespace llvm;

namespace {

// `ret 0` (of the function's type) at the end of `bb`.
void return_zero(BasicBlock* bb, const DebugLoc& loc) {
  Type* result = bb->getParent()->getReturnType();
  ReturnInst* ret = ReturnInst::Create(bb->getContext(), result->isVoidTy() ? nullptr : Constant::getNullValue(result), bb);
  ret->setDebugLoc(loc);
}

BasicBlock* return_block(Function& f, const DebugLoc& loc) {
  BasicBlock* bb = BasicBlock::Create(f.getContext(), "endless", &f);
  return_zero(bb, loc);
  return bb;
}

// Blocks from which no return can be reached end in one.
bool end_blocks_without_return(Function& f) {
  // The blocks that can reach a return (or an unreachable, which ends a path
  // too), walking back from those.
  SmallPtrSet<BasicBlock*, 32> ends;
  std::vector<BasicBlock*> work;
  for (BasicBlock& bb : f)
    if (isa<ReturnInst>(bb.getTerminator()) || isa<UnreachableInst>(bb.getTerminator())) work.push_back(&bb);
  while (!work.empty()) {
    BasicBlock* bb = work.back();
    work.pop_back();
    if (!ends.insert(bb).second) continue;
    for (BasicBlock* p : predecessors(bb)) work.push_back(p);
  }
  std::vector<BasicBlock*> endless;
  for (BasicBlock& bb : f)
    if (!ends.count(&bb)) endless.push_back(&bb);
  for (BasicBlock* bb : endless) {
    Instruction* term = bb->getTerminator();
    DebugLoc loc = term->getDebugLoc();
    for (BasicBlock* s : successors(bb)) s->removePredecessor(bb);
    term->eraseFromParent();
    return_zero(bb, loc);
  }
  return !endless.empty();
}

// A loop that carries nothing from one iteration to the next (no phi in its
// header) and changes nothing (no instruction with a side effect) runs its
// second iteration exactly as its first: if it gets back to its header, it
// never leaves. Its exits test what the loop does not change (`if a goto
// out; if b goto out; goto head`). Its way back to the header goes to a
// return instead.
bool end_stateless_loops(Function& f, LoopInfo& li) {
  bool changed = false;
  for (Loop* loop : li.getLoopsInPreorder()) {
    BasicBlock* header = loop->getHeader();
    if (!header->phis().empty()) continue;
    bool stateless = true;
    for (BasicBlock* bb : loop->blocks())
      for (Instruction& i : *bb)
        if (i.mayHaveSideEffects()) stateless = false;
    if (!stateless) continue;
    SmallVector<BasicBlock*, 4> latches;
    loop->getLoopLatches(latches);
    BasicBlock* ret = nullptr;
    for (BasicBlock* latch : latches) {
      if (!ret) ret = return_block(f, latch->getTerminator()->getDebugLoc());
      latch->getTerminator()->replaceSuccessorWith(header, ret);
      changed = true;
    }
  }
  return changed;
}

}  // namespace

PreservedAnalyses EndlessLoopsPass::run(Function& f, FunctionAnalysisManager& am) {
  if (f.isDeclaration()) return PreservedAnalyses::all();
  bool changed = end_stateless_loops(f, am.getResult<LoopAnalysis>(f));
  changed |= end_blocks_without_return(f);
  return changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

}  // namespace whistler
