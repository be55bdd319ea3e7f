// Which of the capabilities BPF work needs this process has.
#pragma once

#include <string>

namespace whistler::runtime {

struct Privileges {
  bool sys_admin = false;
  bool bpf = false;      // CAP_BPF: load programs, create maps
  bool perfmon = false;  // CAP_PERFMON: pointer arithmetic in packet-parsing programs
  bool net_admin = false;  // CAP_NET_ADMIN: attach to interfaces

  // Space-separated names of what is missing ("" when nothing is).
  std::string missing_for_load() const;
  std::string missing_for_attach() const;
};

Privileges current_privileges();

}  // namespace whistler::runtime
