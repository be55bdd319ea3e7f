// Where an inserted check goes when it fails: a block that returns the
// program's short-packet action. A check that runs while a ring buffer
// record is reserved (after the reservation's null test, before its submit
// or discard) gets a block that first discards the record, as every early
// return from with-ringbuf does: the verifier refuses an exit that leaks one.
#pragma once

#include <llvm/IR/Dominators.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/Instructions.h>

#include <cstdint>
#include <map>
#include <vector>

namespace whistler {

class ShortExits {
 public:
  ShortExits(llvm::Function& f, llvm::DominatorTree& dt, int64_t action) : f_(f), dt_(dt), action_(action) {}

  // The exit for a check that runs just before `where` (asks the dominator
  // tree: call it before the CFG changes, or after recalculating it).
  llvm::BasicBlock* exit_for(llvm::Instruction* where);
  // Splits the block before `where` and leaves through `exit` when `fails`
  // (computed before `where`) is true.
  static void branch(llvm::Instruction* where, llvm::Value* fails, llvm::BasicBlock* exit);

 private:
  std::vector<llvm::Instruction*> held(llvm::Instruction* where);

  llvm::Function& f_;
  llvm::DominatorTree& dt_;
  int64_t action_;
  std::map<std::vector<llvm::Instruction*>, llvm::BasicBlock*> exits_;
};

}  // namespace whistler
