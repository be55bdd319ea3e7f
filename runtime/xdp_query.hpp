// What XDP programs an interface runs, in which mode, and whether each is
// held by a BPF link or was attached through netlink (ip link, xdp-loader,
// `whistler run --persist netlink`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime_error.hpp"
#include "xdp_mode.hpp"

namespace whistler::runtime {

struct AttachedXdpProgram {
  XdpMode mode = XdpMode::Native;  // Native, Generic or Offload
  uint32_t prog_id = 0;
  std::string name;      // "" when the kernel would not tell (no CAP_SYS_ADMIN)
  uint32_t link_id = 0;  // the BPF link holding it; 0 when attached through netlink
  bool link_checked = false;  // false when links could not be listed

  // "'drop_9999' (id 42) in generic mode, held by BPF link 7"
  std::string describe() const;
};

struct XdpInterfaceState {
  int ifindex = 0;
  std::vector<AttachedXdpProgram> programs;

  bool empty() const { return programs.empty(); }
  const AttachedXdpProgram* in_mode(XdpMode mode) const;
};

// Asks the kernel (netlink) which programs `ifindex` runs; names and links
// are filled in when the process may look them up.
bool query_xdp(int ifindex, XdpInterfaceState& state, RuntimeError& error);

}  // namespace whistler::runtime
