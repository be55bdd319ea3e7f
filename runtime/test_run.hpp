// BPF_PROG_TEST_RUN: run a loaded XDP program on a packet without any
// interface, for tests, the REPL's (test-run ...) and benchmarks.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime_error.hpp"

namespace whistler::runtime {

struct TestRunResult {
  uint32_t action = 0;           // the XDP verdict the program returned
  std::vector<uint8_t> packet;   // the packet after the program (rewrites, adjust-head/tail)
  uint32_t duration_ns = 0;      // mean time per run, from the kernel
};

// Packets shorter than 14 bytes are refused by the kernel (EINVAL).
bool test_run(int program_fd, const std::vector<uint8_t>& packet, TestRunResult& result, RuntimeError& error,
              uint32_t repeat = 1);

}  // namespace whistler::runtime
