#include "bounds_checks.hpp"

#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/MapVector.h>
#include <llvm/ADT/PostOrderIterator.h>
#include <llvm/ADT/SmallPtrSet.h>
#include <llvm/Analysis/CFG.h>
#include <llvm/Analysis/ValueTracking.h>
#include <fmt/format.h>
#include <llvm/IR/CFG.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/IntrinsicsBPF.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/Transforms/Utils/BasicBlockUtils.h>

#include <cstdlib>
#include <map>
#include <optional>

#include <llvm/Support/raw_ostream.h>
#include <vector>

#include "helpers.hpp"
#include "lowering.hpp"
#include "verifier_ir.hpp"
#include "verifier_ranges.hpp"
#include "pass_diagnostic.hpp"
#include "short_exits.hpp"

namespace whistler {

using namespace llvm;

namespace {

using llvm::Type;   // not whistler::Type
using llvm::Value;  // not whistler::Value

struct PacketRef {
  Value* root;
  int64_t offset;
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
  // A check for one incoming pointer of a merge that also brings pointers
  // to other memory: made only on the edge into `edge_to` (a phi's), or only
  // when `guard` is `guard_value` (a select's condition). Such a check covers
  // no other access.
  BasicBlock* edge_to = nullptr;
  Value* guard = nullptr;
  bool guard_value = true;
  bool covers_others() const { return !edge_to && !guard; }
};

// The xdp_md fields that start and end a region of memory the verifier
// bounds: the packet (data .. data_end) and its metadata (data_meta .. data).
struct Region {
  int start_field;
  int end_field;
};
constexpr Region kPacket{kXdpDataField, kXdpDataEndField};
constexpr Region kMetadata{kXdpDataMetaField, kXdpDataField};

bool reads_ctx_field(Function& f, int field) {
  for (BasicBlock& bb : f)
    for (Instruction& i : bb)
      if (ctx_field(&i) == field) return true;
  return false;
}

// The value under a freeze or an llvm.bpf.passthrough (the library's
// %opaque), or nullptr. Both vanish before code generation, so the pointer
// under them is the same register. An emit_opaque barrier is different: it
// makes one register of a pointer computed from a variable offset, and is a
// root of its own.
Value* see_through(Value* v) {
  if (auto* fr = dyn_cast<FreezeInst>(v)) return fr->getOperand(0);
  if (auto* call = dyn_cast<CallInst>(v))
    if (const Function* callee = call->getCalledFunction(); callee && callee->getIntrinsicID() == Intrinsic::bpf_passthrough)
      return call->getArgOperand(1);
  return nullptr;
}

// A root as a pointer: a read of the start field is one already, or an
// integer (a plain 32-bit load) to widen.
Value* as_pointer(IRBuilder<>& b, Value* root) {
  if (root->getType()->isPointerTy()) return root;
  return b.CreateIntToPtr(b.CreateZExt(root, b.getInt64Ty()), PointerType::getUnqual(b.getContext()));
}

// Calls `leaf(cmp, holds)` for each comparison that `cond` being `truth`
// implies, with whether it holds: through and/or (as instructions or as the
// selects SimplifyCFG makes: `select a, true, b` is a || b, `select a, b,
// false` is a && b), negation (xor 1), freeze and the barriers. Only what is
// implied counts: a|b false gives both false, a&b true both true.
template <class Leaf>
void for_implied_comparisons(Value* cond, bool truth, Leaf&& leaf, int depth = 0) {
  if (depth > 8) return;
  if (auto* fr = dyn_cast<FreezeInst>(cond)) return for_implied_comparisons(fr->getOperand(0), truth, leaf, depth + 1);
  if (Value* inner = opaque_operand(cond)) return for_implied_comparisons(inner, truth, leaf, depth + 1);
  if (auto* bin = dyn_cast<BinaryOperator>(cond)) {
    if (bin->getOpcode() == Instruction::Xor)
      if (auto* c = dyn_cast<ConstantInt>(bin->getOperand(1)); c && c->isOne())
        return for_implied_comparisons(bin->getOperand(0), !truth, leaf, depth + 1);
    if ((bin->getOpcode() == Instruction::Or && !truth) || (bin->getOpcode() == Instruction::And && truth)) {
      for_implied_comparisons(bin->getOperand(0), truth, leaf, depth + 1);
      for_implied_comparisons(bin->getOperand(1), truth, leaf, depth + 1);
    }
    return;
  }
  if (auto* sel = dyn_cast<SelectInst>(cond)) {
    auto* t = dyn_cast<ConstantInt>(sel->getTrueValue());
    auto* f = dyn_cast<ConstantInt>(sel->getFalseValue());
    bool is_or = t && t->isOne();
    bool is_and = f && f->isZero();
    if ((is_or && !truth) || (is_and && truth)) {
      for_implied_comparisons(sel->getCondition(), truth, leaf, depth + 1);
      for_implied_comparisons(is_or ? sel->getFalseValue() : sel->getTrueValue(), truth, leaf, depth + 1);
    }
    return;
  }
  if (auto* cmp = dyn_cast<ICmpInst>(cond)) leaf(cmp, truth);
}

bool is_opaque_pointer(Value* v) { return opaque_operand(v) && !see_through(v); }

// 0, or an integer made a pointer, plus constant offsets.
bool constant_address(Value* v) {
  Value* base = v;
  for (int guard = 0; guard < 16; ++guard) {
    base = base->stripInBoundsConstantOffsets();
    if (auto* gep = dyn_cast<GEPOperator>(base)) base = gep->getPointerOperand();
    else break;
  }
  if (isa<ConstantPointerNull>(base)) return true;
  if (auto* ce = dyn_cast<ConstantExpr>(base); ce && ce->getOpcode() == Instruction::IntToPtr) return true;
  return false;
}

// What the verifier knows of a packet pointer on every path that reaches a
// use: its constant offset from the region's start is within [lo, hi] and its
// variable part is at most `var` (kUnbounded: nothing is known).
// How far past a root other than the region's start an access or a
// comparison may reach and still count: the root itself may be up to
// 0x7fff past the start (a rebuilt offset) and the verifier's limit is on
// the sum. Further is never inside any linear packet: the short-packet exit.
constexpr int64_t kFarFromRoot = 0x8000;

struct Shape {
  int64_t lo = 0;
  int64_t hi = 0;
  uint64_t var = 0;

  static Shape unknown() { return {0, 0, kUnbounded}; }
  bool known() const { return var != kUnbounded; }
  Shape shifted(int64_t by) const { return known() ? Shape{lo + by, hi + by, var} : *this; }
  Shape merged(const Shape& o) const {
    if (!known() || !o.known()) return unknown();
    return {std::min(lo, o.lo), std::max(hi, o.hi), std::max(var, o.var)};
  }
};

// What a program asks of a root: accesses and comparisons reach up to `need`
// bytes after it and start as low as `lowest` (negative: before it).
struct Demand {
  int64_t need = 0;
  int64_t lowest = 0;
  // Room kept past `need` for the steps of a loop the pointer starts (see
  // demands): the verifier adds each to the constant offset.
  int64_t headroom = 0;
};


class Checker {
 public:
  Checker(Function& f, DominatorTree& dt, BoundsCheckStats* stats, Region region, int64_t short_action)
      : f_(f), dt_(dt), dl_(f.getParent()->getDataLayout()), stats_(stats), region_(region), ranges_(dt),
        exits_(f, dt, short_action) {}

  bool run();

