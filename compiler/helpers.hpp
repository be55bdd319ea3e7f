// The BPF helper functions Whistler programs can call, by their kernel names
// with '-' for '_', and what each argument must be (checked at compile time).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "value.hpp"

namespace whistler {

enum class HelperArg {
  Int,        // any integer
  Ptr,        // a pointer to memory (stack buffer, map value, packet, ring buffer record)
  PtrOrNull,  // a pointer, or 0
  Map,        // a map name
  Ctx,        // the program's context: supplied implicitly, never written by the user
};

enum class HelperResult { Int, Ptr, Void };

// How a helper uses the buffers it takes (mem_args), and whether the kernel
// lets them be packet memory (its proto's pkt_access): when not, a packet
// pointer passed to it is copied through a stack buffer.
enum class BufferUse {
  PacketOk,     // reads them, and may read the packet directly
  Reads,        // reads them; a packet buffer is copied to the stack first
  Writes,       // writes them; a packet buffer is copied back after
  ReadsWrites,  // both
};

struct HelperInfo {
  const char* name;  // Whistler name ("ktime-get-ns")
  int id;            // BPF_FUNC_* number
  HelperResult result;
  std::vector<HelperArg> args;  // including implicit Ctx
  bool invalidates_packet = false;  // changes data/data_end (adjust-head/tail/meta)
  // For verifier-friendly bounds checks: (pointer argument index, size argument index) pairs.
  std::vector<std::pair<int, int>> mem_args;
  const char* params = "";  // user-visible parameter names, for arity errors
  BufferUse buffers = BufferUse::Reads;
};

// nullptr when `name` is not a helper.
const HelperInfo* find_helper(const Symbol* name);
const std::vector<HelperInfo>& all_helpers();
// nullptr when no helper has this BPF_FUNC id.
const HelperInfo* find_helper_by_id(int id);

}  // namespace whistler
