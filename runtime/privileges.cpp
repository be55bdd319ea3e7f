#include "privileges.hpp"

#include <cstdint>
#include <fstream>
#include <string>

namespace whistler::runtime {

namespace {

constexpr int kCapNetAdmin = 12;
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;
constexpr int kCapBpf = 39;

uint64_t effective_capabilities() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}

void append(std::string& out, bool have, const char* name) {
  if (have) return;
  if (!out.empty()) out += ' ';
  out += name;
}

}  // namespace

Privileges current_privileges() {
  uint64_t caps = effective_capabilities();
  auto has = [&](int cap) { return (caps >> cap) & 1; };
  Privileges p;
  p.sys_admin = has(kCapSysAdmin);
  p.bpf = has(kCapBpf) || p.sys_admin;
  p.perfmon = has(kCapPerfmon) || p.sys_admin;
  p.net_admin = has(kCapNetAdmin);
  return p;
}

std::string Privileges::missing_for_load() const {
  std::string out;
  append(out, bpf, "CAP_BPF");
  append(out, perfmon, "CAP_PERFMON");
  return out;
}

std::string Privileges::missing_for_attach() const {
  std::string out = missing_for_load();
  append(out, net_admin, "CAP_NET_ADMIN");
  return out;
}

}  // namespace whistler::runtime
