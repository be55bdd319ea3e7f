#include "bounds_checks.hpp"

#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/PostOrderIterator.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/MDBuilder.h>

#include <optional>
#include <vector>

#include "helpers.hpp"
#include "lowering.hpp"

namespace whistler {

using namespace llvm;

namespace {

using llvm::Type;   // not whistler::Type
using llvm::Value;  // not whistler::Value

struct PacketRef {
  Value* root;
  int64_t offset;
};

struct Access {
  Value* pointer;
  uint64_t size;
};

struct EdgeFact {
  Value* root;
  int64_t bytes;
  BasicBlock* from;
  BasicBlock* to;
};

struct PlannedCheck {
  Instruction* at;
  Value* root;
  int64_t bytes;
};

// The ctx field a value was loaded from (through zext/inttoptr), or -1.
int ctx_field(Value* v) {
  for (;;) {
    if (auto* c = dyn_cast<CastInst>(v)) {
      if (isa<IntToPtrInst>(c) || isa<ZExtInst>(c)) {
        v = c->getOperand(0);
        continue;
      }
      return -1;
    }
    break;
  }
  auto* load = dyn_cast<LoadInst>(v);
  if (!load) return -1;
  MDNode* md = load->getMetadata(kCtxMetadata);
  if (!md || md->getNumOperands() != 1) return -1;
  auto* c = mdconst::dyn_extract<ConstantInt>(md->getOperand(0));
  return c ? static_cast<int>(c->getZExtValue()) : -1;
}

bool is_packet_end(Value* v) { return ctx_field(v) == 4; }

// The i32 load of ctx->data under a chain of zext/inttoptr, or nullptr. All
// views of ctx->data share this load as their root.
Value* data_load(Value* v) {
  if (ctx_field(v) != 0) return nullptr;
  while (auto* c = dyn_cast<CastInst>(v)) v = c->getOperand(0);
  return v;
}

// A helper call's BPF_FUNC id, or -1.
int helper_id(const CallBase& call) {
  auto* ce = dyn_cast<ConstantExpr>(call.getCalledOperand());
  if (!ce || ce->getOpcode() != Instruction::IntToPtr) return -1;
  auto* id = dyn_cast<ConstantInt>(ce->getOperand(0));
  return id ? static_cast<int>(id->getZExtValue()) : -1;
}

const HelperInfo* helper_by_id(int id) {
  for (const auto& h : all_helpers())
    if (h.id == id) return &h;
  return nullptr;
}

class Checker {
 public:
  Checker(Function& f, DominatorTree& dt, BoundsCheckStats* stats)
      : f_(f), dt_(dt), dl_(f.getParent()->getDataLayout()), stats_(stats) {}

  bool run(int64_t short_action);

 private:
  std::optional<PacketRef> decompose(Value* ptr);
  bool is_packet_root(Value* v);
  void accesses_of(Instruction& i, std::vector<Access>& out);
  void rewrite_length_checks();
  void collect_edge_facts();
  bool covered(Value* root, int64_t need, Instruction* at);
  bool is_barrier(Instruction& i);
  int64_t merge_window(Instruction* first, Value* root, int64_t need);
  void insert(const PlannedCheck& check, BasicBlock*& short_block, int64_t short_action);

