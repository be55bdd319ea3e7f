// Errors and warnings found by Whistler's own LLVM passes, located at the
// instruction's source line (its DILocation) and carrying a hint; the
// compilation's LLVM diagnostic handler turns them into located diagnostics.
#pragma once

#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/Instruction.h>

#include <string>

namespace whistler {

class PassDiagnostic : public llvm::DiagnosticInfoWithLocationBase {
 public:
  PassDiagnostic(llvm::DiagnosticSeverity severity, const llvm::Instruction& at, std::string message, std::string hint);

  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }
  void print(llvm::DiagnosticPrinter& printer) const override;

  static bool classof(const llvm::DiagnosticInfo* d) { return d->getKind() == kind(); }
  static int kind();

 private:
  std::string message_;
  std::string hint_;
};

// Reports through the instruction's LLVMContext.
void report_error(const llvm::Instruction& at, std::string message, std::string hint = {});
void report_warning(const llvm::Instruction& at, std::string message, std::string hint = {});

}  // namespace whistler
