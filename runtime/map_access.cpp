#include "map_access.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

namespace whistler::runtime {

namespace {
size_t round8(size_t n) { return (n + 7) / 8 * 8; }
}  // namespace

uint32_t possible_cpus() {
  static int n = libbpf_num_possible_cpus();
  return n > 0 ? static_cast<uint32_t>(n) : 1;
}

std::optional<MapHandle> MapHandle::from_fd(int fd, const std::string& name, RuntimeError& error) {
  auto info = map_info_by_fd(fd);
  if (!info) {
    error = {fmt::format("map '{}' is not loaded (no usable file descriptor)", name), "load the program first", EBADF, {},
             ErrorKind::NotFound};
    return std::nullopt;
  }
  MapHandle h(fd, name.empty() ? info->name : name, *info, 1);
  if (h.percpu()) h.cpus_ = possible_cpus();
  return h;
}

bool MapHandle::percpu() const {
  switch (info_.type_id) {
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return true;
    default:
      return false;
  }
}

bool MapHandle::is_array() const {
  return info_.type_id == BPF_MAP_TYPE_ARRAY || info_.type_id == BPF_MAP_TYPE_PERCPU_ARRAY;
}

bool MapHandle::has_entries() const {
  return info_.type_id != BPF_MAP_TYPE_RINGBUF && info_.type_id != BPF_MAP_TYPE_USER_RINGBUF;
}

bool MapHandle::is_prog_array() const { return info_.type_id == BPF_MAP_TYPE_PROG_ARRAY; }

size_t MapHandle::lookup_size() const { return percpu() ? cpus_ * round8(info_.value_size) : info_.value_size; }

RuntimeError MapHandle::kernel_error(const char* what, int err) const {
  RuntimeError e;
  e.error = err;
  e.kind = err == EPERM ? ErrorKind::MissingCapability : ErrorKind::Kernel;
  e.message = fmt::format("cannot {} map '{}': {}", what, name_, std::strerror(err));
  if (err == E2BIG) {
    e.message = fmt::format("map '{}' is full (max-entries {})", name_, info_.max_entries);
    e.hint = "delete entries, or give the map a larger :max-entries";
  } else if (err == EPERM) {
    e.hint = "map access needs CAP_BPF (run as root)";
  } else if (err == EINVAL && is_array() && std::string(what) == "delete from") {
    e.message = fmt::format("entries of array map '{}' cannot be deleted; every index always exists", name_);
    e.hint = "write 0 with map-put instead";
  } else if (err == EOPNOTSUPP || err == 524 /* ENOTSUPP */) {
    e.message = fmt::format("map '{}' ({}) does not allow this from user space", name_, info_.type);
  }
  return e;
}

bool MapHandle::check_key(const std::string& key, RuntimeError& error) const {
  if (!has_entries()) {
    error = {fmt::format("map '{}' is a ring buffer: it has records, not keys", name_),
             "`whistler run` prints its records as they arrive", EINVAL, {}, ErrorKind::BadValue};
    return false;
  }
  if (key.size() != info_.key_size) {
    error = {fmt::format("a key of map '{}' has {} bytes, got {}", name_, info_.key_size, key.size()), "", EINVAL, {},
             ErrorKind::BadValue};
    return false;
  }
  return true;
}

bool MapHandle::check_sizes(size_t key, size_t value, RuntimeError& error) const {
  if (key != info_.key_size || value != info_.value_size) {
    error = {fmt::format("map '{}' has {}-byte keys and {}-byte values; the types used have {} and {}", name_,
                         info_.key_size, info_.value_size, key, value),
             "", EINVAL, {}, ErrorKind::BadValue};
    return false;
  }
  return true;
}

std::optional<std::string> MapHandle::get(const std::string& key, RuntimeError& error) const {
  if (!check_key(key, error)) return std::nullopt;
  std::string value(lookup_size(), '\0');
  if (bpf_map_lookup_elem(fd_, key.data(), value.data()) != 0) {
    int err = errno;
    if (err != ENOENT) error = kernel_error("read", err);
    return std::nullopt;
  }
  return value;
}

bool MapHandle::put(const std::string& key, const std::string& value, RuntimeError& error, uint64_t flags) const {
  if (!check_key(key, error)) return false;
  std::string bytes = value;
  if (percpu() && value.size() == info_.value_size) {
    bytes.assign(lookup_size(), '\0');
    for (uint32_t c = 0; c < cpus_; ++c) std::memcpy(bytes.data() + c * round8(info_.value_size), value.data(), value.size());
  } else if (bytes.size() != lookup_size()) {
    error = {fmt::format("a value of map '{}' has {} bytes, got {}", name_, info_.value_size, value.size()), "", EINVAL,
             {}, ErrorKind::BadValue};
    return false;
  }
  if (bpf_map_update_elem(fd_, key.data(), bytes.data(), flags) != 0) {
    error = kernel_error("write", errno);
    return false;
  }
  return true;
}

bool MapHandle::erase(const std::string& key, RuntimeError& error, bool* existed) const {
  if (existed) *existed = false;
  if (!check_key(key, error)) return false;
  if (bpf_map_delete_elem(fd_, key.data()) != 0) {
    int err = errno;
    if (err == ENOENT) return true;
    error = kernel_error("delete from", err);
    return false;
  }
  if (existed) *existed = true;
  return true;
}

std::vector<std::string> MapHandle::keys(RuntimeError& error, size_t limit) const {
  std::vector<std::string> out;
  if (!has_entries()) return out;
  std::string prev, next(info_.key_size, '\0');
  bool first = true;
  while (out.size() < limit) {
    int r = bpf_map_get_next_key(fd_, first ? nullptr : prev.data(), next.data());
    if (r != 0) {
      if (errno != ENOENT) error = kernel_error("list the keys of", errno);
      break;
    }
    out.push_back(next);
    prev = next;
    first = false;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> MapHandle::entries(RuntimeError& error, size_t limit) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& k : keys(error, limit)) {
    RuntimeError e;
    auto v = get(k, e);
    if (v) out.emplace_back(std::move(k), std::move(*v));
    else if (e) {
      error = e;
      break;
    }
  }
  return out;
}

std::vector<std::string> MapHandle::split_per_cpu(const std::string& bytes) const {
  if (!percpu()) return {bytes};
  std::vector<std::string> out;
  size_t stride = round8(info_.value_size);
  for (size_t off = 0; off + info_.value_size <= bytes.size(); off += stride) out.push_back(bytes.substr(off, info_.value_size));
  return out;
}

uint64_t MapHandle::sum_u64(const std::string& key, RuntimeError& error) const {
  auto bytes = get(key, error);
  if (!bytes) return 0;
  uint64_t sum = 0;
  for (const auto& one : split_per_cpu(*bytes)) {
    uint64_t v = 0;
    std::memcpy(&v, one.data(), std::min<size_t>(one.size(), sizeof v));
    sum += v;
  }
  return sum;
}

}  // namespace whistler::runtime
