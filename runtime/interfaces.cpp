#include "interfaces.hpp"

#include <fmt/format.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace whistler::runtime {

namespace {

class Socket {
 public:
  Socket() : fd_(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

void fill_details(InterfaceInfo& info) {
  Socket s;
  if (s.fd() < 0) return;
  ifreq req{};
  std::strncpy(req.ifr_name, info.name.c_str(), IFNAMSIZ - 1);
  if (ioctl(s.fd(), SIOCGIFMTU, &req) == 0) info.mtu = req.ifr_mtu;
  std::memset(&req, 0, sizeof req);
  std::strncpy(req.ifr_name, info.name.c_str(), IFNAMSIZ - 1);
  if (ioctl(s.fd(), SIOCGIFFLAGS, &req) == 0) {
    info.up = req.ifr_flags & IFF_UP;
    info.loopback = req.ifr_flags & IFF_LOOPBACK;
  }
  ethtool_drvinfo drv{};
  drv.cmd = ETHTOOL_GDRVINFO;
  std::memset(&req, 0, sizeof req);
  std::strncpy(req.ifr_name, info.name.c_str(), IFNAMSIZ - 1);
  req.ifr_data = reinterpret_cast<char*>(&drv);
  if (ioctl(s.fd(), SIOCETHTOOL, &req) == 0) info.driver = drv.driver;
  if (info.driver.empty() && info.loopback) info.driver = "loopback";
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

uint64_t netns_inode_of(const char* path) {
  struct stat st{};
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

}  // namespace

std::optional<InterfaceInfo> find_interface(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return std::nullopt;
  unsigned index = if_nametoindex(name.c_str());
  if (!index) return std::nullopt;
  InterfaceInfo info;
  info.name = name;
  info.ifindex = static_cast<int>(index);
  fill_details(info);
  return info;
}

std::optional<InterfaceInfo> interface_by_index(int ifindex) {
  char name[IF_NAMESIZE] = {};
  if (ifindex <= 0 || !if_indextoname(static_cast<unsigned>(ifindex), name)) return std::nullopt;
  InterfaceInfo info;
  info.name = name;
  info.ifindex = ifindex;
  fill_details(info);
  return info;
}

std::vector<InterfaceInfo> list_interfaces() {
  std::vector<InterfaceInfo> out;
  struct if_nameindex* all = ::if_nameindex();
  if (!all) return out;
  for (struct if_nameindex* i = all; i->if_index != 0; ++i) {
    InterfaceInfo info;
    info.name = i->if_name;
    info.ifindex = static_cast<int>(i->if_index);
    fill_details(info);
    out.push_back(std::move(info));
  }
  if_freenameindex(all);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.ifindex < b.ifindex; });
  return out;
}

RuntimeError missing_interface_error(const std::string& name) {
  std::vector<InterfaceInfo> all = list_interfaces();
  std::string names;
  std::string closest;
  size_t best = 3;  // suggest only names within two edits
  for (const auto& i : all) {
    names += (names.empty() ? "" : ", ") + i.name;
    size_t d = edit_distance(name, i.name);
    if (d < best) {
      best = d;
      closest = i.name;
    }
  }
  RuntimeError e;
  e.kind = ErrorKind::InterfaceMissing;
  e.error = ENODEV;
  e.message = fmt::format("no network interface named '{}' in this network namespace", name);
  std::string hint = closest.empty() ? "" : fmt::format("did you mean '{}'? ", closest);
  hint += names.empty() ? "this namespace has no interfaces"
                        : fmt::format("the interfaces here are: {}", names);
  hint += " (`ip link` lists them; for an interface in another namespace, run under `ip netns exec NAME`)";
  e.hint = hint;
  return e;
}

uint64_t current_netns_inode() { return netns_inode_of("/proc/thread-self/ns/net"); }

bool in_initial_netns() {
  // Unknown (no access to PID 1) counts as "not the host's": pins then name
  // the namespace, which is never wrong.
  uint64_t init = netns_inode_of("/proc/1/ns/net");
  return init != 0 && init == current_netns_inode();
}

}  // namespace whistler::runtime
