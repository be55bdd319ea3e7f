// Diagnostics as JSON, for editors and build tools (--json).
#pragma once

#include <nlohmann/json.hpp>

#include "diagnostics.hpp"

namespace whistler {

// [{"severity","file","line","column","message","hint","notes":[...]}...]
nlohmann::json diagnostics_to_json(const Diagnostics& diags);

}  // namespace whistler
