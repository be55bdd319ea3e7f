#include "object_bounds.hpp"

#include <fmt/format.h>
#include <llvm/ADT/MapVector.h>
#include <llvm/ADT/PostOrderIterator.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/IntrinsicsBPF.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "lowering.hpp"
#include "pass_diagnostic.hpp"
#include "short_exits.hpp"
#include "verifier_ir.hpp"
#include "verifier_ranges.hpp"

namespace whistler {

using namespace llvm;

namespace {

using llvm::Type;
using llvm::Value;

// A stack buffer, map value or ring buffer record: the pointer that starts it
// and its size.
struct Object {
  Value* root;
  uint64_t size;
  bool nullable;  // a map lookup or reservation: 0 until tested
  std::string what;
};

std::optional<Object> object_at(Value* v) {
  if (auto* a = dyn_cast<AllocaInst>(v)) {
    auto size = a->getAllocationSize(a->getDataLayout());
    if (!size || size->isScalable()) return std::nullopt;
    return Object{v, size->getFixedValue(), false, "stack buffer"};
  }
  auto* call = dyn_cast<CallInst>(v);
  if (!call) return std::nullopt;
  int id = helper_id(*call);
  if (id == kHelperMapLookup && call->arg_size() >= 1) {
    auto sizes = map_sizes(call->getArgOperand(0));
    if (!sizes) return std::nullopt;
    return Object{v, sizes->value, true, fmt::format("value of map '{}'", call->getArgOperand(0)->getName().str())};
  }
  if (id == kHelperRingbufReserve && call->arg_size() >= 2) {
    auto* size = dyn_cast<ConstantInt>(call->getArgOperand(1));
    if (!size) return std::nullopt;
    return Object{v, size->getZExtValue(), true, "ring buffer record"};
  }
  return std::nullopt;
}

// A pointer as (object root, constant offset, variable terms): every GEP on
// the way from the root, constant and variable.
struct Place {
  Value* root = nullptr;
  int64_t offset = 0;
  std::vector<std::pair<Value*, uint64_t>> terms;  // (index, scale in bytes)
};

Value* through_markers(Value* v) {
  if (auto* fr = dyn_cast<FreezeInst>(v)) return fr->getOperand(0);
  if (auto* call = dyn_cast<CallInst>(v))
    if (const Function* callee = call->getCalledFunction(); callee && callee->getIntrinsicID() == Intrinsic::bpf_passthrough)
      return call->getArgOperand(1);
  return nullptr;
}

std::optional<Place> place_of(Value* ptr, const DataLayout& dl) {
  Place p;
  Value* v = ptr;
  for (int guard = 0; guard < 64; ++guard) {
    if (auto* gep = dyn_cast<GEPOperator>(v)) {
      unsigned bits = dl.getIndexTypeSizeInBits(gep->getType());
      MapVector<Value*, APInt> vars;
      APInt constant(bits, 0);
      if (!gep->collectOffset(dl, bits, vars, constant)) return std::nullopt;
      p.offset += constant.getSExtValue();
      for (auto& [index, scale] : vars) {
        if (scale.isNegative() || scale.getActiveBits() > 32) return std::nullopt;
        p.terms.push_back({index, scale.getZExtValue()});
      }
      v = gep->getPointerOperand();
      continue;
    }
    if (Value* inner = through_markers(v)) {
      v = inner;
      continue;
    }
    break;
  }
  if (!object_at(v)) return std::nullopt;
  p.root = v;
  return p;
}

class ObjectChecker {
 public:
  ObjectChecker(Function& f, DominatorTree& dt, BoundsCheckStats* stats, int64_t action)
      : f_(f), dt_(dt), dl_(f.getDataLayout()), stats_(stats), ranges_(dt), exits_(f, dt, action) {}

  bool run();

 private:
  struct Demand {
    int64_t need = 0;    // bytes after the pointer that accesses reach
    int64_t lowest = 0;  // the lowest offset from the pointer accessed (negative: before it)
  };

