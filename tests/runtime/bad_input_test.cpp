// Bad files given to `whistler run` and `whistler repl --load`: a directory,
// a missing or unreadable file, binary garbage, a file over the size limit,
// deep nesting. Each is a located error ("FILE: error: ..." or
// "FILE:LINE:COL: error: ...") and exit status 1: never an abort, an
// uncaught exception or a signal, and `run` refuses an unreadable file
// before it looks at any interface.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>

#include "exit_codes.hpp"
#include "harness.hpp"

using namespace whistler::rt;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

// A file over the 16 MiB limit without writing 16 MiB: a sparse file.
std::string sparse_file(const TempDir& dir, const std::string& name, uintmax_t size) {
  std::string path = dir.file(name, "");
  fs::resize_file(path, size);
  return path;
}

// Files that are read but do not compile, each with the start of the error.
std::vector<std::pair<std::string, std::string>> garbage_files(const TempDir& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  auto add = [&](const std::string& name, const std::string& bytes) {
    std::string path = dir.file(name, bytes);
    files.emplace_back(path, path + ":1:");
  };
  add("random.lisp", random_bytes(32 * 1024, 3));
  add("nuls.lisp", std::string(1024, '\0'));
  add("utf8.lisp", "(\xff\xfe (:type :xdp) XDP_PASS)\n");
  add("deep.lisp", std::string(100'000, '(') + std::string(100'000, ')'));
  return files;
}

}  // namespace

TEST_CASE("run: a file that cannot be read is refused before any interface is looked at") {
  TempDir dir;
  fs::create_directories(dir.path() + "/src");
  std::string big = sparse_file(dir, "big.lisp", 200'000'000);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {dir.path() + "/src", dir.path() + "/src: error: cannot read: Is a directory\n"},
      {dir.path() + "/missing.lisp", dir.path() + "/missing.lisp: error: cannot read: No such file or directory\n"},
      {"/proc/self/mem", "/proc/self/mem: error: cannot read: Input/output error\n"},
      {big, big + ": error: cannot read: the file is larger than 16 MiB, the limit for a source file (it has 200000000 bytes)\n"},
  };
  for (const auto& [file, error] : cases) {
    CAPTURE(file);
    // No such interface: had it been looked up first, the error would say so.
    Result r = run({whistler_path(), "run", file, "--iface", "no-such-if0"});
    CHECK(r.exit_code == whistler::kExitProgramErrors);
    CHECK(r.err == error);
    Result j = run({whistler_path(), "run", file, "--iface", "no-such-if0", "--json"});
    CHECK(j.exit_code == whistler::kExitProgramErrors);
    json event;
    REQUIRE_NOTHROW(event = json::parse(j.out));
    CHECK(event["event"] == "error");
    CHECK(event["kind"] == "program");
    CHECK(event["diagnostics"][0]["file"] == file);
    CHECK(event["diagnostics"][0]["line"].is_null());
  }
}

TEST_CASE("run: binary garbage and deep nesting are located errors, as text and JSON, and nothing is attached") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  TempDir dir;
  for (const auto& [file, start] : garbage_files(dir)) {
    CAPTURE(file);
    Result r = run({whistler_path(), "run", file, "--iface", "lo", "--mode", "xdpgeneric"}, in_ns(ns.name()));
    CHECK(r.exit_code == whistler::kExitProgramErrors);
    CHECK_MESSAGE(r.err.rfind(start, 0) == 0, r.err.substr(0, 300));
    Result j = run({whistler_path(), "run", file, "--iface", "lo", "--mode", "xdpgeneric", "--json"}, in_ns(ns.name()));
    CHECK(j.exit_code == whistler::kExitProgramErrors);
    json event;
    REQUIRE_NOTHROW(event = json::parse(j.out));
    CHECK(event["kind"] == "program");
    CHECK(event["diagnostics"][0]["file"] == file);
    CHECK_FALSE(link_xdp(ns.name(), "lo").attached);
  }
}

TEST_CASE("repl --load: a directory, a missing file, a file over the limit, garbage and deep nesting are errors, and the session goes on") {
  TempDir dir;
  fs::create_directories(dir.path() + "/src");
  std::string big = sparse_file(dir, "big.lisp", 200'000'000);
  std::vector<std::pair<std::string, std::string>> cases = {
      {dir.path() + "/src", dir.path() + "/src: error: cannot read: Is a directory\n"},
      {dir.path() + "/missing.lisp", dir.path() + "/missing.lisp: error: cannot read: No such file or directory\n"},
      {"/proc/self/mem", "/proc/self/mem: error: cannot read: Input/output error\n"},
      {big, big + ": error: cannot read: the file is larger than 16 MiB, the limit for a source file (it has 200000000 bytes)\n"},
  };
  for (const auto& [file, error] : cases) {
    CAPTURE(file);
    // A later --load file and the input still run.
    std::string good = dir.file("good.lisp", "(defconstant +answer+ 42)\n");
    Result r = run({whistler_path(), "repl", "--load", file, "--load", good}, {}, "+answer+\n");
    CHECK(r.exit_code == whistler::kExitProgramErrors);
    CHECK(r.err == error);
    CHECK_MESSAGE(contains(r.out, "; defined constant +answer+\n42\n"), r.out);
  }
  for (const auto& [file, start] : garbage_files(dir)) {
    CAPTURE(file);
    Result r = run({whistler_path(), "repl", "--load", file});
    CHECK(r.exit_code == whistler::kExitProgramErrors);
    CHECK_MESSAGE(r.err.rfind(start, 0) == 0, r.err.substr(0, 300));
    CHECK_FALSE(contains(r.err, "internal error"));
  }
  // An unfinished form at the end of a file names its place.
  std::string open = dir.file("open.lisp", "(defconstant +a+ 1)\n  (defprog p (:type :xdp)\n");
  Result u = run({whistler_path(), "repl", "--load", open});
  CHECK(u.exit_code == whistler::kExitProgramErrors);
  CHECK(u.err == open + ":2:3: error: the file ends inside this form: (defprog p (:type :xdp)\n");
}

TEST_CASE("repl with standard input redirected from a directory: an error, not an empty session") {
  TempDir dir;
  Result r = run({"sh", "-c", whistler_path() + " repl < " + dir.path()});
  CHECK(r.exit_code == whistler::kExitProgramErrors);
  CHECK(r.err == "<stdin>: error: cannot read: Is a directory\n");
}
