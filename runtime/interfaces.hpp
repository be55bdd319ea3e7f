// Network interfaces of the current network namespace: lookup by name, MTU,
// driver, and the "no such interface" error that lists the ones that exist.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime_error.hpp"

namespace whistler::runtime {

struct InterfaceInfo {
  std::string name;
  int ifindex = 0;
  int mtu = 0;
  std::string driver;  // from ethtool ("veth", "virtio_net"); "loopback" for lo; "" when unknown
  bool up = false;
  bool loopback = false;
};

// Looks in the network namespace of the calling thread.
std::optional<InterfaceInfo> find_interface(const std::string& name);
std::optional<InterfaceInfo> interface_by_index(int ifindex);
std::vector<InterfaceInfo> list_interfaces();

// "no network interface named 'X' in this network namespace", listing the
// interfaces that exist and the closest name.
RuntimeError missing_interface_error(const std::string& name);

// Network namespace of the calling thread: its inode, and whether it is the
// namespace of PID 1 (the host's, outside containers).
uint64_t current_netns_inode();
bool in_initial_netns();

}  // namespace whistler::runtime
