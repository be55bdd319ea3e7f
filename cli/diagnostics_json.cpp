#include "diagnostics_json.hpp"

namespace whistler {

namespace {

nlohmann::json location(const Diagnostics& diags, SourceLoc loc) {
  nlohmann::json j = nlohmann::json::object();
  if (loc.valid()) {
    j["file"] = diags.sources().file(loc.file).path();
    j["line"] = loc.line;
    j["column"] = loc.col;
  } else if (loc.file != 0) {  // the whole file
    j["file"] = diags.sources().file(loc.file).path();
    j["line"] = nullptr;
    j["column"] = nullptr;
  } else {
    j["file"] = nullptr;
    j["line"] = nullptr;
    j["column"] = nullptr;
  }
  return j;
}

}  // namespace

nlohmann::json diagnostics_to_json(const Diagnostics& diags) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : diags.all()) {
    nlohmann::json j = location(diags, d.loc);
    j["severity"] = severity_name(d.severity);
    j["message"] = d.message;
    if (!d.hint.empty()) j["hint"] = d.hint;
    nlohmann::json notes = nlohmann::json::array();
    for (const auto& n : d.notes) {
      nlohmann::json nj = location(diags, n.loc);
      nj["message"] = n.message;
      notes.push_back(nj);
    }
    if (!notes.empty()) j["notes"] = notes;
    list.push_back(j);
  }
  return list;
}

std::string json_text(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace whistler