 private:
  std::optional<PacketRef> decompose(Value* ptr);
  bool is_packet_root(Value* v);
  bool is_packet_end(Value* v) { return ctx_field(v) == region_.end_field; }
  Value* data_load(Value* v);
  void rewrite_length_checks();
  void collect_edge_facts();
  bool fold_implied_comparisons();
  bool fold_decided_selects();
  bool clamp_far_constants();
  bool fix_far_merges();
  bool check_null_merges();
  bool split_mixed_selects();
  bool tested_not_null(Value* root, BasicBlock* bb);
  void not_null_from_condition(Value* cond, bool truth, std::vector<Value*>& out, int depth);
  struct NotNullEdge {
    Value* root;
    BasicBlock* from;
    BasicBlock* to;
  };
  std::vector<NotNullEdge> not_null_;
  bool not_null_collected_ = false;
  void facts_from_condition(Value* cond, bool truth, std::vector<std::pair<Value*, int64_t>>& out, int depth);
  bool proven(Value* root, int64_t need, BasicBlock* bb, Instruction* at, bool with_planned, int depth);
  bool covered(Value* root, int64_t need, Instruction* at);
  bool is_barrier(Instruction& i);
  int64_t merge_window(Instruction* first, Value* root, int64_t need);
  void insert(const PlannedCheck& check, BasicBlock* exit);
  Value* packet_end(IRBuilder<>& b, const DebugLoc& loc);
  bool copy_packet_buffers();
  bool plain_packet_atomics();
  std::vector<Value*> sources(Value* root);
  bool fix_variable_offsets();
  DenseMap<Value*, Demand> demands();
  Shape shape(Value* root);
  Value* variable_offset(GetElementPtrInst* gep, IRBuilder<>* b);
  bool verifiable(GetElementPtrInst* gep, const Demand& demand);
  bool merge_web_shape(Value* root, Shape& out);
  void rebase(GetElementPtrInst* gep, const Demand& demand);
  Value* region_start(IRBuilder<>& b);
  void reset_memos() {
    packet_memo_.clear();
    shapes_.clear();
    mixed_.clear();
    stale_memo_.clear();
  }
  void plan_mixed(Value* root, int64_t need, Instruction* at);
  bool far_incoming(Value* root, int64_t need);
  CallInst* moved_since(Instruction* load, Instruction* access);
  CallInst* stale_call(Value* root, Instruction* at, int depth);
  std::map<std::pair<Value*, Instruction*>, CallInst*> stale_memo_;
  bool report_stale(Value* root, Instruction* access);
  bool through_packet_end(Value* ptr);
  std::vector<CallInst*> movers_;  // calls that move the packet (xdp-adjust-head/tail/meta, tail calls)