  bool separate_record_arguments();
  bool bound_variable_offsets();
  uint64_t variable_umax(const Place& p, Instruction* at);
  void rebase(GetElementPtrInst* gep, const Place& p, const Object& o, const Demand& d);
  void check_constant_offsets();
  bool add_null_checks();
  bool known_not_null(Value* root, Instruction* at);

  Function& f_;
  DominatorTree& dt_;
  const DataLayout& dl_;
  BoundsCheckStats* stats_;
  VerifierRanges ranges_;
  ShortExits exits_;
  bool changed_ = false;
};

uint64_t ObjectChecker::variable_umax(const Place& p, Instruction* at) {
  uint64_t total = 0;
  for (auto [index, scale] : p.terms) {
    uint64_t u = ranges_.umax(index, at);
    unsigned width = index->getType()->getIntegerBitWidth();
    if (u == kUnbounded || (width < 64 && (u >> (width - 1)))) return kUnbounded;  // may be negative once sign-extended
    if (u > (uint64_t{1} << 32) || scale > (uint64_t{1} << 16)) return kUnbounded;
    total += u * scale;
    if (total > (uint64_t{1} << 40)) return kUnbounded;
  }
  return total;
}

// Variable offsets: the outermost GEP of each chain with a variable part is
// where the verifier must know the whole offset's range; where it would not,
// the offset from the object's start is computed as an integer, checked
// against what the accesses through the pointer need, and the pointer rebuilt
// from the object's start and the checked value.
bool ObjectChecker::bound_variable_offsets() {
  // The accesses through each variable-offset pointer, as offsets from it.
  MapVector<GetElementPtrInst*, Demand> demand;
  std::vector<MemoryAccess> accesses;
  auto outermost_variable = [&](Value* ptr, int64_t& offset) -> GetElementPtrInst* {
    offset = 0;
    Value* v = ptr;
    for (int guard = 0; guard < 64; ++guard) {
      if (auto* gep = dyn_cast<GetElementPtrInst>(v)) {
        APInt o(dl_.getIndexTypeSizeInBits(gep->getType()), 0);
        if (!gep->accumulateConstantOffset(dl_, o)) return place_of(gep, dl_) ? gep : nullptr;
        offset += o.getSExtValue();
        v = gep->getPointerOperand();
        continue;
      }
      if (Value* inner = through_markers(v)) {
        v = inner;
        continue;
      }
      return nullptr;
    }
    return nullptr;
  };
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb) {
      memory_accesses(i, accesses);
      for (const auto& a : accesses) {
        int64_t offset;
        if (GetElementPtrInst* gep = outermost_variable(a.pointer, offset)) {
          auto [it, fresh] = demand.insert({gep, Demand{offset + static_cast<int64_t>(a.size), std::min<int64_t>(offset, 0)}});
          if (!fresh) {
            it->second.need = std::max(it->second.need, offset + static_cast<int64_t>(a.size));
            it->second.lowest = std::min(it->second.lowest, offset);
          }
        }
      }
    }
  bool changed = false;
  for (auto& [gep, d] : demand) {
    auto p = place_of(gep, dl_);
    if (!p) continue;
    Object o = *object_at(p->root);
    uint64_t u = variable_umax(*p, gep);
    bool fits = u != kUnbounded && p->offset + d.lowest >= 0 &&
                p->offset + static_cast<int64_t>(u) + d.need <= static_cast<int64_t>(o.size);
    if (fits) {
      // The masks that bound the offset must reach the verifier.
      for (auto [index, scale] : p->terms) changed |= ranges_.pin_clamps(index, gep);
      continue;
    }
    rebase(gep, *p, o, d);
    dt_.recalculate(f_);
    changed = true;
  }
  return changed;
}

void ObjectChecker::rebase(GetElementPtrInst* gep, const Place& p, const Object& o, const Demand& d) {
  IRBuilder<> b(gep);
  b.SetCurrentDebugLocation(gep->getDebugLoc());
  int64_t low = std::min<int64_t>(d.lowest, 0);
  // w: the offset of the lowest byte accessed through the pointer, from the
  // object's start.
  Value* w = b.getInt64(static_cast<uint64_t>(p.offset + low));
  for (auto [index, scale] : p.terms) {
    Value* wide = b.CreateSExtOrTrunc(index, b.getInt64Ty());
    w = b.CreateAdd(w, scale == 1 ? wide : b.CreateMul(wide, b.getInt64(scale)));
  }
  w = emit_opaque(b, w);
  int64_t limit = static_cast<int64_t>(o.size) - (d.need - low);
  Value* fails = limit < 0 ? static_cast<Value*>(b.getTrue()) : b.CreateICmpUGT(w, b.getInt64(static_cast<uint64_t>(limit)));
  ShortExits::branch(gep, fails, exits_.exit_for(gep));
  b.SetInsertPoint(gep);
  Value* ptr = b.CreateGEP(b.getInt8Ty(), o.root, w);
  if (low) ptr = b.CreateGEP(b.getInt8Ty(), ptr, b.getInt64(static_cast<uint64_t>(-low)));
  gep->replaceAllUsesWith(ptr);
  gep->eraseFromParent();
  if (stats_) ++stats_->object_checks;
  changed_ = true;
}

void ObjectChecker::check_constant_offsets() {
  std::vector<MemoryAccess> accesses;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb) {
      memory_accesses(i, accesses);
      for (const auto& a : accesses) {
        auto p = place_of(a.pointer, dl_);
        if (!p || !p->terms.empty()) continue;
        Object o = *object_at(p->root);
        if (stats_) ++stats_->object_accesses;
        int64_t end = p->offset + static_cast<int64_t>(a.size);
        if (p->offset >= 0 && end <= static_cast<int64_t>(o.size)) continue;
        report_error(i,
                     fmt::format("this access touches bytes {} to {} of a {} of {} bytes: outside it", p->offset, end - 1, o.what,
                                 o.size),
                     "offsets into a struct, map value or record must stay within its size (sizeof gives it)");
      }
    }
}

