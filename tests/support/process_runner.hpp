// Runs a command and captures its exit status, standard output and error.
#pragma once

#include <string>
#include <vector>

namespace whistler::test {

struct ProcessResult {
  int exit_code = -1;  // -1 when the process did not exit normally
  std::string out;
  std::string err;
};

// argv[0] is the program (a path, or a name looked up in PATH).
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "");

}  // namespace whistler::test
