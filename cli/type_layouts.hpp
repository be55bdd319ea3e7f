// The compiler's types as the runtime's record layouts: how `whistler run`
// and the REPL decode map entries and ring buffer records with the
// defstructs that describe them.
#pragma once

#include "module.hpp"
#include "record_layout.hpp"
#include "types.hpp"

namespace whistler {

runtime::RecordLayout layout_of(const Type& type);

struct MapLayouts {
  runtime::RecordLayout key;
  runtime::RecordLayout value;  // the record layout for ring buffers (:value-type)
};

// From :key-type / :value-type, else integers of the declared sizes (1, 2, 4
// or 8 bytes), else raw bytes. `key_size`/`value_size` come from the kernel
// when the map is loaded (0: use the definition's).
MapLayouts map_layouts(const MapDef& map, uint32_t key_size = 0, uint32_t value_size = 0);

}  // namespace whistler
