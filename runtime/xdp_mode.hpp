// The four XDP attach modes, as the user spells them ("xdp", "xdpdrv",
// "xdpgeneric", "xdpoffload", the names `ip link` uses) and as flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace whistler::runtime {

enum class XdpMode {
  Auto,     // "xdp": the kernel chooses (native when the driver has it, else generic)
  Native,   // "xdpdrv": in the driver, before an skb exists
  Generic,  // "xdpgeneric": after the skb is built; works on every interface
  Offload,  // "xdpoffload": on the NIC; the program must be loaded bound to the device
};

std::optional<XdpMode> parse_xdp_mode(const std::string& spelling);
// "xdp", "xdpdrv", "xdpgeneric", "xdpoffload"
const char* xdp_mode_spelling(XdpMode mode);
// "kernel's choice", "native", "generic", "offload"
const char* xdp_mode_description(XdpMode mode);
// XDP_FLAGS_DRV_MODE / SKB_MODE / HW_MODE, or 0 for Auto.
uint32_t xdp_mode_flags(XdpMode mode);
// "xdp, xdpdrv, xdpgeneric, xdpoffload" (for messages)
const char* xdp_mode_choices();

}  // namespace whistler::runtime
