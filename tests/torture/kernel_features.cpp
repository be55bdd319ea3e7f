#include "kernel_features.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cstring>

namespace whistler::torture {

namespace {

// Loads `call HELPER; return XDP_PASS` and reads the verifier's answer.
// libbpf_probe_bpf_helper is not enough: it counts "program of this type
// cannot use helper" as offered.
bool xdp_offers_helper(int helper) {
  struct bpf_insn insns[] = {
      {BPF_ALU64 | BPF_MOV | BPF_K, 2, 0, 0, 0},
      {BPF_ALU64 | BPF_MOV | BPF_K, 3, 0, 0, 0},
      {BPF_JMP | BPF_CALL, 0, 0, 0, helper},
      {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 2},
      {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
  };
  char log[4096] = "";
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = sizeof log, .log_buf = log);
  int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "torture_probe", "GPL", insns, sizeof insns / sizeof insns[0], &opts);
  if (fd >= 0) {
    close(fd);
    return true;
  }
  return std::strstr(log, "cannot use helper") == nullptr && std::strstr(log, "unknown func") == nullptr &&
         std::strstr(log, "invalid func") == nullptr;
}

}  // namespace

GeneratorOptions generator_options_for_this_kernel() {
  GeneratorOptions options;
  options.adjust_meta = xdp_offers_helper(BPF_FUNC_xdp_adjust_meta);
  return options;
}

}  // namespace whistler::torture
