#include "ringbuf_leaks.hpp"

#include <llvm/ADT/BitVector.h>
#include <llvm/ADT/SmallPtrSet.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/DebugInfoMetadata.h>
#include <llvm/IR/Instructions.h>

#include <fmt/format.h>

#include <deque>
#include <map>
#include <vector>

#include "pass_diagnostic.hpp"
#include "verifier_ir.hpp"

namespace whistler {

using namespace llvm;

namespace {

constexpr int kHelperTailCall = 12;

class LeakFinder {
 public:
  explicit LeakFinder(Function& f) : f_(f) {
    for (BasicBlock& bb : f)
      for (Instruction& i : bb)
        if (auto* call = dyn_cast<CallInst>(&i); call && helper_id(*call) == kHelperRingbufReserve) {
          index_[call] = records_.size();
          records_.push_back(call);
        }
  }

  void run() {
    if (records_.empty()) return;
    std::map<BasicBlock*, BitVector> in;
    std::deque<BasicBlock*> work;
    BasicBlock* entry = &f_.getEntryBlock();
    in[entry] = BitVector(records_.size());
    work.push_back(entry);
    while (!work.empty()) {
      BasicBlock* bb = work.front();
      work.pop_front();
      BitVector held = in[bb];
      for (Instruction& i : *bb) transfer(i, held, /*report=*/false);
      Instruction* term = bb->getTerminator();
      for (unsigned s = 0; term && s < term->getNumSuccessors(); ++s) {
        BasicBlock* succ = term->getSuccessor(s);
        BitVector out = held;
        released_on_edge(term, s, out);
        auto it = in.find(succ);
        if (it == in.end()) {
          in[succ] = out;
          work.push_back(succ);
        } else {
          BitVector merged = it->second;
          merged |= out;
          if (merged != it->second) {
            it->second = merged;
            work.push_back(succ);
          }
        }
      }
    }
    // Report in program order, once per record.
    for (BasicBlock& bb : f_) {
      auto it = in.find(&bb);
      if (it == in.end()) continue;
      BitVector held = it->second;
      for (Instruction& i : bb) transfer(i, held, /*report=*/true);
    }
  }

 private:
  // The reservations `v` may be: through casts, phis and selects.
  BitVector records_of(Value* v) {
    BitVector out(records_.size());
    SmallPtrSet<Value*, 16> seen;
    std::vector<Value*> stack{v};
    while (!stack.empty()) {
      Value* x = stack.back();
      stack.pop_back();
      if (!seen.insert(x).second) continue;
      if (auto* call = dyn_cast<CallInst>(x)) {
        if (auto it = index_.find(call); it != index_.end()) out.set(it->second);
      } else if (auto* phi = dyn_cast<PHINode>(x)) {
        for (Value* in : phi->incoming_values()) stack.push_back(in);
      } else if (auto* sel = dyn_cast<SelectInst>(x)) {
        stack.push_back(sel->getTrueValue());
        stack.push_back(sel->getFalseValue());
      } else if (auto* cast = dyn_cast<CastInst>(x)) {
        stack.push_back(cast->getOperand(0));
      } else if (auto* op = dyn_cast<Operator>(x); op && op->getOpcode() == Instruction::BitCast) {
        stack.push_back(op->getOperand(0));
      }
    }
    return out;
  }

  static bool is_zero(Value* v) { return isa<ConstantPointerNull>(v) || (isa<ConstantInt>(v) && cast<ConstantInt>(v)->isZero()); }

  // On the edge where a test finds a record 0, the verifier drops it.
  void released_on_edge(Instruction* term, unsigned succ, BitVector& held) {
    auto* br = dyn_cast<BranchInst>(term);
    if (!br || !br->isConditional() || br->getSuccessor(0) == br->getSuccessor(1)) return;
    Value* cond = br->getCondition();
    bool negated = false;
    // (not X): xor X, true
    while (auto* bin = dyn_cast<BinaryOperator>(cond)) {
      if (bin->getOpcode() != Instruction::Xor) break;
      auto* one = dyn_cast<ConstantInt>(bin->getOperand(1));
      if (!one || !one->isOne()) break;
      negated = !negated;
      cond = bin->getOperand(0);
    }
    auto* cmp = dyn_cast<ICmpInst>(cond);
    if (!cmp || !cmp->isEquality()) return;
    Value* tested = nullptr;
    if (is_zero(cmp->getOperand(1))) tested = cmp->getOperand(0);
    else if (is_zero(cmp->getOperand(0))) tested = cmp->getOperand(1);
    if (!tested) return;
    // eq: the true edge is where it is 0; ne: the false edge.
    unsigned null_edge = cmp->getPredicate() == CmpInst::ICMP_EQ ? 0 : 1;
    if (negated) null_edge = 1 - null_edge;
    if (succ != null_edge) return;
    held.reset(records_of(tested));
  }

  void transfer(Instruction& i, BitVector& held, bool report) {
    if (auto* call = dyn_cast<CallInst>(&i)) {
      int id = helper_id(*call);
      if (id == kHelperRingbufReserve) {
        held.set(index_.at(call));
      } else if (id == kHelperRingbufSubmit || id == kHelperRingbufDiscard) {
        if (call->arg_size() > 0) held.reset(records_of(call->getArgOperand(0)));
      } else if (id == kHelperTailCall && report && held.any()) {
        leak(i, held, "a tail call here");
      }
    } else if (isa<ReturnInst>(&i) && report && held.any()) {
      // The return after the last form is located at the defprog.
      const DILocation* loc = i.getDebugLoc().get();
      const DISubprogram* sp = f_.getSubprogram();
      bool at_end = loc && sp && loc->getLine() == sp->getLine() && loc->getScope()->getSubprogram() == sp;
      leak(i, held, at_end ? "the program ends after its last form" : "the program returns here");
    }
  }

  static std::string where(const Instruction& i) {
    if (const DILocation* loc = i.getDebugLoc().get()) return fmt::format("{}:{}", loc->getLine(), loc->getColumn());
    return "?";
  }

  void leak(Instruction& at, const BitVector& held, const char* what) {
    for (unsigned k : held.set_bits()) {
      if (reported_[k]) continue;
      reported_[k] = true;
      report_error(at,
                   fmt::format("{} while the ring buffer record reserved at {} may be neither submitted nor discarded",
                               what, where(*records_[k])),
                   "release the record on every path first: (ringbuf-submit REC 0) or (ringbuf-discard REC 0); a (return ...) "
                   "inside a defun leaves the program too. (with-ringbuf (REC MAP SIZE) ...) submits the record and "
                   "discards it on every early return");
    }
  }

  Function& f_;
  std::vector<CallInst*> records_;
  std::map<CallInst*, unsigned> index_;
  std::map<unsigned, bool> reported_;
};

}  // namespace

PreservedAnalyses RingbufLeaksPass::run(Function& f, FunctionAnalysisManager&) {
  if (f.isDeclaration()) return PreservedAnalyses::all();
  LeakFinder(f).run();
  return PreservedAnalyses::all();
}

}  // namespace whistler