  Function& f_;
  DominatorTree& dt_;
  const DataLayout& dl_;
  BoundsCheckStats* stats_;
  Region region_;
  DenseMap<Value*, bool> packet_memo_;
  SmallPtrSet<Value*, 4> mixed_;  // merges of packet pointers with pointers to other memory
  DenseMap<Value*, Shape> shapes_;
  VerifierRanges ranges_;
  ShortExits exits_;
  std::vector<EdgeFact> facts_;
  std::vector<PlannedCheck> planned_;
  std::map<std::pair<BasicBlock*, BasicBlock*>, Instruction*> edge_blocks_;  // critical edges split for checks
  bool changed_ = false;
  bool moves_packet_ = false;     // calls xdp-adjust-head/tail/meta
  Value* shared_end_ = nullptr;   // data_end loaded once in the entry block
};

// The i32 load of the region's start field (ctx->data for the packet) under
// a chain of zext/inttoptr, or nullptr. All views of it share the load as
// their root.
Value* Checker::data_load(Value* v) {
  if (ctx_field(v) != region_.start_field) return nullptr;
  while (auto* c = dyn_cast<CastInst>(v)) v = c->getOperand(0);
  return v;
}

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
    if (Value* inner = see_through(v)) {
      v = inner;
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
  if (!isa<CastInst>(v) && ctx_field(v) == region_.start_field) return packet_memo_[v] = true;
  packet_memo_[v] = true;  // optimistic for cycles through loop phis
  bool result = false;
  if (auto* gep = dyn_cast<GetElementPtrInst>(v)) {
    result = decompose(gep->getPointerOperand()).has_value();
  } else if (is_opaque_pointer(v)) {
    result = v->getType()->isPointerTy() && decompose(opaque_operand(v)).has_value();
  } else if (isa<PHINode>(v) || isa<SelectInst>(v)) {
    // A merge of packet pointers (and null, which no verified program
    // dereferences). LLVM also merges a packet pointer with a pointer to other
    // memory (two loads sunk into one, through a phi of their addresses): the
    // merge is a root still, `mixed`, and the packet paths are checked alone.
    std::vector<Value*> incoming;
    if (auto* phi = dyn_cast<PHINode>(v)) incoming.assign(phi->incoming_values().begin(), phi->incoming_values().end());
    else incoming = {cast<SelectInst>(v)->getTrueValue(), cast<SelectInst>(v)->getFalseValue()};
    bool any = false, foreign = false;
    for (Value* in : incoming) {
      if (isa<ConstantPointerNull>(in)) continue;
      if (decompose(in)) any = true;
      else foreign = true;
    }
    result = any;
    if (any && foreign) mixed_.insert(v);
  }
  packet_memo_[v] = result;
  return result;
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
      if (Value* inner = opaque_operand(len)) len = inner;
      auto* sub = dyn_cast<BinaryOperator>(len);
      if (!bound || !sub || sub->getOpcode() != Instruction::Sub) continue;
      // Each side is ptrtoint(pointer) or, once simplified, the zext'ed ctx load itself.
      Value* end_side = sub->getOperand(0);
      Value* start_side = sub->getOperand(1);
      if (auto* p2i = dyn_cast<PtrToIntInst>(end_side)) end_side = p2i->getOperand(0);
      if (Value* inner = opaque_operand(end_side)) end_side = inner;
      if (!is_packet_end(end_side)) continue;
      Value* start = nullptr;
      if (auto* p2i = dyn_cast<PtrToIntInst>(start_side)) start = p2i->getOperand(0);
      if (Value* inner = start ? opaque_operand(start) : nullptr) start = inner;
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

// What a branch condition being `truth` says about packet pointers: the
// comparisons of a packet pointer against data_end it implies
// (for_implied_comparisons).
void Checker::facts_from_condition(Value* cond, bool truth, std::vector<std::pair<Value*, int64_t>>& out, int depth) {
  for_implied_comparisons(cond, truth, [&](ICmpInst* cmp, bool holds) {
    Value* a = cmp->getOperand(0);
    Value* b = cmp->getOperand(1);
    CmpInst::Predicate pred = cmp->getPredicate();
    if (is_packet_end(a)) {
      std::swap(a, b);
      pred = CmpInst::getSwappedPredicate(pred);
    }
    if (!is_packet_end(b)) return;
    auto ref = decompose(a);
    if (!ref) return;
    if (!holds) pred = CmpInst::getInversePredicate(pred);
    // Now `ref + off (pred) end` holds.
    int64_t bytes;
    switch (pred) {
      case CmpInst::ICMP_ULE: bytes = ref->offset; break;      // ptr <= end
      // ptr < end. The verifier takes nothing from it for a register at
      // offset 0 (find_good_pkt_pointers: `data < end` gives no range), the
      // form `(> (- end data) 0)` has once its length is rewritten.
      case CmpInst::ICMP_ULT:
        if (ref->offset == 0) return;
        bytes = ref->offset + 1;
        break;
      default: return;
    }
    // The verifier learns nothing from a comparison of a pointer more than
    // 0xffff past its start (find_good_pkt_pointers): neither does the model.
    if (bytes < 0 || ref->offset > static_cast<int64_t>(kMaxPacketOffset)) return;
    // The same limit on the register's whole offset: a root that is itself
    // up to N bytes past the start (a parse-* result) leaves 0xffff - N.
    Shape sh = shape(ref->root);
    if (sh.known() && sh.hi + static_cast<int64_t>(sh.var) + ref->offset > static_cast<int64_t>(kMaxPacketOffset)) return;
    if (!sh.known() && ref->offset > kFarFromRoot) return;  // where the root is, unknown: see kFarFromRoot
    out.push_back({ref->root, bytes});
  }, depth);
}

void Checker::collect_edge_facts() {
  std::vector<std::pair<Value*, int64_t>> found;
  for (BasicBlock& bb : f_) {
    auto* br = dyn_cast<BranchInst>(bb.getTerminator());
    if (!br || !br->isConditional() || br->getSuccessor(0) == br->getSuccessor(1)) continue;
    for (bool truth : {true, false}) {
      found.clear();
      facts_from_condition(br->getCondition(), truth, found, 0);
      for (auto& [root, bytes] : found) facts_.push_back({root, bytes, &bb, br->getSuccessor(truth ? 0 : 1)});
    }
  }
}

// Whether `root + need <= data_end` is known where `at` runs (or, with `at`
// null, at the end of `bb`): a dominating fact, a check planned earlier when
// `with_planned`, or for a phi or select of packet pointers (and null, which no
// verified program dereferences) the same for every incoming value on its edge.
bool Checker::proven(Value* root, int64_t need, BasicBlock* bb, Instruction* at, bool with_planned, int depth) {
  for (const auto& fact : facts_) {
    if (fact.root != root || fact.bytes < need) continue;
    if (dt_.dominates(BasicBlockEdge(fact.from, fact.to), bb)) return true;
  }
  if (with_planned) {
    for (const auto& check : planned_) {
      if (!check.covers_others() || check.root != root || check.bytes < need) continue;
      BasicBlock* cb = check.at->getParent();
      if (cb == bb ? (!at || check.at == at || check.at->comesBefore(at)) : dt_.properlyDominates(cb, bb)) return true;
    }
  }
  if (depth >= 4) return false;
  if (auto* phi = dyn_cast<PHINode>(root)) {
    for (unsigned i = 0; i < phi->getNumIncomingValues(); ++i) {
      Value* in = phi->getIncomingValue(i);
      if (isa<ConstantPointerNull>(in)) continue;
      auto ref = decompose(in);
      if (!ref) continue;  // other memory (a mixed merge): not the packet's business
      if (ref->offset < 0 && data_load(ref->root) == ref->root) return false;  // before the start: never inside
      BasicBlock* pred = phi->getIncomingBlock(i);
      bool on_edge = false;
      for (const auto& fact : facts_)
        if (fact.root == ref->root && fact.bytes >= ref->offset + need && fact.from == pred && fact.to == phi->getParent())
          on_edge = true;
      if (!on_edge && !proven(ref->root, ref->offset + need, pred, nullptr, with_planned, depth + 1)) return false;
    }
    return true;
  }
  if (auto* sel = dyn_cast<SelectInst>(root)) {
    // Each arm is chosen only when the condition has its value: what the
    // condition then says (select(p == 0 || p + 20 > end, 0, p)) counts too.
    std::vector<std::pair<Value*, int64_t>> implied;
    for (bool truth : {true, false}) {
      Value* in = truth ? sel->getTrueValue() : sel->getFalseValue();
      if (isa<ConstantPointerNull>(in)) continue;
      auto ref = decompose(in);
      if (!ref) continue;  // other memory (a mixed merge)
      if (ref->offset < 0 && data_load(ref->root) == ref->root) return false;  // before the start: never inside
      implied.clear();
      facts_from_condition(sel->getCondition(), truth, implied, 0);
      bool by_condition = false;
      for (auto& [r, bytes] : implied) by_condition |= r == ref->root && bytes >= ref->offset + need;
      if (!by_condition && !proven(ref->root, ref->offset + need, sel->getParent(), sel, with_planned, depth + 1)) return false;
    }
    return true;
  }
  return false;
}

bool Checker::covered(Value* root, int64_t need, Instruction* at) {
  return proven(root, need, at->getParent(), at, true, 0);
}

// Calls (other than memory intrinsics and debug markers) and atomics end a
// merge window: widening a check across them could skip their side effects.
// Writes to memory that outlives the program (the packet, map values) end
// one too: a check widened over a write would take the short-packet action
// before the write instead of after it, and the frame or the map would show.
bool Checker::is_barrier(Instruction& i) {
  if (isa<DbgInfoIntrinsic>(i)) return false;
  auto visible_write = [](Value* ptr) { return !isa<AllocaInst>(getUnderlyingObject(ptr)); };
  if (auto* mi = dyn_cast<MemIntrinsic>(&i)) return visible_write(mi->getRawDest());
  if (auto* st = dyn_cast<StoreInst>(&i)) return visible_write(st->getPointerOperand());
  if (auto* ii = dyn_cast<IntrinsicInst>(&i))
    return !(ii->getIntrinsicID() == Intrinsic::lifetime_start || ii->getIntrinsicID() == Intrinsic::lifetime_end);
  if (isa<CallBase>(i)) return true;
  return isa<AtomicRMWInst>(i) || isa<AtomicCmpXchgInst>(i) || isa<FenceInst>(i);
}

int64_t Checker::merge_window(Instruction* first, Value* root, int64_t need) {
  // No further than a comparison the verifier can give a range: an access
  // beyond that is never inside and gets its own (failing) check.
  Shape s = shape(root);
  int64_t most = static_cast<int64_t>(kMaxPacketOffset) - (s.known() ? s.hi + static_cast<int64_t>(s.var) : 0);
  std::vector<MemoryAccess> accesses;
  for (Instruction* i = first->getNextNode(); i; i = i->getNextNode()) {
    if (is_barrier(*i) || i->isTerminator()) break;
    memory_accesses(*i, accesses);
    for (const auto& a : accesses)
      if (auto ref = decompose(a.pointer); ref && ref->root == root && ref->offset >= 0 &&
                                             ref->offset + static_cast<int64_t>(a.size) <= most)
        need = std::max<int64_t>(need, ref->offset + static_cast<int64_t>(a.size));
  }
  return need;
}

// Whether a merge brings, on some path, a pointer so far into the packet that
// this access could never be inside there: the verifier gives a comparison
// on such a pointer no range, so the paths are checked one by one.
bool Checker::far_incoming(Value* root, int64_t need) {
  if (!isa<PHINode>(root) && !isa<SelectInst>(root)) return false;
  for (Value* in : sources(root))
    if (auto ref = decompose(in); ref && (ref->offset + need > static_cast<int64_t>(kMaxPacketOffset) ||
                                          (ref->offset < 0 && data_load(ref->root) == ref->root)))
      return true;  // past the verifier's range, or before the packet's start
  return false;
}

// An access through a merge of packet pointers with pointers to other memory:
// each packet pointer not proven where it enters is checked there, on the
// phi's incoming edge or under the select's condition, so the paths that
// bring other memory never compare it with the packet's end.
void Checker::plan_mixed(Value* root, int64_t need, Instruction* at) {
  if (auto* phi = dyn_cast<PHINode>(root)) {
    for (unsigned k = 0; k < phi->getNumIncomingValues(); ++k) {
      auto ref = decompose(phi->getIncomingValue(k));
      BasicBlock* pred = phi->getIncomingBlock(k);
      if (!ref) continue;
      // Before the packet's start: never inside (-1 makes the check fail).
      bool before_start = ref->offset < 0 && data_load(ref->root) == ref->root;
      int64_t bytes = before_start ? -1 : ref->offset + need;
      if (!before_start && proven(ref->root, bytes, pred, nullptr, true, 0)) continue;
      bool merged = false;
      for (auto& check : planned_)
        if (check.edge_to == phi->getParent() && check.at == pred->getTerminator() && check.root == ref->root) {
          check.bytes = (check.bytes < 0 || bytes < 0) ? -1 : std::max(check.bytes, bytes);
          merged = true;
        }
      if (!merged) planned_.push_back({pred->getTerminator(), ref->root, bytes, phi->getParent()});
    }
    return;
  }
  auto* sel = cast<SelectInst>(root);
  for (bool truth : {true, false}) {
    auto ref = decompose(truth ? sel->getTrueValue() : sel->getFalseValue());
    if (!ref) continue;
    bool before_start = ref->offset < 0 && data_load(ref->root) == ref->root;
    PlannedCheck check{at, ref->root, before_start ? -1 : ref->offset + need};
    check.guard = sel->getCondition();
    check.guard_value = truth;
    planned_.push_back(check);
  }
}

// ctx->data_end for a check: one load in the entry block shared by every
// check, unless the program moves the packet (xdp-adjust-head/tail/meta),
// after which only a fresh load is valid.
Value* Checker::packet_end(IRBuilder<>& b, const DebugLoc& loc) {
  auto load_end = [&](IRBuilder<>& at) -> Value* {
    return emit_ctx_pointer(at, f_.getArg(0), static_cast<unsigned>(region_.end_field));
  };
  if (moves_packet_) return load_end(b);
  if (!shared_end_) {
    IRBuilder<> entry(&f_.getEntryBlock(), f_.getEntryBlock().getFirstInsertionPt());
    entry.SetCurrentDebugLocation(loc);
    shared_end_ = load_end(entry);
  }
  return shared_end_;
}

void Checker::insert(const PlannedCheck& check, BasicBlock* exit) {
  Instruction* at = check.at;
  if (check.edge_to) {
    BasicBlock* pred = at->getParent();
    // On a critical edge the checks get a block of their own (the branch
    // into `edge_to`, which each inserted check leaves last in its block).
    auto key = std::make_pair(pred, check.edge_to);
    if (auto it = edge_blocks_.find(key); it != edge_blocks_.end()) at = it->second;
    else if (pred->getTerminator()->getNumSuccessors() > 1) at = edge_blocks_[key] = SplitEdge(pred, check.edge_to)->getTerminator();
  }
  IRBuilder<> b(at);
  b.SetCurrentDebugLocation(check.at->getDebugLoc());
  Value* fails;
  // Past the verifier's range counting where the root itself may be: the
  // comparison would teach it nothing, and no packet is that long.
  bool beyond = false;
  if (check.root && !check.edge_to && check.bytes >= 0 && data_load(check.root) != check.root) {
    Shape sh = shape(check.root);
    beyond = sh.known() ? sh.hi + static_cast<int64_t>(sh.var) + check.bytes > static_cast<int64_t>(kMaxPacketOffset)
                        : check.bytes > kFarFromRoot;
  }
  if (beyond || check.bytes < 0 || check.bytes > static_cast<int64_t>(kMaxPacketOffset)) {
    fails = b.getTrue();  // never inside the packet
  } else {
    Value* end = packet_end(b, check.at->getDebugLoc());
    Value* base = as_pointer(b, check.root);
    Value* limit = b.CreateInBoundsGEP(b.getInt8Ty(), base, b.getInt64(static_cast<uint64_t>(check.bytes)));
    fails = b.CreateICmpUGT(limit, end);
    if (check.guard)
      fails = check.guard_value ? b.CreateSelect(check.guard, fails, b.getFalse()) : b.CreateSelect(check.guard, b.getFalse(), fails);
  }
  ShortExits::branch(at, fails, exit);
}

// ---- Variable offsets ------------------------------------------------------
//
// A packet pointer plus a run-time value is one the verifier accepts only if
// it knows the value's range: the addition itself is refused when the value
// may be negative or huge, and a comparison with data_end gives the result a
// range only while its constant offset plus the value's largest value plus the
// bytes compared stay within kMaxPacketOffset. Where the model of the
// verifier (VerifierRanges) says that does not hold, the pointer is rebuilt
// from the region's start: w = (base - start) + offset is compared with the
// largest value that keeps every comparison of the pointer meaningful, a
// larger w takes the short-packet action (no packet is that long), and the
// pointer becomes start + w, made one register so that every comparison and
// access uses the value checked.

// The incoming pointers of a root that merges others: a phi's and a select's
// values (null excepted), a barrier's operand.
std::vector<Value*> Checker::sources(Value* root) {
  std::vector<Value*> out;
  auto add = [&](Value* v) {
    if (!isa<ConstantPointerNull>(v) && decompose(v)) out.push_back(v);
  };
  if (auto* phi = dyn_cast<PHINode>(root)) {
    for (Value* in : phi->incoming_values()) add(in);
  } else if (auto* sel = dyn_cast<SelectInst>(root)) {
    add(sel->getTrueValue());
    add(sel->getFalseValue());
  } else if (is_opaque_pointer(root)) {
    add(opaque_operand(root));
  }
  return out;
}

constexpr int64_t kLoopStepHeadroom = 0x8000;
constexpr int64_t kRebasedOffsetLimit = 0x7fff;

DenseMap<Value*, Demand> Checker::demands() {
  DenseMap<Value*, Demand> demand;
  // A root whose need keeps growing is on a cycle of merges that steps
  // forward by more than one value (`p = (+ (cast u64 p) 49)` in a loop is
  // a root of its own): its steps are loop steps, room kept as headroom,
  // not needs that grow until the walk's step limit.
  // (More raises than there are roots, and some: a merge reached by many
  // paths is raised once per path at most.)
  DenseMap<Value*, size_t> raises;
  auto ask = [&](Value* root, int64_t need, int64_t lowest, int64_t headroom = 0) {
    auto [it, fresh] = demand.try_emplace(root, Demand{std::max<int64_t>(need, 0), std::min<int64_t>(lowest, 0), headroom});
    if (fresh) return true;
    if ((need > it->second.need || lowest < it->second.lowest) && ++raises[root] > 64 + demand.size()) {
      need = it->second.need;
      lowest = it->second.lowest;
      headroom = std::max(headroom, kLoopStepHeadroom);
    }
    bool changed = need > it->second.need || lowest < it->second.lowest || headroom > it->second.headroom;
    it->second.need = std::max(it->second.need, need);
    it->second.lowest = std::min(it->second.lowest, lowest);
    it->second.headroom = std::max(it->second.headroom, headroom);
    return changed;
  };
  std::vector<MemoryAccess> accesses;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb) {
      memory_accesses(i, accesses);
      for (const auto& a : accesses)
        if (auto ref = decompose(a.pointer); ref && ref->offset + static_cast<int64_t>(a.size) <= static_cast<int64_t>(kMaxPacketOffset))
          ask(ref->root, ref->offset + static_cast<int64_t>(a.size), ref->offset);  // (further ones are never inside)
    }
  for (const auto& fact : facts_) ask(fact.root, fact.bytes, 0);
  // What is asked of a merge is asked of each pointer it merges.
  std::vector<Value*> work;
  for (auto& entry : demand) work.push_back(entry.first);
  for (size_t steps = 0; !work.empty() && steps < 100000; ++steps) {
    Value* root = work.back();
    work.pop_back();
    Demand d = demand.lookup(root);
    // A pointer stepped forward in a loop (phi(start, phi + c)): the
    // verifier follows each iteration with the steps in the constant offset,
    // so the pointer it starts from keeps headroom for them (the variable
    // part of a rebuilt pointer is bounded to half the 0xffff range; further
    // than that no linear packet reaches, and the access exits as short).
    int64_t steps_margin = 0;
    for (Value* in : sources(root))
      if (auto ref = decompose(in); ref && ref->root == root && ref->offset > 0) steps_margin = kLoopStepHeadroom;
    for (Value* in : sources(root))
      if (auto ref = decompose(in);
          ref && ref->root != root &&
          ask(ref->root, d.need + ref->offset, d.lowest + ref->offset, std::max(d.headroom, steps_margin)))
        work.push_back(ref->root);
  }
  return demand;
}

namespace {

// A GEP's offset beyond its constant part: the variable indices, each with
// its scale in bytes, and the constant part.
struct VariablePart {
  std::vector<std::pair<Value*, uint64_t>> terms;
  int64_t constant = 0;
  bool ok = false;
};

VariablePart variable_part(GetElementPtrInst* gep, const DataLayout& dl) {
  VariablePart out;
  unsigned bits = dl.getIndexTypeSizeInBits(gep->getType());
  MapVector<Value*, APInt> vars;
  APInt constant(bits, 0);
  if (!gep->collectOffset(dl, bits, vars, constant)) return out;
  for (auto& [v, scale] : vars) {
    if (scale.isNegative() || scale.getActiveBits() > 32) return out;
    out.terms.push_back({v, scale.getZExtValue()});
  }
  out.constant = constant.getSExtValue();
  out.ok = !out.terms.empty();
  return out;
}

}  // namespace

// Merges that take each other unchanged round a loop (a loop's phi, and the
// phi of its body that keeps it or sets it anew) are one value: the merge of
// what comes into them from outside. Without this the cycle made the shape
// unknown, and an access at a negative offset from such a merge got a check
// the verifier cannot use instead of the short-packet exit. A merge that
// steps round the loop (`p = p + 1`) brings itself at an offset: unknown.
// False when `root` is on no such cycle.
bool Checker::merge_web_shape(Value* root, Shape& out) {
  auto is_merge = [](Value* v) { return isa<PHINode>(v) || isa<SelectInst>(v); };
  // The merges reachable through unchanged merge links, and the links.
  std::vector<Value*> order{root};
  DenseMap<Value*, std::vector<Value*>> links;
  SmallPtrSet<Value*, 8> seen{root};
  bool self_link = false;
  for (size_t k = 0; k < order.size() && order.size() < 64; ++k)
    for (Value* in : sources(order[k])) {
      auto ref = decompose(in);
      if (!ref || ref->offset != 0 || !is_merge(ref->root)) continue;
      if (ref->root == order[k]) {
        if (order[k] == root) self_link = true;
        continue;
      }
      links[order[k]].push_back(ref->root);
      if (seen.insert(ref->root).second) order.push_back(ref->root);
    }
  // Those that lead back to the root are on its cycle.
  SmallPtrSet<Value*, 8> web{root};
  for (bool grew = true; grew;) {
    grew = false;
    for (Value* m : order)
      if (!web.count(m) && llvm::any_of(links[m], [&](Value* to) { return web.count(to) != 0; })) {
        web.insert(m);
        grew = true;
      }
  }
  bool cycle = self_link || llvm::any_of(links[root], [&](Value* to) { return web.count(to) && to != root; });
  if (!cycle) return false;
  for (Value* m : web) shapes_[m] = Shape::unknown();  // a path back at an offset: unknown
  Shape result = Shape::unknown();
  bool first = true;
  for (Value* m : web)
    for (Value* in : sources(m)) {
      auto ref = decompose(in);
      if (ref && ref->offset == 0 && web.count(ref->root)) continue;
      Shape s = ref ? shape(ref->root).shifted(ref->offset) : Shape::unknown();
      result = first ? s : result.merged(s);
      first = false;
    }
  for (Value* m : web) shapes_[m] = result;
  out = result;
  return true;
}

Shape Checker::shape(Value* root) {
  if (auto it = shapes_.find(root); it != shapes_.end()) return it->second;
  shapes_[root] = Shape::unknown();  // a cycle (a pointer stepped in a loop): nothing known
  Shape result = Shape::unknown();
  if (data_load(root) == root) {
    result = Shape{};
  } else if (auto* gep = dyn_cast<GetElementPtrInst>(root)) {
    VariablePart part = variable_part(gep, dl_);
    auto base = decompose(gep->getPointerOperand());
    if (part.ok && base) {
      result = shape(base->root).shifted(base->offset + part.constant);
      for (auto [index, scale] : part.terms) {
        uint64_t u = ranges_.umax(index, gep);
        unsigned width = index->getType()->getIntegerBitWidth();
        if (u == kUnbounded || (width < 64 && u >> (width - 1)) || u > kMaxPacketOffset || scale > kMaxPacketOffset) {
          result = Shape::unknown();
          break;
        }
        if (result.known()) result.var += u * scale;
      }
    }
  } else if (Shape web_shape; (isa<PHINode>(root) || isa<SelectInst>(root)) && merge_web_shape(root, web_shape)) {
    return web_shape;
  } else {
    bool first = true;
    for (Value* in : sources(root)) {
      auto ref = decompose(in);
      Shape s = ref ? shape(ref->root).shifted(ref->offset) : Shape::unknown();
      result = first ? s : result.merged(s);
      first = false;
    }
  }
  shapes_[root] = result;
  return result;
}

bool Checker::verifiable(GetElementPtrInst* gep, const Demand& demand) {
  Shape s = shape(gep);
  if (!s.known() || s.var > kMaxPacketOffset) return false;
  if (s.lo + demand.lowest < 0) return false;  // may reach before the region's start
  return s.hi + demand.need + demand.headroom + static_cast<int64_t>(s.var) <= static_cast<int64_t>(kMaxPacketOffset);
}

// The region's start as a pointer where `b` inserts: a read of it that
// dominates the insertion point when there is one (the same register), else
// a new read.
Value* Checker::region_start(IRBuilder<>& b) {
  Instruction* at = &*b.GetInsertPoint();
  // The closest dominating read (the dominating ones form a chain), unless
  // the packet may have moved since.
  Instruction* start = nullptr;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb)
      if (i.getType()->isPointerTy() && !isa<CastInst>(i) && ctx_field(&i) == region_.start_field && dt_.dominates(&i, at) &&
          (!start || dt_.dominates(start, &i)))
        start = &i;
  if (!start || (moves_packet_ && moved_since(start, at)))
    return emit_ctx_pointer(b, f_.getArg(0), static_cast<unsigned>(region_.start_field));
  return start;
}

// Whether a merge may bring 0 (a parse-* that failed), through merges.
static bool may_be_null(Value* v, int depth = 0) {
  if (isa<ConstantPointerNull>(v)) return true;
  if (depth > 8) return false;
  if (Value* inner = see_through(v)) return may_be_null(inner, depth + 1);
  if (auto* phi = dyn_cast<PHINode>(v))
    return llvm::any_of(phi->incoming_values(), [&](Value* in) { return in != phi && may_be_null(in, depth + 1); });
  if (auto* sel = dyn_cast<SelectInst>(v))
    return may_be_null(sel->getTrueValue(), depth + 1) || may_be_null(sel->getFalseValue(), depth + 1);
  return false;
}

void Checker::rebase(GetElementPtrInst* gep, const Demand& demand) {
  BasicBlock* exit = exits_.exit_for(gep);  // before the CFG changes
  IRBuilder<> b(gep);
  b.SetCurrentDebugLocation(gep->getDebugLoc());
  VariablePart part = variable_part(gep, dl_);
  auto base = decompose(gep->getPointerOperand());
  // base - start, as an integer the verifier treats as a scalar: a constant
  // when the base is the start plus a constant, else a pointer difference
  // kept opaque so LLVM cannot fold the offset into pointer arithmetic.
  Value* start;
  Value* w;
  if (data_load(base->root) == base->root) {
    start = as_pointer(b, base->root);
    w = b.getInt64(static_cast<uint64_t>(base->offset));
  } else {
    start = region_start(b);
    // Both as pointers, opaque through code generation too (see the same
    // difference in lowering's f_sub): the DAG would otherwise fold
    // (base - 1) - start into base + ~start, arithmetic on a pointer.
    auto difference = [&](IRBuilder<>& at, Value* base_pointer) {
      Value* base_int = at.CreatePtrToInt(base_pointer, at.getInt64Ty());
      Value* start_int = at.CreatePtrToInt(emit_opaque(at, start), at.getInt64Ty());
      return emit_opaque(at, at.CreateSub(base_int, start_int));
    };
    if (may_be_null(base->root)) {
      // LLVM computes `(+ h off)` where h is a parse's result before the
      // test of h for 0 (it is only arithmetic); `0 - start` is arithmetic
      // the verifier refuses ("tried to subtract pointer from scalar"), and
      // an offset that large would take the short-packet exit on a path that
      // reads nothing. The difference is taken only where the root is not 0
      // (behind a side-effect barrier, which LLVM cannot move out of the
      // branch); 0 elsewhere.
      BasicBlock* head = gep->getParent();
      Value* not_null = b.CreateICmpNE(as_pointer(b, base->root), ConstantPointerNull::get(PointerType::getUnqual(f_.getContext())));
      Instruction* then_term = SplitBlockAndInsertIfThen(not_null, gep, false);
      IRBuilder<> tb(then_term);
      tb.SetCurrentDebugLocation(gep->getDebugLoc());
      Value* known = difference(tb, emit_pinned(tb, gep->getPointerOperand()));
      b.SetInsertPoint(gep);
      PHINode* merged = b.CreatePHI(b.getInt64Ty(), 2);
      merged->addIncoming(b.getInt64(0), head);
      merged->addIncoming(known, then_term->getParent());
      w = merged;
    } else {
      w = difference(b, emit_opaque(b, gep->getPointerOperand()));
    }
  }
  for (auto [index, scale] : part.terms) {
    Value* wide = b.CreateSExtOrTrunc(index, b.getInt64Ty());
    w = b.CreateAdd(w, scale == 1 ? wide : b.CreateMul(wide, b.getInt64(scale)));
  }
  int64_t low = std::min<int64_t>(demand.lowest, 0);
  if (part.constant + low != 0) w = b.CreateAdd(w, b.getInt64(static_cast<uint64_t>(part.constant + low)));
  w = emit_opaque(b, w);
  // Half the verifier's range, whatever the accesses seen ask: the rebuilt
  // pointer flows on into loops and merges that add constant offsets the
  // demands do not always see (a parse-* of the next header, a walk), and a
  // comparison whose variable part plus offset passes 0xffff teaches the
  // verifier nothing. No linear packet data reaches 32 KiB; an offset past it
  // takes the short-packet exit, as one past the end does. The other half is
  // the room a loop's steps take (Demand::headroom): it is not asked again
  // here (it was, and a pointer a loop steps from never passed: seed
  // 11000185's `ip + ihl*4` took the exit before its protocol was tested).
  int64_t limit = std::min<int64_t>(kRebasedOffsetLimit, kMaxPacketOffset) - (demand.need - low);
  Value* fails = limit < 0 ? static_cast<Value*>(b.getTrue()) : b.CreateICmpUGT(w, b.getInt64(static_cast<uint64_t>(limit)));
  ShortExits::branch(gep, fails, exit);
  b.SetInsertPoint(gep);
  Value* p = emit_opaque(b, b.CreateGEP(b.getInt8Ty(), start, emit_pinned(b, w)));
  if (low) p = b.CreateGEP(b.getInt8Ty(), p, b.getInt64(static_cast<uint64_t>(-low)));
  gep->replaceAllUsesWith(p);
  gep->eraseFromParent();
  if (stats_) ++stats_->inserted;
}

// An access through a merge that brings, on some path, a pointer more than
// 0xffff past the start from further back than its own incoming values (a
// merge of merges: plan_mixed checks only the direct ones): on that path no
// comparison with data_end gives it a range. The access is rebuilt as
// start + (pointer - start), the offset checked against 0xffff first (the
// short-packet exit, as for any access that cannot be inside), so each path
// either leaves there or reaches the access with a bounded offset the usual
// check then proves.
bool Checker::fix_far_merges() {
  struct Far {
    Instruction* at;
    Value* pointer;
    PacketRef ref;
    int64_t size;
  };
  std::vector<Far> found;
  std::vector<MemoryAccess> accesses;
  ReversePostOrderTraversal<Function*> rpo(&f_);
  for (BasicBlock* bb : rpo)
    for (Instruction& i : *bb) {
      memory_accesses(i, accesses);
      for (const auto& a : accesses) {
        auto ref = decompose(a.pointer);
        if (!ref || ref->offset < 0 || (!isa<PHINode>(ref->root) && !isa<SelectInst>(ref->root))) continue;
        int64_t need = ref->offset + static_cast<int64_t>(a.size);
        if (need > static_cast<int64_t>(kMaxPacketOffset) || mixed_.count(ref->root)) continue;
        Shape sh = shape(ref->root);
        if (!sh.known() || (sh.hi + static_cast<int64_t>(sh.var) + need <= static_cast<int64_t>(kMaxPacketOffset) && sh.lo >= 0)) continue;
        found.push_back({&i, a.pointer, *ref, static_cast<int64_t>(a.size)});
      }
    }
  if (found.empty()) return false;
  std::vector<BasicBlock*> exits;
  for (const auto& f : found) exits.push_back(exits_.exit_for(f.at));
  for (size_t k = 0; k < found.size(); ++k) {
    const Far& f = found[k];
    IRBuilder<> b(f.at);
    b.SetCurrentDebugLocation(f.at->getDebugLoc());
    Value* start = emit_ctx_pointer(b, f_.getArg(0), static_cast<unsigned>(region_.start_field));
    Value* base_int = b.CreatePtrToInt(emit_opaque(b, as_pointer(b, f.ref.root)), b.getInt64Ty());
    Value* start_int = b.CreatePtrToInt(emit_opaque(b, start), b.getInt64Ty());
    Value* w = emit_opaque(b, b.CreateSub(base_int, start_int));
    if (f.ref.offset) w = b.CreateAdd(w, b.getInt64(static_cast<uint64_t>(f.ref.offset)));
    w = emit_opaque(b, w);
    Value* fails = b.CreateICmpUGT(w, b.getInt64(static_cast<uint64_t>(static_cast<int64_t>(kMaxPacketOffset) - f.size)));
    ShortExits::branch(f.at, fails, exits[k]);
    b.SetInsertPoint(f.at);
    Value* p = emit_opaque(b, b.CreateGEP(b.getInt8Ty(), start, emit_pinned(b, w)));
    f.at->replaceUsesOfWith(f.pointer, p);
    if (stats_) ++stats_->inserted;
  }
  dt_.recalculate(f_);
  reset_memos();
  return true;
}

// The pointers a branch condition being `truth` says are not 0: the
// `p != 0` it implies (for_implied_comparisons), as roots.
void Checker::not_null_from_condition(Value* cond, bool truth, std::vector<Value*>& out, int depth) {
  for_implied_comparisons(cond, truth, [&](ICmpInst* cmp, bool holds) {
    if (!cmp->isEquality()) return;
    Value* p = isa<ConstantPointerNull>(cmp->getOperand(1)) ? cmp->getOperand(0) : isa<ConstantPointerNull>(cmp->getOperand(0)) ? cmp->getOperand(1) : nullptr;
    if (!p) return;
    // ne true or eq false: not 0.
    if ((cmp->getPredicate() == CmpInst::ICMP_NE) != holds) return;
    if (auto ref = decompose(p); ref && ref->offset == 0) out.push_back(ref->root);
  }, depth);
}

// Whether a test for 0 reaches `bb` only by the edge on which `root` is not 0.
bool Checker::tested_not_null(Value* root, BasicBlock* bb) {
  if (!not_null_collected_) {
    not_null_collected_ = true;
    std::vector<Value*> found;
    for (BasicBlock& b : f_) {
      auto* br = dyn_cast<BranchInst>(b.getTerminator());
      if (!br || !br->isConditional() || br->getSuccessor(0) == br->getSuccessor(1)) continue;
      for (bool truth : {true, false}) {
        found.clear();
        not_null_from_condition(br->getCondition(), truth, found, 0);
        for (Value* r : found) not_null_.push_back({r, &b, br->getSuccessor(truth ? 0 : 1)});
      }
    }
  }
  for (const auto& e : not_null_)
    if (e.root == root && dt_.dominates(BasicBlockEdge(e.from, e.to), bb)) return true;
  return false;
}

// An access through a merge that brings 0 on some path (a parse-* that
// failed, `(if c p 0)`) and that no test for 0 guards: on that path the
// verifier sees the number 0, not a pointer, and refuses the access
// ("invalid mem access 'scalar'"). The access gets the test, which takes the
// short-packet exit, as an access outside the packet does (LLVM, where it
// proves the pointer 0, leaves an access through address 0: the same exit).
bool Checker::check_null_merges() {
  std::vector<std::pair<Instruction*, Value*>> found;
  std::vector<MemoryAccess> accesses;
  ReversePostOrderTraversal<Function*> rpo(&f_);
  for (BasicBlock* bb : rpo)
    for (Instruction& i : *bb) {
      memory_accesses(i, accesses);
      for (const auto& a : accesses) {
        auto ref = decompose(a.pointer);
        if (!ref) continue;
        // The merge itself, or the one a variable offset is added to.
        Value* merge = ref->root;
        for (int guard = 0; guard < 8; ++guard) {
          auto* gep = dyn_cast<GetElementPtrInst>(merge);
          if (!gep) break;
          auto base = decompose(gep->getPointerOperand());
          if (!base) break;
          merge = base->root;
        }
        if (!merges_null(merge) || tested_not_null(merge, bb)) continue;
        bool dup = false;
        for (auto& [at, root] : found) dup |= at == &i && root == merge;
        if (!dup) found.push_back({&i, merge});
      }
    }
  if (found.empty()) return false;
  std::vector<BasicBlock*> exits;
  for (auto& [at, root] : found) exits.push_back(exits_.exit_for(at));
  for (size_t k = 0; k < found.size(); ++k) {
    auto [at, root] = found[k];
    IRBuilder<> b(at);
    b.SetCurrentDebugLocation(at->getDebugLoc());
    Value* is_null = b.CreateICmpEQ(root, ConstantPointerNull::get(cast<PointerType>(root->getType())));
    ShortExits::branch(at, is_null, exits[k]);
    if (stats_) ++stats_->inserted;
  }
  dt_.recalculate(f_);
  reset_memos();
  return true;
}

// A select that merges a packet pointer with other memory (LLVM sank two
// loads into one through a select of their addresses), or with a pointer
// too far for its access, is made a branch and a phi. A check guarded by the
// select's condition is not enough: the code generator lowers the select and
// the guard as two jumps on that condition, and the verifier, which follows
// each independently, pairs the packet pointer with the unchecked path. With
// a phi, the check sits on the packet pointer's own edge.
bool Checker::split_mixed_selects() {
  std::vector<SelectInst*> found;
  std::vector<MemoryAccess> accesses;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb) {
      memory_accesses(i, accesses);
      for (const auto& a : accesses) {
        auto ref = decompose(a.pointer);
        if (!ref) continue;
        auto* sel = dyn_cast<SelectInst>(ref->root);
        if (!sel || sel->getCondition()->getType()->isVectorTy()) continue;
        int64_t need = ref->offset + static_cast<int64_t>(a.size);
        if ((mixed_.count(sel) || far_incoming(sel, need)) && std::find(found.begin(), found.end(), sel) == found.end())
          found.push_back(sel);
      }
    }
  for (SelectInst* sel : found) {
    Instruction* then_term = nullptr;
    Instruction* else_term = nullptr;
    SplitBlockAndInsertIfThenElse(sel->getCondition(), sel, &then_term, &else_term);
    // The address each arm computes only for the select goes into its arm:
    // LLVM computed `value + 8` of a map lookup before the test for 0 that
    // chose it ("pointer arithmetic on map_value_or_null prohibited").
    for (auto [arm, term] : {std::pair{sel->getTrueValue(), then_term}, std::pair{sel->getFalseValue(), else_term}}) {
      std::vector<Instruction*> chain;
      for (Value* v = arm; chain.size() < 8;) {
        auto* inst = dyn_cast<Instruction>(v);
        if (!inst || !inst->hasOneUse() || (!isa<GetElementPtrInst>(inst) && !isa<CastInst>(inst))) break;
        chain.push_back(inst);
        v = inst->getOperand(0);
      }
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) (*it)->moveBefore(term);
    }
    BasicBlock* tail = sel->getParent();
    PHINode* phi = PHINode::Create(sel->getType(), 2, "merge", &*tail->begin());
    phi->setDebugLoc(sel->getDebugLoc());
    phi->addIncoming(sel->getTrueValue(), then_term->getParent());
    phi->addIncoming(sel->getFalseValue(), else_term->getParent());
    sel->replaceAllUsesWith(phi);
    sel->eraseFromParent();
  }
  if (found.empty()) return false;
  dt_.recalculate(f_);
  reset_memos();
  return true;
}

