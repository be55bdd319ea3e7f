// The -O0/-O2 differential: both objects are loaded (each with maps of its
// own), every program of each runs on the same frames in the same order
// through BPF_PROG_TEST_RUN, and the verdicts, the output frames and the
// final contents of every map must agree. Ring buffers are skipped (their
// records are not read), as are maps a program cannot write (prog-array,
// devmap, cpumap, xskmap). Per-CPU values are summed over the CPUs; the
// process is pinned to one CPU (pin_to_one_cpu) so that the sum is exact.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frame_generator.hpp"
#include "outcome.hpp"

namespace whistler::runtime {
class BpfObject;
}

namespace whistler::torture {

// The short-packet action the differential compiles every program with: no
// program returns it otherwise, so a verdict shows where a check failed.
inline constexpr uint32_t kShortExitSentinel = 0x5a;

// Everything a run left behind.
struct Observation {
  struct Run {
    std::string program;
    size_t frame = 0;
    bool ran = false;        // false: BPF_PROG_TEST_RUN refused (e.g. an xdp/devmap program)
    uint32_t action = 0;
    std::vector<uint8_t> packet;
    std::string error;
  };
  std::vector<Run> runs;
  std::map<std::string, std::string> maps;  // map name -> canonical dump ("key=value" lines, sorted)
};

Observation observe(runtime::BpfObject& object, const std::vector<std::string>& programs,
                    const std::vector<Frame>& frames);

// Accepted when they agree (or agree up to a frame on which -O0 took the
// short-packet exit that -O2 did not: Outcome::skipped_read); otherwise a
// Mismatch whose category names what differs.
Outcome compare_observations(const Observation& o0, const Observation& o2, const std::vector<Frame>& frames);

// Compiles and loads at -O0 and -O2 and compares. A failure to compile or
// load at either level is returned as that outcome (with its opt_level).
Outcome run_differential(const std::string& source, const std::vector<Frame>& frames);

// Pins the calling process to the CPU it runs on (per-CPU maps then hold
// every value in one slot). False when the kernel refuses.
bool pin_to_one_cpu(int preferred_cpu);

}  // namespace whistler::torture
