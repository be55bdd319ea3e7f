#include "xdp_attach.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "bpf_info.hpp"
#include "libbpf_log.hpp"
#include "pins.hpp"
#include "privileges.hpp"

namespace whistler::runtime {

namespace fs = std::filesystem;

namespace {

std::string program_label(const AttachOptions& o) {
  return o.program_name.empty() ? std::string("the program") : fmt::format("'{}'", o.program_name);
}

// The kernel's words, from libbpf's "Kernel error message: ..." line.
std::string kernel_message(const std::string& libbpf_text) {
  const std::string marker = "Kernel error message: ";
  auto at = libbpf_text.find(marker);
  if (at == std::string::npos) return {};
  std::string msg = libbpf_text.substr(at + marker.size());
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  auto nl = msg.find('\n');
  return nl == std::string::npos ? msg : msg.substr(0, nl);
}

RuntimeError already_attached_error(const std::string& ifname, const AttachedXdpProgram& existing) {
  RuntimeError e;
  e.kind = ErrorKind::AlreadyAttached;
  e.error = EBUSY;
  e.message = fmt::format("{} already runs XDP program {}", ifname, existing.describe());
  e.hint = fmt::format(
      "it was not replaced; detach it first (whistler detach --iface {}), or replace it atomically with --replace",
      ifname);
  return e;
}

RuntimeError mode_conflict_error(const std::string& ifname, XdpMode wanted, const AttachedXdpProgram& existing) {
  RuntimeError e;
  e.kind = ErrorKind::ModeConflict;
  e.error = EEXIST;
  e.message = fmt::format(
      "{} runs XDP program {}; native and generic XDP cannot be active on one interface at the same time, "
      "so it cannot take a program in {} mode",
      ifname, existing.describe(), xdp_mode_description(wanted));
  e.hint = fmt::format("use --mode {} (with --replace to swap the running program), or detach it first "
                       "(whistler detach --iface {})",
                       xdp_mode_spelling(existing.mode), ifname);
  return e;
}

uint32_t prog_id_of(int fd) {
  auto info = program_info_by_fd(fd);
  return info ? info->id : 0;
}

// The mode `prog_id` runs in on `ifindex`, after an attach.
std::optional<XdpMode> mode_of(int ifindex, uint32_t prog_id) {
  XdpInterfaceState st;
  RuntimeError ignored;
  if (!query_xdp(ifindex, st, ignored)) return std::nullopt;
  for (const auto& p : st.programs)
    if (p.prog_id == prog_id) return p.mode;
  return std::nullopt;
}

// Removes Whistler's pins (under its directory) of the XDP link `link_id`.
std::vector<std::string> remove_link_pins(uint32_t link_id, const std::string& ifname) {
  std::vector<std::string> removed;
  for (const auto& pin : list_pins(whistler_pin_dir())) {
    if (pin.kind != ObjectKind::Link || pin.id != link_id) continue;
    fs::path dir = fs::path(pin.path).parent_path();
    // A persistent attachment's directory holds its link and maps: remove it whole.
    if (dir.filename() == ifname) {
      for (const auto& p : list_pins(dir.string())) removed.push_back(p.path);
      remove_pin_tree(dir.string());
    } else {
      RuntimeError ignored;
      if (unpin(pin.path, ignored)) removed.push_back(pin.path);
    }
  }
  return removed;
}

RuntimeError replace_failure(int err, const std::string& ifname, const AttachedXdpProgram& existing,
                             const AttachOptions& options, const std::string& kernel_text) {
  RuntimeError e;
  e.kind = ErrorKind::Kernel;
  e.error = err;
  e.detail = kernel_text;
  std::string kmsg = kernel_message(kernel_text);
  e.message = fmt::format("cannot replace {} on {} with {}: {}{}", existing.describe(), ifname, program_label(options),
                          std::strerror(err), kmsg.empty() ? "" : " (" + kmsg + ")");
  if (err == EINVAL)
    e.hint = "a program can only replace one of the same type and expected attach type (a program loaded by another "
             "tool may differ); detach it first (whistler detach --iface " + ifname + ")";
  else if (err == EPERM || err == EEXIST)
    e.hint = "the running program changed while replacing it; look again with `whistler status`";
  return e;
}

}  // namespace

const char* persistence_name(Persistence p) {
  switch (p) {
    case Persistence::None: return "link";
    case Persistence::PinnedLink: return "pinned link";
    case Persistence::Netlink: return "netlink";
  }
  return "?";
}

int xdp_mtu_limit(const std::string& driver) {
  // Measured for veth on this kernel (4096 - 256 headroom - 320 skb_shared_info
  // - 14 Ethernet header); the others from the driver formulas for x86-64.
  struct Limit {
    const char* driver;
    int mtu;
  };
  static const Limit kLimits[] = {
      {"veth", 3506},     {"virtio_net", 3506}, {"tun", 1500},       {"ena", 3498},      {"bnxt_en", 3502},
      {"i40e", 3046},     {"ice", 3046},        {"igb", 3046},       {"igc", 1500},      {"ixgbe", 3050},
      {"ixgbevf", 3050},  {"mlx4_en", 3498},    {"mlx5_core", 3498}, {"nfp", 4096},      {"mvneta", 3520},
      {"mvpp2", 3552},    {"hv_netvsc", 3506},  {"mana", 3506},      {"vmxnet3", 3494},  {"vif", 3840},
      {"nicvf", 1508},    {"gve", 2032},        {"atlantic", 2048},  {"stmmac", 1500},   {"sfc", 3530},
      {"dpaa_eth", 3706}, {"netsec", 1500},     {"ionic", 3502},     {"funeth", 3566},   {"mtk_soc_eth", 3520},
  };
  for (const auto& l : kLimits)
    if (driver == l.driver) return l.mtu;
  return 0;
}

RuntimeError offload_unsupported_error(const InterfaceInfo& iface, const std::string& kernel_text) {
  RuntimeError e;
  e.kind = ErrorKind::OffloadUnsupported;
  e.error = EINVAL;
  e.message = fmt::format("{} ({}) cannot run offloaded XDP programs: offload needs a NIC that executes BPF itself",
                          iface.name, iface.driver.empty() ? "unknown driver" : "driver " + iface.driver);
  e.hint = "use --mode xdpdrv (native, in the driver) or --mode xdpgeneric; offload works only on Netronome "
           "(nfp) SmartNICs, or on netdevsim devices for testing (modprobe netdevsim)";
  e.detail = kernel_text;
  return e;
}

RuntimeError explain_attach_failure(int err, const InterfaceInfo& iface, XdpMode mode, const AttachOptions& options,
                                    const std::string& kernel_text) {
  std::string kmsg = kernel_message(kernel_text);
  std::string prog = program_label(options);
  RuntimeError e;
  e.error = err;
  e.detail = kernel_text;
  std::string in_mode = mode == XdpMode::Auto ? "" : fmt::format(" in {} mode", xdp_mode_description(mode));
  switch (err) {
    case EBUSY:
    case EEXIST: {
      XdpInterfaceState st;
      RuntimeError ignored;
      if (query_xdp(iface.ifindex, st, ignored) && !st.empty()) {
        for (const auto& p : st.programs) {
          bool same = p.mode == mode || (mode == XdpMode::Auto && p.mode != XdpMode::Offload);
          if (same) return already_attached_error(iface.name, p);
        }
        for (const auto& p : st.programs)
          if (p.mode != XdpMode::Offload) return mode_conflict_error(iface.name, mode, p);
      }
      e.kind = err == EBUSY ? ErrorKind::AlreadyAttached : ErrorKind::ModeConflict;
      e.message = fmt::format("{} already has an XDP program{}", iface.name, kmsg.empty() ? "" : ": " + kmsg);
      e.hint = fmt::format("see `whistler status`; detach it with whistler detach --iface {}", iface.name);
      return e;
    }
    case EOPNOTSUPP:
      if (mode == XdpMode::Offload) return offload_unsupported_error(iface, kernel_text);
      e.kind = ErrorKind::NativeUnsupported;
      e.message = fmt::format("the driver of {} ({}) does not support native XDP, so {} cannot be attached in native mode",
                              iface.name, iface.driver.empty() ? "unknown" : iface.driver, prog);
      e.hint = "use --mode xdpgeneric (generic XDP works on every interface, after the kernel has built the skb), "
               "or --mode xdp to let the kernel choose";
      return e;
    case ERANGE: {
      e.kind = ErrorKind::MtuTooLarge;
      int limit = xdp_mtu_limit(iface.driver);
      bool veth = iface.driver == "veth";
      std::string whose = veth ? fmt::format("the MTU of {}'s veth peer", iface.name) : fmt::format("the MTU of {}", iface.name);
      std::string limit_text = limit ? fmt::format("{} allows at most {} bytes for XDP without fragments", iface.driver, limit)
                                     : fmt::format("the {} driver's limit for XDP without fragments is lower", iface.driver.empty() ? "device" : iface.driver);
      e.message = fmt::format("{} is too large for {} in native mode: {} ({} has MTU {})", whose, prog, limit_text,
                              iface.name, iface.mtu);
      std::string lower = limit ? fmt::format("lower the MTU to {} or less (ip link set dev {} mtu {}{})", limit, iface.name,
                                              limit, veth ? ", and the same on its peer" : "")
                                : fmt::format("lower the MTU of {}", iface.name);
      e.hint = fmt::format("{}, attach in generic mode (--mode xdpgeneric){}", lower,
                           options.frags ? "" : ", or make the program fragment-aware (:section \"xdp.frags\")");
      return e;
    }
    case EPERM:
    case EACCES: {
      Privileges privs = current_privileges();
      e.kind = ErrorKind::MissingCapability;
      if (!privs.net_admin) {
        e.message = fmt::format("attaching {} to {} needs CAP_NET_ADMIN, which this process does not have", prog, iface.name);
        e.hint = "run as root, or grant it: sudo setcap cap_bpf,cap_perfmon,cap_net_admin+ep $(which whistler)";
      } else {
        e.message = fmt::format("the kernel did not allow attaching {} to {}: {}", prog, iface.name, std::strerror(err));
        e.hint = "CAP_NET_ADMIN must be held in the user namespace that owns the interface's network namespace";
      }
      return e;
    }
    case ENODEV:
      return missing_interface_error(iface.name);
    case ENOTCONN:
      e.kind = ErrorKind::Kernel;
      e.message = fmt::format("{} is a veth whose peer is gone; native XDP on veth needs both ends", iface.name);
      e.hint = "recreate the pair, or use --mode xdpgeneric";
      return e;
    case EINVAL:
      if (mode == XdpMode::Offload) return offload_unsupported_error(iface, kernel_text);
      [[fallthrough]];
    default:
      e.kind = ErrorKind::Kernel;
      e.message = fmt::format("the kernel refused to attach {} to {}{}: {}{}", prog, iface.name, in_mode, std::strerror(err),
                              kmsg.empty() ? "" : " (" + kmsg + ")");
      e.hint = "`whistler status` shows what runs there; `whistler doctor` checks the system";
      return e;
  }
}

std::unique_ptr<XdpAttachment> XdpAttachment::attach(int prog_fd, const std::string& ifname, const AttachOptions& options,
                                                     RuntimeError& error) {
  auto iface = find_interface(ifname);
  if (!iface) {
    error = missing_interface_error(ifname);
    return nullptr;
  }
  std::unique_ptr<XdpAttachment> a(new XdpAttachment());
  a->ifname_ = ifname;
  a->ifindex_ = iface->ifindex;
  a->requested_ = options.mode;
  a->program_name_ = options.program_name;
  a->persistence_ = options.persistence;
  a->prog_fd_.reset(fcntl(prog_fd, F_DUPFD_CLOEXEC, 3));
  a->prog_id_ = prog_id_of(prog_fd);
  if (!a->prog_fd_.valid() || !a->prog_id_) {
    error = {fmt::format("{} is not a loaded BPF program", program_label(options)), "load the object first", EBADF, {},
             ErrorKind::Kernel};
    return nullptr;
  }

  // What runs there now decides between refusing, replacing and attaching.
  XdpInterfaceState st;
  if (!query_xdp(iface->ifindex, st, error)) return nullptr;
  const AttachedXdpProgram* same = nullptr;
  const AttachedXdpProgram* other = nullptr;
  switch (options.mode) {
    case XdpMode::Native:
      same = st.in_mode(XdpMode::Native);
      other = st.in_mode(XdpMode::Generic);
      break;
    case XdpMode::Generic:
      same = st.in_mode(XdpMode::Generic);
      other = st.in_mode(XdpMode::Native);
      break;
    case XdpMode::Offload:
      same = st.in_mode(XdpMode::Offload);
      break;
    case XdpMode::Auto:
      same = st.in_mode(XdpMode::Native);
      if (!same) same = st.in_mode(XdpMode::Generic);
      break;
  }
  if (other) {
    error = mode_conflict_error(ifname, options.mode, *other);
    return nullptr;
  }
  if (same && !options.replace) {
    error = already_attached_error(ifname, *same);
    return nullptr;
  }

  if (same) {
    // Atomic replacement: the hook never runs without a program.
    a->mode_ = same->mode;
    a->replaced_ = same->name.empty() ? fmt::format("program id {}", same->prog_id)
                                      : fmt::format("'{}' (id {})", same->name, same->prog_id);
    UniqueFd old_fd = program_fd_by_id(same->prog_id);
    if (!old_fd.valid()) {
      error = {fmt::format("cannot open the running program (id {}) to replace it: {}", same->prog_id, std::strerror(errno)),
               "replacing needs CAP_SYS_ADMIN (run as root)", errno, {}, ErrorKind::MissingCapability};
      return nullptr;
    }
    LibbpfLogCapture capture;
    if (same->link_id) {
      UniqueFd link = link_fd_by_id(same->link_id);
      if (!link.valid()) {
        error = {fmt::format("cannot open BPF link {} that holds the running program: {}", same->link_id, std::strerror(errno)),
                 "replacing a program held by a link needs CAP_SYS_ADMIN", errno, {}, ErrorKind::MissingCapability};
        return nullptr;
      }
      LIBBPF_OPTS(bpf_link_update_opts, uo, .flags = BPF_F_REPLACE, .old_prog_fd = static_cast<__u32>(old_fd.get()));
      if (bpf_link_update(link.get(), prog_fd, &uo) != 0) {
        int err = errno;
        error = replace_failure(err, ifname, *same, options, capture.text());
        return nullptr;
      }
      a->link_fd_ = std::move(link);
      a->link_id_ = same->link_id;
      // The link keeps whatever persistence it had (pinned or not).
      a->persistence_ = Persistence::None;
    } else {
      LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = old_fd.get());
      int err = bpf_xdp_attach(iface->ifindex, prog_fd, xdp_mode_flags(a->mode_) | XDP_FLAGS_REPLACE, &ao);
      if (err) {
        error = -err == EINVAL || -err == EEXIST ? replace_failure(-err, ifname, *same, options, capture.text())
                                                 : explain_attach_failure(-err, *iface, a->mode_, options, capture.text());
        return nullptr;
      }
      // Still a netlink attachment; detached at exit unless asked to persist.
      if (a->persistence_ == Persistence::PinnedLink) a->persistence_ = Persistence::Netlink;
    }
    a->keep_ = a->persistence_ != Persistence::None;
    return a;
  }

