#include "return_blocks_last.hpp"

#include <llvm/IR/Function.h>
#include <llvm/IR/Instructions.h>

#include <vector>

namespace whistler {

llvm::PreservedAnalyses ReturnBlocksLastPass::run(llvm::Function& f, llvm::FunctionAnalysisManager&) {
  if (f.isDeclaration()) return llvm::PreservedAnalyses::all();
  std::vector<llvm::BasicBlock*> returns;
  for (llvm::BasicBlock& bb : f)
    if (&bb != &f.getEntryBlock() && llvm::isa<llvm::ReturnInst>(bb.getTerminator())) returns.push_back(&bb);
  bool changed = false;
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