// Rebuilds every pointer with a variable offset that the verifier could not
// follow; true when the function changed.
bool Checker::fix_variable_offsets() {
  std::vector<GetElementPtrInst*> roots;
  ReversePostOrderTraversal<Function*> rpo(&f_);
  for (BasicBlock* bb : rpo)
    for (Instruction& i : *bb)
      if (auto* gep = dyn_cast<GetElementPtrInst>(&i); gep && !gep->hasAllConstantIndices() && is_packet_root(gep))
        roots.push_back(gep);
  if (roots.empty()) return false;
  collect_edge_facts();
  DenseMap<Value*, Demand> demand = demands();
  bool changed = false;
  for (GetElementPtrInst* gep : roots) {
    Demand d = demand.lookup(gep);
    if (verifiable(gep, d)) {
      // The masks that bound the offset must reach the verifier.
      if (VariablePart part = variable_part(gep, dl_); part.ok)
        for (auto [index, scale] : part.terms) changed |= ranges_.pin_clamps(index, gep);
      continue;
    }
    rebase(gep, d);
    dt_.recalculate(f_);
    reset_memos();
    changed = true;
  }
  facts_.clear();
  return changed;
}


// A call that moves the packet on some path from `load` (a read of the
// region's start) to `access` that does not run `load` again, or nullptr.
CallInst* Checker::moved_since(Instruction* load, Instruction* access) {
  BasicBlock* lb = load->getParent();
  BasicBlock* ab = access->getParent();
  for (CallInst* call : movers_) {
    BasicBlock* cb = call->getParent();
    // load ... call: in one block, or the call on a path from the load.
    bool after_load = cb == lb ? load->comesBefore(call) : path_between(lb, cb, lb);
    if (!after_load) continue;
    // call ... access without passing the load again.
    if (cb == ab && call->comesBefore(access)) {
      if (ab != lb || load->comesBefore(call)) return call;
      continue;
    }
    if (ab == lb && load->comesBefore(access)) continue;  // entering the block reads the start again
    if (path_between(cb, ab, lb)) return call;
  }
  return nullptr;
}

