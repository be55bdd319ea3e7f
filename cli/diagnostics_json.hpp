// Diagnostics as JSON, for editors and build tools (--json).
#pragma once

#include <nlohmann/json.hpp>

#include "diagnostics.hpp"

namespace whistler {

// [{"severity","file","line","column","message","hint","notes":[...]}...]
// A message about a whole file ("cannot read: ...") has a file and null
// line and column.
nlohmann::json diagnostics_to_json(const Diagnostics& diags);

// JSON text that never throws: bytes that are not UTF-8 (a symbol read from
// a binary file, quoted in a message) become U+FFFD.
std::string json_text(const nlohmann::json& j, int indent = -1);

}  // namespace whistler
