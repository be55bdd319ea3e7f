#include "map_view.hpp"

#include <fmt/format.h>

#include "value_json.hpp"

namespace whistler {

namespace {

constexpr size_t kSummaryValues = 8;     // arrays up to this size show their values
constexpr size_t kCountLimit = 100000;   // stop counting entries here

bool is_int(const runtime::RecordLayout& l) { return l.kind == runtime::RecordLayout::Kind::Int; }

}  // namespace

std::optional<MapView> make_map_view(const std::string& name, int fd, const MapDef* def, runtime::RuntimeError& error) {
  auto handle = runtime::MapHandle::from_fd(fd, name, error);
  if (!handle) return std::nullopt;
  MapView v{name, *handle, {}};
  if (def) {
    v.layouts = map_layouts(*def, handle->key_size(), handle->value_size());
  } else {
    MapDef plain;
    plain.key_size = handle->key_size();
    plain.value_size = handle->value_size();
    v.layouts = map_layouts(plain);
  }
  return v;
}

DecodedEntry decode_entry(const MapView& map, const std::string& key, const std::string& value) {
  DecodedEntry e;
  e.key = runtime::decode(map.layouts.key, key);
  if (!map.handle.percpu()) {
    e.value = runtime::decode(map.layouts.value, value);
    return e;
  }
  uint64_t sum = 0;
  for (const auto& one : map.handle.split_per_cpu(value)) {
    e.per_cpu.push_back(runtime::decode(map.layouts.value, one));
    sum += e.per_cpu.back().bits;
  }
  if (is_int(map.layouts.value)) {
    e.value = runtime::DecodedValue::integer(sum, map.layouts.value.is_signed);
  } else {
    e.value.kind = runtime::DecodedValue::Kind::List;
    e.value.items = e.per_cpu;
  }
  return e;
}

std::string format_entry(const DecodedEntry& e) {
  std::string out = fmt::format("({} {})", runtime::format_lisp(e.key), runtime::format_lisp(e.value));
  if (!e.per_cpu.empty() && e.value.kind == runtime::DecodedValue::Kind::Int) {
    std::string cpus;
    for (const auto& v : e.per_cpu) cpus += (cpus.empty() ? "" : " ") + runtime::format_lisp(v);
    out += fmt::format("  ; per CPU: ({})", cpus);
  }
  return out;
}

std::string map_summary_text(const MapView& map, uint64_t ring_records) {
  const auto& h = map.handle;
  if (!h.has_entries()) return fmt::format("{} {} records", map.name, ring_records);
  if (h.is_prog_array() || h.info().type.find("devmap") != std::string::npos || h.info().type == "cpumap" ||
      h.info().type == "xskmap") {
    runtime::RuntimeError ignored;
    return fmt::format("{} {} entries", map.name, h.count(ignored, kCountLimit));
  }
  runtime::RuntimeError error;
  if (h.is_array() && h.info().max_entries <= kSummaryValues && is_int(map.layouts.value)) {
    std::string values;
    for (const auto& [k, v] : h.entries(error)) values += (values.empty() ? "" : " ") + runtime::format_lisp(decode_entry(map, k, v).value);
    return fmt::format("{} [{}]", map.name, values);
  }
  if (h.is_array()) return fmt::format("{} ({} slots)", map.name, h.info().max_entries);
  size_t n = h.count(error, kCountLimit);
  return fmt::format("{} {}{} entries", map.name, n, n >= kCountLimit ? "+" : "");
}

nlohmann::json map_summary_json(const MapView& map, uint64_t ring_records) {
  const auto& h = map.handle;
  nlohmann::json j;
  j["type"] = h.info().type;
  j["id"] = h.info().id;
  if (!h.has_entries()) {
    j["records"] = ring_records;
    return j;
  }
  runtime::RuntimeError error;
  if (h.is_array() && !h.is_prog_array() && h.info().max_entries <= kSummaryValues) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& [k, v] : h.entries(error)) values.push_back(to_json(decode_entry(map, k, v).value));
    j["values"] = values;
    return j;
  }
  j["entries"] = h.count(error, kCountLimit);
  return j;
}

}  // namespace whistler
