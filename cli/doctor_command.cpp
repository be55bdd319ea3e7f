#include "doctor_command.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "diagnostics_json.hpp"
#include "exit_codes.hpp"
#include "interfaces.hpp"
#include "libbpf_log.hpp"
#include "pins.hpp"
#include "privileges.hpp"

#ifndef WHISTLER_VERSION
#define WHISTLER_VERSION "0.0.0"
#endif
#ifndef WHISTLER_LLVM_VERSION
#define WHISTLER_LLVM_VERSION "19"
#endif

namespace whistler {

namespace {

enum class Level { Ok, Info, Warn, Fail };

struct Check {
  std::string name;
  Level level;
  std::string text;
  std::string fix;
};

const char* level_name(Level l) {
  switch (l) {
    case Level::Ok: return "ok";
    case Level::Info: return "info";
    case Level::Warn: return "warn";
    case Level::Fail: return "FAIL";
  }
  return "?";
}

std::string read_first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

Check check_kernel() {
  utsname u{};
  uname(&u);
  int major = 0, minor = 0;
  std::sscanf(u.release, "%d.%d", &major, &minor);
  int v = major * 100 + minor;
  std::string features;
  auto add = [&](bool have, const char* what) { features += fmt::format("{}{} {}", features.empty() ? "" : ", ", what, have ? "yes" : "no"); };
  add(v >= 509, "XDP links (5.9+)");
  add(v >= 518, "fragments/xdp.frags (5.18+)");
  add(v >= 606, "link attach failure reasons (6.6+)");
  if (v < 509)
    return {"kernel", Level::Warn, fmt::format("Linux {}: {}", u.release, features),
            "upgrade to Linux 5.9 or later; before it XDP programs attach only through netlink (--persist netlink)"};
  return {"kernel", Level::Ok, fmt::format("Linux {}: {}", u.release, features), ""};
}

Check check_btf() {
  if (std::filesystem::exists("/sys/kernel/btf/vmlinux"))
    return {"btf", Level::Ok, "kernel BTF at /sys/kernel/btf/vmlinux", ""};
  return {"btf", Level::Warn, "the kernel has no BTF (/sys/kernel/btf/vmlinux is missing)",
          "build the kernel with CONFIG_DEBUG_INFO_BTF=y; Whistler programs load without it, but verifier logs lose the .lisp lines"};
}

Check check_bpffs() {
  std::string root = runtime::bpffs_root();
  if (runtime::is_bpffs(root)) return {"bpffs", Level::Ok, fmt::format("BPF filesystem mounted at {}", root), ""};
  return {"bpffs", Level::Warn, fmt::format("no BPF filesystem at {}: pins and --persist link will fail", root),
          fmt::format("mount -t bpf bpf {} (inside `ip netns exec`, mount it there, or set WHISTLER_BPFFS)", root)};
}

Check check_capabilities() {
  runtime::Privileges p = runtime::current_privileges();
  std::string have, missing, needs;
  auto add = [](std::string& s, const std::string& n, const char* sep = " ") {
    if (!s.empty()) s += sep;
    s += n;
  };
  auto check = [&](bool present, const char* name, const char* what) {
    if (present) {
      add(have, name);
    } else {
      add(missing, name);
      add(needs, fmt::format("{} {}", name, what), "; ");
    }
  };
  check(p.bpf, "CAP_BPF", "is needed to load programs and create maps");
  check(p.perfmon, "CAP_PERFMON", "is needed to load packet-parsing programs (without it the verifier refuses packet pointer arithmetic)");
  check(p.net_admin, "CAP_NET_ADMIN", "is needed to attach programs to interfaces");
  if (missing.empty())
    return {"capabilities", p.sys_admin ? Level::Ok : Level::Info,
            fmt::format("{}{}", have, p.sys_admin ? " CAP_SYS_ADMIN" : "; without CAP_SYS_ADMIN, other processes' programs and links show without names"),
            ""};
  std::string caps;
  for (const char* c : {"CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN"})
    if (missing.find(c) != std::string::npos) add(caps, fmt::format("cap_{}", std::string(c + 4)), ",");
  for (auto& ch : caps) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return {"capabilities", Level::Fail, fmt::format("missing {}: {}", missing, needs),
          fmt::format("run as root, or grant them: sudo setcap {}+ep $(which whistler)", caps)};
}

// r0 = XDP_PASS; exit, loaded as an XDP program (-1 with errno on failure).
int load_probe() {
  bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[0].imm = 2;
  insns[1].code = BPF_JMP | BPF_EXIT;
  int fd, err;
  {
    runtime::LibbpfLogCapture capture;
    fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "whistler_probe", "GPL", insns, 2, nullptr);
    err = errno;
  }
  errno = err;
  return fd;
}

Check check_trial_load() {
  int fd = load_probe();
  if (fd >= 0) {
    close(fd);
    return {"load", Level::Ok, "the kernel loads XDP programs", ""};
  }
  int err = errno;
  return {"load", Level::Fail, fmt::format("loading a two-instruction XDP program failed: {}", std::strerror(err)),
          err == EPERM ? "run as root or grant CAP_BPF and CAP_PERFMON" : "check dmesg and `bpftool feature probe`"};
}

Check check_jit() {
  std::string v = read_first_line("/proc/sys/net/core/bpf_jit_enable");
  if (v == "1" || v == "2") return {"jit", Level::Ok, "the BPF JIT is enabled", ""};
  if (v.empty()) {
    // The sysctl exists only in the host's network namespace: ask the kernel
    // whether it compiled a program.
    int fd = load_probe();
    if (fd < 0)
      return {"jit", Level::Info,
              "cannot tell whether the BPF JIT is enabled: /proc/sys/net/core/bpf_jit_enable is not readable here "
              "and no program could be loaded",
              ""};
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    bool known = bpf_obj_get_info_by_fd(fd, &info, &len) == 0;
    close(fd);
    if (known && info.jited_prog_len > 0) return {"jit", Level::Ok, "the BPF JIT is enabled (a probe program was JIT-compiled)", ""};
    if (known)
      return {"jit", Level::Warn, "the BPF JIT is disabled: programs run interpreted, much slower",
              "sysctl -w net.core.bpf_jit_enable=1 (in the host's network namespace)"};
    return {"jit", Level::Info, "cannot read /proc/sys/net/core/bpf_jit_enable", ""};
  }
  return {"jit", Level::Warn, "the BPF JIT is disabled: programs run interpreted, much slower",
          "sysctl -w net.core.bpf_jit_enable=1"};
}

Check check_versions() {
  return {"versions", Level::Info,
          fmt::format("whistler {}, LLVM {} (BPF backend, linked in), libbpf {} (headers {}.{})", WHISTLER_VERSION,
                      WHISTLER_LLVM_VERSION, libbpf_version_string(), LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION),
          ""};
}

Check check_offload() {
  for (const auto& i : runtime::list_interfaces())
    if (i.driver == "nfp" || i.driver == "netdevsim")
      return {"offload", Level::Info, fmt::format("{} ({}) can take offloaded programs (xdpoffload)", i.name, i.driver), ""};
  return {"offload", Level::Info,
          "no offload-capable device (nfp, netdevsim) in this namespace: --mode xdpoffload will fail here",
          "for tests: modprobe netdevsim and create a device (echo \"1 1\" > /sys/bus/netdevsim/new_device)"};
}

}  // namespace

int doctor_command(const DoctorArgs& a) {
  std::vector<Check> checks = {check_kernel(), check_btf(),    check_bpffs(),    check_capabilities(),
                               check_trial_load(), check_jit(), check_versions(), check_offload()};
  bool failed = false;
  for (const auto& c : checks) failed |= c.level == Level::Fail;
  if (a.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& c : checks) {
      nlohmann::json j = {{"check", c.name}, {"status", level_name(c.level)}, {"text", c.text}};
      if (!c.fix.empty()) j["fix"] = c.fix;
      list.push_back(j);
    }
    std::cout << json_text(nlohmann::json{{"ok", !failed}, {"checks", list}}, 2) << "\n";
  } else {
    for (const auto& c : checks) {
      std::cout << fmt::format("{:<5} {:<13} {}\n", level_name(c.level), c.name, c.text);
      if (!c.fix.empty() && c.level != Level::Ok) std::cout << fmt::format("{:<19} fix: {}\n", "", c.fix);
    }
    std::cout << (failed ? "whistler doctor: problems found; see the fixes above\n" : "whistler doctor: ready\n");
  }
  return failed ? kExitRefused : kExitOk;
}

}  // namespace whistler
