#include "beyond_end_copies.hpp"

#include <llvm/Analysis/ValueTracking.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InlineAsm.h>
#include <llvm/IR/Instructions.h>

#include <vector>

#include "verifier_ir.hpp"

namespace whistler {

using namespace llvm;

namespace {

bool is_side_effect_barrier(const Value* v) {
  auto* call = dyn_cast<CallInst>(v);
  auto* asm_ = call ? dyn_cast<InlineAsm>(call->getCalledOperand()) : nullptr;
  return asm_ && asm_->hasSideEffects() && opaque_operand(v);
}

// Where the mark is on: the successor a branch takes with the pointer at or
// past the end, or (the comparison used as a value, which the code
// generator may make a branch of its own) its block and everything after it.
struct MarkedFrom {
  ICmpInst* cmp;
  BasicBlock* edge_to;  // null: from the comparison on
  bool after(Instruction* at, BasicBlock* edge_from) const {
    // `at` runs at `edge_from`'s end (a phi's use) or in its own block.
    BasicBlock* where = edge_from ? edge_from : at->getParent();
    if (edge_to) {
      if (edge_from && edge_from == cmp->getParent() && at->getParent() == edge_to) return true;
      return edge_to == where || path_between(edge_to, where, nullptr);
    }
    // The comparison's whole block: the scheduler moves a load of the
    // block past the branch the code generator makes of a select there.
    return where == cmp->getParent() || path_between(cmp->getParent(), where, nullptr);
  }
};

// Whether the register of `p`, or one the code generator may make of it (a
// constant offset folded into an access, a copy, a select), is used after
// the mark. A merge carries it on when it comes in by an edge after the mark:
// a parse's result merges null on the failed path, where nothing is marked.
bool used_after_mark(Value* p, const MarkedFrom& mark) {
  SmallPtrSet<Value*, 16> seen;
  std::vector<Value*> work{p};
  while (!work.empty()) {
    Value* v = work.back();
    work.pop_back();
    if (!seen.insert(v).second) continue;
    for (Use& use : v->uses()) {
      auto* user = dyn_cast<Instruction>(use.getUser());
      if (!user || user == mark.cmp) continue;
      if (auto* phi = dyn_cast<PHINode>(user)) {
        if (mark.after(phi, phi->getIncomingBlock(use))) work.push_back(phi);
        continue;
      }
      if (isa<GetElementPtrInst>(user) || isa<CastInst>(user) || isa<SelectInst>(user) ||
          (opaque_operand(user) && !is_side_effect_barrier(user))) {
        work.push_back(user);
        continue;
      }
      if (isa<ICmpInst>(user)) continue;  // comparing a marked register is allowed
      if (mark.after(user, nullptr)) return true;
    }
  }
  return false;
}

// Where the comparison `cmp` being `truth` (at or past the end) leads, as
// `v` is: the successor of a branch on it, through an `or` that it makes
// true or an `and` that it makes false (the code generator branches on
// each operand of those); anything after it where it is used otherwise.
void marked_places(ICmpInst* cmp, Value* v, bool truth, std::vector<MarkedFrom>& out, int depth = 0) {
  for (User* u : v->users()) {
    auto* i = dyn_cast<Instruction>(u);
    if (!i) continue;
    if (auto* br = dyn_cast<BranchInst>(i); br && br->isConditional()) {
      out.push_back({cmp, br->getSuccessor(truth ? 0 : 1)});
      continue;
    }
    if (depth < 4 && i->getType()->isIntegerTy(1)) {
      auto* c = i->getNumOperands() > 1 ? dyn_cast<ConstantInt>(i->getOperand(1)) : nullptr;
      if (i->getOpcode() == Instruction::Xor && c && c->isOne()) {
        marked_places(cmp, i, !truth, out, depth + 1);
        continue;
      }
      bool is_or = i->getOpcode() == Instruction::Or;
      bool is_and = i->getOpcode() == Instruction::And;
      if (auto* sel = dyn_cast<SelectInst>(i)) {
        // select a, true, b is a || b; select a, b, false is a && b.
        auto* t = dyn_cast<ConstantInt>(sel->getTrueValue());
        auto* f = dyn_cast<ConstantInt>(sel->getFalseValue());
        is_or = t && t->isOne();
        is_and = f && f->isZero();
      }
      if ((is_or && truth) || (is_and && !truth)) {
        marked_places(cmp, i, truth, out, depth + 1);
        continue;
      }
    }
    out.push_back({cmp, nullptr});
  }
}

}  // namespace

PreservedAnalyses BeyondEndCopiesPass::run(Function& f, FunctionAnalysisManager&) {
  std::vector<std::pair<ICmpInst*, unsigned>> found;  // the comparison, the pointer's operand
  for (BasicBlock& bb : f)
    for (Instruction& i : bb) {
      auto* cmp = dyn_cast<ICmpInst>(&i);
      if (!cmp || !cmp->getOperand(0)->getType()->isPointerTy()) continue;
      unsigned k;
      if (ctx_field(cmp->getOperand(1)) == kXdpDataEndField) k = 0;
      else if (ctx_field(cmp->getOperand(0)) == kXdpDataEndField) k = 1;
      else continue;
      Value* p = cmp->getOperand(k);
      if (isa<Constant>(p) || is_side_effect_barrier(p) || ctx_field(p) == kXdpDataEndField) continue;
      // The successor on which p is at or past the end, when every use is a
      // branch; otherwise anything after the comparison.
      CmpInst::Predicate pred = k == 0 ? cmp->getPredicate() : cmp->getSwappedPredicate();
      int marked_edge = -1;
      if (pred == CmpInst::ICMP_UGT || pred == CmpInst::ICMP_UGE) marked_edge = 0;
      if (pred == CmpInst::ICMP_ULT || pred == CmpInst::ICMP_ULE) marked_edge = 1;
      if (marked_edge < 0) continue;
      std::vector<MarkedFrom> marks;
      marked_places(cmp, cmp, marked_edge == 0, marks);
      // The register compared is also that of what p is made from without
      // arithmetic: `data + 0` (the length check `(> (- end data) 0)`
      // rewritten), a cast, a copy.
      Value* same = p;
      for (int guard = 0; guard < 16; ++guard) {
        if (auto* gep = dyn_cast<GetElementPtrInst>(same); gep && gep->hasAllZeroIndices()) same = gep->getPointerOperand();
        else if (auto* cast = dyn_cast<CastInst>(same); cast && cast->getOperand(0)->getType()->isPointerTy()) same = cast->getOperand(0);
        else if (Value* inner = opaque_operand(same); inner && !is_side_effect_barrier(same)) same = inner;
        else break;
      }
      bool needed = llvm::any_of(marks, [&](const MarkedFrom& m) { return used_after_mark(same, m); });
      if (needed) found.push_back({cmp, k});
    }
  for (auto [cmp, k] : found) {
    IRBuilder<> b(cmp);
    b.SetCurrentDebugLocation(cmp->getDebugLoc());
    cmp->setOperand(k, emit_pinned(b, cmp->getOperand(k)));
  }
  return found.empty() ? PreservedAnalyses::all() : PreservedAnalyses::none();
}

}  // namespace whistler
