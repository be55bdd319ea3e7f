// Errors from the runtime, phrased for the person who has to act on them.
#pragma once

#include <string>

namespace whistler::runtime {

struct RuntimeError {
  std::string message;  // what went wrong, with the interface / program / map involved
  std::string hint;     // what to do about it
  int error = 0;        // errno, when the kernel gave one
  std::string detail;   // raw text behind the message (verifier log, libbpf output, kernel extack)
  std::string kind;     // stable name of the failure for --json and tests (see ErrorKind), "" when generic

  explicit operator bool() const { return !message.empty(); }
};

// The values of RuntimeError::kind.
namespace ErrorKind {
inline constexpr const char* InterfaceMissing = "interface-missing";
inline constexpr const char* NativeUnsupported = "native-unsupported";
inline constexpr const char* MtuTooLarge = "mtu-too-large";
inline constexpr const char* AlreadyAttached = "already-attached";
inline constexpr const char* ModeConflict = "mode-conflict";
inline constexpr const char* OffloadUnsupported = "offload-unsupported";
inline constexpr const char* MissingCapability = "missing-capability";
inline constexpr const char* VerifierRejected = "verifier-rejected";
inline constexpr const char* NotAttached = "not-attached";
inline constexpr const char* NoBpffs = "no-bpffs";
inline constexpr const char* PinExists = "pin-exists";
inline constexpr const char* NotFound = "not-found";
inline constexpr const char* BadValue = "bad-value";
inline constexpr const char* Kernel = "kernel";
}  // namespace ErrorKind

}  // namespace whistler::runtime
