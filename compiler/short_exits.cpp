#include "short_exits.hpp"

#include <algorithm>
#include <optional>

#include <llvm/IR/Constants.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/MDBuilder.h>

#include "verifier_ir.hpp"

namespace whistler {

using namespace llvm;

namespace {

// The value under phis of one incoming value (LCSSA's, after a loop).
Value* through_single_phis(Value* v) {
  for (int guard = 0; guard < 16; ++guard) {
    auto* phi = dyn_cast<PHINode>(v);
    if (!phi || phi->getNumIncomingValues() != 1) break;
    v = phi->getIncomingValue(0);
  }
  return v;
}

// The predicate of `cmp` if it is `v == null` / `v != null`, else nothing.
std::optional<CmpInst::Predicate> null_test_of(Value* cond, Value* v) {
  auto* cmp = dyn_cast<ICmpInst>(through_single_phis(cond));
  if (!cmp || !cmp->isEquality()) return std::nullopt;
  unsigned k = isa<ConstantPointerNull>(cmp->getOperand(1)) ? 0 : 1;
  if (!isa<ConstantPointerNull>(cmp->getOperand(1 - k)) || through_single_phis(cmp->getOperand(k)) != v) return std::nullopt;
  return cmp->getPredicate();
}

// The successor a branch on a test for null with `pred` takes when the value
// is not null: eq's false edge, ne's true edge.
BasicBlock* not_null_successor(BranchInst* br, CmpInst::Predicate pred) {
  return br->getSuccessor(pred == CmpInst::ICMP_EQ ? 1 : 0);
}

// Whether a branch on `r == null` / `r != null` takes, towards `where`, only
// the edge on which `r` is not null (or, given `to`, whether that edge is the
// one from `where`'s block to `to`). The test and the branch may be apart,
// through the phis of one value that LCSSA puts after a loop.
bool known_not_null(DominatorTree& dt, CallInst* r, Instruction* where, BasicBlock* to = nullptr) {
  for (BasicBlock& bb : *r->getFunction()) {
    auto* br = dyn_cast<BranchInst>(bb.getTerminator());
    if (!br || !br->isConditional() || br->getSuccessor(0) == br->getSuccessor(1)) continue;
    auto pred = null_test_of(br->getCondition(), r);
    if (!pred) continue;
    BasicBlock* not_null = not_null_successor(br, *pred);
    if (to && &bb == where->getParent() && not_null == to) return true;
    if (dt.dominates(BasicBlockEdge(br->getParent(), not_null), where->getParent())) return true;
  }
  return false;
}

// Whether a branch on a phi of tests, each testing the incoming record of
// `phi` by the same edge, takes towards `where` only the not-null edge: a
// loop whose with-ringbuf's reservation LLVM rotated into the loop's latch
// tests the merge of the reservations through a merge of the tests.
bool merged_test_not_null(PHINode* phi, DominatorTree& dt, Instruction* where) {
  for (PHINode& cond : phi->getParent()->phis()) {
    if (!cond.getType()->isIntegerTy(1) || cond.getNumIncomingValues() != phi->getNumIncomingValues()) continue;
    std::optional<CmpInst::Predicate> pred;
    bool matches = true;
    for (unsigned k = 0; k < phi->getNumIncomingValues() && matches; ++k) {
      auto p = null_test_of(cond.getIncomingValueForBlock(phi->getIncomingBlock(k)), through_single_phis(phi->getIncomingValue(k)));
      matches = p && (!pred || *pred == *p);
      pred = p;
    }
    if (!matches || !pred) continue;
    for (User* u : cond.users()) {
      auto* br = dyn_cast<BranchInst>(u);
      if (!br || !br->isConditional() || br->getSuccessor(0) == br->getSuccessor(1)) continue;
      if (dt.dominates(BasicBlockEdge(br->getParent(), not_null_successor(br, *pred)), where->getParent())) return true;
    }
  }
  return false;
}

// A phi of reservations (a with-ringbuf in an unrolled loop gives one per
// iteration), each not null on the edge it comes in by: the block it comes
// from runs only after that reservation's test found it not null; or the
// merge tested as a merge (merged_test_not_null).
bool merges_reservations(PHINode* phi, DominatorTree& dt, Instruction* where) {
  if (!dt.dominates(phi, where)) return false;
  bool each_tested = true;
  for (unsigned k = 0; k < phi->getNumIncomingValues(); ++k) {
    auto* r = dyn_cast<CallInst>(through_single_phis(phi->getIncomingValue(k)));
    if (!r || helper_id(*r) != kHelperRingbufReserve) return false;
    if (!known_not_null(dt, r, phi->getIncomingBlock(k)->getTerminator(), phi->getParent())) each_tested = false;
  }
  return each_tested || merged_test_not_null(phi, dt, where);
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
      } else if (auto* phi = dyn_cast<PHINode>(&i); phi && phi->getNumIncomingValues() > 1 && phi->getType()->isPointerTy() && merges_reservations(phi, dt_, where)) {
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
      Value* arg = through_single_phis(rel->getArgOperand(0)->stripPointerCasts());
      bool same = arg == r;
      if (auto* phi = dyn_cast<PHINode>(r))
        for (Value* in : phi->incoming_values()) same |= arg == through_single_phis(in);
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
