// fuzz_replay TARGET PATH...: runs every file under the PATHs (directories
// recursively, in name order) through the fuzz target TARGET (reader,
// expander or compile), the same function libFuzzer calls. ctest replays
// tests/fuzz/regressions/TARGET and tests/fuzz/seeds with it in every build,
// so a fixed crash stays fixed; under -DWHISTLER_SANITIZE the sanitizers
// watch the replay too. Prints each input's time and the slowest.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "targets.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  using Target = int (*)(const uint8_t*, size_t);
  struct Named { const char* name; Target target; size_t cap; };
  const Named targets[] = {
      {"reader", whistler::fuzz::reader, whistler::fuzz::kReaderMaxInput},
      {"expander", whistler::fuzz::expander, whistler::fuzz::kExpanderMaxInput},
      {"compile", whistler::fuzz::compile, whistler::fuzz::kCompileMaxInput},
  };
  const Named* chosen = nullptr;
  if (argc >= 2)
    for (const auto& t : targets)
      if (std::strcmp(argv[1], t.name) == 0) chosen = &t;
  if (!chosen) {
    std::fprintf(stderr, "usage: fuzz_replay reader|expander|compile FILE-OR-DIR...\n");
    return 2;
  }
  std::vector<fs::path> inputs;
  for (int i = 2; i < argc; ++i) {
    fs::path p(argv[i]);
    if (fs::is_directory(p)) {
      for (const auto& e : fs::recursive_directory_iterator(p))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') inputs.push_back(e.path());
    } else if (fs::exists(p)) {
      inputs.push_back(p);
    } else {
      std::fprintf(stderr, "fuzz_replay: no such file or directory: %s\n", argv[i]);
      return 2;
    }
  }
  std::sort(inputs.begin(), inputs.end());
  double slowest = 0;
  std::string slowest_name;
  size_t run = 0;
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // As libFuzzer with -max_len: a longer input is cut at the target's cap.
    if (bytes.size() > chosen->cap) bytes.resize(chosen->cap);
    std::printf("%s: %s (%zu bytes)", chosen->name, path.c_str(), bytes.size());
    std::fflush(stdout);
    auto start = std::chrono::steady_clock::now();
    chosen->target(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf(" %.1f ms\n", ms);
    ++run;
    if (ms > slowest) {
      slowest = ms;
      slowest_name = path.string();
    }
  }
  std::printf("%zu inputs replayed through the %s target; slowest %.1f ms (%s)\n", run, chosen->name, slowest,
              slowest_name.empty() ? "-" : slowest_name.c_str());
  return 0;
}
