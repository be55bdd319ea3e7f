#include "ctx_pointer_reads.hpp"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/IntrinsicsBPF.h>

#include <vector>

#include "verifier_ir.hpp"

namespace whistler {

using namespace llvm;

namespace {

bool is_pointer_field(int field) {
  return field == kXdpDataField || field == kXdpDataEndField || field == kXdpDataMetaField;
}

}  // namespace

PreservedAnalyses CtxPointerReadsPass::run(Function& f, FunctionAnalysisManager&) {
  std::vector<CallInst*> reads;
  for (BasicBlock& bb : f)
    for (Instruction& i : bb)
      if (auto* call = dyn_cast<CallInst>(&i);
          call && call->getType()->isIntegerTy(32) && call->getIntrinsicID() == Intrinsic::bpf_getelementptr_and_load &&
          is_pointer_field(ctx_field(call)))
        reads.push_back(call);
  bool changed = false;
  for (CallInst* read : reads) {
    std::vector<ZExtInst*> widenings;
    for (User* u : read->users())
      if (auto* z = dyn_cast<ZExtInst>(u); z && z->getType()->isIntegerTy(64)) widenings.push_back(z);
    if (widenings.empty()) continue;
    IRBuilder<> b(read->getNextNode());
    b.SetCurrentDebugLocation(read->getDebugLoc());
    Value* wide = emit_pinned(b, b.CreateZExt(read, b.getInt64Ty()));
    for (ZExtInst* z : widenings) {
      z->replaceAllUsesWith(wide);
      z->eraseFromParent();
    }
    changed = true;
  }
  return changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

}  // namespace whistler