  LibbpfLogCapture capture;
  if (options.persistence == Persistence::Netlink) {
    int err = bpf_xdp_attach(iface->ifindex, prog_fd, xdp_mode_flags(options.mode) | XDP_FLAGS_UPDATE_IF_NOEXIST, nullptr);
    if (err) {
      error = explain_attach_failure(-err, *iface, options.mode, options, capture.text());
      return nullptr;
    }
  } else {
    std::string pin_path;
    if (options.persistence == Persistence::PinnedLink) {
      pin_path = options.link_pin_path.empty() ? interface_pin_dir(ifname) + "/link" : options.link_pin_path;
      if (!check_pin_location(pin_path, error)) return nullptr;
    }
    LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = xdp_mode_flags(options.mode));
    int fd = bpf_link_create(prog_fd, iface->ifindex, BPF_XDP, &lo);
    if (fd < 0) {
      int err = errno;
      error = explain_attach_failure(err, *iface, options.mode, options, capture.text());
      return nullptr;
    }
    a->link_fd_.reset(fd);
    if (auto info = link_info_by_fd(fd)) a->link_id_ = info->id;
    if (!pin_path.empty()) {
      bool fresh_dir = !fs::exists(fs::path(pin_path).parent_path());
      if (!pin_fd(fd, pin_path, error)) {
        bpf_link_detach(fd);
        return nullptr;
      }
      a->link_pin_path_ = pin_path;
      if (fresh_dir) a->pin_dir_ = fs::path(pin_path).parent_path().string();
    }
  }
  auto mode = mode_of(iface->ifindex, a->prog_id_);
  a->mode_ = mode ? *mode : (options.mode == XdpMode::Auto ? XdpMode::Native : options.mode);
  a->keep_ = options.persistence != Persistence::None;
  return a;
}

