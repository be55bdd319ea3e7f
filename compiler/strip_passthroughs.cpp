#include "strip_passthroughs.hpp"

#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/IntrinsicsBPF.h>

#include <vector>

namespace whistler {

llvm::PreservedAnalyses StripPassthroughsPass::run(llvm::Function& f, llvm::FunctionAnalysisManager&) {
  std::vector<llvm::CallInst*> calls;
  for (llvm::BasicBlock& bb : f)
    for (llvm::Instruction& i : bb)
      if (auto* call = llvm::dyn_cast<llvm::CallInst>(&i))
        if (const llvm::Function* callee = call->getCalledFunction();
            callee && callee->getIntrinsicID() == llvm::Intrinsic::bpf_passthrough &&
            (call->use_empty() || llvm::isa<llvm::Constant>(call->getArgOperand(1))))
          calls.push_back(call);
  for (llvm::CallInst* call : calls) {
    call->replaceAllUsesWith(call->getArgOperand(1));
    call->eraseFromParent();
  }
  if (calls.empty()) return llvm::PreservedAnalyses::all();
  llvm::PreservedAnalyses pa;
  pa.preserveSet<llvm::CFGAnalyses>();
  return pa;
}

}  // namespace whistler
