#include "verifier_ir.hpp"

#include "helpers.hpp"

#include <llvm/ADT/SmallPtrSet.h>
#include <llvm/IR/CFG.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/InlineAsm.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/IntrinsicsBPF.h>
#include <llvm/IR/Module.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>
#include <llvm/IR/DataLayout.h>

namespace whistler {

using namespace llvm;

llvm::Value* emit_ctx_load(IRBuilder<>& b, llvm::Value* ctx, unsigned offset) {
  Module* m = b.GetInsertBlock()->getModule();
  Function* fn = Intrinsic::getDeclaration(m, Intrinsic::bpf_getelementptr_and_load, {b.getInt32Ty()});
  // Arguments as BPFPreserveStaticOffset makes them: base, volatile, atomic
  // ordering, sync scope, log2(alignment), inbounds, then the GEP indices.
  CallInst* call = b.CreateCall(fn, {ctx, b.getFalse(), b.getInt8(static_cast<uint8_t>(AtomicOrdering::NotAtomic)),
                                     b.getInt8(SyncScope::System), b.getInt8(2), b.getTrue(), b.getInt64(offset)});
  LLVMContext& c = b.getContext();
  call->addParamAttr(0, Attribute::get(c, Attribute::ElementType, b.getInt8Ty()));
  call->addParamAttr(0, Attribute::ReadOnly);
  call->addParamAttr(6, Attribute::ImmArg);
  call->setOnlyReadsMemory();
  call->setOnlyAccessesArgMemory();
  return call;
}

llvm::Value* emit_ctx_pointer(IRBuilder<>& b, llvm::Value* ctx, unsigned offset) {
  llvm::Value* wide = b.CreateZExt(emit_ctx_load(b, ctx, offset), b.getInt64Ty());
  llvm::Value* ptr = emit_opaque(b, b.CreateIntToPtr(wide, PointerType::getUnqual(b.getContext())));
  // Never null, and LLVM must know it: the verifier does not treat a packet
  // pointer as non-null, so a test for 0 that LLVM keeps is a path it
  // explores, on which LLVM may have put the constant 0 in the pointer's
  // place (a store through address 1: "invalid mem access 'scalar'").
  cast<CallInst>(ptr)->addRetAttr(Attribute::NonNull);
  return ptr;
}

static int ctx_field_at(const llvm::Value* v, int depth);

int ctx_field(const llvm::Value* v) { return ctx_field_at(v, 0); }

// A merge of reads of one field is that field: jump threading duplicates a
// read into the paths it splits, and the widening and barrier after it are
// left below the phi of the copies (each path still loads the field into
// the register).
static int merged_ctx_field(const llvm::PHINode* phi, int depth) {
  // Only the 32-bit read itself (what jump threading copies), one level deep:
  // merges of pointers are the passes' business, and this runs often.
  if (depth > 1 || !phi->getType()->isIntegerTy(32) || phi->getNumIncomingValues() == 0) return -1;
  int field = -1;
  for (const llvm::Value* in : phi->incoming_values()) {
    if (in == phi) continue;
    int f = ctx_field_at(in, depth + 1);
    if (f < 0 || (field >= 0 && f != field)) return -1;
    field = f;
  }
  return field;
}

static int ctx_field_at(const llvm::Value* v, int depth) {
  for (;;) {
    if (isa<ZExtInst>(v) || isa<IntToPtrInst>(v) || isa<TruncInst>(v)) {
      v = cast<CastInst>(v)->getOperand(0);
      continue;
    }
    // emit_ctx_pointer's barrier (an empty inline asm around the field).
    if (auto* call = dyn_cast<CallInst>(v); call && isa<InlineAsm>(call->getCalledOperand()))
      if (const llvm::Value* inner = opaque_operand(v); inner && isa<CastInst>(inner)) {
        v = inner;
        continue;
      }
    break;
  }
  if (auto* phi = dyn_cast<PHINode>(v)) return merged_ctx_field(phi, depth);
  if (auto* call = dyn_cast<CallInst>(v)) {
    const Function* callee = call->getCalledFunction();
    if (!callee || callee->getIntrinsicID() != Intrinsic::bpf_getelementptr_and_load || call->arg_size() != 7) return -1;
    if (!isa<Argument>(call->getArgOperand(0)) || cast<Argument>(call->getArgOperand(0))->getArgNo() != 0) return -1;
    auto* off = dyn_cast<ConstantInt>(call->getArgOperand(6));
    return off ? static_cast<int>(off->getZExtValue()) : -1;
  }
  auto* load = dyn_cast<LoadInst>(v);
  if (!load || !load->getType()->isIntegerTy(32)) return -1;
  const llvm::Value* p = load->getPointerOperand();
  int64_t offset = 0;
  if (auto* gep = dyn_cast<GEPOperator>(p)) {
    APInt o(64, 0);
    if (!gep->accumulateConstantOffset(load->getDataLayout(), o)) return -1;
    offset = o.getSExtValue();
    p = gep->getPointerOperand();
  }
  auto* arg = dyn_cast<Argument>(p);
  if (!arg || arg->getArgNo() != 0 || offset < 0) return -1;
  return static_cast<int>(offset);
}

llvm::Value* emit_pinned(IRBuilder<>& b, llvm::Value* v) {
  auto* fty = FunctionType::get(v->getType(), {v->getType()}, false);
  InlineAsm* barrier = InlineAsm::get(fty, "", "=r,0", /*hasSideEffects=*/true);
  CallInst* call = b.CreateCall(fty, barrier, {v});
  call->setDoesNotThrow();
  return call;
}

llvm::Value* emit_opaque(IRBuilder<>& b, llvm::Value* v) {
  auto* fty = FunctionType::get(v->getType(), {v->getType()}, false);
  InlineAsm* barrier = InlineAsm::get(fty, "", "=r,0", /*hasSideEffects=*/false);
  CallInst* call = b.CreateCall(fty, barrier, {v});
  call->setDoesNotAccessMemory();
  call->setDoesNotThrow();
  call->addFnAttr(Attribute::WillReturn);
  return call;
}

bool path_between(llvm::BasicBlock* from, llvm::BasicBlock* to, llvm::BasicBlock* avoid) {
  llvm::SmallPtrSet<llvm::BasicBlock*, 32> seen;
  std::vector<llvm::BasicBlock*> work(succ_begin(from), succ_end(from));
  while (!work.empty()) {
    llvm::BasicBlock* bb = work.back();
    work.pop_back();
    if (bb == to) return true;
    if (bb == avoid || !seen.insert(bb).second) continue;
    work.insert(work.end(), succ_begin(bb), succ_end(bb));
  }
  return false;
}

bool merges_null(const llvm::Value* v) {
  if (auto* phi = dyn_cast<PHINode>(v))
    return llvm::any_of(phi->incoming_values(), [](const llvm::Value* in) { return isa<ConstantPointerNull>(in); });
  if (auto* sel = dyn_cast<SelectInst>(v))
    return isa<ConstantPointerNull>(sel->getTrueValue()) || isa<ConstantPointerNull>(sel->getFalseValue());
  return false;
}

llvm::Value* opaque_operand(const llvm::Value* v) {
  auto* call = dyn_cast<CallInst>(v);
  if (!call) return nullptr;
  if (auto* asm_ = dyn_cast<InlineAsm>(call->getCalledOperand()))
    return asm_->getAsmString().empty() && asm_->getConstraintString() == "=r,0" ? call->getArgOperand(0) : nullptr;
  if (const Function* callee = call->getCalledFunction(); callee && callee->getIntrinsicID() == Intrinsic::bpf_passthrough)
    return call->getArgOperand(1);
  return nullptr;
}

namespace {
constexpr const char* kMapSizesMetadata = "whistler.map";
}

void describe_map_sizes(GlobalVariable& map, uint64_t key_size, uint64_t value_size) {
  LLVMContext& c = map.getContext();
  llvm::Type* i64 = Type::getInt64Ty(c);
  map.setMetadata(kMapSizesMetadata, MDNode::get(c, {ConstantAsMetadata::get(ConstantInt::get(i64, key_size)),
                                                     ConstantAsMetadata::get(ConstantInt::get(i64, value_size))}));
}

std::optional<MapSizes> map_sizes(const llvm::Value* map) {
  auto* gv = dyn_cast<GlobalVariable>(map);
  MDNode* md = gv ? gv->getMetadata(kMapSizesMetadata) : nullptr;
  if (!md || md->getNumOperands() != 2) return std::nullopt;
  auto* key = mdconst::dyn_extract<ConstantInt>(md->getOperand(0));
  auto* value = mdconst::dyn_extract<ConstantInt>(md->getOperand(1));
  if (!key || !value) return std::nullopt;
  return MapSizes{key->getZExtValue(), value->getZExtValue()};
}

int helper_id(const CallBase& call) {
  auto* ce = dyn_cast<ConstantExpr>(call.getCalledOperand());
  if (!ce || ce->getOpcode() != Instruction::IntToPtr) return -1;
  auto* id = dyn_cast<ConstantInt>(ce->getOperand(0));
  return id ? static_cast<int>(id->getZExtValue()) : -1;
}

int helper_id(const llvm::Value* v) {
  auto* call = dyn_cast<CallBase>(v);
  return call ? helper_id(*call) : -1;
}

// ---- Memory accesses ----

void memory_accesses(Instruction& i, std::vector<MemoryAccess>& out) {
  const DataLayout& dl = i.getDataLayout();
  out.clear();
  if (auto* ld = dyn_cast<LoadInst>(&i)) {
    out.push_back({ld->getPointerOperand(), dl.getTypeStoreSize(ld->getType()).getFixedValue()});
  } else if (auto* st = dyn_cast<StoreInst>(&i)) {
    out.push_back({st->getPointerOperand(), dl.getTypeStoreSize(st->getValueOperand()->getType()).getFixedValue()});
  } else if (auto* rmw = dyn_cast<AtomicRMWInst>(&i)) {
    out.push_back({rmw->getPointerOperand(), dl.getTypeStoreSize(rmw->getValOperand()->getType()).getFixedValue()});
  } else if (auto* cx = dyn_cast<AtomicCmpXchgInst>(&i)) {
    out.push_back({cx->getPointerOperand(), dl.getTypeStoreSize(cx->getCompareOperand()->getType()).getFixedValue()});
  } else if (auto* mi = dyn_cast<MemIntrinsic>(&i)) {
    auto* len = dyn_cast<ConstantInt>(mi->getLength());
    if (!len) return;
    out.push_back({mi->getRawDest(), len->getZExtValue()});
    if (auto* mt = dyn_cast<MemTransferInst>(mi)) out.push_back({mt->getRawSource(), len->getZExtValue()});
  } else if (auto* call = dyn_cast<CallInst>(&i)) {
    std::vector<HelperBuffer> buffers;
    helper_buffers(*call, buffers);
    for (const auto& b : buffers) out.push_back({call->getArgOperand(b.arg), b.size});
  }
}

void helper_buffers(CallBase& call, std::vector<HelperBuffer>& out) {
  out.clear();
  int id = helper_id(call);
  if (id < 0) return;
  const HelperInfo* h = find_helper_by_id(id);
  auto sizes = call.arg_size() >= 2 ? map_sizes(call.getArgOperand(0)) : std::nullopt;
  switch (id) {
    case kHelperMapLookup:
    case kHelperMapDelete:
      if (sizes) out.push_back({1, sizes->key, true, false, true});
      return;
    case kHelperMapUpdate:
      if (sizes && call.arg_size() >= 3) {
        out.push_back({1, sizes->key, true, false, true});
        out.push_back({2, sizes->value, true, false, true});
      }
      return;
    case kHelperMapPush:
    case kHelperMapPop:
    case kHelperMapPeek:
      if (sizes) out.push_back({1, sizes->value, id == kHelperMapPush, id != kHelperMapPush, false});
      return;
    default:
      break;
  }
  if (!h) return;
  for (auto [ptr_index, size_index] : h->mem_args) {
    if (static_cast<unsigned>(size_index) >= call.arg_size()) continue;
    auto* size = dyn_cast<ConstantInt>(call.getArgOperand(size_index));
    if (!size || size->isZero()) continue;
    bool reads = h->buffers != BufferUse::Writes;
    bool writes = h->buffers == BufferUse::Writes || h->buffers == BufferUse::ReadsWrites;
    out.push_back({static_cast<unsigned>(ptr_index), size->getZExtValue(), reads, writes, h->buffers == BufferUse::PacketOk});
  }
}

}  // namespace whistler
