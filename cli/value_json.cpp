#include "value_json.hpp"

namespace whistler {

nlohmann::json to_json(const runtime::DecodedValue& v) {
  using K = runtime::DecodedValue::Kind;
  switch (v.kind) {
    case K::Int:
      if (v.ipv4) return runtime::format_ipv4(static_cast<uint32_t>(v.bits));
      if (v.is_signed) return v.as_signed();
      return v.bits;
    case K::List: {
      nlohmann::json a = nlohmann::json::array();
      for (const auto& i : v.items) a.push_back(to_json(i));
      return a;
    }
    case K::Record: {
      nlohmann::json o = nlohmann::json::object();
      for (const auto& [name, f] : v.fields) o[name] = to_json(f);
      return o;
    }
    case K::Bytes:
      return runtime::to_hex(v.bytes);
    case K::Text:
      return v.bytes;
  }
  return nullptr;
}

nlohmann::json to_json(const runtime::RuntimeError& e, bool with_detail) {
  nlohmann::json j;
  j["message"] = e.message;
  if (!e.hint.empty()) j["hint"] = e.hint;
  j["kind"] = e.kind.empty() ? "error" : e.kind;
  if (e.error) j["errno"] = e.error;
  if (with_detail && !e.detail.empty()) j["detail"] = e.detail;
  return j;
}

}  // namespace whistler