// Whether a pointer is data_end, or computed from it by GEPs.
bool Checker::through_packet_end(Value* ptr) {
  for (int guard = 0; guard < 64; ++guard) {
    if (auto* gep = dyn_cast<GEPOperator>(ptr)) ptr = gep->getPointerOperand();
    else if (Value* inner = see_through(ptr)) ptr = inner;
    else break;
  }
  return is_packet_end(ptr);
}

// A packet pointer read before a call that moved the packet is no longer a
// packet pointer to the verifier: a located error (once per function).
// The call that moved the packet after `root` was read and before `at`, or
// nullptr. A merge is judged per incoming value, at the end of the block it
// comes from (a pointer read again after the call on one path and taken
// before it on another path that has no call is fine), and for a call
// between the merge and `at`.
CallInst* Checker::stale_call(Value* root, Instruction* at, int depth) {
  if (depth > 32) return nullptr;
  auto key = std::make_pair(root, at);
  if (auto it = stale_memo_.find(key); it != stale_memo_.end()) return it->second;
  stale_memo_[key] = nullptr;  // a cycle (a loop phi): nothing new on it
  CallInst* found = nullptr;
  if (data_load(root) == root) {
    if (auto* li = dyn_cast<Instruction>(root)) found = moved_since(li, at);
  } else if (auto* phi = dyn_cast<PHINode>(root)) {
    found = moved_since(phi, at);
    for (unsigned k = 0; !found && k < phi->getNumIncomingValues(); ++k) {
      Value* in = phi->getIncomingValue(k);
      if (isa<ConstantPointerNull>(in)) continue;
      auto ref = decompose(in);
      if (ref && ref->root != root) found = stale_call(ref->root, phi->getIncomingBlock(k)->getTerminator(), depth + 1);
    }
  } else {
    std::vector<Value*> from = sources(root);
    if (auto* gep = dyn_cast<GetElementPtrInst>(root)) from.push_back(gep->getPointerOperand());
    for (Value* v : from) {
      if (found) break;
      if (auto ref = decompose(v); ref && ref->root != root) found = stale_call(ref->root, at, depth + 1);
    }
  }
  stale_memo_[key] = found;
  return found;
}

