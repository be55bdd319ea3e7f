#include "verdict_counters.hpp"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/Module.h>

#include <vector>

#include "lowering.hpp"

namespace whistler {

llvm::PreservedAnalyses VerdictCountersPass::run(llvm::Function& f, llvm::FunctionAnalysisManager&) {
  if (!f.hasFnAttribute(kShortPacketAttr) || f.isDeclaration()) return llvm::PreservedAnalyses::all();
  llvm::GlobalVariable* map = f.getParent()->getNamedGlobal(kVerdictMapName);
  if (!map) return llvm::PreservedAnalyses::all();
  std::vector<llvm::ReturnInst*> returns;
  for (auto& bb : f)
    if (auto* ret = llvm::dyn_cast<llvm::ReturnInst>(bb.getTerminator())) returns.push_back(ret);
  if (returns.empty()) return llvm::PreservedAnalyses::all();

  llvm::LLVMContext& ctx = f.getContext();
  auto* exit = llvm::BasicBlock::Create(ctx, "count.exit", &f);
  auto* bump = llvm::BasicBlock::Create(ctx, "count.bump", &f);
  auto* done = llvm::BasicBlock::Create(ctx, "count.done", &f);
  llvm::IRBuilder<> b(exit);
  llvm::PHINode* action = b.CreatePHI(b.getInt32Ty(), static_cast<unsigned>(returns.size()), "action");
  llvm::DebugLoc loc = returns.front()->getDebugLoc();
  for (auto* ret : returns) {
    action->addIncoming(ret->getReturnValue(), ret->getParent());
    llvm::IRBuilder<> rb(ret);
    rb.CreateBr(exit)->setDebugLoc(ret->getDebugLoc());
    ret->eraseFromParent();
  }
  b.SetCurrentDebugLocation(loc);
  llvm::IRBuilder<> entry(&f.getEntryBlock(), f.getEntryBlock().getFirstInsertionPt());
  llvm::AllocaInst* key = entry.CreateAlloca(b.getInt32Ty(), nullptr, "verdict");
  llvm::Value* last = b.getInt32(kVerdictSlots - 1);
  llvm::Value* index = b.CreateSelect(b.CreateICmpULT(action, last), action, last);
  b.CreateStore(index, key);
  auto* ptr = llvm::PointerType::getUnqual(ctx);
  auto* lookup_type = llvm::FunctionType::get(ptr, {ptr, ptr}, false);
  llvm::Value* lookup = llvm::ConstantExpr::getIntToPtr(b.getInt64(1), ptr);  // bpf_map_lookup_elem
  llvm::Value* slot = b.CreateCall(lookup_type, lookup, {map, key});
  b.CreateCondBr(b.CreateIsNotNull(slot), bump, done);
  b.SetInsertPoint(bump);
  llvm::Value* count = b.CreateAlignedLoad(b.getInt64Ty(), slot, llvm::Align(8));
  b.CreateAlignedStore(b.CreateAdd(count, b.getInt64(1)), slot, llvm::Align(8));  // per-CPU: no atomics
  b.CreateBr(done);
  b.SetInsertPoint(done);
  b.CreateRet(action);
  return llvm::PreservedAnalyses::none();
}

}  // namespace whistler
