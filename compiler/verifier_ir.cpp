#include "verifier_ir.hpp"

#include <llvm/IR/Constants.h>
#include <llvm/IR/InlineAsm.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/IntrinsicsBPF.h>
#include <llvm/IR/Module.h>

namespace whistler {

using namespace llvm;

Value* emit_ctx_load(IRBuilder<>& b, Value* ctx, unsigned offset) {
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

int ctx_field(const Value* v) {
  for (;;) {
    if (isa<ZExtInst>(v) || isa<IntToPtrInst>(v) || isa<TruncInst>(v)) {
      v = cast<CastInst>(v)->getOperand(0);
      continue;
    }
    break;
  }
  if (auto* call = dyn_cast<CallInst>(v)) {
    const Function* callee = call->getCalledFunction();
    if (!callee || callee->getIntrinsicID() != Intrinsic::bpf_getelementptr_and_load || call->arg_size() != 7) return -1;
    if (!isa<Argument>(call->getArgOperand(0)) || cast<Argument>(call->getArgOperand(0))->getArgNo() != 0) return -1;
    auto* off = dyn_cast<ConstantInt>(call->getArgOperand(6));
    return off ? static_cast<int>(off->getZExtValue()) : -1;
  }
  auto* load = dyn_cast<LoadInst>(v);
  if (!load || !load->getType()->isIntegerTy(32)) return -1;
  const Value* p = load->getPointerOperand();
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

Value* emit_opaque(IRBuilder<>& b, Value* v) {
  auto* fty = FunctionType::get(v->getType(), {v->getType()}, false);
  InlineAsm* barrier = InlineAsm::get(fty, "", "=r,0", /*hasSideEffects=*/false);
  CallInst* call = b.CreateCall(fty, barrier, {v});
  call->setDoesNotAccessMemory();
  call->setDoesNotThrow();
  call->addFnAttr(Attribute::WillReturn);
  return call;
}

Value* opaque_operand(const Value* v) {
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
  Type* i64 = Type::getInt64Ty(c);
  map.setMetadata(kMapSizesMetadata, MDNode::get(c, {ConstantAsMetadata::get(ConstantInt::get(i64, key_size)),
                                                     ConstantAsMetadata::get(ConstantInt::get(i64, value_size))}));
}

std::optional<MapSizes> map_sizes(const Value* map) {
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

int helper_id(const Value* v) {
  auto* call = dyn_cast<CallBase>(v);
  return call ? helper_id(*call) : -1;
}

}  // namespace whistler
