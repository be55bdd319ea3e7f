// What the kernel says about loaded BPF objects: programs, maps and links by
// fd or id, and which kind of object an fd (or a pin) refers to.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "unique_fd.hpp"

namespace whistler::runtime {

struct ProgramInfo {
  uint32_t id = 0;
  std::string name;  // the kernel keeps 15 characters
  std::string tag;   // hex
  std::string type;  // "xdp"
  std::vector<uint32_t> map_ids;
};

struct MapInfo {
  uint32_t id = 0;
  std::string name;
  std::string type;  // "hash", "percpu_array", ...
  uint32_t type_id = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
  uint32_t flags = 0;
};

struct LinkInfo {
  uint32_t id = 0;
  std::string type;  // "xdp"
  uint32_t prog_id = 0;
  int xdp_ifindex = 0;  // 0 once the link was detached
  bool is_xdp = false;
};

enum class ObjectKind { Unknown, Program, Map, Link };

std::optional<ProgramInfo> program_info_by_fd(int fd);
std::optional<MapInfo> map_info_by_fd(int fd);
std::optional<LinkInfo> link_info_by_fd(int fd);
// By id: needs CAP_SYS_ADMIN (nullopt without it, or when the id is gone).
std::optional<ProgramInfo> program_info_by_id(uint32_t id);
std::optional<LinkInfo> link_info_by_id(uint32_t id);
UniqueFd program_fd_by_id(uint32_t id);
UniqueFd link_fd_by_id(uint32_t id);

// Every XDP link the kernel has. Listing needs CAP_SYS_ADMIN: without it the
// list is empty and *permitted (when given) is set to false.
std::vector<LinkInfo> xdp_links(bool* permitted = nullptr);
// The link that attaches program `prog_id` to `ifindex`, if it is attached through one.
std::optional<LinkInfo> find_xdp_link(int ifindex, uint32_t prog_id);

ObjectKind object_kind(int fd);
const char* object_kind_name(ObjectKind kind);  // "program", "map", "link", "object"

}  // namespace whistler::runtime
