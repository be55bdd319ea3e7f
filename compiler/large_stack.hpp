// Runs work on a thread with a large stack. The compiler recurses over the
// program's nesting; generated programs can nest thousands of levels deep
// (a 5,000-clause cond), more than a default 8 MiB stack holds.
#pragma once

#include <functional>

#if defined(__SANITIZE_ADDRESS__)
#define WHISTLER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WHISTLER_ASAN 1
#endif
#endif

namespace whistler {

// Runs `work` on a thread with a 512 MiB stack (reserved, not committed) and
// waits for it; exceptions propagate to the caller. On such a thread already,
// runs `work` in place.
void run_with_large_stack(const std::function<void()>& work);

// Called by the constructors of the exceptions the compiler throws through
// deep recursion (AbortForm, the reader's and the interpreter's), just before
// the throw. Under AddressSanitizer it clears the poison of the frames about
// to be unwound when ASan would refuse to (see large_stack.cpp); otherwise it
// is nothing.
#ifdef WHISTLER_ASAN
void prepare_to_unwind() noexcept;
#else
inline void prepare_to_unwind() noexcept {}
#endif

}  // namespace whistler