bool Checker::report_stale(Value* root, Instruction* access) {
  if (CallInst* call = stale_call(root, access, 0)) {
    // Once per function (the pass runs twice): the attribute remembers.
    if (!f_.hasFnAttribute("whistler-reported-stale")) {
      f_.addFnAttr("whistler-reported-stale");
      const HelperInfo* h = find_helper_by_id(helper_id(*call));
      unsigned line = call->getDebugLoc() ? call->getDebugLoc().getLine() : 0;
      report_error(*access,
                   fmt::format("this packet access uses a pointer taken before ({} ...){} moved the packet", h ? h->name : "helper",
                               line ? fmt::format(" on line {}", line) : ""),
                   "after the call, read (xdp-data) and (xdp-data-end) again (or start the with-* form after it)");
    }
    return true;
  }
  return false;
}

// Helpers whose kernel prototype does not allow packet memory (ringbuf
// output, perf event output, xdp-load/store-bytes, fib-lookup...) get a
// packet buffer through a stack copy: copied in before the call when the
// helper reads it, back after when it writes it. The copies are packet
// accesses like any other, checked below.
bool Checker::copy_packet_buffers() {
  bool changed = false;
  std::vector<CallInst*> calls;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb)
      if (auto* call = dyn_cast<CallInst>(&i); call && helper_id(*call) >= 0) calls.push_back(call);
  std::vector<HelperBuffer> buffers;
  for (CallInst* call : calls) {
    helper_buffers(*call, buffers);
    for (const auto& buf : buffers) {
      Value* ptr = call->getArgOperand(buf.arg);
      if (buf.packet_ok || !decompose(ptr)) continue;
      if (buf.size > 512) {
        const HelperInfo* h = find_helper_by_id(helper_id(*call));
        report_error(*call,
                     fmt::format("({} ...) cannot use packet memory directly, and a {}-byte buffer is too large to copy through "
                                 "the stack",
                                 h ? h->name : "helper", buf.size),
                     "pass a buffer of at most 512 bytes, or a map value");
        continue;
      }
      IRBuilder<> entry(&f_.getEntryBlock(), f_.getEntryBlock().getFirstInsertionPt());
      AllocaInst* copy = entry.CreateAlloca(ArrayType::get(entry.getInt8Ty(), buf.size), nullptr, "packet.copy");
      copy->setAlignment(Align(8));
      IRBuilder<> b(call);
      b.SetCurrentDebugLocation(call->getDebugLoc());
      if (buf.reads) b.CreateMemCpy(copy, Align(8), ptr, Align(1), buf.size);
      else b.CreateMemSet(copy, b.getInt8(0), buf.size, Align(8));
      call->setArgOperand(buf.arg, copy);
      if (buf.writes) {
        b.SetInsertPoint(call->getNextNode());
        b.CreateMemCpy(ptr, Align(1), copy, Align(8), buf.size);
      }
      changed = true;
    }
  }
  return changed;
}