XdpAttachment::~XdpAttachment() {
  if (!active_ || keep_) return;
  RuntimeError ignored;
  detach(ignored);
}

void XdpAttachment::release() { active_ = false; }

AttachmentStatus XdpAttachment::status(uint32_t* current) const {
  if (current) *current = 0;
  if (!active_) return AttachmentStatus::Detached;
  if (link_fd_.valid()) {
    auto info = link_info_by_fd(link_fd_.get());
    if (!info || info->xdp_ifindex == 0) return AttachmentStatus::Detached;
    if (current) *current = info->prog_id;
    return info->prog_id == prog_id_ ? AttachmentStatus::Attached : AttachmentStatus::Replaced;
  }
  XdpInterfaceState st;
  RuntimeError ignored;
  if (!query_xdp(ifindex_, st, ignored)) return AttachmentStatus::Attached;  // cannot tell: assume unchanged
  const AttachedXdpProgram* p = st.in_mode(mode_);
  if (!p) return AttachmentStatus::Detached;
  if (current) *current = p->prog_id;
  return p->prog_id == prog_id_ ? AttachmentStatus::Attached : AttachmentStatus::Replaced;
}

bool XdpAttachment::replace_program(int new_prog_fd, const std::string& new_name, RuntimeError& error) {
  uint32_t new_id = prog_id_of(new_prog_fd);
  LibbpfLogCapture capture;
  auto iface = find_interface(ifname_);
  InterfaceInfo info = iface ? *iface : InterfaceInfo{ifname_, ifindex_, 0, "", false, false};
  AttachOptions options;
  options.mode = mode_;
  options.program_name = new_name;
  if (link_fd_.valid()) {
    LIBBPF_OPTS(bpf_link_update_opts, uo, .flags = BPF_F_REPLACE, .old_prog_fd = static_cast<__u32>(prog_fd_.get()));
    if (bpf_link_update(link_fd_.get(), new_prog_fd, &uo) != 0) {
      int err = errno;
      if (err == EPERM && status() == AttachmentStatus::Replaced) {
        error = {fmt::format("the program on {} was replaced by another one in the meantime", ifname_), "", err, {},
                 ErrorKind::Kernel};
        return false;
      }
      error = explain_attach_failure(err, info, mode_, options, capture.text());
      return false;
    }
  } else {
    LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = prog_fd_.get());
    int err = bpf_xdp_attach(ifindex_, new_prog_fd, xdp_mode_flags(mode_) | XDP_FLAGS_REPLACE, &ao);
    if (err) {
      error = explain_attach_failure(-err, info, mode_, options, capture.text());
      return false;
    }
  }
  prog_fd_.reset(fcntl(new_prog_fd, F_DUPFD_CLOEXEC, 3));
  prog_id_ = new_id;
  program_name_ = new_name;
  return true;
}

