#include "test_run.hpp"

#include <bpf/bpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace whistler::runtime {

bool test_run(int program_fd, const std::vector<uint8_t>& packet, TestRunResult& result, RuntimeError& error,
              uint32_t repeat) {
  if (packet.size() < 14) {
    error = {fmt::format("a test packet needs at least 14 bytes (an Ethernet header), got {}", packet.size()),
             "the kernel refuses shorter frames for XDP test runs", EINVAL, {}, ErrorKind::BadValue};
    return false;
  }
  // Room for programs that grow the packet with xdp-adjust-head/tail.
  std::vector<uint8_t> out(packet.size() + 512);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = out.data(),
              .data_size_in = static_cast<__u32>(packet.size()), .data_size_out = static_cast<__u32>(out.size()),
              .repeat = static_cast<int>(repeat));
  if (bpf_prog_test_run_opts(program_fd, &opts) != 0) {
    int err = errno;
    error = {fmt::format("BPF_PROG_TEST_RUN failed: {}", std::strerror(err)),
             err == EPERM ? "test runs need CAP_BPF (run as root)" : "", err, {}, err == EPERM ? ErrorKind::MissingCapability : ErrorKind::Kernel};
    return false;
  }
  result.action = opts.retval;
  result.duration_ns = opts.duration;
  out.resize(opts.data_size_out);
  result.packet = std::move(out);
  return true;
}

}  // namespace whistler::runtime