bool ObjectChecker::known_not_null(Value* root, Instruction* at) {
  for (User* u : root->users()) {
    auto* cmp = dyn_cast<ICmpInst>(u);
    if (!cmp || !cmp->isEquality()) continue;
    Value* other = cmp->getOperand(cmp->getOperand(0) == root ? 1 : 0);
    if (!isa<ConstantPointerNull>(other)) continue;
    for (User* cu : cmp->users()) {
      auto* br = dyn_cast<BranchInst>(cu);
      if (!br || !br->isConditional() || br->getSuccessor(0) == br->getSuccessor(1)) continue;
      unsigned edge = cmp->getPredicate() == CmpInst::ICMP_EQ ? 1 : 0;
      if (dt_.dominates(BasicBlockEdge(br->getParent(), br->getSuccessor(edge)), at->getParent())) return true;
    }
  }
  return false;
}

// A map value or record used before any test for 0: the use gets one. Uses
// are accesses and pointer arithmetic, which the verifier refuses on a
// pointer that may be null.
bool ObjectChecker::add_null_checks() {
  struct Planned {
    Instruction* at;
    Value* root;
  };
  std::vector<Planned> planned;
  auto plan = [&](Instruction* at, Value* root) {
    if (known_not_null(root, at)) return;
    for (const auto& p : planned)
      if (p.root == root && (p.at == at || dt_.dominates(p.at, at))) return;
    planned.push_back({at, root});
  };
  std::vector<MemoryAccess> accesses;
  ReversePostOrderTraversal<Function*> rpo(&f_);
  for (BasicBlock* bb : rpo)
    for (Instruction& i : *bb) {
      if (auto* gep = dyn_cast<GetElementPtrInst>(&i)) {
        if (auto o = object_at(gep->getPointerOperand()); o && o->nullable && !gep->hasAllZeroIndices()) plan(&i, o->root);
        continue;
      }
      memory_accesses(i, accesses);
      for (const auto& a : accesses) {
        if (auto p = place_of(a.pointer, dl_))
          if (object_at(p->root)->nullable) plan(&i, p->root);
        // A merge that may bring 0 (a parse-* result, (if c p 0)) and that
        // no test guards: tested here, before LLVM takes the access through
        // 0 for undefined behaviour and deletes the path, which the verifier
        // still follows (it sees the number 0 there).
        Value* base = a.pointer;
        for (int guard = 0; guard < 16; ++guard) {
          base = base->stripPointerCasts();
          if (auto* gep = dyn_cast<GEPOperator>(base)) base = gep->getPointerOperand();
          else break;
        }
        if (merges_null(base)) plan(&i, base);
      }
    }
  if (planned.empty()) return false;
  std::vector<BasicBlock*> exits;
  for (const auto& p : planned) exits.push_back(exits_.exit_for(p.at));
  for (size_t k = 0; k < planned.size(); ++k) {
    IRBuilder<> b(planned[k].at);
    b.SetCurrentDebugLocation(planned[k].at->getDebugLoc());
    Value* is_null = b.CreateICmpEQ(planned[k].root, ConstantPointerNull::get(cast<PointerType>(planned[k].root->getType())));
    ShortExits::branch(planned[k].at, is_null, exits[k]);
    if (stats_) ++stats_->object_checks;
  }
  return true;
}

