// Attaching XDP programs to interfaces, in the four modes, the way careful
// loaders do it:
//  - through a BPF link by default, so the program goes away with the
//    process (Ctrl-C, crash, kill -9: nothing is left behind);
//  - persistently on request: a link pinned in the BPF filesystem, or a
//    netlink attachment (what `ip link set ... xdp` does);
//  - never replacing a running program unless asked, and then atomically
//    (link update, or netlink with XDP_FLAGS_REPLACE): no traffic gap;
//  - every refusal explained: missing interface, driver without native XDP,
//    MTU too large, a program already there (named, with id and mode),
//    native and generic at once, offload without hardware, capabilities.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "interfaces.hpp"
#include "runtime_error.hpp"
#include "unique_fd.hpp"
#include "xdp_mode.hpp"
#include "xdp_query.hpp"

namespace whistler::runtime {

enum class Persistence {
  None,        // a BPF link owned by this process: detached when it ends
  PinnedLink,  // a BPF link pinned in the BPF filesystem: stays until unpinned or detached
  Netlink,     // attached through netlink: stays until detached (ip link, whistler detach)
};

const char* persistence_name(Persistence p);  // "link", "pinned link", "netlink"

struct AttachOptions {
  XdpMode mode = XdpMode::Auto;
  Persistence persistence = Persistence::None;
  std::string link_pin_path;  // PinnedLink: default interface_pin_dir(IFNAME) + "/link"
  bool replace = false;       // swap a running program (same mode) atomically instead of refusing
  std::string program_name;   // for messages
  bool frags = false;         // the program is fragment-aware (xdp.frags): changes the MTU advice
};

enum class AttachmentStatus {
  Attached,  // our program runs
  Replaced,  // another program runs in its place (someone used --replace)
  Detached,  // nothing of ours is attached any more
};

class XdpAttachment {
 public:
  // Attaches `prog_fd` to `ifname`. On failure returns nullptr and explains why.
  static std::unique_ptr<XdpAttachment> attach(int prog_fd, const std::string& ifname, const AttachOptions& options,
                                               RuntimeError& error);
  // Detaches, unless the attachment was made persistent (or released).
  ~XdpAttachment();
  XdpAttachment(const XdpAttachment&) = delete;
  XdpAttachment& operator=(const XdpAttachment&) = delete;

  // Detaches our program. A program that replaced ours is left running
  // (`status_before` says so). Pins Whistler made for it are removed.
  bool detach(RuntimeError& error, AttachmentStatus* status_before = nullptr);
  // Forget the attachment without detaching it (it stays if it is persistent,
  // or until the process ends if it is a plain link).
  void release();
  // Swaps in another program atomically; the mode stays.
  bool replace_program(int new_prog_fd, const std::string& new_name, RuntimeError& error);
  // Is our program still the one running? `current` gets the id that runs.
  AttachmentStatus status(uint32_t* current = nullptr) const;

  const std::string& ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  XdpMode mode() const { return mode_; }  // the mode in effect (never Auto)
  XdpMode requested_mode() const { return requested_; }
  uint32_t prog_id() const { return prog_id_; }
  const std::string& program_name() const { return program_name_; }
  uint32_t link_id() const { return link_id_; }
  bool via_link() const { return link_fd_.valid(); }
  Persistence persistence() const { return persistence_; }
  const std::string& link_pin_path() const { return link_pin_path_; }
  // When the attach replaced a running program: that program ("" otherwise).
  const std::string& replaced() const { return replaced_; }
  bool active() const { return active_; }

 private:
  XdpAttachment() = default;
  bool detach_link(RuntimeError& error);
  bool detach_netlink(RuntimeError& error);

  std::string ifname_;
  int ifindex_ = 0;
  XdpMode mode_ = XdpMode::Native;
  XdpMode requested_ = XdpMode::Auto;
  UniqueFd prog_fd_;
  UniqueFd link_fd_;
  uint32_t prog_id_ = 0;
  uint32_t link_id_ = 0;
  std::string program_name_;
  Persistence persistence_ = Persistence::None;
  std::string link_pin_path_;
  std::string pin_dir_;  // directory Whistler created for the pins ("" when none)
  std::string replaced_;
  bool active_ = true;
  bool keep_ = false;
};

struct DetachedProgram {
  AttachedXdpProgram program;
  std::vector<std::string> removed_pins;
};

// Detaches whatever runs on `ifname` (in `only_mode` if given): links are
// detached even when another process holds them, netlink attachments are
// removed, and Whistler's pins for the interface are deleted. `detached`
// lists what was removed (empty when nothing was attached).
bool detach_interface(const std::string& ifname, std::optional<XdpMode> only_mode,
                      std::vector<DetachedProgram>& detached, RuntimeError& error);

// The explanation for a failed attach (errno `err`), used by attach() and by
// loaders that attach on their own.
RuntimeError explain_attach_failure(int err, const InterfaceInfo& iface, XdpMode mode, const AttachOptions& options,
                                    const std::string& kernel_text);
// "IFACE (driver D) cannot run offloaded programs" (offload without hardware).
RuntimeError offload_unsupported_error(const InterfaceInfo& iface, const std::string& kernel_text);
// The largest MTU a driver allows for XDP without fragments (x86-64, 4 KiB
// pages), or 0 when unknown. For veth it applies to the peer's MTU.
int xdp_mtu_limit(const std::string& driver);

}  // namespace whistler::runtime
