#include "status_command.hpp"

#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "diagnostics_json.hpp"
#include "error_report.hpp"
#include "exit_codes.hpp"
#include "interfaces.hpp"
#include "pins.hpp"
#include "value_json.hpp"
#include "xdp_query.hpp"

namespace whistler {

int status_command(const StatusArgs& a) {
  std::vector<runtime::InterfaceInfo> ifaces;
  if (!a.iface.empty()) {
    auto i = runtime::find_interface(a.iface);
    if (!i) {
      auto e = runtime::missing_interface_error(a.iface);
      if (a.json) std::cout << json_text(nlohmann::json{{"error", to_json(e, false)}}, 2) << "\n";
      else print_runtime_error(std::cerr, e, false);
      return kExitRefused;
    }
    ifaces.push_back(*i);
  } else {
    ifaces = runtime::list_interfaces();
  }
  std::string pin_dir = runtime::whistler_pin_dir();
  bool bpffs = runtime::is_bpffs(runtime::bpffs_root());
  std::vector<runtime::PinnedObject> pins = bpffs ? runtime::list_pins(pin_dir) : std::vector<runtime::PinnedObject>{};
  auto pins_of_link = [&](uint32_t link_id) {
    std::vector<std::string> out;
    for (const auto& p : pins)
      if (p.kind == runtime::ObjectKind::Link && p.id == link_id) out.push_back(p.path);
    return out;
  };

  nlohmann::json jifaces = nlohmann::json::array();
  struct Row {
    std::string iface, mode, program, id, via;
  };
  std::vector<Row> rows;
  int errors = 0;
  for (const auto& i : ifaces) {
    runtime::XdpInterfaceState st;
    runtime::RuntimeError e;
    if (!runtime::query_xdp(i.ifindex, st, e)) {
      ++errors;
      if (!a.json) print_runtime_error(std::cerr, e, false);
      continue;
    }
    nlohmann::json ji = {{"name", i.name}, {"ifindex", i.ifindex}, {"driver", i.driver}, {"mtu", i.mtu}, {"up", i.up}};
    nlohmann::json progs = nlohmann::json::array();
    for (const auto& p : st.programs) {
      nlohmann::json jp = {{"id", p.prog_id}, {"name", p.name}, {"mode", runtime::xdp_mode_description(p.mode)},
                           {"attached_via", p.link_id ? "link" : (p.link_checked ? "netlink" : "unknown")}};
      std::string via = p.link_id ? fmt::format("BPF link {}", p.link_id) : (p.link_checked ? "netlink" : "netlink or link (run as root to tell)");
      if (p.link_id) {
        jp["link_id"] = p.link_id;
        auto pinned = pins_of_link(p.link_id);
        if (!pinned.empty()) {
          jp["link_pins"] = pinned;
          via += fmt::format(", pinned at {}", pinned.front());
        } else {
          via += " (detached when its process ends)";
        }
      } else if (p.link_checked) {
        via += " (stays until detached)";
      }
      progs.push_back(jp);
      rows.push_back({i.name, runtime::xdp_mode_description(p.mode), p.name.empty() ? "?" : p.name, std::to_string(p.prog_id), via});
    }
    ji["xdp"] = progs;
    if (!a.json || !a.iface.empty() || !progs.empty()) jifaces.push_back(ji);
  }

  if (a.json) {
    nlohmann::json j;
    j["interfaces"] = jifaces;
    j["bpffs"] = {{"root", runtime::bpffs_root()}, {"mounted", bpffs}, {"whistler_dir", pin_dir}};
    nlohmann::json jp = nlohmann::json::array();
    for (const auto& p : pins) {
      nlohmann::json one = {{"path", p.path}, {"type", runtime::object_kind_name(p.kind)}, {"id", p.id}, {"name", p.name}};
      if (p.kind == runtime::ObjectKind::Link) {
        one["prog_id"] = p.prog_id;
        one["ifindex"] = p.link_ifindex;
        one["attached"] = p.link_ifindex != 0;
      }
      jp.push_back(one);
    }
    j["pins"] = jp;
    std::cout << json_text(j, 2) << "\n";
    return errors ? kExitRefused : kExitOk;
  }

  if (rows.empty()) {
    std::cout << (a.iface.empty() ? "no XDP programs are attached in this network namespace\n"
                                  : fmt::format("no XDP program is attached to {}\n", a.iface));
  } else {
    size_t w_if = 9, w_mode = 7, w_prog = 7, w_id = 2;
    for (const auto& r : rows) {
      w_if = std::max(w_if, r.iface.size());
      w_mode = std::max(w_mode, r.mode.size());
      w_prog = std::max(w_prog, r.program.size());
      w_id = std::max(w_id, r.id.size());
    }
    std::cout << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {}\n", "INTERFACE", w_if, "MODE", w_mode, "PROGRAM", w_prog, "ID",
                             w_id, "ATTACHED THROUGH");
    for (const auto& r : rows)
      std::cout << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {}\n", r.iface, w_if, r.mode, w_mode, r.program, w_prog, r.id,
                               w_id, r.via);
  }
  if (!bpffs) {
    std::cout << fmt::format("no BPF filesystem at {} (mount -t bpf bpf {}), so no pins\n", runtime::bpffs_root(),
                             runtime::bpffs_root());
  } else if (!pins.empty()) {
    std::cout << fmt::format("pins under {}:\n", pin_dir);
    for (const auto& p : pins) {
      std::string what;
      if (p.kind == runtime::ObjectKind::Link)
        what = fmt::format("link {} -> program {} (id {}){}", p.id, p.name.empty() ? "?" : p.name, p.prog_id,
                           p.link_ifindex ? fmt::format(", ifindex {}", p.link_ifindex) : ", detached");
      else
        what = fmt::format("{} {} (id {})", runtime::object_kind_name(p.kind), p.name, p.id);
      std::cout << fmt::format("  {}  {}\n", p.path, what);
    }
  }
  return errors ? kExitRefused : kExitOk;
}

}  // namespace whistler
