// The whistlerc command line: outputs, exit codes, diagnostics, --check.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

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

TEST_CASE("a missing input file is an error at the file, not a crash") {
  auto r = run_process({kWhistlerc, "/nonexistent/x.lisp", "-o", "/tmp/whistlerc-never.o"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "/nonexistent/x.lisp: error: cannot read: No such file or directory\n");
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
  // Past the verifier's complexity limits (which whistlerc does not model):
  // a test in each of 9,000 iterations leaves more than 8,192 branches pending.
  std::string src = dir.file("unchecked.lisp",
                             "(defmap counts :type :array :key-type u32 :value-type u64 :max-entries 1)\n"
                             "(defprog unchecked (:type :xdp)\n"
                             "  (dotimes (i 9000)\n"
                             "    (when (= (getmap counts 0) i) (incf (getmap counts 0))))\n"
                             "  XDP_PASS)\n");
  std::string out = dir / "unchecked.o";
  auto r = run_process({kWhistlerc, src, "-o", out, "--check"});
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(contains(r.err, src + ":4:5: error: the kernel verifier rejected program 'unchecked'"), r.err);
  CHECK(contains(r.err, "The sequence of 8193 jumps is too complex"));
  CHECK(contains(r.err, "hint: the verifier follows each undecided branch"));
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

TEST_CASE("a ring buffer record never submitted is a compile error with a with-ringbuf hint, before any --check") {
  TempDir dir;
  std::string src = dir.file("leak.lisp",
                             "(defmap events :type :ringbuf :max-entries 4096)\n"
                             "(defprog leak (:type :xdp)\n"
                             "  (let ((rec (ringbuf-reserve events 8 0)))\n"
                             "    (when rec (store u64 rec 0 1)))\n"
                             "  XDP_PASS)\n");
  auto r = run_process({kWhistlerc, src, "-o", dir / "leak.o"});
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(contains(r.err, src + ":2:1: error: the program ends after its last form while the ring buffer record reserved at 3:14 may be neither submitted nor discarded"), r.err);
  CHECK_MESSAGE(contains(r.err, "(with-ringbuf (REC MAP SIZE) ...) submits the record"), r.err);
  CHECK_FALSE(fs::exists(dir / "leak.o"));
}

// ---------------------------------------------------------------------------
// How outputs are written: through symbolic links, into devices and FIFOs in
// place, atomically over regular files; never over a directory.

namespace {

fs::file_type type_of(const std::string& path) { return fs::symlink_status(path).type(); }

struct stat stat_of(const std::string& path) {
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st;
}

// The names in a directory, sorted: temporary files left behind show here.
std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A character device node of our own (never the real /dev/null or /dev/full).
bool make_char_device(const std::string& path, unsigned major, unsigned minor) {
  return ::mknod(path.c_str(), S_IFCHR | 0666, makedev(major, minor)) == 0;
}

bool is_object_for_good(const std::string& bytes) {
  if (bytes.rfind("\x7f" "ELF", 0) != 0) return false;
  return whistler::test::inspect_elf(bytes).symbol("pass_all") != nullptr;
}

mode_t current_umask() {
  mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

}  // namespace

TEST_CASE("-o onto a symbolic link writes the file it points to, and the link stays a link") {
  TempDir dir;
  std::string src = dir.file("ok.lisp", kGood);
  fs::create_directories(dir.path / "objects");
  std::string target = dir.file("objects/real.o", "previous contents");
  REQUIRE(::chmod(target.c_str(), 0640) == 0);
  fs::create_symlink("objects/real.o", dir.path / "link.o");
  auto r = run_process({kWhistlerc, src, "-o", dir / "link.o"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(type_of(dir / "link.o") == fs::file_type::symlink);
  CHECK(fs::read_symlink(dir.path / "link.o") == "objects/real.o");
  CHECK(type_of(target) == fs::file_type::regular);
  CHECK(is_object_for_good(read(target)));
  CHECK((stat_of(target).st_mode & 07777) == 0640);
  CHECK(names_in(dir.path / "objects") == std::vector<std::string>{"real.o"});  // no temporary file left

  // A link to a link, and a depfile through a link.
  fs::create_symlink("link.o", dir.path / "link2.o");
  fs::create_symlink("objects/real.d", dir.path / "link.d");
  std::ofstream(dir / "objects/real.d") << "old depfile\n";
  auto chain = run_process({kWhistlerc, src, "-o", dir / "link2.o", "-MD", "-MF", dir / "link.d"});
  REQUIRE_MESSAGE(chain.exit_code == 0, chain.err);
  CHECK(type_of(dir / "link2.o") == fs::file_type::symlink);
  CHECK(type_of(dir / "link.o") == fs::file_type::symlink);
  CHECK(type_of(dir / "link.d") == fs::file_type::symlink);
  CHECK(is_object_for_good(read(target)));
  CHECK(read(dir / "objects/real.d").rfind((dir / "link2.o") + ":", 0) == 0);

  // A dangling link: its target is created, as open(2) would.
  fs::create_symlink("objects/new.o", dir.path / "dangling.o");
  auto dangling = run_process({kWhistlerc, src, "-o", dir / "dangling.o"});
  REQUIRE_MESSAGE(dangling.exit_code == 0, dangling.err);
  CHECK(type_of(dir / "dangling.o") == fs::file_type::symlink);
  CHECK(type_of(dir / "objects/new.o") == fs::file_type::regular);
  CHECK(is_object_for_good(read(dir / "objects/new.o")));
}

TEST_CASE("-o onto a character device writes it in place: a /dev/null stays a device, a /dev/full is exit 3") {
  TempDir dir;
  std::string src = dir.file("ok.lisp", kGood);
  std::string null = dir / "null", full = dir / "full";
  if (!make_char_device(null, 1, 3) || !make_char_device(full, 1, 7)) {
    MESSAGE("skipped: creating device nodes needs CAP_MKNOD and a file system mounted with dev");
    return;
  }
  auto ok = run_process({kWhistlerc, src, "-o", null});
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  CHECK(type_of(null) == fs::file_type::character);
  CHECK(stat_of(null).st_rdev == makedev(1, 3));

  auto r = run_process({kWhistlerc, src, "-o", full});
  CHECK(r.exit_code == 3);
  CHECK(r.err == "whistlerc: cannot write '" + full + "': No space left on device\n");
  CHECK(type_of(full) == fs::file_type::character);
  CHECK(stat_of(full).st_rdev == makedev(1, 7));

  // The depfile, and assembly to standard output, too.
  auto dep = run_process({kWhistlerc, src, "-o", null, "-MD", "-MF", full});
  CHECK(dep.exit_code == 3);
  CHECK(dep.err == "whistlerc: cannot write '" + full + "': No space left on device\n");
  auto out = run_process({"sh", "-c", "'" + kWhistlerc + "' '" + src + "' --emit asm -o - > '" + full + "'"});
  CHECK(out.exit_code == 3);
  CHECK(out.err == "whistlerc: cannot write to standard output: No space left on device\n");
  CHECK(type_of(full) == fs::file_type::character);
  CHECK(names_in(dir.path) == std::vector<std::string>{"full", "null", "ok.lisp"});  // no temporary files
}

TEST_CASE("-o onto a FIFO writes into the FIFO, which stays a FIFO") {
  TempDir dir;
  std::string src = dir.file("ok.lisp", kGood);
  std::string fifo = dir / "pipe.o";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  // The read end is open before whistlerc starts (without a writer, poll
  // reports nothing until one comes): whistlerc's open(2) does not block.
  int rd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  REQUIRE(rd >= 0);
  std::atomic<bool> done{false};
  whistler::test::ProcessResult r;
  std::thread writer([&] {
    r = run_process({kWhistlerc, src, "-o", fifo});
    done = true;
  });
  std::string got;
  bool eof = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!eof && std::chrono::steady_clock::now() < deadline) {
    pollfd p{rd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char buf[4096];
      ssize_t n = ::read(rd, buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
      else if (n == 0) eof = true;  // the writer closed its end
    } else if (done && ::poll(&p, 1, 0) <= 0) {
      break;  // whistlerc ended without ever opening the FIFO
    }
  }
  writer.join();
  ::close(rd);
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(eof);
  CHECK(is_object_for_good(got));
  CHECK(type_of(fifo) == fs::file_type::fifo);
  CHECK(names_in(dir.path) == std::vector<std::string>{"ok.lisp", "pipe.o"});
}

TEST_CASE("-o onto an existing file replaces it atomically and keeps its permissions; a new file gets 0666 minus the umask") {
  TempDir dir;
  std::string src = dir.file("ok.lisp", kGood);
  std::string out = dir.file("out.o", "previous contents");
  REQUIRE(::chmod(out.c_str(), 0640) == 0);
  int old_fd = ::open(out.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(old_fd >= 0);
  ino_t old_inode = stat_of(out).st_ino;
  auto r = run_process({kWhistlerc, src, "-o", out});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(is_object_for_good(read(out)));
  CHECK((stat_of(out).st_mode & 07777) == 0640);
  // A new file was renamed over the old one, which was never written:
  // a reader that had it open still sees the previous contents.
  CHECK(stat_of(out).st_ino != old_inode);
  char buf[64] = {};
  CHECK(::pread(old_fd, buf, sizeof buf - 1, 0) == 17);
  CHECK(std::string(buf) == "previous contents");
  ::close(old_fd);
  CHECK(names_in(dir.path) == std::vector<std::string>{"ok.lisp", "out.o"});

  fs::remove(out);
  auto fresh = run_process({kWhistlerc, src, "-o", out});
  REQUIRE_MESSAGE(fresh.exit_code == 0, fresh.err);
  CHECK((stat_of(out).st_mode & 07777) == (0666 & ~current_umask()));
}

TEST_CASE("-o onto a directory is an error with exit 3, and the directory is untouched") {
  TempDir dir;
  std::string src = dir.file("ok.lisp", kGood);
  fs::create_directories(dir.path / "objects");
  auto r = run_process({kWhistlerc, src, "-o", dir / "objects"});
  CHECK(r.exit_code == 3);
  CHECK(r.err == "whistlerc: cannot write '" + (dir / "objects") + "': Is a directory\n");
  CHECK(type_of(dir / "objects") == fs::file_type::directory);
  CHECK(names_in(dir.path / "objects").empty());
  CHECK(names_in(dir.path) == std::vector<std::string>{"objects", "ok.lisp"});
}

TEST_CASE("with errors nothing is written: not through a link, not into a device") {
  TempDir dir;
  std::string src = dir.file("bad.lisp", kBad);
  std::string target = dir.file("real.o", "previous contents");
  fs::create_symlink("real.o", dir.path / "link.o");
  auto r = run_process({kWhistlerc, src, "-o", dir / "link.o", "-MD"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.err, src + ":2:3: error: unknown form 'no-such-form'"));
  CHECK(type_of(dir / "link.o") == fs::file_type::symlink);
  CHECK(read(target) == "previous contents");
  CHECK(names_in(dir.path) == std::vector<std::string>{"bad.lisp", "link.o", "real.o"});
  std::string full = dir / "full";
  if (make_char_device(full, 1, 7)) {
    auto d = run_process({kWhistlerc, src, "-o", full});
    CHECK(d.exit_code == 1);  // not 3: the device was not written
    CHECK_FALSE(contains(d.err, "cannot write"));
  }
}

// ---------------------------------------------------------------------------
// Bad input never crashes: a located error ("FILE: error: ...") and exit 1.

namespace {

std::string random_bytes(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

// Writes `count` copies of `c` without holding them all in memory.
void write_repeated(const std::string& path, char c, size_t count, const std::string& prefix = {},
                    const std::string& suffix = {}) {
  std::ofstream out(path, std::ios::binary);
  out << prefix;
  std::string chunk(1 << 20, c);
  for (size_t left = count; left > 0;) {
    size_t n = std::min(left, chunk.size());
    out.write(chunk.data(), static_cast<std::streamsize>(n));
    left -= n;
  }
  out << suffix;
  REQUIRE(out.good());
}

}  // namespace

TEST_CASE("an input that is a directory is an error at the file (exit 1), also as JSON, and nothing is written") {
  TempDir dir;
  fs::create_directories(dir.path / "src");
  std::string out = dir / "out.o";
  auto r = run_process({kWhistlerc, dir / "src", "-o", out});
  CHECK(r.exit_code == 1);
  CHECK(r.err == (dir / "src") + ": error: cannot read: Is a directory\n");
  CHECK_FALSE(fs::exists(out));
  auto j = run_process({kWhistlerc, dir / "src", "-o", out, "--json"});
  CHECK(j.exit_code == 1);
  auto json = nlohmann::json::parse(j.out);
  REQUIRE(json["diagnostics"].size() == 1);
  CHECK(json["diagnostics"][0]["file"] == dir / "src");
  CHECK(json["diagnostics"][0]["line"].is_null());
  CHECK(json["diagnostics"][0]["message"] == "cannot read: Is a directory");
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("standard input that is a directory is an error, not an object without programs") {
  TempDir dir;
  std::string out = dir / "out.o";
  auto r = run_process({"sh", "-c", "'" + kWhistlerc + "' - -o '" + out + "' < '" + dir.path.string() + "'"});
  CHECK(r.exit_code == 1);
  CHECK(r.err == "<stdin>: error: cannot read: Is a directory\n");
  CHECK_FALSE(fs::exists(out));
}

TEST_CASE("an input that cannot be read: an I/O error, and permission denied") {
  TempDir dir;
  // Reading /proc/self/mem from offset 0 fails with EIO (nothing is mapped there).
  auto io = run_process({kWhistlerc, "/proc/self/mem", "-o", dir / "out.o"});
  CHECK(io.exit_code == 1);
  CHECK(io.err == "/proc/self/mem: error: cannot read: Input/output error\n");
  CHECK_FALSE(fs::exists(dir / "out.o"));

  // Root reads any file: run as nobody to be refused.
  std::string src = dir.file("secret.lisp", kGood);
  REQUIRE(::chmod(src.c_str(), 0) == 0);
  std::vector<std::string> argv = {kWhistlerc, src, "--emit", "asm", "-o", "-"};
  if (geteuid() == 0) {
    if (!fs::exists("/usr/bin/setpriv")) {
      MESSAGE("skipped the permission case: it needs setpriv (util-linux) to run as nobody");
      return;
    }
    argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
    if (run_process({argv[0], argv[1], argv[2], argv[3], kWhistlerc, "--version"}).exit_code != 0) {
      std::string why = "skipped the permission case: nobody cannot run " + kWhistlerc;
      MESSAGE(why);
      return;
    }
  }
  auto denied = run_process(argv);
  CHECK(denied.exit_code == 1);
  CHECK(denied.err == src + ": error: cannot read: Permission denied\n");
  CHECK(denied.out.empty());
}

TEST_CASE("binary input: random bytes, NUL bytes and invalid UTF-8 give located errors, as text and as JSON") {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"random.lisp", random_bytes(64 * 1024, 7)},
      {"nuls.lisp", std::string(4096, '\0')},
      {"nul-in-form.lisp", "(defprog p (:type :xdp)\n  " + std::string(3, '\0') + " XDP_PASS)\n"},
      {"utf8-symbol.lisp", "(defprog p (:type :xdp)\n  (\xff\xfe 1)\n  XDP_PASS)\n"},
      {"utf8-string.lisp", "(defprog p (:type :xdp :section \"xdp/\xc3\x28\") XDP_PASS)\n(bogus \"\xe2\x82\")\n"},
  };
  for (const auto& [name, bytes] : inputs) {
    CAPTURE(name);
    std::string src = dir.file(name, bytes);
    std::string out = dir / (name + ".o");
    auto r = run_process({kWhistlerc, src, "-o", out});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.rfind(src + ":", 0) == 0, r.err.substr(0, 300));
    CHECK(contains(r.err, ": error: "));
    CHECK_FALSE(fs::exists(out));
    auto j = run_process({kWhistlerc, src, "-o", out, "--json"});
    CHECK(j.exit_code == 1);
    nlohmann::json json;
    REQUIRE_NOTHROW(json = nlohmann::json::parse(j.out));
    CHECK(json["ok"] == false);
    REQUIRE(!json["diagnostics"].empty());
    CHECK(json["diagnostics"][0]["file"] == src);
    CHECK(json["diagnostics"][0]["line"].is_number());
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("inputs over 16 MiB are refused with the limit: 200 MB of '(', a 100 MB comment line, /dev/zero") {
  TempDir dir;
  const std::string limit = "the limit for a source file";
  std::string parens = dir / "parens.lisp";
  write_repeated(parens, '(', 200'000'000);
  auto p = run_process({kWhistlerc, parens, "-o", dir / "out.o"});
  fs::remove(parens);
  CHECK(p.exit_code == 1);
  CHECK(p.err == parens + ": error: cannot read: the file is larger than 16 MiB, " + limit + " (it has 200000000 bytes)\n");

  std::string comment = dir / "comment.lisp";
  write_repeated(comment, 'x', 100'000'000, ";", std::string("\n") + kGood);
  auto c = run_process({kWhistlerc, comment, "-o", dir / "out.o"});
  fs::remove(comment);
  CHECK(c.exit_code == 1);
  CHECK(contains(c.err, comment + ": error: cannot read: the file is larger than 16 MiB"));

  // A device that never ends, by name and as standard input.
  auto zero = run_process({kWhistlerc, "/dev/zero", "-o", dir / "out.o"});
  CHECK(zero.exit_code == 1);
  CHECK(zero.err == "/dev/zero: error: cannot read: the input is larger than 16 MiB, " + limit + "\n");
  auto zero_in = run_process({"sh", "-c", "'" + kWhistlerc + "' - -o '" + (dir / "out.o") + "' < /dev/zero"});
  CHECK(zero_in.exit_code == 1);
  CHECK(zero_in.err == "<stdin>: error: cannot read: the input is larger than 16 MiB, " + limit + "\n");
  CHECK_FALSE(fs::exists(dir / "out.o"));

  // Just under the limit is read and compiled.
  std::string big = dir / "big.lisp";
  write_repeated(big, 'x', (size_t{16} << 20) - 1000, ";", std::string("\n") + kGood);
  auto b = run_process({kWhistlerc, big, "--emit", "asm", "-o", dir / "big.s"});
  CHECK_MESSAGE(b.exit_code == 0, b.err.substr(0, 300));
  CHECK(contains(read(dir / "big.s"), "pass_all:"));
}

TEST_CASE("deep nesting: 100,000 open parentheses, closed or not, are a located error") {
  TempDir dir;
  for (bool closed : {false, true}) {
    CAPTURE(closed);
    std::string src = dir.file(closed ? "closed.lisp" : "open.lisp",
                               std::string(100'000, '(') + (closed ? std::string(100'000, ')') : std::string()));
    auto r = run_process({kWhistlerc, src, "-o", dir / "out.o"});
    CHECK(r.exit_code == 1);
    CHECK_MESSAGE(r.err.rfind(src + ":1:", 0) == 0, r.err.substr(0, 300));
    CHECK(contains(r.err, "error: "));
    CHECK_FALSE(fs::exists(dir / "out.o"));
  }
}