// The verifier refuses atomic instructions on packet memory; no other CPU
// sees the packet while the program runs, so a plain read-modify-write means
// the same.
bool Checker::plain_packet_atomics() {
  std::vector<AtomicRMWInst*> atomics;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb)
      if (auto* rmw = dyn_cast<AtomicRMWInst>(&i); rmw && decompose(rmw->getPointerOperand())) atomics.push_back(rmw);
  for (AtomicRMWInst* rmw : atomics) {
    IRBuilder<> b(rmw);
    b.SetCurrentDebugLocation(rmw->getDebugLoc());
    Type* t = rmw->getValOperand()->getType();
    LoadInst* old = b.CreateAlignedLoad(t, rmw->getPointerOperand(), rmw->getAlign());
    Value* v = rmw->getValOperand();
    Value* updated = nullptr;
    switch (rmw->getOperation()) {
      case AtomicRMWInst::Add: updated = b.CreateAdd(old, v); break;
      case AtomicRMWInst::Sub: updated = b.CreateSub(old, v); break;
      case AtomicRMWInst::And: updated = b.CreateAnd(old, v); break;
      case AtomicRMWInst::Or: updated = b.CreateOr(old, v); break;
      case AtomicRMWInst::Xor: updated = b.CreateXor(old, v); break;
      case AtomicRMWInst::Xchg: updated = v; break;
      default: continue;
    }
    b.CreateAlignedStore(updated, rmw->getPointerOperand(), rmw->getAlign());
    rmw->replaceAllUsesWith(old);
    rmw->eraseFromParent();
  }
  return !atomics.empty();
}

// A comparison with the end that what dominates it already decides (the
// program checked 42 bytes, and a parse-* checks 14 again) becomes that
// constant. The verifier cannot tell: it would follow the impossible side
// too, marking the pointer "beyond the end" there, and refuse every access
// through that register afterwards.
bool Checker::fold_implied_comparisons() {
  std::vector<std::pair<ICmpInst*, bool>> known;
  std::vector<std::pair<Value*, int64_t>> says;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb) {
      auto* cmp = dyn_cast<ICmpInst>(&i);
      if (!cmp || !cmp->getOperand(0)->getType()->isPointerTy()) continue;
      for (bool truth : {true, false}) {
        says.clear();
        facts_from_condition(cmp, truth, says, 0);
        // `cmp` is `truth` whenever what it would then say is already known.
        if (says.size() == 1 && proven(says[0].first, says[0].second, &bb, cmp, false, 0)) {
          known.push_back({cmp, truth});
          break;
        }
      }
    }
  for (auto [cmp, truth] : known) cmp->replaceAllUsesWith(ConstantInt::getBool(f_.getContext(), truth));
  return !known.empty();
}

