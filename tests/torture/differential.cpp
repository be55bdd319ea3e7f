#include "differential.hpp"

#include <bpf/libbpf.h>
#include <sched.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>

#include "bpf_object.hpp"
#include "map_access.hpp"
#include "program_check.hpp"
#include "sexp.hpp"
#include "test_run.hpp"

namespace whistler::torture {

namespace {

// Maps whose contents the programs write and user space can read back.
bool comparable_map(bpf_map* m) {
  switch (bpf_map__type(m)) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_LPM_TRIE:
      break;
    default:
      return false;
  }
  const char* name = bpf_map__name(m);
  return name && name[0] != '.' && !std::string(name).ends_with(".rodata");
}

std::string dump_map(bpf_map* m) {
  runtime::RuntimeError error;
  auto handle = runtime::MapHandle::from_fd(bpf_map__fd(m), bpf_map__name(m), error);
  if (!handle) return "(unreadable: " + error.message + ")";
  auto entries = handle->entries(error, 100000);
  if (error) return "(unreadable: " + error.message + ")";
  std::vector<std::string> lines;
  for (const auto& [key, value] : entries) {
    std::string line = frame_hex(std::vector<uint8_t>(key.begin(), key.end())) + "=";
    if (handle->percpu()) {
      // The sum over CPUs, in 64-bit lanes. The process is pinned to one CPU,
      // so this is that CPU's value; were it not, the sums still agree.
      std::vector<uint64_t> lanes;
      for (const auto& part : handle->split_per_cpu(value)) {
        lanes.resize(std::max(lanes.size(), (part.size() + 7) / 8), 0);
        for (size_t i = 0; i < part.size(); i += 8) {
          uint64_t lane = 0;
          std::memcpy(&lane, part.data() + i, std::min<size_t>(8, part.size() - i));
          lanes[i / 8] += lane;
        }
      }
      std::vector<uint8_t> sum(lanes.size() * 8);
      if (!lanes.empty()) std::memcpy(sum.data(), lanes.data(), sum.size());
      sum.resize(std::min<size_t>(sum.size(), handle->value_size()));
      line += frame_hex(sum);
    } else {
      line += frame_hex(std::vector<uint8_t>(value.begin(), value.end()));
    }
    lines.push_back(line);
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::string first_difference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  size_t line_start = a.rfind('\n', i == 0 ? 0 : i - 1);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  auto line_of = [&](const std::string& s) {
    size_t end = s.find('\n', line_start);
    return s.substr(line_start, end == std::string::npos ? std::string::npos : end - line_start);
  };
  return "-O0: " + line_of(a) + " | -O2: " + line_of(b);
}

}  // namespace

bool pin_to_one_cpu(int preferred_cpu) {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return false;
  int count = CPU_COUNT(&allowed);
  if (count == 0) return false;
  // The preferred_cpu-th allowed CPU (modulo their number).
  int wanted = preferred_cpu % count;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    if (wanted-- == 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      return sched_setaffinity(0, sizeof one, &one) == 0;
    }
  }
  return false;
}

Observation observe(runtime::BpfObject& object, const std::vector<std::string>& programs,
                    const std::vector<Frame>& frames) {
  Observation obs;
  for (const auto& program : programs) {
    int fd = object.program_fd(program);
    for (size_t i = 0; i < frames.size(); ++i) {
      Observation::Run run;
      run.program = program;
      run.frame = i;
      runtime::TestRunResult result;
      runtime::RuntimeError error;
      if (fd >= 0 && runtime::test_run(fd, frames[i].bytes, result, error)) {
        run.ran = true;
        run.action = result.action;
        run.packet = std::move(result.packet);
      } else {
        run.error = fd < 0 ? "no such program" : error.message;
      }
      obs.runs.push_back(std::move(run));
    }
  }
  for (bpf_map* m : object.maps())
    if (comparable_map(m)) obs.maps[bpf_map__name(m)] = dump_map(m);
  return obs;
}

Outcome compare_observations(const Observation& o0, const Observation& o2, const std::vector<Frame>& frames) {
  Outcome out;
  out.compared = true;
  auto mismatch = [&](const std::string& category, const std::string& program, const std::string& detail,
                      const std::string& log) {
    out.kind = OutcomeKind::Mismatch;
    out.category = category;
    out.program = program;
    out.detail = detail;
    out.log = log;
    return out;
  };
  for (size_t i = 0; i < o0.runs.size() && i < o2.runs.size(); ++i) {
    const auto& a = o0.runs[i];
    const auto& b = o2.runs[i];
    const Frame& frame = frames[a.frame];
    std::string where = "program " + a.program + ", frame " + std::to_string(a.frame) + " (" + frame.description + ", " +
                        std::to_string(frame.bytes.size()) + " bytes)";
    std::string log = "frame: " + frame_hex(frame.bytes);
    // One level left through the short-packet exit, the other did not.
    std::string exit_note;
    if (a.ran && b.ran && (a.action == kShortExitSentinel) != (b.action == kShortExitSentinel))
      exit_note = a.action == kShortExitSentinel ? " (-O0 took the short-packet exit)" : " (-O2 took the short-packet exit)";
    if (a.ran != b.ran)
      return mismatch("test run fails at one level", a.program,
                      where + ": -O0 " + (a.ran ? "ran" : a.error) + ", -O2 " + (b.ran ? "ran" : b.error), log);
    if (!a.ran) continue;
    // -O0 took the short-packet exit; -O2 went on, or left at another read
    // (after writes -O0 never made): -O2 may leave out a read whose value it
    // does not need. Never the other way round. From here the two runs (and
    // the maps) need not agree.
    if (a.action == kShortExitSentinel) {
      out.skipped_read = true;
      return out;
    }
    if (a.action != b.action)
      return mismatch("verdict differs" + exit_note, a.program,
                      where + ": -O0 returned " + std::to_string(a.action) + ", -O2 returned " + std::to_string(b.action), log);
    if (a.packet != b.packet)
      return mismatch("output frame differs" + exit_note, a.program, where + ": " + first_difference(frame_hex(a.packet), frame_hex(b.packet)),
                      log + "\n-O0 output: " + frame_hex(a.packet) + "\n-O2 output: " + frame_hex(b.packet));
  }
  for (const auto& [name, dump] : o0.maps) {
    auto it = o2.maps.find(name);
    std::string other = it == o2.maps.end() ? "(missing)" : it->second;
    if (dump != other)
      return mismatch("map contents differ", "", "map " + name + " after every frame: " + first_difference(dump, other),
                      "-O0 " + name + ":\n" + dump + "-O2 " + name + ":\n" + other);
  }
  return out;
}

Outcome run_differential(const std::string& source, const std::vector<Frame>& frames) {
  CompileResult c0 = compile_program(source, 0, kShortExitSentinel);
  if (!c0.ok) return c0.failure;
  CompileResult c2 = compile_program(source, 2, kShortExitSentinel);
  if (!c2.ok) return c2.failure;
  LoadResult l0 = load_program(c0.object, 0);
  if (l0.outcome.failed()) return l0.outcome;
  LoadResult l2 = load_program(c2.object, 2);
  if (l2.outcome.failed()) return l2.outcome;
  Observation o0 = observe(*l0.object, c0.programs, frames);
  Observation o2 = observe(*l2.object, c2.programs, frames);
  return compare_observations(o0, o2, frames);
}

}  // namespace whistler::torture
