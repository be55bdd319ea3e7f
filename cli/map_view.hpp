// A loaded map with the layouts of its keys and values: decoded entries for
// the REPL's map-get/map-dump and the summaries `whistler run` prints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "map_access.hpp"
#include "record_layout.hpp"
#include "type_layouts.hpp"

namespace whistler {

struct MapView {
  std::string name;  // Whistler name ("verdict-counts")
  runtime::MapHandle handle;
  MapLayouts layouts;
};

// `def` may be null (layouts then follow the kernel's sizes).
std::optional<MapView> make_map_view(const std::string& name, int fd, const MapDef* def, runtime::RuntimeError& error);

struct DecodedEntry {
  runtime::DecodedValue key;
  runtime::DecodedValue value;                 // per-CPU integers: the sum over CPUs
  std::vector<runtime::DecodedValue> per_cpu;  // per-CPU maps only
};

DecodedEntry decode_entry(const MapView& map, const std::string& key, const std::string& value);
// "(KEY VALUE)" and, for per-CPU maps, "; per CPU: (...)"
std::string format_entry(const DecodedEntry& e);

// One-line summary for status lines: "12 entries", "[5 0 3]", "7 records".
std::string map_summary_text(const MapView& map, uint64_t ring_records);
nlohmann::json map_summary_json(const MapView& map, uint64_t ring_records);

}  // namespace whistler
