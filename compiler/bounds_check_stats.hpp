// Counts reported by the bounds passes (no LLVM needed to read them).
#pragma once

namespace whistler {

struct BoundsCheckStats {
  unsigned accesses = 0;  // packet accesses seen
  unsigned proven = 0;    // covered by a check the program already had
  unsigned inserted = 0;  // checks inserted
  unsigned merged = 0;    // accesses covered by a check inserted for an earlier access
  // Stack buffers, map values, ring buffer records (ObjectBoundsPass).
  unsigned object_accesses = 0;  // accesses at constant offsets, each within its object
  unsigned object_checks = 0;    // checks inserted: variable offsets and tests for 0
};

}  // namespace whistler
