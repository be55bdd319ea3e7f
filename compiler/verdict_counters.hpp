// Per-verdict packet counters, added around every program on request
// (`whistler run` shows them): each return goes through one exit block that
// increments a per-CPU counter indexed by the action, 7 for "other".
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

// Name of the per-CPU array map the counters live in (8 u64 slots).
inline constexpr const char* kVerdictMapName = "verdict_counts";
inline constexpr unsigned kVerdictSlots = 8;

class VerdictCountersPass : public llvm::PassInfoMixin<VerdictCountersPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }
};

}  // namespace whistler
