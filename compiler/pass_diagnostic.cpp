#include "pass_diagnostic.hpp"

#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/Function.h>
#include <llvm/IR/LLVMContext.h>

namespace whistler {

int PassDiagnostic::kind() {
  static const int k = llvm::getNextAvailablePluginDiagnosticKind();
  return k;
}

PassDiagnostic::PassDiagnostic(llvm::DiagnosticSeverity severity, const llvm::Instruction& at, std::string message,
                               std::string hint)
    : llvm::DiagnosticInfoWithLocationBase(static_cast<llvm::DiagnosticKind>(kind()), severity, *at.getFunction(),
                                           llvm::DiagnosticLocation(at.getDebugLoc())),
      message_(std::move(message)),
      hint_(std::move(hint)) {}

void PassDiagnostic::print(llvm::DiagnosticPrinter& printer) const { printer << message_; }

void report_error(const llvm::Instruction& at, std::string message, std::string hint) {
  at.getContext().diagnose(PassDiagnostic(llvm::DS_Error, at, std::move(message), std::move(hint)));
}

void report_warning(const llvm::Instruction& at, std::string message, std::string hint) {
  at.getContext().diagnose(PassDiagnostic(llvm::DS_Warning, at, std::move(message), std::move(hint)));
}

}  // namespace whistler
