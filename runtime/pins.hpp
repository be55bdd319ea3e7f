// Pinning maps, programs and links in the BPF filesystem, and finding what
// Whistler pinned. Pins live under $WHISTLER_BPFFS (default /sys/fs/bpf);
// Whistler's own go in its "whistler" directory there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bpf_info.hpp"
#include "runtime_error.hpp"
#include "unique_fd.hpp"

namespace whistler::runtime {

// $WHISTLER_BPFFS, or /sys/fs/bpf.
std::string bpffs_root();
// True when `path` is on a BPF filesystem.
bool is_bpffs(const std::string& path);
// <root>/whistler
std::string whistler_pin_dir();
// Where a persistent attachment of `ifname` keeps its link and maps:
// <root>/whistler/xdp/IFNAME, or .../xdp/netns-INODE/IFNAME outside the
// host's network namespace (interface names repeat across namespaces).
std::string interface_pin_dir(const std::string& ifname);

// Pins `fd` at `path`. The path must be on a BPF filesystem; missing
// directories are created; an existing pin is never overwritten.
bool pin_fd(int fd, const std::string& path, RuntimeError& error);
// Removes a pin (and nothing else).
bool unpin(const std::string& path, RuntimeError& error);
// Removes a directory of pins with everything in it.
void remove_pin_tree(const std::string& dir);
UniqueFd open_pin(const std::string& path);

// Checks, before anything is attached, that pins can be made under `path`.
bool check_pin_location(const std::string& path, RuntimeError& error);

struct PinnedObject {
  std::string path;
  ObjectKind kind = ObjectKind::Unknown;
  uint32_t id = 0;
  std::string name;       // program or map name
  uint32_t prog_id = 0;   // links: the program they hold
  int link_ifindex = 0;   // XDP links: the interface (0 once detached)
};

// Every pin under `dir`, recursively (empty when it does not exist).
std::vector<PinnedObject> list_pins(const std::string& dir);

}  // namespace whistler::runtime
