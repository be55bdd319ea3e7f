// `whistler repl`: an interactive session (libedit line editing and history
// on a terminal; plain lines from a pipe or file, for scripts and tests).
#pragma once

#include <string>
#include <vector>

namespace whistler {

struct ReplArgs {
  std::string history_file;  // "" = ~/.whistler_history
  bool verbose = false;
  std::vector<std::string> include_dirs;
  std::vector<std::string> load_files;
};

// Exit status: 0 when the session ends with :quit or end of input; when the
// input is not a terminal, 1 if any form failed (so scripts notice); 3 when
// a program the session attached could not be detached at the end.
int repl_command(const ReplArgs& args);

}  // namespace whistler
