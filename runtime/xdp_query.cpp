#include "xdp_query.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "bpf_info.hpp"
#include "libbpf_log.hpp"

namespace whistler::runtime {

std::string AttachedXdpProgram::describe() const {
  std::string who = name.empty() ? fmt::format("program id {}", prog_id) : fmt::format("'{}' (id {})", name, prog_id);
  std::string how;
  if (link_id) how = fmt::format(", held by BPF link {}", link_id);
  else if (link_checked) how = ", attached through netlink";
  return fmt::format("{} in {} mode{}", who, xdp_mode_description(mode), how);
}

const AttachedXdpProgram* XdpInterfaceState::in_mode(XdpMode mode) const {
  for (const auto& p : programs)
    if (p.mode == mode) return &p;
  return nullptr;
}

bool query_xdp(int ifindex, XdpInterfaceState& state, RuntimeError& error) {
  state = XdpInterfaceState{};
  state.ifindex = ifindex;
  LibbpfLogCapture capture;
  LIBBPF_OPTS(bpf_xdp_query_opts, opts);
  int err = bpf_xdp_query(ifindex, 0, &opts);
  if (err) {
    error.error = -err;
    error.kind = ErrorKind::Kernel;
    error.message = fmt::format("cannot ask the kernel which XDP programs interface {} runs: {}", ifindex, std::strerror(-err));
    error.detail = capture.text();
    return false;
  }
  // Without CAP_SYS_ADMIN the links cannot be listed: say less, not wrong.
  bool links_ok = true;
  std::vector<LinkInfo> links = xdp_links(&links_ok);
  auto add = [&](uint32_t id, XdpMode mode) {
    if (!id) return;
    AttachedXdpProgram p;
    p.mode = mode;
    p.prog_id = id;
    if (auto info = program_info_by_id(id)) p.name = info->name;
    p.link_checked = links_ok;
    for (const auto& l : links)
      if (l.xdp_ifindex == ifindex && l.prog_id == id) p.link_id = l.id;
    state.programs.push_back(std::move(p));
  };
  add(opts.drv_prog_id, XdpMode::Native);
  add(opts.skb_prog_id, XdpMode::Generic);
  add(opts.hw_prog_id, XdpMode::Offload);
  return true;
}

}  // namespace whistler::runtime