// A packet pointer plus a constant the verifier refuses outright (more than
// 2^29 either way: "math between pkt pointer and -3957708527572914124 is not
// allowed"), even where every access through it takes the short-packet exit
// (no packet is that long). Such offsets are brought to +-2^28, as far
// outside any packet and a number the verifier takes.
bool Checker::clamp_far_constants() {
  constexpr int64_t kFar = int64_t{1} << 28;
  std::vector<GetElementPtrInst*> far;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb)
      if (auto* gep = dyn_cast<GetElementPtrInst>(&i); gep && gep->hasAllConstantIndices())
        if (auto ref = decompose(gep); ref && (ref->offset > kFar || ref->offset < -kFar)) far.push_back(gep);
  for (GetElementPtrInst* gep : far) {
    auto ref = decompose(gep);
    APInt own(dl_.getIndexTypeSizeInBits(gep->getType()), 0);
    if (!ref || !gep->accumulateConstantOffset(dl_, own)) continue;
    int64_t target = ref->offset > 0 ? kFar : -kFar;
    int64_t fixed = own.getSExtValue() + (target - ref->offset);
    IRBuilder<> b(gep);
    b.SetCurrentDebugLocation(gep->getDebugLoc());
    Value* p = b.CreateGEP(b.getInt8Ty(), gep->getPointerOperand(), b.getInt64(static_cast<uint64_t>(fixed)));
    gep->replaceAllUsesWith(p);
    gep->eraseFromParent();
  }
  if (!far.empty()) reset_memos();
  return !far.empty();
}

// A select whose condition a dominating branch on the same condition has
// decided, where it is used: that use takes the arm. LLVM leaves
// `eth = select(data + 14 > end, null, data)` before the branch that returns
// when eth is null, used after it; the code generator makes the select a
// jump of its own, and the verifier, which cannot tell the two comparisons
// agree, follows the path that picks null into the code after the return
// ("invalid mem access 'scalar'").
bool Checker::fold_decided_selects() {
  bool changed = false;
  std::vector<SelectInst*> selects;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb)
      if (auto* sel = dyn_cast<SelectInst>(&i); sel && sel->getType()->isPointerTy() && !sel->getCondition()->getType()->isVectorTy())
        selects.push_back(sel);
  for (SelectInst* sel : selects) {
    Value* cond = sel->getCondition();
    if (isa<Constant>(cond)) continue;
    std::vector<std::pair<BasicBlockEdge, bool>> edges;
    for (User* u : cond->users())
      if (auto* br = dyn_cast<BranchInst>(u); br && br->isConditional() && br->getSuccessor(0) != br->getSuccessor(1)) {
        edges.push_back({BasicBlockEdge(br->getParent(), br->getSuccessor(0)), true});
        edges.push_back({BasicBlockEdge(br->getParent(), br->getSuccessor(1)), false});
      }
    if (edges.empty()) continue;
    for (Use& use : make_early_inc_range(sel->uses())) {
      auto* user = dyn_cast<Instruction>(use.getUser());
      if (!user) continue;
      BasicBlock* where = user->getParent();
      if (auto* phi = dyn_cast<PHINode>(user)) where = phi->getIncomingBlock(use);
      for (const auto& [edge, truth] : edges)
        if (dt_.dominates(edge, where)) {
          use.set(truth ? sel->getTrueValue() : sel->getFalseValue());
          changed = true;
          break;
        }
    }
  }
  return changed;
}

bool Checker::run() {
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb)
      if (auto* call = dyn_cast<CallInst>(&i))
        if (const HelperInfo* h = find_helper_by_id(helper_id(*call)); h && h->invalidates_packet) {
          moves_packet_ = true;
          movers_.push_back(call);
        }
  if (plain_packet_atomics()) changed_ = true;
  if (copy_packet_buffers()) changed_ = true;
  rewrite_length_checks();
  if (clamp_far_constants()) changed_ = true;
  if (fold_decided_selects()) changed_ = true;
  if (fix_variable_offsets()) changed_ = true;
  if (fix_far_merges()) changed_ = true;
  if (check_null_merges()) changed_ = true;
  if (split_mixed_selects()) changed_ = true;
  collect_edge_facts();
  if (fold_implied_comparisons()) changed_ = true;
  std::vector<MemoryAccess> accesses;
  ReversePostOrderTraversal<Function*> rpo(&f_);
  for (BasicBlock* bb : rpo) {
    for (Instruction& i : *bb) {
      memory_accesses(i, accesses);
      for (const auto& a : accesses) {
        if (region_.end_field == kPacket.end_field && through_packet_end(a.pointer)) {
          report_error(i, "this access goes through data-end, which marks the end of the packet: there is nothing to read or write there",
                       "read the packet through (xdp-data) plus an offset; data-end is only for comparisons");
          continue;
        }
        auto ref = decompose(a.pointer);
        if (!ref) {
          // Through a constant address: LLVM put 0 in place of a pointer
          // on a path where the program tested it for 0 (`(unless ip ...
          // (tcp-seq ip))`). Never memory the program may touch: the
          // short-packet exit, as for an access outside the packet.
          if (region_.end_field == kPacket.end_field && constant_address(a.pointer)) planned_.push_back({&i, nullptr, -1});
          continue;
        }
        if (stats_) ++stats_->accesses;
        if (moves_packet_ && report_stale(ref->root, &i)) continue;
        int64_t need = ref->offset + static_cast<int64_t>(a.size);
        // Before the region's start, or further than the verifier can follow
        // (no packet is that long): never inside.
        bool before_start = false;
        if (ref->offset < 0) {
          if (data_load(ref->root) == ref->root) {
            before_start = true;
          } else {
            Shape sh = shape(ref->root);
            before_start = sh.known() ? sh.lo + ref->offset < 0 : ref->offset < -kFarFromRoot;
          }
        }
        if (need > static_cast<int64_t>(kMaxPacketOffset) || before_start ||
            (need > kFarFromRoot && data_load(ref->root) != ref->root && !shape(ref->root).known())) {
          planned_.push_back({&i, ref->root, -1});
          continue;
        }
        need = std::max<int64_t>(need, 0);
        if (proven(ref->root, need, bb, &i, false, 0)) {
          if (stats_) ++stats_->proven;
          continue;
        }
        if (covered(ref->root, need, &i)) {
          if (stats_) ++stats_->merged;
          continue;
        }
        if (mixed_.count(ref->root) || far_incoming(ref->root, need)) {
          plan_mixed(ref->root, need, &i);
          continue;
        }
        planned_.push_back({&i, ref->root, merge_window(&i, ref->root, need)});
      }
    }
  }
  if (planned_.empty()) return changed_;
  // Each check's exit is chosen on the CFG as it is, before any is inserted.
  std::vector<BasicBlock*> exits;
  for (const auto& check : planned_) exits.push_back(exits_.exit_for(check.at));
  for (size_t k = 0; k < planned_.size(); ++k) {
    insert(planned_[k], exits[k]);
    if (stats_) ++stats_->inserted;
  }
  // The checks just inserted may decide comparisons the program makes later
  // (a parse-* after a raw read): fold those too.
  dt_.recalculate(f_);
  reset_memos();
  facts_.clear();
  collect_edge_facts();
  fold_implied_comparisons();
  return true;
}

}  // namespace

PreservedAnalyses PacketBoundsPass::run(Function& f, FunctionAnalysisManager& am) {
  Attribute attr = f.getFnAttribute(kShortPacketAttr);
  if (!attr.isStringAttribute() || f.isDeclaration()) return PreservedAnalyses::all();
  int64_t action = std::stoll(attr.getValueAsString().str());
  if (std::getenv("WHISTLER_DUMP_BOUNDS")) f.print(llvm::errs());
  auto& dt = am.getResult<DominatorTreeAnalysis>(f);
  Checker packet(f, dt, stats_, kPacket, action);
  bool changed = packet.run();
  // Metadata accesses (data_meta + N <= data), on the function as it is now;
  // most programs never read data_meta and skip this walk.
  if (reads_ctx_field(f, kMetadata.start_field)) {
    if (changed) dt.recalculate(f);
    Checker metadata(f, dt, stats_, kMetadata, action);
    changed |= metadata.run();
  }
  return changed ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

}  // namespace whistler
