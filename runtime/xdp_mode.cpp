#include "xdp_mode.hpp"

#include <linux/if_link.h>

namespace whistler::runtime {

std::optional<XdpMode> parse_xdp_mode(const std::string& s) {
  if (s == "xdp" || s == "auto") return XdpMode::Auto;
  if (s == "xdpdrv" || s == "native" || s == "drv") return XdpMode::Native;
  if (s == "xdpgeneric" || s == "generic" || s == "skb") return XdpMode::Generic;
  if (s == "xdpoffload" || s == "offload" || s == "hw") return XdpMode::Offload;
  return std::nullopt;
}

const char* xdp_mode_spelling(XdpMode mode) {
  switch (mode) {
    case XdpMode::Auto: return "xdp";
    case XdpMode::Native: return "xdpdrv";
    case XdpMode::Generic: return "xdpgeneric";
    case XdpMode::Offload: return "xdpoffload";
  }
  return "xdp";
}

const char* xdp_mode_description(XdpMode mode) {
  switch (mode) {
    case XdpMode::Auto: return "kernel's choice";
    case XdpMode::Native: return "native";
    case XdpMode::Generic: return "generic";
    case XdpMode::Offload: return "offload";
  }
  return "?";
}

uint32_t xdp_mode_flags(XdpMode mode) {
  switch (mode) {
    case XdpMode::Auto: return 0;
    case XdpMode::Native: return XDP_FLAGS_DRV_MODE;
    case XdpMode::Generic: return XDP_FLAGS_SKB_MODE;
    case XdpMode::Offload: return XDP_FLAGS_HW_MODE;
  }
  return 0;
}

const char* xdp_mode_choices() { return "xdp, xdpdrv, xdpgeneric, xdpoffload"; }

}  // namespace whistler::runtime
