#include "verifier_log.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <regex>
#include <sstream>
#include <vector>

namespace whistler::runtime {

namespace {

bool is_instruction_line(const std::string& line) {
  // "12: (69) r3 = *(u16 *)(r4 +12)" or "12: R1=..." state lines.
  size_t i = 0;
  while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  return i > 0 && i < line.size() && line[i] == ':';
}

struct HintRule {
  const char* pattern;
  const char* hint;
};

constexpr HintRule kHints[] = {
    {"invalid access to packet",
     "a packet access is not proven in bounds; compare the pointer with data-end first, e.g. "
     "(when (> (+ ptr N) data-end) (return XDP_PASS))"},
    {"map_value_or_null",
     "a map lookup can return 0: test the result before using it, e.g. (when-let ((v (map-lookup m k))) ...)"},
    {"invalid mem access 'scalar'",
     "a number is used as a pointer; after xdp-adjust-head/tail/meta, read (xdp-data) and (xdp-data-end) again"},
    {"invalid indirect read from stack",
     "a buffer passed to a helper is not fully initialised; build keys with (make-STRUCT), which zeroes them"},
    {"prohibited for !root", "loading packet-parsing programs needs CAP_PERFMON as well as CAP_BPF"},
    {"back-edge", "loops must have constant bounds: (dotimes (i N) ...) or (loop for i from A below B do ...)"},
    {"infinite loop", "loops must have constant bounds: (dotimes (i N) ...) or (loop for i from A below B do ...)"},
    {"too large", "the program is too large for the verifier; split it with tail calls"},
    {"jumps is too complex",
     "the verifier follows each undecided branch of a path separately, and one path left more than 8,192 "
     "pending (a test in every iteration of a long loop, or many in a row): fewer iterations, or split the "
     "work with tail calls"},
    {"BPF program is too complex", "the program has too many paths for the verifier; simplify branches or split it with tail calls"},
    {"R0 !read_ok", "the program must return an action such as XDP_PASS"},
    {"unknown func", "this helper is not available to XDP programs on this kernel"},
    {"invalid func", "this helper is not available to XDP programs on this kernel"},
    {"Unreleased reference",
     "a ring buffer record is reserved but neither submitted nor discarded on some path; use "
     "(with-ringbuf (rec MAP SIZE) ...), which submits it, and discards it on every early return"},
    {"math between pkt pointer", "packet offsets must be bounded; mask variable offsets, e.g. (logand off #xff)"},
};

// Why an XDP program may not call helper `id`. Some kernel builds offer a
// helper to no XDP program at all (measured: bpf_xdp_adjust_meta on this
// project's 6.18 test kernel, whatever the section, expected attach type or
// flags); the program is then valid and loads on kernels that offer it.
}  // namespace

// A program that only calls the helper is refused with "cannot use helper"
// when it is not offered (libbpf's own probe looks for other messages).
bool xdp_helper_offered(int id) {
  struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0}, {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 4, 0, 0, 0}, {BPF_ALU64 | BPF_MOV | BPF_K, 5, 0, 0, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, id},         {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  char log[4096] = "";
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = sizeof log, .log_buf = log);
  int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "probe", "GPL", insns, sizeof insns / sizeof insns[0], &opts);
  if (fd >= 0) close(fd);
  return std::string(log).find("cannot use helper") == std::string::npos;
}

namespace {

std::string helper_hint(const std::string& name, int id) {
  if (!xdp_helper_offered(id)) {
    struct utsname u{};
    uname(&u);
    return fmt::format("this kernel ({}) offers {} to no XDP program, whatever its section; the object is valid and "
                       "loads on kernels that offer it",
                       u.release, name);
  }
  return fmt::format("{} is available to XDP programs only: load the object as XDP (whistler run, or a section libbpf "
                     "knows: xdp, xdp.frags)",
                     name);
}

}  // namespace

VerifierReport analyze_verifier_log(const std::string& log) {
  VerifierReport report;
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  static const std::regex source_re(R"(^; (.*) @ (.*):(\d+)$)");
  static const std::regex processed_re(R"(^processed (\d+) insns)");
  size_t last_insn = 0;
  bool any_insn = false;
  size_t processed_at = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (std::regex_search(lines[i], m, source_re)) {
      report.source_text = m[1];
      report.file = m[2];
      report.line = static_cast<uint32_t>(std::stoul(m[3]));
    } else if (std::regex_search(lines[i], m, processed_re)) {
      report.processed_insns = std::stoull(m[1]);
      if (processed_at == lines.size()) processed_at = i;
    } else if (is_instruction_line(lines[i])) {
      last_insn = i;
      any_insn = true;
    }
  }
  // The reason: the lines after the last instruction, before "processed N insns".
  std::string reason;
  for (size_t i = any_insn ? last_insn + 1 : 0; i < processed_at && i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty() || l[0] == ';' || l.rfind("verification time", 0) == 0) continue;
    if (!reason.empty()) reason += "; ";
    reason += l;
  }
  if (reason.empty()) {
    for (auto it = lines.rbegin(); it != lines.rend(); ++it)
      if (!it->empty() && it->rfind("processed", 0) != 0 && it->rfind("verification time", 0) != 0) {
        reason = *it;
        break;
      }
  }
  report.reason = reason;
  static const std::regex helper_re(R"(cannot use helper (\w+)#(\d+))");
  if (std::smatch m; std::regex_search(reason, m, helper_re)) {
    report.hint = helper_hint(m[1], std::stoi(m[2]));
    return report;
  }
  for (const auto& rule : kHints)
    if (reason.find(rule.pattern) != std::string::npos) {
      report.hint = rule.hint;
      break;
    }
  return report;
}

}  // namespace whistler::runtime