  Function& f_;
  DominatorTree& dt_;
  const DataLayout& dl_;
  BoundsCheckStats* stats_;
  DenseMap<Value*, bool> packet_memo_;
  std::vector<EdgeFact> facts_;
  std::vector<PlannedCheck> planned_;
  bool changed_ = false;
};

std::optional<PacketRef> Checker::decompose(Value* ptr) {
  int64_t offset = 0;
  Value* v = ptr;
  for (int guard = 0; guard < 64; ++guard) {
    if (auto* gep = dyn_cast<GEPOperator>(v)) {
      APInt o(dl_.getIndexTypeSizeInBits(gep->getType()), 0);
      if (gep->accumulateConstantOffset(dl_, o)) {
        offset += o.getSExtValue();
        v = gep->getPointerOperand();
        continue;
      }
      break;  // a variable offset: this GEP is a root of its own
    }
    if (auto* i2p = dyn_cast<IntToPtrInst>(v))
      if (auto* p2i = dyn_cast<PtrToIntInst>(i2p->getOperand(0))) {
        v = p2i->getOperand(0);
        continue;
      }
    break;
  }
  if (Value* load = data_load(v)) v = load;
  if (!is_packet_root(v)) return std::nullopt;
  return PacketRef{v, offset};
}

bool Checker::is_packet_root(Value* v) {
  if (auto it = packet_memo_.find(v); it != packet_memo_.end()) return it->second;
  if (isa<LoadInst>(v) && ctx_field(v) == 0) return packet_memo_[v] = true;
  packet_memo_[v] = true;  // optimistic for cycles through loop phis
  bool result = false;
  if (auto* gep = dyn_cast<GetElementPtrInst>(v)) {
    result = decompose(gep->getPointerOperand()).has_value();
  } else if (auto* phi = dyn_cast<PHINode>(v)) {
    bool any = false;
    result = true;
    for (Value* in : phi->incoming_values()) {
      if (isa<ConstantPointerNull>(in)) continue;
      if (decompose(in)) any = true;
      else result = false;
    }
    result = result && any;
  } else if (auto* sel = dyn_cast<SelectInst>(v)) {
    bool any = false;
    result = true;
    for (Value* in : {sel->getTrueValue(), sel->getFalseValue()}) {
      if (isa<ConstantPointerNull>(in)) continue;
      if (decompose(in)) any = true;
      else result = false;
    }
    result = result && any;
  }
  packet_memo_[v] = result;
  return result;
}

void Checker::accesses_of(Instruction& i, std::vector<Access>& out) {
  out.clear();
  if (auto* ld = dyn_cast<LoadInst>(&i)) {
    out.push_back({ld->getPointerOperand(), dl_.getTypeStoreSize(ld->getType()).getFixedValue()});
  } else if (auto* st = dyn_cast<StoreInst>(&i)) {
    out.push_back({st->getPointerOperand(), dl_.getTypeStoreSize(st->getValueOperand()->getType()).getFixedValue()});
  } else if (auto* rmw = dyn_cast<AtomicRMWInst>(&i)) {
    out.push_back({rmw->getPointerOperand(), dl_.getTypeStoreSize(rmw->getValOperand()->getType()).getFixedValue()});
  } else if (auto* cx = dyn_cast<AtomicCmpXchgInst>(&i)) {
    out.push_back({cx->getPointerOperand(), dl_.getTypeStoreSize(cx->getCompareOperand()->getType()).getFixedValue()});
  } else if (auto* mi = dyn_cast<MemIntrinsic>(&i)) {
    auto* len = dyn_cast<ConstantInt>(mi->getLength());
    if (!len) return;
    out.push_back({mi->getRawDest(), len->getZExtValue()});
    if (auto* mt = dyn_cast<MemTransferInst>(mi)) out.push_back({mt->getRawSource(), len->getZExtValue()});
  } else if (auto* call = dyn_cast<CallInst>(&i)) {
    const HelperInfo* h = helper_by_id(helper_id(*call));
    if (!h) return;
    for (auto [ptr_index, size_index] : h->mem_args) {
      if (static_cast<unsigned>(size_index) >= call->arg_size()) continue;
      auto* size = dyn_cast<ConstantInt>(call->getArgOperand(size_index));
      if (!size || size->isZero()) continue;
      out.push_back({call->getArgOperand(ptr_index), size->getZExtValue()});
    }
  }
}

// A length test `(data_end - p) OP N` says the same as a pointer test the
// verifier understands; rewrite it as `p + N OP' data_end` so the program's
// own check proves the accesses it guards.
void Checker::rewrite_length_checks() {
  for (BasicBlock& bb : f_) {
    for (Instruction& inst : bb) {
      auto* cmp = dyn_cast<ICmpInst>(&inst);
      if (!cmp || cmp->isEquality()) continue;
      Value* len = cmp->getOperand(0);
      auto* bound = dyn_cast<ConstantInt>(cmp->getOperand(1));
      CmpInst::Predicate pred = cmp->getPredicate();
      if (!bound) {
        len = cmp->getOperand(1);
        bound = dyn_cast<ConstantInt>(cmp->getOperand(0));
        pred = CmpInst::getSwappedPredicate(pred);
      }
      auto* sub = dyn_cast<BinaryOperator>(len);
      if (!bound || !sub || sub->getOpcode() != Instruction::Sub) continue;
      // Each side is ptrtoint(pointer) or, once simplified, the zext'ed ctx load itself.
      Value* end_side = sub->getOperand(0);
      Value* start_side = sub->getOperand(1);
      if (auto* p2i = dyn_cast<PtrToIntInst>(end_side)) end_side = p2i->getOperand(0);
      if (!is_packet_end(end_side)) continue;
      Value* start = nullptr;
      if (auto* p2i = dyn_cast<PtrToIntInst>(start_side)) start = p2i->getOperand(0);
      else if (data_load(start_side)) start = start_side;
      if (!start) continue;
      int64_t n = bound->getSExtValue();
      if (n < 0 || n > 0xffff) continue;
      // len < N  <=>  p + N > end;  len <= N <=> p + N >= end;  and so on.
      CmpInst::Predicate pointer_pred;
      switch (pred) {
        case CmpInst::ICMP_ULT: case CmpInst::ICMP_SLT: pointer_pred = CmpInst::ICMP_UGT; break;
        case CmpInst::ICMP_ULE: case CmpInst::ICMP_SLE: pointer_pred = CmpInst::ICMP_UGE; break;
        case CmpInst::ICMP_UGT: case CmpInst::ICMP_SGT: pointer_pred = CmpInst::ICMP_ULT; break;
        case CmpInst::ICMP_UGE: case CmpInst::ICMP_SGE: pointer_pred = CmpInst::ICMP_ULE; break;
        default: continue;
      }
      IRBuilder<> b(cmp);
      Type* ptr = PointerType::getUnqual(f_.getContext());
      if (!start->getType()->isPointerTy()) start = b.CreateIntToPtr(start, ptr);
      if (!decompose(start)) continue;
      if (!end_side->getType()->isPointerTy()) end_side = b.CreateIntToPtr(end_side, ptr);
      Value* limit = b.CreateInBoundsGEP(b.getInt8Ty(), start, b.getInt64(static_cast<uint64_t>(n)));
      cmp->setPredicate(pointer_pred);
      cmp->setOperand(0, limit);
      cmp->setOperand(1, end_side);
      changed_ = true;
    }
  }
}

void Checker::collect_edge_facts() {
  for (BasicBlock& bb : f_) {
    auto* br = dyn_cast<BranchInst>(bb.getTerminator());
    if (!br || !br->isConditional()) continue;
    auto* cmp = dyn_cast<ICmpInst>(br->getCondition());
    if (!cmp) continue;
    Value* a = cmp->getOperand(0);
    Value* b = cmp->getOperand(1);
    CmpInst::Predicate pred = cmp->getPredicate();
    if (is_packet_end(a)) {
      std::swap(a, b);
      pred = CmpInst::getSwappedPredicate(pred);
    }
    if (!is_packet_end(b)) continue;
    auto ref = decompose(a);
    if (!ref) continue;
    // ref + off (pred) end: which edge proves how many bytes after the root.
    int64_t bytes;
    bool on_true;
    switch (pred) {
      case CmpInst::ICMP_UGT: bytes = ref->offset; on_true = false; break;      // ptr <= end on false
      case CmpInst::ICMP_UGE: bytes = ref->offset + 1; on_true = false; break;  // ptr < end on false
      case CmpInst::ICMP_ULT: bytes = ref->offset + 1; on_true = true; break;
      case CmpInst::ICMP_ULE: bytes = ref->offset; on_true = true; break;
      default: continue;
    }
    if (bytes <= 0) continue;
    BasicBlock* to = br->getSuccessor(on_true ? 0 : 1);
    if (br->getSuccessor(0) == br->getSuccessor(1)) continue;
    facts_.push_back({ref->root, bytes, &bb, to});
  }
}

bool Checker::covered(Value* root, int64_t need, Instruction* at) {
  BasicBlock* bb = at->getParent();
  for (const auto& fact : facts_)
    if (fact.root == root && fact.bytes >= need && dt_.dominates(BasicBlockEdge(fact.from, fact.to), bb)) return true;
  for (const auto& check : planned_) {
    if (check.root != root || check.bytes < need) continue;
    BasicBlock* cb = check.at->getParent();
    if (cb == bb ? check.at == at || check.at->comesBefore(at) : dt_.properlyDominates(cb, bb)) return true;
  }
  return false;
}

// Calls (other than memory intrinsics and debug markers) and atomics end a
// merge window: widening a check across them could skip their side effects.
bool Checker::is_barrier(Instruction& i) {
  if (isa<DbgInfoIntrinsic>(i) || isa<MemIntrinsic>(i)) return false;
  if (auto* ii = dyn_cast<IntrinsicInst>(&i))
    return !(ii->getIntrinsicID() == Intrinsic::lifetime_start || ii->getIntrinsicID() == Intrinsic::lifetime_end);
  if (isa<CallBase>(i)) return true;
  return isa<AtomicRMWInst>(i) || isa<AtomicCmpXchgInst>(i) || isa<FenceInst>(i);
}

int64_t Checker::merge_window(Instruction* first, Value* root, int64_t need) {
  std::vector<Access> accesses;
  for (Instruction* i = first->getNextNode(); i; i = i->getNextNode()) {
    if (is_barrier(*i) || i->isTerminator()) break;
    accesses_of(*i, accesses);
    for (const auto& a : accesses)
      if (auto ref = decompose(a.pointer); ref && ref->root == root && ref->offset >= 0)
        need = std::max<int64_t>(need, ref->offset + static_cast<int64_t>(a.size));
  }
  return need;
}

void Checker::insert(const PlannedCheck& check, BasicBlock*& short_block, int64_t short_action) {
  LLVMContext& ctx = f_.getContext();
  if (!short_block) {
    short_block = BasicBlock::Create(ctx, "short_packet", &f_);
    IRBuilder<> sb(short_block);
    sb.SetCurrentDebugLocation(check.at->getDebugLoc());
    sb.CreateRet(sb.getInt32(static_cast<uint32_t>(short_action)));
  }
  BasicBlock* head = check.at->getParent();
  BasicBlock* cont = head->splitBasicBlock(check.at, "pkt.ok");
  head->getTerminator()->eraseFromParent();
  IRBuilder<> b(head);
  b.SetCurrentDebugLocation(check.at->getDebugLoc());
  Value* ctx_arg = f_.getArg(0);
  Value* end_addr = b.CreateConstInBoundsGEP1_64(b.getInt8Ty(), ctx_arg, 4);
  LoadInst* end32 = b.CreateAlignedLoad(b.getInt32Ty(), end_addr, Align(4));
  end32->setMetadata(kCtxMetadata, MDNode::get(ctx, {ConstantAsMetadata::get(b.getInt32(4))}));
  Value* end = b.CreateIntToPtr(b.CreateZExt(end32, b.getInt64Ty()), PointerType::getUnqual(ctx));
  Value* base = check.root;
  if (!base->getType()->isPointerTy())  // the ctx->data load itself
    base = b.CreateIntToPtr(b.CreateZExt(base, b.getInt64Ty()), PointerType::getUnqual(ctx));
  Value* limit = b.CreateInBoundsGEP(b.getInt8Ty(), base, b.getInt64(static_cast<uint64_t>(check.bytes)));
  Value* too_short = b.CreateICmpUGT(limit, end);
  MDBuilder md(ctx);
  b.CreateCondBr(too_short, short_block, cont, md.createUnlikelyBranchWeights());
}

bool Checker::run(int64_t short_action) {
  rewrite_length_checks();
  collect_edge_facts();
  std::vector<Access> accesses;
  ReversePostOrderTraversal<Function*> rpo(&f_);
  for (BasicBlock* bb : rpo) {
    for (Instruction& i : *bb) {
      accesses_of(i, accesses);
      for (const auto& a : accesses) {
        auto ref = decompose(a.pointer);
        if (!ref) continue;
        if (stats_) ++stats_->accesses;
        int64_t need = ref->offset + static_cast<int64_t>(a.size);
        if (ref->offset < 0) continue;  // below the root: only a check against data can prove it
        bool by_program = false;
        for (const auto& fact : facts_)
          if (fact.root == ref->root && fact.bytes >= need && dt_.dominates(BasicBlockEdge(fact.from, fact.to), bb)) by_program = true;
        if (by_program) {
          if (stats_) ++stats_->proven;
          continue;
        }
        if (covered(ref->root, need, &i)) {
          if (stats_) ++stats_->merged;
          continue;
        }
        planned_.push_back({&i, ref->root, merge_window(&i, ref->root, need)});
      }
    }
  }
  if (planned_.empty()) return changed_;
  BasicBlock* short_block = nullptr;
  for (const auto& check : planned_) {
    insert(check, short_block, short_action);
    if (stats_) ++stats_->inserted;
  }
  return true;
}

}  // namespace

PreservedAnalyses PacketBoundsPass::run(Function& f, FunctionAnalysisManager& am) {
  Attribute attr = f.getFnAttribute(kShortPacketAttr);
  if (!attr.isStringAttribute() || f.isDeclaration()) return PreservedAnalyses::all();
  int64_t action = std::stoll(attr.getValueAsString().str());
  auto& dt = am.getResult<DominatorTreeAnalysis>(f);
  Checker checker(f, dt, stats_);
  if (!checker.run(action)) return PreservedAnalyses::all();
  return PreservedAnalyses::none();
}

}  // namespace whistler
