// Errors from the runtime, phrased for the person who has to act on them.
#pragma once

#include <string>

namespace whistler::runtime {

struct RuntimeError {
  std::string message;  // what went wrong, with the interface / program / map involved
  std::string hint;     // what to do about it
  int error = 0;        // errno, when the kernel gave one
  std::string detail;   // raw text behind the message (verifier log, libbpf output)

  explicit operator bool() const { return !message.empty(); }
};

}  // namespace whistler::runtime
