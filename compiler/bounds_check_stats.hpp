// Counts reported by the packet bounds-check pass (no LLVM needed to read them).
#pragma once

namespace whistler {

struct BoundsCheckStats {
  unsigned accesses = 0;  // packet accesses seen
  unsigned proven = 0;    // covered by a check the program already had
  unsigned inserted = 0;  // checks inserted
  unsigned merged = 0;    // accesses covered by a check inserted for an earlier access
};

}  // namespace whistler