bool XdpAttachment::detach_link(RuntimeError& error) {
  if (bpf_link_detach(link_fd_.get()) != 0) {
    int err = errno;
    if (err == ENOLINK || err == EINVAL) return true;  // already detached
    error = {fmt::format("cannot detach the BPF link on {}: {}", ifname_, std::strerror(err)), "", err, {},
             err == EPERM ? ErrorKind::MissingCapability : ErrorKind::Kernel};
    return false;
  }
  return true;
}

bool XdpAttachment::detach_netlink(RuntimeError& error) {
  LibbpfLogCapture capture;
  LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = prog_fd_.get());
  int err = bpf_xdp_detach(ifindex_, xdp_mode_flags(mode_) | XDP_FLAGS_REPLACE, &ao);
  if (err && -err != EEXIST && -err != ENODEV) {
    error = {fmt::format("cannot detach the XDP program from {}: {}", ifname_, std::strerror(-err)), "", -err,
             capture.text(), -err == EPERM ? ErrorKind::MissingCapability : ErrorKind::Kernel};
    return false;
  }
  return true;
}

bool XdpAttachment::detach(RuntimeError& error, AttachmentStatus* status_before) {
  if (!active_) {
    if (status_before) *status_before = AttachmentStatus::Detached;
    return true;
  }
  AttachmentStatus before = status();
  if (status_before) *status_before = before;
  bool ok = true;
  if (before == AttachmentStatus::Attached) ok = link_fd_.valid() ? detach_link(error) : detach_netlink(error);
  if (!ok) return false;
  if (link_fd_.valid() && before != AttachmentStatus::Replaced) {
    // Pins of our link go with it.
    if (!pin_dir_.empty()) remove_pin_tree(pin_dir_);
    else if (!link_pin_path_.empty()) {
      RuntimeError ignored;
      unpin(link_pin_path_, ignored);
    }
    remove_link_pins(link_id_, ifname_);
  }
  link_fd_.reset();
  active_ = false;
  if (before == AttachmentStatus::Attached && mode_of(ifindex_, prog_id_)) {
    error = {fmt::format("'{}' (id {}) is still attached to {} after detaching", program_name_, prog_id_, ifname_),
             fmt::format("whistler detach --iface {}", ifname_), 0, {}, ErrorKind::Kernel};
    return false;
  }
  return true;
}

