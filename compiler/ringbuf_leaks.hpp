// Ring buffer records the program may still hold where it leaves: the
// verifier refuses an exit (and a tail call) while a record reserved with
// ringbuf-reserve is neither submitted nor discarded on some path ("Unreleased
// reference ... would lead to reference leak"). with-ringbuf releases its
// record on every way out; a record reserved by hand is the program's to
// release, and a (return ...) between the reservation and the release (also
// one inside an inlined defun, which leaves the program) leaks it. This pass
// finds those paths as the verifier does, on the program as lowered, and
// makes each a located compile error naming the reservation.
//
// The analysis follows each reservation forward: held from the call, no
// longer held on the edge where a test finds it 0, or after a submit or
// discard of it (or of a phi/select it flows into). It merges paths, so a
// record released under a condition the verifier could tell always holds
// (other than its own test for 0) is reported; such programs are rare and
// the fix is the same: release the record on every path.
#pragma once

#include <llvm/IR/PassManager.h>

namespace whistler {

class RingbufLeaksPass : public llvm::PassInfoMixin<RingbufLeaksPass> {
 public:
  llvm::PreservedAnalyses run(llvm::Function& f, llvm::FunctionAnalysisManager& am);
  static bool isRequired() { return true; }
};

}  // namespace whistler
