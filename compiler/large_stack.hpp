// Runs work on a thread with a large stack. The compiler recurses over the
// program's nesting; generated programs can nest thousands of levels deep
// (a 5,000-clause cond), more than a default 8 MiB stack holds.
#pragma once

#include <functional>

namespace whistler {

// Runs `work` on a thread with a 512 MiB stack (reserved, not committed) and
// waits for it; exceptions propagate to the caller.
void run_with_large_stack(const std::function<void()>& work);

}  // namespace whistler
