// The per-verdict packet counters the compiler adds on request
// (CompileOptions::count_verdicts): a per-CPU array map "verdict_counts",
// key = XDP action 0..4, slot 7 = any other value, value = u64 packets.
#pragma once

#include <array>
#include <cstdint>

#include "runtime_error.hpp"

namespace whistler::runtime {

inline constexpr const char* kVerdictCountsMap = "verdict_counts";
inline constexpr unsigned kVerdictCountSlots = 8;
inline constexpr unsigned kVerdictOtherSlot = 7;

struct VerdictCounts {
  std::array<uint64_t, kVerdictCountSlots> packets{};  // summed over CPUs
  uint64_t total() const;
};

// Reads and sums the counters of the map `map_fd`.
bool read_verdict_counts(int map_fd, VerdictCounts& out, RuntimeError& error);

// "XDP_DROP" for 1, "other" for the other slot, "XDP_?(N)" beyond.
const char* xdp_action_name(uint32_t action);
// "drop", "pass", ... (JSON keys)
const char* xdp_action_key(uint32_t slot);

}  // namespace whistler::runtime
