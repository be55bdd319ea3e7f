// `whistler status`: the XDP programs of this network namespace's
// interfaces (mode, id, link or netlink) and the pins under Whistler's
// directory in the BPF filesystem.
#pragma once

#include <string>

namespace whistler {

struct StatusArgs {
  bool json = false;
  std::string iface;  // only this one
};

int status_command(const StatusArgs& args);

}  // namespace whistler
