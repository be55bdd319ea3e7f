// Turns a verifier rejection into a compiler-style diagnostic at the .lisp
// line the verifier was checking.
#pragma once

#include <string>

#include "diagnostics.hpp"
#include "verifier_log.hpp"

namespace whistler {

// Finds the source file the verifier named (a path as embedded in BTF) among
// the compilation's files; returns an invalid location when none matches.
SourceLoc locate_verifier_line(const SourceManager& sources, const runtime::VerifierReport& report);

// Adds "the kernel verifier rejected program 'NAME': REASON" at the line.
void report_verifier_rejection(Diagnostics& diags, const std::string& program, const runtime::VerifierReport& report,
                               SourceLoc fallback);

}  // namespace whistler
