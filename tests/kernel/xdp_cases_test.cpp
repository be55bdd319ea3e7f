// Runs every tests/cases/*.xdptest file (format: tests/support/xdp_case.hpp),
// one subcase per file; failures read FILE:LINE: what went wrong. Files with
// a `known-bug` line fail because of a known compiler/runtime bug and run in
// a separate test marked may_fail.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "xdp_case.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool has_known_bug(const fs::path& path) {
  std::istringstream in(read_text(path));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("known-bug ", 0) == 0) return true;
  return false;
}

std::vector<fs::path> case_files() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(whistler::test::source_path("tests/cases")))
    if (e.path().extension() == ".xdptest") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// Returns the number of failures.
size_t run_one(const fs::path& file, int opt_level = 2) {
  std::string display = "tests/cases/" + file.filename().string();
  if (opt_level != 2) display += " (-O" + std::to_string(opt_level) + ")";
  whistler::test::CaseReport report = whistler::test::run_case_file(file.string(), display, opt_level);
  for (const std::string& failure : report.failures) FAIL_CHECK(failure);
  CHECK_MESSAGE(report.packets > 0, display << ": runs no packets");
  CHECK_MESSAGE(report.checks > 0, display << ": checks nothing");
  return report.failures.size();
}

}  // namespace

TEST_CASE("xdptest case files") {
  std::vector<fs::path> files = case_files();
  REQUIRE_MESSAGE(files.size() >= 4, "tests/cases holds too few .xdptest files");
  for (const fs::path& file : files) {
    if (has_known_bug(file)) continue;
    std::string name = "tests/cases/" + file.filename().string();
    SUBCASE(name.c_str()) { run_one(file); }
  }
}

// The same behaviour whatever the optimisation level: the bounds checks are
// placed after LLVM's passes, so -O0 and -O3 take other paths to the verifier.
TEST_CASE("xdptest case files at -O0, -O1 and -O3") {
  for (const fs::path& file : case_files()) {
    if (has_known_bug(file)) continue;
    for (int level : {0, 1, 3}) {
      std::string name = "tests/cases/" + file.filename().string() + " -O" + std::to_string(level);
      SUBCASE(name.c_str()) { run_one(file, level); }
    }
  }
}

// See each file's known-bug line. When one of these passes, the bug is fixed:
// remove the known-bug line so the file joins the test above.
TEST_CASE("xdptest case files with a known bug" * doctest::may_fail()) {
  for (const fs::path& file : case_files()) {
    if (!has_known_bug(file)) continue;
    std::string name = "tests/cases/" + file.filename().string();
    SUBCASE(name.c_str()) {
      if (run_one(file) == 0) MESSAGE(name << " passes now: remove its known-bug line");
    }
  }
}

// Every example has a case file that uses it.
TEST_CASE("every example has an xdptest case file") {
  std::string all;
  for (const fs::path& file : case_files()) all += read_text(file);
  for (const auto& e : fs::directory_iterator(whistler::test::source_path("examples"))) {
    if (e.path().extension() != ".lisp") continue;
    std::string line = "source examples/" + e.path().filename().string() + "\n";
    CHECK_MESSAGE(all.find(line) != std::string::npos, "no case file has `" << line.substr(0, line.size() - 1) << "`");
  }
}
