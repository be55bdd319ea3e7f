#include "outcome.hpp"

namespace whistler::torture {

namespace {

struct KindName {
  OutcomeKind kind;
  const char* name;
};

constexpr KindName kNames[] = {
    {OutcomeKind::Accepted, "accepted"},
    {OutcomeKind::CompileError, "compile-error"},
    {OutcomeKind::InternalError, "internal-error"},
    {OutcomeKind::VerifierRejected, "verifier-rejected"},
    {OutcomeKind::LoadError, "load-error"},
    {OutcomeKind::Crash, "crash"},
    {OutcomeKind::Timeout, "timeout"},
    {OutcomeKind::Mismatch, "mismatch"},
};

}  // namespace

const char* outcome_name(OutcomeKind k) {
  for (const auto& n : kNames)
    if (n.kind == k) return n.name;
  return "unknown";
}

bool outcome_from_name(const std::string& name, OutcomeKind& out) {
  for (const auto& n : kNames)
    if (name == n.name) {
      out = n.kind;
      return true;
    }
  return false;
}

bool outcome_is_failure(OutcomeKind k) { return k != OutcomeKind::Accepted && k != OutcomeKind::CompileError; }

}  // namespace whistler::torture
