#include "detach_command.hpp"

#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "diagnostics_json.hpp"
#include "error_report.hpp"
#include "exit_codes.hpp"
#include "value_json.hpp"
#include "xdp_attach.hpp"

namespace whistler {

int detach_command(const DetachArgs& a) {
  std::optional<runtime::XdpMode> mode;
  if (!a.mode.empty()) mode = runtime::parse_xdp_mode(a.mode);
  std::vector<runtime::DetachedProgram> detached;
  runtime::RuntimeError error;
  bool ok = runtime::detach_interface(a.iface, mode, detached, error);
  if (a.json) {
    nlohmann::json j;
    j["interface"] = a.iface;
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : detached)
      list.push_back({{"id", d.program.prog_id}, {"name", d.program.name}, {"mode", runtime::xdp_mode_description(d.program.mode)},
                      {"link_id", d.program.link_id}, {"removed_pins", d.removed_pins}});
    j["detached"] = list;
    j["ok"] = ok;
    if (!ok) j["error"] = to_json(error, true);
    std::cout << json_text(j, 2) << "\n";
    return ok ? kExitOk : kExitRefused;
  }
  for (const auto& d : detached) {
    std::cout << fmt::format("detached {} from {}\n", d.program.describe(), a.iface);
    for (const auto& p : d.removed_pins) std::cout << fmt::format("  removed pin {}\n", p);
  }
  if (!ok) {
    print_runtime_error(std::cerr, error, false);
    return kExitRefused;
  }
  if (detached.empty())
    std::cout << fmt::format("nothing to detach: no XDP program{} runs on {}\n",
                             mode && *mode != runtime::XdpMode::Auto ? fmt::format(" in {} mode", runtime::xdp_mode_description(*mode)) : "",
                             a.iface);
  return kExitOk;
}

}  // namespace whistler
