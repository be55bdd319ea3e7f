#include "stack_alignment.hpp"

#include <llvm/Analysis/ValueTracking.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/Module.h>
#include <llvm/Transforms/Utils/Local.h>

namespace whistler {

using namespace llvm;

namespace {

// The alignment `ptr` has for sure when it points into a stack slot, or
// nothing when it may point elsewhere.
std::optional<Align> stack_alignment(Value* ptr, const DataLayout& dl) {
  if (!isa<AllocaInst>(getUnderlyingObject(ptr))) return std::nullopt;
  return getKnownAlignment(ptr, dl);
}

}  // namespace

PreservedAnalyses StackAlignmentPass::run(Function& f, FunctionAnalysisManager&) {
  const DataLayout& dl = f.getParent()->getDataLayout();
  bool changed = false;
  auto lower = [&](Value* ptr, Align declared, auto&& set) {
    auto known = stack_alignment(ptr, dl);
    if (known && *known < declared) {
      set(*known);
      changed = true;
    }
  };
  for (BasicBlock& bb : f)
    for (Instruction& i : bb) {
      if (auto* ld = dyn_cast<LoadInst>(&i)) {
        lower(ld->getPointerOperand(), ld->getAlign(), [&](Align a) { ld->setAlignment(a); });
      } else if (auto* st = dyn_cast<StoreInst>(&i)) {
        lower(st->getPointerOperand(), st->getAlign(), [&](Align a) { st->setAlignment(a); });
      } else if (auto* mem = dyn_cast<MemIntrinsic>(&i)) {
        lower(mem->getRawDest(), mem->getDestAlign().valueOrOne(), [&](Align a) { mem->setDestAlignment(a); });
        if (auto* transfer = dyn_cast<MemTransferInst>(mem))
          lower(transfer->getRawSource(), transfer->getSourceAlign().valueOrOne(), [&](Align a) { transfer->setSourceAlignment(a); });
      }
    }
  return changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

}  // namespace whistler
