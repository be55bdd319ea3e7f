#include "verdict_counts.hpp"

#include "map_access.hpp"

namespace whistler::runtime {

uint64_t VerdictCounts::total() const {
  uint64_t t = 0;
  for (uint64_t p : packets) t += p;
  return t;
}

bool read_verdict_counts(int map_fd, VerdictCounts& out, RuntimeError& error) {
  auto map = MapHandle::from_fd(map_fd, kVerdictCountsMap, error);
  if (!map) return false;
  out = VerdictCounts{};
  for (uint32_t slot = 0; slot < kVerdictCountSlots; ++slot) {
    out.packets[slot] = map->sum_u64(MapHandle::to_bytes(slot), error);
    if (error) return false;
  }
  return true;
}

const char* xdp_action_name(uint32_t action) {
  switch (action) {
    case 0: return "XDP_ABORTED";
    case 1: return "XDP_DROP";
    case 2: return "XDP_PASS";
    case 3: return "XDP_TX";
    case 4: return "XDP_REDIRECT";
    default: return "other";
  }
}

const char* xdp_action_key(uint32_t slot) {
  switch (slot) {
    case 0: return "aborted";
    case 1: return "drop";
    case 2: return "pass";
    case 3: return "tx";
    case 4: return "redirect";
    default: return "other";
  }
}

}  // namespace whistler::runtime
