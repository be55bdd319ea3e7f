// What happened to one generated program: accepted, or how it failed. The
// category groups failures of the same cause in the summary and is what the
// reducer preserves while it shrinks a program.
#pragma once

#include <string>

namespace whistler::torture {

enum class OutcomeKind {
  Accepted,          // compiled and loaded (and, with --differential, -O0 and -O2 agreed)
  CompileError,      // whistlerc refused the program with a located diagnostic
  InternalError,     // "internal compiler error", invalid IR, an exception out of the compiler
  VerifierRejected,  // compiled, but the kernel verifier refused a program
  LoadError,         // compiled, but loading failed otherwise (map creation, BTF, ...)
  Crash,             // the process died (signal or exit) while handling the program
  Timeout,           // no answer within the time limit
  Mismatch,          // --differential: -O0 and -O2 disagree on a frame
};

const char* outcome_name(OutcomeKind k);          // "verifier-rejected"
bool outcome_from_name(const std::string& name, OutcomeKind& out);
// Failures that make the run exit non-zero (compile errors are reported, not failed).
bool outcome_is_failure(OutcomeKind k);

struct Outcome {
  OutcomeKind kind = OutcomeKind::Accepted;
  int opt_level = 2;
  std::string category;  // the grouping key: a normalised message, verifier cause or mismatch kind
  std::string detail;    // the first diagnostic line, the verifier's error line, the mismatch
  std::string log;       // the verifier log, all diagnostics, or the mismatching frame
  std::string program;   // the defprog concerned, when known
  bool compared = false; // --differential: the -O0 and -O2 runs were compared
  // --differential: compared up to a frame on which -O0 took the
  // short-packet exit and -O2 did not, or left it elsewhere: -O2 may leave
  // out a read whose value it does not need (and its check with it), so
  // from there on the two need not agree (docs/language.md).
  bool skipped_read = false;
  int other_errors = 0;  // compile errors with a message other than the first's

  bool failed() const { return kind != OutcomeKind::Accepted; }
};

}  // namespace whistler::torture
