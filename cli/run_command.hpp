// `whistler run FILE.lisp --iface IF`: compile, load, attach, show live
// per-verdict counters, map summaries and ring buffer records; detach on
// Ctrl-C / SIGTERM and exit 0.
#pragma once

#include <string>
#include <vector>

namespace whistler {

struct RunArgs {
  std::string file;
  std::string iface;
  std::string mode = "xdp";
  std::string prog;
  std::string persist;  // "", "link" or "netlink"
  bool json = false;
  bool replace = false;
  bool verbose = false;
  bool no_counters = false;
  double interval = 1.0;  // seconds between status lines
  double duration = 0;    // stop after this many seconds (0: until a signal)
  int opt_level = 2;
  std::vector<std::string> include_dirs;
  std::vector<std::string> defines;
};

int run_command(const RunArgs& args);

}  // namespace whistler