bool detach_interface(const std::string& ifname, std::optional<XdpMode> only_mode, std::vector<DetachedProgram>& detached,
                      RuntimeError& error) {
  auto iface = find_interface(ifname);
  if (!iface) {
    error = missing_interface_error(ifname);
    return false;
  }
  XdpInterfaceState st;
  if (!query_xdp(iface->ifindex, st, error)) return false;
  for (const auto& p : st.programs) {
    if (only_mode && *only_mode != XdpMode::Auto && p.mode != *only_mode) continue;
    DetachedProgram d;
    d.program = p;
    LibbpfLogCapture capture;
    if (p.link_id) {
      UniqueFd link = link_fd_by_id(p.link_id);
      if (!link.valid() || bpf_link_detach(link.get()) != 0) {
        int err = errno;
        error = {fmt::format("cannot detach {} from {}: {}", p.describe(), ifname, std::strerror(err)),
                 err == EPERM ? "detaching a link held by another process needs CAP_SYS_ADMIN and CAP_NET_ADMIN" : "",
                 err, {}, err == EPERM ? ErrorKind::MissingCapability : ErrorKind::Kernel};
        return false;
      }
      d.removed_pins = remove_link_pins(p.link_id, ifname);
    } else {
      UniqueFd old = program_fd_by_id(p.prog_id);
      LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = old.valid() ? old.get() : 0);
      uint32_t flags = xdp_mode_flags(p.mode) | (old.valid() ? XDP_FLAGS_REPLACE : 0);
      int err = bpf_xdp_detach(iface->ifindex, flags, old.valid() ? &ao : nullptr);
      if (err) {
        std::string hint;
        if (-err == EBUSY) hint = "a BPF link holds it: stop the process that attached it (or run as root so the link can be found)";
        else if (-err == EPERM) hint = "detaching needs CAP_NET_ADMIN";
        error = {fmt::format("cannot detach {} from {}: {}", p.describe(), ifname, std::strerror(-err)), hint, -err,
                 capture.text(), -err == EPERM ? ErrorKind::MissingCapability : ErrorKind::Kernel};
        return false;
      }
    }
    detached.push_back(std::move(d));
  }
  // A persistent attachment's pins (maps too) go with it.
  std::string dir = interface_pin_dir(ifname);
  if (!detached.empty() && fs::exists(dir)) {
    for (const auto& p : list_pins(dir))
      if (!detached.empty()) detached.front().removed_pins.push_back(p.path);
    remove_pin_tree(dir);
  }
  XdpInterfaceState after;
  RuntimeError ignored;
  if (query_xdp(iface->ifindex, after, ignored))
    for (const auto& p : after.programs)
      if (!only_mode || *only_mode == XdpMode::Auto || p.mode == *only_mode) {
        error = {fmt::format("{} still runs {} after detaching", ifname, p.describe()), "", 0, {}, ErrorKind::Kernel};
        return false;
      }
  return true;
}

}  // namespace whistler::runtime
