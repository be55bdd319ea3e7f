// Decoded map values and records as JSON (for --json).
#pragma once

#include <nlohmann/json.hpp>

#include "record_layout.hpp"
#include "runtime_error.hpp"

namespace whistler {

// Integers as numbers, IPv4 fields as "a.b.c.d", arrays as arrays, records
// as objects, raw bytes as hex strings.
nlohmann::json to_json(const runtime::DecodedValue& v);

// {"message","hint","kind","errno","detail"}
nlohmann::json to_json(const runtime::RuntimeError& e, bool with_detail);

}  // namespace whistler
