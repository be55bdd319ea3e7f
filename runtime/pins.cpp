#include "pins.hpp"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "interfaces.hpp"

namespace whistler::runtime {

namespace fs = std::filesystem;

namespace {

// The nearest existing ancestor of `path` (or the path itself).
fs::path existing_ancestor(fs::path p) {
  std::error_code ec;
  while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
  return p.empty() ? fs::path("/") : p;
}

RuntimeError no_bpffs_error(const std::string& path) {
  RuntimeError e;
  e.kind = ErrorKind::NoBpffs;
  e.message = fmt::format("'{}' is not on a BPF filesystem, so nothing can be pinned there", path);
  e.hint = fmt::format(
      "mount one (mount -t bpf bpf {}), or pin under a directory of a mounted bpffs; "
      "`ip netns exec` hides /sys/fs/bpf, mount it inside the namespace or set WHISTLER_BPFFS",
      bpffs_root());
  return e;
}

}  // namespace

std::string bpffs_root() {
  const char* env = std::getenv("WHISTLER_BPFFS");
  return env && *env ? std::string(env) : std::string("/sys/fs/bpf");
}

bool is_bpffs(const std::string& path) {
  struct statfs st{};
  return statfs(path.c_str(), &st) == 0 && static_cast<unsigned long>(st.f_type) == BPF_FS_MAGIC;
}

std::string whistler_pin_dir() { return (fs::path(bpffs_root()) / "whistler").string(); }

std::string interface_pin_dir(const std::string& ifname) {
  fs::path dir = fs::path(whistler_pin_dir()) / "xdp";
  if (!in_initial_netns()) dir /= fmt::format("netns-{}", current_netns_inode());
  return (dir / ifname).string();
}

bool check_pin_location(const std::string& path, RuntimeError& error) {
  fs::path parent = fs::path(path).parent_path();
  fs::path anchor = existing_ancestor(parent);
  if (!is_bpffs(anchor.string())) {
    error = no_bpffs_error(path);
    return false;
  }
  std::error_code ec;
  if (fs::exists(path, ec)) {
    UniqueFd fd = open_pin(path);
    std::string what = "something";
    if (fd.valid()) what = std::string("a ") + object_kind_name(object_kind(fd.get()));
    error.kind = ErrorKind::PinExists;
    error.error = EEXIST;
    error.message = fmt::format("{} is already pinned at '{}'", what, path);
    error.hint = fmt::format("choose another path, or remove the old pin first (rm {})", path);
    return false;
  }
  return true;
}

bool pin_fd(int fd, const std::string& path, RuntimeError& error) {
  if (!check_pin_location(path, error)) return false;
  fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) {
    error.kind = ErrorKind::Kernel;
    error.error = ec.value();
    error.message = fmt::format("cannot create '{}' for the pin: {}", parent.string(), ec.message());
    return false;
  }
  if (bpf_obj_pin(fd, path.c_str()) != 0) {
    int err = errno;
    error.kind = err == EPERM ? ErrorKind::MissingCapability : ErrorKind::Kernel;
    error.error = err;
    error.message = fmt::format("cannot pin at '{}': {}", path, std::strerror(err));
    error.hint = err == EPERM ? "pinning needs CAP_BPF and write access to the bpffs directory" : "";
    return false;
  }
  return true;
}

bool unpin(const std::string& path, RuntimeError& error) {
  if (::unlink(path.c_str()) != 0) {
    int err = errno;
    error.kind = err == ENOENT ? ErrorKind::NotFound : ErrorKind::Kernel;
    error.error = err;
    error.message = fmt::format("cannot remove the pin '{}': {}", path, std::strerror(err));
    return false;
  }
  return true;
}

void remove_pin_tree(const std::string& dir) {
  std::error_code ec;
  if (!is_bpffs(dir)) return;  // never delete outside a bpffs
  fs::remove_all(dir, ec);
  // Drop empty parents up to the whistler directory.
  fs::path p = fs::path(dir).parent_path();
  fs::path top = fs::path(whistler_pin_dir());
  while (p.string().size() > top.string().size() && p.string().rfind(top.string(), 0) == 0) {
    if (!fs::is_empty(p, ec) || ec) break;
    fs::remove(p, ec);
    p = p.parent_path();
  }
}

UniqueFd open_pin(const std::string& path) { return UniqueFd(bpf_obj_get(path.c_str())); }

std::vector<PinnedObject> list_pins(const std::string& dir) {
  std::vector<PinnedObject> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    PinnedObject p;
    p.path = it->path().string();
    UniqueFd fd = open_pin(p.path);
    if (fd.valid()) {
      p.kind = object_kind(fd.get());
      if (p.kind == ObjectKind::Program) {
        if (auto info = program_info_by_fd(fd.get())) {
          p.id = info->id;
          p.name = info->name;
        }
      } else if (p.kind == ObjectKind::Map) {
        if (auto info = map_info_by_fd(fd.get())) {
          p.id = info->id;
          p.name = info->name;
        }
      } else if (p.kind == ObjectKind::Link) {
        if (auto info = link_info_by_fd(fd.get())) {
          p.id = info->id;
          p.prog_id = info->prog_id;
          p.link_ifindex = info->xdp_ifindex;
          if (auto prog = program_info_by_id(info->prog_id)) p.name = prog->name;
        }
      }
    }
    out.push_back(std::move(p));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

}  // namespace whistler::runtime
