// `whistler detach --iface IF`: removes the XDP program(s) of an interface,
// however they were attached (a link held by another process, a pinned link,
// netlink), and Whistler's pins for it. Nothing attached is not an error: it
// prints "nothing to detach: ..." and exits 0 (see exit_codes.hpp).
#pragma once

#include <string>

namespace whistler {

struct DetachArgs {
  std::string iface;
  std::string mode;  // "" or xdp: every mode
  bool json = false;
};

int detach_command(const DetachArgs& args);

}  // namespace whistler
