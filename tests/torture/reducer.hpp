// The reducer: shrinks a failing program while it still fails the same way
// (same outcome kind and category: the verifier's cause class, the compile
// error's message, the crash, the kind of mismatch), and while it stays a
// program the language says is valid. A reduction that turns the program
// into something invalid (a nullable pointer used without its test, a ring
// buffer record never submitted) could fail "the same way" for a different
// reason and would make a useless regression test, so every edit is one
// that keeps a well-typed program well-typed:
//
//   - delete a top-level form;
//   - delete statements of a body (in halves, quarters, ... then one by one),
//     except the ones validity rests on: null guards, ringbuf-submit/-discard;
//   - unwrap a statement into its body (progn, when/unless unless their test
//     is a null test, a branch of if/cond/case, let/with-*/dotimes/loop/
//     when-let whose variables the body no longer uses);
//   - delete let and when-let bindings nobody uses;
//   - replace an integer expression by 0, 1 or one of its integer operands,
//     and a number by 0 or 1 (not in defstruct layouts).
//
// Every candidate is compiled and checked in a child process, so a candidate
// that crashes the compiler is harmless (and a crash is preserved like any
// other failure).
#pragma once

#include <iosfwd>
#include <set>
#include <string>
#include <vector>

#include "frame_generator.hpp"
#include "outcome.hpp"
#include "sexp.hpp"

namespace whistler::torture {

struct ReduceTarget {
  OutcomeKind kind = OutcomeKind::VerifierRejected;
  std::string category;
  int opt_level = 2;
  bool differential = false;   // mismatches: rerun -O0/-O2 on `frames`
  std::vector<Frame> frames;
  int timeout_seconds = 60;
  // Compile errors: no more errors of other kinds than the original had (a
  // reduction must not reach the message by breaking something else).
  int other_errors = 0;
};

// The outcome of `forms`, computed in a child process.
Outcome evaluate_isolated(const std::vector<Sexp>& forms, const ReduceTarget& target);

class Reducer {
 public:
  Reducer(ReduceTarget target, std::ostream& progress) : target_(std::move(target)), progress_(progress) {}

  // The smallest program found that still fails like `forms` does.
  std::vector<Sexp> reduce(std::vector<Sexp> forms);
  size_t checks() const { return checks_; }

 private:
  bool still_fails(const Sexp& root);
  void accepted(const Sexp& root);
  bool delete_top_level(Sexp& root);
  bool delete_statements(Sexp& root);
  bool unwrap_statements(Sexp& root);
  bool delete_bindings(Sexp& root);
  bool simplify_expressions(Sexp& root);
  void learn_definitions(const Sexp& root);

  ReduceTarget target_;
  std::ostream& progress_;
  size_t checks_ = 0;
  std::set<std::string> int_functions_;  // defuns, integer macros and scalar struct accessors
};

}  // namespace whistler::torture
