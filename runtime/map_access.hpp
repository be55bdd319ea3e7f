// Reading and writing BPF maps from user space: get, put, delete and
// iterate, on raw bytes or typed C++ values. Per-CPU maps hold one value per
// possible CPU (each padded to 8 bytes); helpers split and sum them.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bpf_info.hpp"
#include "runtime_error.hpp"

namespace whistler::runtime {

class MapHandle {
 public:
  // Borrows `fd` (the caller keeps it open). `name` is used in messages.
  static std::optional<MapHandle> from_fd(int fd, const std::string& name, RuntimeError& error);

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  const MapInfo& info() const { return info_; }
  uint32_t key_size() const { return info_.key_size; }
  uint32_t value_size() const { return info_.value_size; }
  bool percpu() const;
  bool is_array() const;         // array and percpu-array: every key exists, none can be deleted
  bool has_entries() const;      // false for ring buffers
  bool is_prog_array() const;
  uint32_t cpus() const { return cpus_; }
  // Bytes a lookup returns: value_size, or cpus * round_up(value_size, 8) for per-CPU maps.
  size_t lookup_size() const;

  // nullopt with an empty error when the key is absent.
  std::optional<std::string> get(const std::string& key, RuntimeError& error) const;
  // For per-CPU maps a single value (value_size bytes) is written to every CPU.
  bool put(const std::string& key, const std::string& value, RuntimeError& error, uint64_t flags = 0) const;
  // `existed` tells whether the key was there.
  bool erase(const std::string& key, RuntimeError& error, bool* existed = nullptr) const;
  // Keys in the kernel's order, at most `limit`.
  std::vector<std::string> keys(RuntimeError& error, size_t limit = SIZE_MAX) const;
  std::vector<std::pair<std::string, std::string>> entries(RuntimeError& error, size_t limit = SIZE_MAX) const;
  size_t count(RuntimeError& error, size_t limit = SIZE_MAX) const { return keys(error, limit).size(); }

  // A lookup's bytes as one value per CPU (a single element for other maps).
  std::vector<std::string> split_per_cpu(const std::string& bytes) const;

  // Typed access; K and V must match the map's key and value sizes.
  template <class K, class V>
  std::optional<V> get(const K& key, RuntimeError& error) const {
    if (!check_sizes(sizeof(K), sizeof(V), error)) return std::nullopt;
    auto bytes = get(to_bytes(key), error);
    if (!bytes) return std::nullopt;
    V v;
    std::memcpy(&v, bytes->data(), sizeof v);
    return v;
  }
  template <class K, class V>
  bool put(const K& key, const V& value, RuntimeError& error, uint64_t flags = 0) const {
    return check_sizes(sizeof(K), sizeof(V), error) && put(to_bytes(key), to_bytes(value), error, flags);
  }
  template <class K>
  bool erase(const K& key, RuntimeError& error, bool* existed = nullptr) const {
    return check_sizes(sizeof(K), value_size(), error) && erase(to_bytes(key), error, existed);
  }
  // Per-CPU maps: one value per CPU.
  template <class K, class V>
  std::optional<std::vector<V>> get_per_cpu(const K& key, RuntimeError& error) const {
    if (!check_sizes(sizeof(K), sizeof(V), error)) return std::nullopt;
    auto bytes = get(to_bytes(key), error);
    if (!bytes) return std::nullopt;
    std::vector<V> out;
    for (const auto& one : split_per_cpu(*bytes)) {
      V v;
      std::memcpy(&v, one.data(), sizeof v);
      out.push_back(v);
    }
    return out;
  }
  // The sum over CPUs of a u64 (or smaller unsigned) value; 0 when absent.
  uint64_t sum_u64(const std::string& key, RuntimeError& error) const;

  template <class T>
  static std::string to_bytes(const T& v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof v);
  }

 private:
  MapHandle(int fd, std::string name, MapInfo info, uint32_t cpus)
      : fd_(fd), name_(std::move(name)), info_(std::move(info)), cpus_(cpus) {}
  bool check_sizes(size_t key, size_t value, RuntimeError& error) const;
  bool check_key(const std::string& key, RuntimeError& error) const;
  RuntimeError kernel_error(const char* what, int err) const;

  int fd_ = -1;
  std::string name_;
  MapInfo info_;
  uint32_t cpus_ = 1;
};

// Number of possible CPUs (the per-CPU value count).
uint32_t possible_cpus();

}  // namespace whistler::runtime
