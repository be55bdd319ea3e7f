// The whistlerc command line: outputs, exit codes, diagnostics, --check.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "elf_inspect.hpp"
#include "process_runner.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using whistler::test::run_process;

namespace {

const std::string kWhistlerc = WHISTLERC_PATH;

// A fresh directory for one test, removed afterwards.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("whistlerc-test-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string file(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

const char* kGood = "(defprog pass-all (:type :xdp) XDP_PASS)\n";
const char* kBad = "(defprog p (:type :xdp)\n  (no-such-form 1)\n  XDP_PASS)\n";

}  // namespace

TEST_CASE("--version and --help exit 0") {
  auto v = run_process({kWhistlerc, "--version"});
  CHECK(v.exit_code == 0);
  CHECK(contains(v.out, "whistlerc "));
  auto h = run_process({kWhistlerc, "--help"});
  CHECK(h.exit_code == 0);
  CHECK(contains(h.out, "--emit"));
  CHECK(contains(h.out, "--check"));
}

TEST_CASE("compiles a file to an ELF object at -o") {
  TempDir dir;
  auto r = run_process({kWhistlerc, whistler::test::source_path("examples/drop9999.lisp"), "-o", dir / "drop.o"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto elf = whistler::test::inspect_elf(read(dir / "drop.o"));
  CHECK(elf.has_section("xdp/drop_9999"));
}

TEST_CASE("without -o the object is named after the input, in the current directory") {
  TempDir dir;
  std::string src = dir.file("my-filter.lisp", kGood);
  auto r = run_process({"sh", "-c", "cd '" + dir.path.string() + "' && '" + kWhistlerc + "' my-filter.lisp"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(fs::exists(dir / "my-filter.o"));
}

TEST_CASE("errors: exit 1, located message on stderr, and nothing written") {
  TempDir dir;
  std::string src = dir.file("bad.lisp", kBad);
  std::string out = dir / "bad.o";
  std::ofstream(out) << "previous contents";
  auto r = run_process({kWhistlerc, src, "-o", out});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, src + ":2:3: error: unknown form 'no-such-form'"));
  CHECK(contains(r.err, "  (no-such-form 1)\n    ^"));
  CHECK(read(out) == "previous contents");
  CHECK(r.out.empty());
  // No temporary files left behind either.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) (void)e, ++files;
  CHECK(files == 2);
}

TEST_CASE("a missing input file is an error, not a crash") {
  auto r = run_process({kWhistlerc, "/nonexistent/x.lisp", "-o", "/tmp/whistlerc-never.o"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, "cannot read '/nonexistent/x.lisp'"));
  CHECK_FALSE(fs::exists("/tmp/whistlerc-never.o"));
}

TEST_CASE("bad command lines exit 2") {
  CHECK(run_process({kWhistlerc}).exit_code == 2);
  CHECK(run_process({kWhistlerc, "x.lisp", "--emit", "pdf"}).exit_code == 2);
  CHECK(run_process({kWhistlerc, "x.lisp", "-O7"}).exit_code == 2);
  CHECK(run_process({kWhistlerc, "x.lisp", "--no-such-flag"}).exit_code == 2);
}

TEST_CASE("an unwritable output exits 3") {
  TempDir dir;
  std::string src = dir.file("ok.lisp", kGood);
  auto r = run_process({kWhistlerc, src, "-o", "/nonexistent-dir/out.o"});
  CHECK(r.exit_code == 3);
  CHECK(contains(r.err, "cannot write '/nonexistent-dir/out.o'"));
}

TEST_CASE("--emit asm and llvm, to standard output, from standard input") {
  auto a = run_process({kWhistlerc, "-", "--emit", "asm", "-o", "-"}, kGood);
  REQUIRE_MESSAGE(a.exit_code == 0, a.err);
  CHECK(contains(a.out, "pass_all:"));
  auto l = run_process({kWhistlerc, "-", "--emit", "llvm", "-o", "-"}, kGood);
  REQUIRE_MESSAGE(l.exit_code == 0, l.err);
  CHECK(contains(l.out, "@pass_all("));
  auto e = run_process({kWhistlerc, "-", "-o", "-"}, kBad);
  CHECK(e.exit_code == 1);
  CHECK(contains(e.err, "<stdin>:2:3: error: unknown form 'no-such-form'"));
}

TEST_CASE("-D defines constants and -I finds included files") {
  TempDir dir;
  fs::create_directories(dir.path / "lib");
  dir.file("lib/ports.lisp", "(defconstant +blocked+ 23)\n");
  std::string src = dir.file("main.lisp",
                             "(include \"ports.lisp\")\n"
                             "(defprog p (:type :xdp) (if (= +blocked+ LIMIT) XDP_DROP XDP_PASS))\n");
  auto missing = run_process({kWhistlerc, src, "-o", dir / "a.o", "-D", "LIMIT=23"});
  CHECK(missing.exit_code == 1);
  CHECK(contains(missing.err, "cannot find include file \"ports.lisp\""));
  auto ok = run_process({kWhistlerc, src, "-o", dir / "a.o", "-I", dir / "lib", "-D", "LIMIT=23", "--emit", "llvm"});
  REQUIRE_MESSAGE(ok.exit_code == 0, ok.err);
  // The comparison of two equal constants folds away: the program returns XDP_DROP.
  CHECK(contains(read(dir / "a.o"), "ret i32 1"));
}

TEST_CASE("-MD writes a depfile naming every file read") {
  TempDir dir;
  dir.file("common.lisp", "(defconstant +x+ 1)\n");
  std::string src = dir.file("main.lisp", "(include \"common.lisp\")\n(defprog p (:type :xdp) XDP_PASS)\n");
  auto r = run_process({kWhistlerc, src, "-o", dir / "main.o", "-MD", "-MF", dir / "main.d"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::string dep = read(dir / "main.d");
  CHECK(dep.rfind((dir / "main.o") + ":", 0) == 0);
  CHECK(contains(dep, src));
  CHECK(contains(dep, "common.lisp"));
}

TEST_CASE("--json reports diagnostics and programs") {
  TempDir dir;
  std::string bad = dir.file("bad.lisp", kBad);
  auto r = run_process({kWhistlerc, bad, "-o", dir / "bad.o", "--json"});
  CHECK(r.exit_code == 1);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["ok"] == false);
  REQUIRE(j["diagnostics"].size() == 1);
  CHECK(j["diagnostics"][0]["line"] == 2);
  CHECK(j["diagnostics"][0]["column"] == 3);
  CHECK(j["diagnostics"][0]["severity"] == "error");
  auto good = run_process({kWhistlerc, whistler::test::source_path("examples/drop9999.lisp"), "-o", dir / "d.o", "--json"});
  REQUIRE_MESSAGE(good.exit_code == 0, good.err);
  auto g = nlohmann::json::parse(good.out);
  CHECK(g["ok"] == true);
  CHECK(g["programs"][0]["elf_name"] == "drop_9999");
  CHECK(g["programs"][0]["instructions"].get<int>() > 0);
}

TEST_CASE("--check: the kernel verifier accepts every example at every optimisation level") {
  if (geteuid() != 0) {
    MESSAGE("skipped: loading programs needs root (CAP_BPF, CAP_PERFMON)");
    return;
  }
  int examples = 0;
  for (const auto& entry : fs::directory_iterator(whistler::test::source_path("examples"))) {
    if (entry.path().extension() != ".lisp") continue;
    ++examples;
    for (const char* level : {"-O0", "-O1", "-O2", "-O3"}) {
      CAPTURE(entry.path().string());
      CAPTURE(level);
      auto r = run_process({kWhistlerc, entry.path().string(), level, "-o", "/dev/null", "--check"});
      CHECK_MESSAGE(r.exit_code == 0, r.err);
      CHECK(contains(r.err, "the kernel verifier accepted every program"));
    }
  }
  CHECK(examples >= 12);
}

TEST_CASE("--check: a rejection is reported at the .lisp line, with the verifier's reason and a hint") {
  if (geteuid() != 0) {
    MESSAGE("skipped: loading programs needs root (CAP_BPF, CAP_PERFMON)");
    return;
  }
  TempDir dir;
  // A map lookup used without testing it for 0: the verifier refuses the load.
  std::string src = dir.file("unchecked.lisp",
                             "(defmap m :type :hash :key-size 4 :value-size 8 :max-entries 8)\n"
                             "(defprog unchecked (:type :xdp)\n"
                             "  (let ((p (map-lookup m 1)))\n"
                             "    (load u64 p 0)))\n");
  std::string out = dir / "unchecked.o";
  auto r = run_process({kWhistlerc, src, "-o", out, "--check"});
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(contains(r.err, src + ":4:5: error: the kernel verifier rejected program 'unchecked'"), r.err);
  CHECK(contains(r.err, "map_value_or_null"));
  CHECK(contains(r.err, "when-let"));
  CHECK_FALSE(fs::exists(out));
  auto verbose = run_process({kWhistlerc, src, "-o", out, "--check", "--verbose"});
  CHECK(contains(verbose.err, "---- verifier log ----"));
  CHECK(contains(verbose.err, "processed"));
}

TEST_CASE("--check leaves nothing in /sys/fs/bpf, even for maps declared :pinning :by-name") {
  if (geteuid() != 0) {
    MESSAGE("skipped: loading programs needs root (CAP_BPF, CAP_PERFMON)");
    return;
  }
  TempDir dir;
  std::string map_name = "wcheck_pin_" + std::to_string(getpid());
  fs::path pin = fs::path("/sys/fs/bpf") / map_name;
  std::string src = dir.file("pinned.lisp", "(defmap " + map_name +
                                                " :type :array :key-type u32 :value-type u64 :max-entries 4 :pinning :by-name)\n"
                                                "(defprog count-all (:type :xdp)\n"
                                                "  (incf (getmap " + map_name + " 0))\n"
                                                "  XDP_PASS)\n");
  auto r = run_process({kWhistlerc, src, "-o", dir / "pinned.o", "--check"});
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK_FALSE(fs::exists(pin));
  std::error_code ec;
  fs::remove(pin, ec);
}

TEST_CASE("--check: a ring buffer record never submitted is explained with a with-ringbuf hint") {
  if (geteuid() != 0) {
    MESSAGE("skipped: loading programs needs root (CAP_BPF, CAP_PERFMON)");
    return;
  }
  TempDir dir;
  std::string src = dir.file("leak.lisp",
                             "(defmap events :type :ringbuf :max-entries 4096)\n"
                             "(defprog leak (:type :xdp)\n"
                             "  (let ((rec (ringbuf-reserve events 8 0)))\n"
                             "    (when rec (store u64 rec 0 1)))\n"
                             "  XDP_PASS)\n");
  auto r = run_process({kWhistlerc, src, "-o", dir / "leak.o", "--check"});
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(contains(r.err, "error: the kernel verifier rejected program 'leak'"), r.err);
  CHECK_MESSAGE(contains(r.err, "hint: a ring buffer record is reserved but neither submitted nor discarded"), r.err);
}
