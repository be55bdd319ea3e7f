#include "short_exits.hpp"

#include <algorithm>

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/MDBuilder.h>

#include "verifier_ir.hpp"

namespace whistler {

using namespace llvm;

namespace {

// Whether a branch on `r == null` / `r != null` takes, towards `where`, only
// the edge on which `r` is not null.
bool known_not_null(DominatorTree& dt, CallInst* r, Instruction* where) {
  for (User* u : r->users()) {
    auto* cmp = dyn_cast<ICmpInst>(u);
    if (!cmp || !cmp->isEquality() || !isa<ConstantPointerNull>(cmp->getOperand(cmp->getOperand(0) == r ? 1 : 0))) continue;
    for (User* cu : cmp->users()) {
      auto* br = dyn_cast<BranchInst>(cu);
      if (!br || !br->isConditional() || br->getSuccessor(0) == br->getSuccessor(1)) continue;
      // eq: the false edge is not null; ne: the true edge.
      unsigned edge = cmp->getPredicate() == CmpInst::ICMP_EQ ? 1 : 0;
      if (dt.dominates(BasicBlockEdge(br->getParent(), br->getSuccessor(edge)), where->getParent())) return true;
    }
  }
  return false;
}

// A phi of reservations (a with-ringbuf in an unrolled loop gives one per
// iteration), each not null on the edge it comes in by.
bool merges_reservations(PHINode* phi, DominatorTree& dt, Instruction* where) {
  if (!dt.dominates(phi, where)) return false;
  for (unsigned k = 0; k < phi->getNumIncomingValues(); ++k) {
    auto* r = dyn_cast<CallInst>(phi->getIncomingValue(k));
    if (!r || helper_id(*r) != kHelperRingbufReserve) return false;
    auto* br = dyn_cast<BranchInst>(phi->getIncomingBlock(k)->getTerminator());
    auto* cmp = br && br->isConditional() ? dyn_cast<ICmpInst>(br->getCondition()) : nullptr;
    if (!cmp || !cmp->isEquality() || (cmp->getOperand(0) != r && cmp->getOperand(1) != r) ||
        !isa<ConstantPointerNull>(cmp->getOperand(cmp->getOperand(0) == r ? 1 : 0)))
      return false;
    unsigned not_null = cmp->getPredicate() == CmpInst::ICMP_EQ ? 1 : 0;
    if (br->getSuccessor(not_null) != phi->getParent() || br->getSuccessor(1 - not_null) == phi->getParent()) return false;
  }
  return true;
}

}  // namespace

std::vector<Instruction*> ShortExits::held(Instruction* where) {
  std::vector<CallInst*> releases;
  std::vector<Instruction*> records;  // reservations, and phis of them, not null where the check runs
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb) {
      if (auto* call = dyn_cast<CallInst>(&i)) {
        int id = helper_id(*call);
        if (id == kHelperRingbufReserve && dt_.dominates(call, where) && known_not_null(dt_, call, where)) records.push_back(call);
        else if (id == kHelperRingbufSubmit || id == kHelperRingbufDiscard) releases.push_back(call);
      } else if (auto* phi = dyn_cast<PHINode>(&i); phi && phi->getType()->isPointerTy() && merges_reservations(phi, dt_, where)) {
        records.push_back(phi);
      }
    }
  // A phi of reservations that merges one already listed is that record on
  // its path: discarding both would discard it twice.
  std::vector<Instruction*> distinct;
  for (Instruction* r : records) {
    bool same = std::find(distinct.begin(), distinct.end(), r) != distinct.end();
    if (auto* phi = dyn_cast<PHINode>(r))
      for (Value* in : phi->incoming_values())
        same |= std::find(records.begin(), records.end(), in) != records.end();
    if (!same) distinct.push_back(r);
  }
  records = std::move(distinct);
  std::vector<Instruction*> out;
  for (Instruction* r : records) {
    bool released = false;
    for (CallInst* rel : releases) {
      Value* arg = rel->getArgOperand(0)->stripPointerCasts();
      bool same = arg == r;
      if (auto* phi = dyn_cast<PHINode>(r))
        for (Value* in : phi->incoming_values()) same |= arg == in;
      released |= same && dt_.dominates(rel, where);
    }
    if (!released) out.push_back(r);
  }
  return out;
}

BasicBlock* ShortExits::exit_for(Instruction* where) {
  std::vector<Instruction*> records = held(where);
  if (auto it = exits_.find(records); it != exits_.end()) return it->second;
  BasicBlock* exit = BasicBlock::Create(f_.getContext(), records.empty() ? "short_packet" : "short_packet.discard", &f_);
  IRBuilder<> b(exit);
  b.SetCurrentDebugLocation(where->getDebugLoc());
  for (Instruction* r : records) {
    // bpf_ringbuf_discard(record, 0)
    auto* fty = FunctionType::get(b.getVoidTy(), {r->getType(), b.getInt64Ty()}, false);
    b.CreateCall(fty, ConstantExpr::getIntToPtr(b.getInt64(kHelperRingbufDiscard), PointerType::getUnqual(f_.getContext())),
                 {r, b.getInt64(0)});
  }
  b.CreateRet(b.getInt32(static_cast<uint32_t>(action_)));
  exits_[records] = exit;
  return exit;
}

void ShortExits::branch(Instruction* where, Value* fails, BasicBlock* exit) {
  BasicBlock* head = where->getParent();
  BasicBlock* cont = head->splitBasicBlock(where, "pkt.ok");
  head->getTerminator()->eraseFromParent();
  IRBuilder<> b(head);
  b.SetCurrentDebugLocation(where->getDebugLoc());
  MDBuilder md(where->getContext());
  b.CreateCondBr(fails, exit, cont, md.createUnlikelyBranchWeights());
}

}  // namespace whistler
