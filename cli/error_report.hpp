// Printing runtime errors for people: the message, what to do about it, and
// the kernel's or libbpf's raw text behind --verbose.
#pragma once

#include <iosfwd>
#include <string>

#include "runtime_error.hpp"

namespace whistler {

// whistler: error: MESSAGE
//   hint: HINT
//   kernel/libbpf said: DETAIL        (only with verbose)
void print_runtime_error(std::ostream& out, const runtime::RuntimeError& e, bool verbose, const char* program = "whistler");
std::string format_runtime_error(const runtime::RuntimeError& e, bool verbose, const char* program = "whistler");

}  // namespace whistler