// The verifier refuses a helper call that gets ring buffer records
// (referenced objects) in two arguments, the same one ((setf (getmap m rec)
// rec)) or two ((setf (getmap m rec1) rec2)): every record argument after the
// first goes through a stack copy.
bool ObjectChecker::separate_record_arguments() {
  bool changed = false;
  std::vector<CallInst*> calls;
  for (BasicBlock& bb : f_)
    for (Instruction& i : bb)
      if (auto* call = dyn_cast<CallInst>(&i); call && helper_id(*call) >= 0) calls.push_back(call);
  std::vector<HelperBuffer> buffers;
  for (CallInst* call : calls) {
    helper_buffers(*call, buffers);
    std::vector<Value*> records_seen;
    for (const auto& buf : buffers) {
      Value* arg = call->getArgOperand(buf.arg);
      auto p = place_of(arg, dl_);
      if (!p || helper_id(p->root) != kHelperRingbufReserve) continue;
      if (records_seen.empty()) {
        records_seen.push_back(p->root);
        continue;
      }
      IRBuilder<> entry(&f_.getEntryBlock(), f_.getEntryBlock().getFirstInsertionPt());
      AllocaInst* copy = entry.CreateAlloca(ArrayType::get(entry.getInt8Ty(), buf.size), nullptr, "record.copy");
      copy->setAlignment(Align(8));
      IRBuilder<> b(call);
      b.SetCurrentDebugLocation(call->getDebugLoc());
      if (buf.reads) b.CreateMemCpy(copy, Align(8), arg, Align(1), buf.size);
      call->setArgOperand(buf.arg, copy);
      if (buf.writes) {
        b.SetInsertPoint(call->getNextNode());
        b.CreateMemCpy(arg, Align(1), copy, Align(8), buf.size);
      }
      changed = true;
    }
  }
  return changed;
}

bool ObjectChecker::run() {
  if (separate_record_arguments()) changed_ = true;
  if (bound_variable_offsets()) changed_ = true;
  check_constant_offsets();
  if (add_null_checks()) changed_ = true;
  return changed_;
}

}  // namespace

PreservedAnalyses ObjectBoundsPass::run(Function& f, FunctionAnalysisManager& am) {
  Attribute attr = f.getFnAttribute(kShortPacketAttr);
  if (!attr.isStringAttribute() || f.isDeclaration()) return PreservedAnalyses::all();
  int64_t action = std::stoll(attr.getValueAsString().str());
  auto& dt = am.getResult<DominatorTreeAnalysis>(f);
  ObjectChecker checker(f, dt, stats_, action);
  return checker.run() ? PreservedAnalyses::none() : PreservedAnalyses::all();
}

}  // namespace whistler
