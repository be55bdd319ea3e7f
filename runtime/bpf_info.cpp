#include "bpf_info.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <fstream>

namespace whistler::runtime {

namespace {

std::string hex(const unsigned char* bytes, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += fmt::format("{:02x}", bytes[i]);
  return out;
}

}  // namespace

std::optional<ProgramInfo> program_info_by_fd(int fd) {
  bpf_prog_info info{};
  __u32 len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return std::nullopt;
  // Second call for the map ids.
  std::vector<__u32> ids(info.nr_map_ids);
  if (!ids.empty()) {
    uint32_t nr = info.nr_map_ids;
    info = bpf_prog_info{};
    info.nr_map_ids = nr;
    info.map_ids = reinterpret_cast<__u64>(ids.data());
    len = sizeof info;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return std::nullopt;
    ids.resize(std::min<uint32_t>(nr, info.nr_map_ids));
  }
  ProgramInfo p;
  p.id = info.id;
  p.name = info.name;
  p.tag = hex(info.tag, sizeof info.tag);
  const char* type = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(info.type));
  p.type = type ? type : fmt::format("type {}", info.type);
  p.map_ids.assign(ids.begin(), ids.end());
  return p;
}

std::optional<MapInfo> map_info_by_fd(int fd) {
  bpf_map_info info{};
  __u32 len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return std::nullopt;
  MapInfo m;
  m.id = info.id;
  m.name = info.name;
  m.type_id = info.type;
  const char* type = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type));
  m.type = type ? type : fmt::format("type {}", info.type);
  m.key_size = info.key_size;
  m.value_size = info.value_size;
  m.max_entries = info.max_entries;
  m.flags = info.map_flags;
  return m;
}

std::optional<LinkInfo> link_info_by_fd(int fd) {
  bpf_link_info info{};
  __u32 len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return std::nullopt;
  LinkInfo l;
  l.id = info.id;
  const char* type = libbpf_bpf_link_type_str(static_cast<bpf_link_type>(info.type));
  l.type = type ? type : fmt::format("type {}", info.type);
  l.prog_id = info.prog_id;
  l.is_xdp = info.type == BPF_LINK_TYPE_XDP;
  if (l.is_xdp) l.xdp_ifindex = static_cast<int>(info.xdp.ifindex);
  return l;
}

UniqueFd program_fd_by_id(uint32_t id) { return UniqueFd(bpf_prog_get_fd_by_id(id)); }
UniqueFd link_fd_by_id(uint32_t id) { return UniqueFd(bpf_link_get_fd_by_id(id)); }

std::optional<ProgramInfo> program_info_by_id(uint32_t id) {
  UniqueFd fd = program_fd_by_id(id);
  if (!fd.valid()) return std::nullopt;
  return program_info_by_fd(fd.get());
}

std::optional<LinkInfo> link_info_by_id(uint32_t id) {
  UniqueFd fd = link_fd_by_id(id);
  if (!fd.valid()) return std::nullopt;
  return link_info_by_fd(fd.get());
}

std::vector<LinkInfo> xdp_links(bool* permitted) {
  std::vector<LinkInfo> out;
  if (permitted) *permitted = true;
  __u32 id = 0;
  for (;;) {
    if (bpf_link_get_next_id(id, &id) != 0) {
      if (errno == EPERM && permitted) *permitted = false;
      break;
    }
    auto info = link_info_by_id(id);
    if (info && info->is_xdp) out.push_back(*info);
  }
  return out;
}

std::optional<LinkInfo> find_xdp_link(int ifindex, uint32_t prog_id) {
  // Link info carries an ifindex but no namespace; the program id (global)
  // makes the match unambiguous in practice.
  for (const auto& l : xdp_links())
    if (l.xdp_ifindex == ifindex && l.prog_id == prog_id) return l;
  return std::nullopt;
}

ObjectKind object_kind(int fd) {
  std::ifstream in(fmt::format("/proc/self/fdinfo/{}", fd));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("prog_type:", 0) == 0) return ObjectKind::Program;
    if (line.rfind("map_type:", 0) == 0) return ObjectKind::Map;
    if (line.rfind("link_type:", 0) == 0) return ObjectKind::Link;
  }
  return ObjectKind::Unknown;
}

const char* object_kind_name(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::Program: return "program";
    case ObjectKind::Map: return "map";
    case ObjectKind::Link: return "link";
    case ObjectKind::Unknown: break;
  }
  return "object";
}

}  // namespace whistler::runtime
