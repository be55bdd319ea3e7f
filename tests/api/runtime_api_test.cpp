// The public runtime API (include/whistler/runtime.hpp) through
// libwhistler.so: loading, test runs, maps, XDP attachments and the errors.
// Needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN), like the kernel tests.
// Attach tests run on `lo` of a network namespace of their own, never on
// the host's interfaces.
#include <doctest/doctest.h>
#include <sched.h>

#include <array>
#include <cstdio>
#include <cerrno>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <whistler/whistler.hpp>

#include "packet_builder.hpp"

namespace {

using whistler::ErrorKind;
using whistler::XdpAction;

const char* kSource = R"(
(defmap seen :type :percpu-array :key-type u32 :value-type u64 :max-entries 2)
(defmap last-port :type :array :key-type u32 :value-type u32 :max-entries 1)
(defmap blocked-ports :type :hash :key-type u32 :value-type u32 :max-entries 16)

(defprog drop-9999 (:type :xdp :section "xdp/drop_9999")
  (incf (getmap seen 0))
  (with-tcp (data data-end tcp)
    (setf (getmap last-port 0) (tcp-dst-port tcp))
    (when (= (tcp-dst-port tcp) 9999)
      (return XDP_DROP))
    (when (map-lookup blocked-ports (tcp-dst-port tcp))
      (return XDP_DROP)))
  XDP_PASS)

(defprog pass-all (:type :xdp) XDP_PASS)
)";

const whistler::CompileResult& compiled() {
  static const whistler::CompileResult r = whistler::compile_source(kSource, "api-test.lisp");
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  return r;
}

std::vector<std::uint8_t> tcp_to(int port) { return whistler::test::build_packet("tcp dport=" + std::to_string(port)); }

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

// Catches the whistler::Error `f` must throw.
template <class F>
whistler::Error error_of(F&& f) {
  try {
    f();
  } catch (const whistler::Error& e) {
    return e;
  }
  FAIL("no whistler::Error was thrown");
  throw std::logic_error("unreachable");
}

// Runs `fn` on a thread in a new network namespace (only `lo`, down); the
// namespace goes away with the thread.
template <class F>
void in_new_netns(F&& fn) {
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      REQUIRE(unshare(CLONE_NEWNET) == 0);
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
}

// `ip -d link show lo` in the calling thread's namespace (an oracle
// independent of the runtime).
std::string ip_link_lo() {
  std::string out;
  FILE* p = popen("ip -d link show dev lo 2>&1", "r");
  REQUIRE(p);
  std::array<char, 512> buf;
  while (fgets(buf.data(), buf.size(), p)) out += buf.data();
  pclose(p);
  return out;
}

}  // namespace

TEST_CASE("Object::load(CompileResult): test runs give XDP_DROP for TCP/9999 and XDP_PASS for TCP/80") {
  whistler::Object obj = whistler::Object::load(compiled());
  whistler::Program prog = obj.program("drop-9999");
  CHECK(prog.name() == "drop_9999");
  CHECK(prog.section() == "xdp/drop_9999");
  CHECK(prog.fd() >= 0);
  CHECK(prog.id() > 0);

  std::vector<std::uint8_t> drop = tcp_to(9999);
  whistler::TestRunResult r = prog.test_run(drop);
  CHECK(r.verdict == XdpAction::Drop);
  CHECK(std::string(whistler::to_string(r.verdict)) == "XDP_DROP");
  CHECK(r.packet == drop);

  r = prog.test_run(tcp_to(80));
  CHECK(r.verdict == XdpAction::Pass);

  // std::span<const std::byte> too, and a repeated run.
  std::vector<std::uint8_t> frame = tcp_to(9999);
  r = prog.test_run(std::as_bytes(std::span(frame)), 100);
  CHECK(r.verdict == XdpAction::Drop);
}

TEST_CASE("programs and maps are found by Whistler name and by ELF name") {
  whistler::Object obj = whistler::Object::load(compiled());
  CHECK(obj.program("drop-9999").name() == "drop_9999");
  CHECK(obj.program("drop_9999").name() == "drop_9999");
  CHECK(obj.program("pass-all").test_run(tcp_to(9999)).verdict == XdpAction::Pass);
  CHECK(obj.map("last-port").name() == "last_port");
  CHECK(obj.map("last_port").name() == "last_port");
  CHECK_FALSE(obj.find_program("nope").has_value());
  CHECK_FALSE(obj.find_map("nope").has_value());

  std::set<std::string> programs, maps;
  for (const auto& p : obj.programs()) programs.insert(p.name());
  for (const auto& m : obj.maps()) maps.insert(m.name());
  CHECK(programs == std::set<std::string>{"drop_9999", "pass_all"});
  CHECK(maps.count("seen"));
  CHECK(maps.count("last_port"));
  CHECK(maps.count("blocked_ports"));
}

TEST_CASE("loading from bytes: a vector, a pointer and size, std::byte, and a file") {
  const auto& elf = compiled().output;
  CHECK(whistler::Object::load(elf).program("drop-9999").test_run(tcp_to(9999)).verdict == XdpAction::Drop);
  CHECK(whistler::Object::load(elf.data(), elf.size()).program("drop-9999").test_run(tcp_to(80)).verdict ==
        XdpAction::Pass);
  CHECK(whistler::Object::load(std::as_bytes(std::span(elf))).programs().size() == 2);

  std::string path = "/tmp/whistler-api-test-" + std::to_string(getpid()) + ".o";
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(elf.data()), static_cast<std::streamsize>(elf.size()));
  whistler::Object obj = whistler::Object::load_file(path);
  whistler::LoadOptions options;
  options.name = "from_file";
  whistler::Object named = whistler::Object::load_file(path, options);
  std::remove(path.c_str());
  CHECK(obj.name() == path);
  CHECK(named.name() == "from_file");
  CHECK(obj.program("drop-9999").test_run(tcp_to(9999)).verdict == XdpAction::Drop);
  CHECK(whistler::Object::load(elf).name() == "whistler");
}

TEST_CASE("maps: what the program wrote (typed and raw), update, erase, keys and entries") {
  whistler::Object obj = whistler::Object::load(compiled());
  whistler::Program prog = obj.program("drop-9999");
  whistler::Map last = obj.map("last-port");
  whistler::Map blocked = obj.map("blocked-ports");
  whistler::Map seen = obj.map("seen");

  CHECK(last.type() == "array");
  CHECK(blocked.type() == "hash");
  CHECK(seen.type() == "percpu-array");
  CHECK(blocked.key_size() == 4);
  CHECK(blocked.value_size() == 4);
  CHECK(blocked.max_entries() == 16);
  CHECK_FALSE(blocked.per_cpu());
  CHECK(seen.per_cpu());
  CHECK(seen.cpus() >= 1);
  CHECK(blocked.cpus() == 1);
  CHECK(blocked.id() > 0);

  // The program stores the destination port it saw.
  CHECK(prog.test_run(tcp_to(8080)).verdict == XdpAction::Pass);
  CHECK(last.lookup<std::uint32_t>(std::uint32_t{0}) == 8080u);
  std::optional<whistler::Map::Bytes> raw = last.lookup(std::vector<std::uint8_t>{0, 0, 0, 0});
  REQUIRE(raw);
  std::uint32_t port = 8080;
  CHECK(*raw == std::vector<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&port), reinterpret_cast<std::uint8_t*>(&port) + 4));

  // Per-CPU counter: one test run counted once, on some CPU.
  CHECK(seen.sum(std::uint32_t{0}) == 1);
  prog.test_run(tcp_to(80), 5);
  CHECK(seen.sum(std::uint32_t{0}) == 6);
  CHECK(seen.sum(std::vector<std::uint8_t>{0, 0, 0, 0}) == 6);
  CHECK(seen.sum(std::uint32_t{1}) == 0);
  auto per_cpu = seen.lookup_per_cpu<std::uint64_t>(std::uint32_t{0});
  REQUIRE(per_cpu);
  CHECK(per_cpu->size() == seen.cpus());
  std::uint64_t total = 0;
  for (std::uint64_t v : *per_cpu) total += v;
  CHECK(total == 6);
  CHECK(seen.lookup(std::vector<std::uint8_t>{0, 0, 0, 0})->size() == seen.cpus() * 8);

  // User space fills the blocklist; the program drops what is in it.
  CHECK(blocked.size() == 0);
  CHECK_FALSE(blocked.lookup<std::uint32_t>(std::uint32_t{8080}).has_value());
  blocked.update(std::uint32_t{8080}, std::uint32_t{1});
  CHECK(blocked.lookup<std::uint32_t>(std::uint32_t{8080}) == 1u);
  CHECK(prog.test_run(tcp_to(8080)).verdict == XdpAction::Drop);
  CHECK(prog.test_run(tcp_to(8081)).verdict == XdpAction::Pass);

  std::vector<std::uint8_t> key{0x91, 0x1f, 0, 0};  // 8081, little-endian
  blocked.update(key, std::vector<std::uint8_t>{7, 0, 0, 0});
  CHECK(prog.test_run(tcp_to(8081)).verdict == XdpAction::Drop);
  CHECK(blocked.size() == 2);

  auto entries = blocked.entries<std::uint32_t, std::uint32_t>();
  std::set<std::pair<std::uint32_t, std::uint32_t>> got(entries.begin(), entries.end());
  CHECK(got == std::set<std::pair<std::uint32_t, std::uint32_t>>{{8080, 1}, {8081, 7}});
  auto raw_entries = blocked.entries();
  CHECK(raw_entries.size() == 2);
  CHECK(blocked.keys().size() == 2);
  CHECK(blocked.keys(1).size() == 1);

  // Update modes.
  whistler::Error exists = error_of([&] { blocked.update(std::uint32_t{8080}, std::uint32_t{2}, whistler::UpdateMode::NoExist); });
  CHECK(contains(exists.message(), "map 'blocked_ports' already has this key"));
  CHECK(blocked.lookup<std::uint32_t>(std::uint32_t{8080}) == 1u);
  blocked.update(std::uint32_t{8080}, std::uint32_t{3}, whistler::UpdateMode::Exist);
  CHECK(blocked.lookup<std::uint32_t>(std::uint32_t{8080}) == 3u);
  whistler::Error missing = error_of([&] { blocked.update(std::uint32_t{1}, std::uint32_t{2}, whistler::UpdateMode::Exist); });
  CHECK(missing.kind() == ErrorKind::NotFound);
  CHECK(contains(missing.message(), "has no such key"));

  CHECK(blocked.erase(std::uint32_t{8080}));
  CHECK_FALSE(blocked.erase(std::uint32_t{8080}));
  CHECK(blocked.erase(key));
  CHECK(blocked.size() == 0);
  CHECK(prog.test_run(tcp_to(8080)).verdict == XdpAction::Pass);

  // Array maps: every index exists, none can be deleted.
  last.update(std::uint32_t{0}, std::uint32_t{0});
  CHECK(last.lookup<std::uint32_t>(std::uint32_t{0}) == 0u);
  CHECK(last.keys().size() == 1);
  whistler::Error undeletable = error_of([&] { last.erase(std::uint32_t{0}); });
  CHECK(contains(undeletable.message(), "entries of array map 'last_port' cannot be deleted"));
}

TEST_CASE("LoadOptions::verifier_log keeps the verifier's log") {
  CHECK(whistler::Object::load(compiled()).program("drop-9999").verifier_log().empty());
  whistler::LoadOptions options;
  options.verifier_log = true;
  std::string log = whistler::Object::load(compiled(), options).program("drop-9999").verifier_log();
  CHECK(contains(log, "processed"));
}

TEST_CASE("handles keep the object loaded") {
  std::optional<whistler::Program> prog;
  std::optional<whistler::Map> map;
  {
    whistler::Object obj = whistler::Object::load(compiled());
    prog = obj.program("drop-9999");
    map = obj.map("last-port");
  }
  CHECK(prog->test_run(tcp_to(4242)).verdict == XdpAction::Pass);
  CHECK(map->lookup<std::uint32_t>(std::uint32_t{0}) == 4242u);
}

TEST_CASE("errors: a missing program or map names what the object has") {
  whistler::Object obj = whistler::Object::load(compiled());
  whistler::Error e = error_of([&] { obj.program("drop-8888"); });
  CHECK(e.kind() == ErrorKind::NotFound);
  CHECK(e.message() == "object 'whistler' has no program named 'drop-8888'; its programs: drop_9999, pass_all");
  CHECK(contains(e.hint(), "Whistler name (drop-9999) or ELF name (drop_9999)"));
  CHECK(contains(e.what(), "has no program named 'drop-8888'"));
  CHECK(contains(e.what(), "\n  hint: "));
  CHECK(std::string(whistler::to_string(e.kind())) == "not-found");

  e = error_of([&] { obj.map("counters"); });
  CHECK(e.kind() == ErrorKind::NotFound);
  CHECK(contains(e.message(), "has no map named 'counters'; its maps: "));
  CHECK(contains(e.message(), "last_port"));

  whistler::LoadOptions options;
  options.name = "filters";
  whistler::Object named = whistler::Object::load(compiled(), options);
  CHECK(contains(error_of([&] { named.program("x"); }).message(), "object 'filters' has no program named 'x'"));
}

TEST_CASE("errors: bytes that are not an ELF object, an empty object, a missing file") {
  std::vector<std::uint8_t> junk{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'};
  whistler::Error e = error_of([&] { whistler::Object::load(junk); });
  CHECK(e.kind() == ErrorKind::InvalidObject);
  CHECK(e.message() == "the BPF object 'whistler' is not an ELF object: it starts with 68 65 6c 6c instead of 7f 45 4c 46 (\"\\x7fELF\")");
  CHECK(contains(e.hint(), "whistlerc -o FILE.o"));

  e = error_of([&] { whistler::Object::load(std::vector<std::uint8_t>{}); });
  CHECK(e.kind() == ErrorKind::InvalidObject);
  CHECK(contains(e.message(), "is empty (0 bytes)"));

  // An ELF header followed by garbage: libbpf refuses it.
  std::vector<std::uint8_t> truncated(compiled().output.begin(), compiled().output.begin() + 64);
  e = error_of([&] { whistler::Object::load(truncated); });
  CHECK(e.kind() == ErrorKind::InvalidObject);
  CHECK(contains(e.message(), "cannot open BPF object whistler: "));
  CHECK_FALSE(contains(e.message(), "Unknown error"));

  e = error_of([&] { whistler::Object::load_file("/nonexistent/drop.o"); });
  CHECK(e.kind() == ErrorKind::NotFound);
  CHECK(e.message() == "cannot read '/nonexistent/drop.o': No such file or directory");
}

TEST_CASE("errors: load_file of a directory, an unreadable file, a file over 256 MiB, and garbage") {
  // Each is refused before the kernel is asked anything (no root needed).
  std::string dir = "/tmp/whistler-api-load-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  whistler::Error e = error_of([&] { whistler::Object::load_file(dir); });
  CHECK(e.kind() == ErrorKind::InvalidObject);
  CHECK(e.message() == "cannot read '" + dir + "': Is a directory");
  CHECK(e.error_number() == EISDIR);

  e = error_of([&] { whistler::Object::load_file("/proc/self/mem"); });
  CHECK(e.kind() == ErrorKind::Other);
  CHECK(e.message() == "cannot read '/proc/self/mem': Input/output error");

  std::string big = dir + "/big.o";
  std::ofstream(big).close();
  std::filesystem::resize_file(big, 300'000'000);  // sparse: refused by its size
  e = error_of([&] { whistler::Object::load_file(big); });
  CHECK(e.kind() == ErrorKind::InvalidObject);
  CHECK(e.message() == "cannot read '" + big +
                           "': the file is larger than 256 MiB, the limit for a BPF object file (it has 300000000 bytes)");

  std::string junk = dir + "/junk.o";
  std::ofstream(junk, std::ios::binary) << std::string("\0\xff\xfe garbage", 11);
  e = error_of([&] { whistler::Object::load_file(junk); });
  CHECK(e.kind() == ErrorKind::InvalidObject);
  CHECK(contains(e.message(), "'" + junk + "' is not an ELF object: it starts with 00 ff fe 20"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("errors: loading a compilation that failed carries its diagnostics") {
  whistler::CompileResult bad = whistler::compile_source("(defprog p (:type :xdp) (frob))", "bad.lisp");
  whistler::Error e = error_of([&] { whistler::Object::load(bad); });
  CHECK(e.kind() == ErrorKind::CompileFailed);
  CHECK(e.message() == "the program did not compile: bad.lisp:1:25: unknown form 'frob'");
  CHECK(contains(e.detail(), "bad.lisp:1:25: error: unknown form 'frob'"));

  whistler::CompileOptions asm_options;
  asm_options.output = whistler::OutputKind::Assembly;
  whistler::CompileResult text = whistler::compile_source("(defprog p (:type :xdp) XDP_PASS)", "p.lisp", asm_options);
  REQUIRE(text.ok());
  CHECK(error_of([&] { whistler::Object::load(text); }).kind() == ErrorKind::InvalidObject);
}

TEST_CASE("errors: a verifier rejection carries the log and a hint") {
  // Past the verifier's complexity limits, which the compiler does not model:
  // compiled, refused by the verifier.
  whistler::CompileResult r = whistler::compile_source(R"((defmap counts :type :array :key-type u32 :value-type u64 :max-entries 1)
(defprog unchecked (:type :xdp)
  (dotimes (i 9000)
    (when (= (getmap counts 0) i) (incf (getmap counts 0))))
  XDP_PASS))",
                                                       "unchecked.lisp");
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  whistler::Error e = error_of([&] { whistler::Object::load(r); });
  CHECK(e.kind() == ErrorKind::VerifierRejected);
  CHECK_MESSAGE(contains(e.message(), "unchecked"), e.message());
  CHECK_MESSAGE(contains(e.message(), "unchecked.lisp:4"), e.message());
  CHECK_MESSAGE(contains(e.detail(), "8193 jumps is too complex"), e.detail());
  CHECK_MESSAGE(contains(e.hint(), "tail calls"), e.hint());
}

TEST_CASE("errors: wrong key and value sizes, short packets") {
  whistler::Object obj = whistler::Object::load(compiled());
  whistler::Map blocked = obj.map("blocked-ports");
  whistler::Error e = error_of([&] { blocked.lookup<std::uint64_t>(std::uint32_t{1}); });
  CHECK(e.kind() == ErrorKind::BadValue);
  CHECK(e.message() == "map 'blocked_ports' has 4-byte keys and 4-byte values; the types used have 4 and 8");

  e = error_of([&] { blocked.update(std::uint16_t{1}, std::uint32_t{1}); });
  CHECK(e.message() == "map 'blocked_ports' has 4-byte keys and 4-byte values; the types used have 2 and 4");

  e = error_of([&] { blocked.lookup(std::vector<std::uint8_t>{1, 2}); });
  CHECK(e.kind() == ErrorKind::BadValue);
  CHECK(e.message() == "a key of map 'blocked_ports' has 4 bytes, got 2");

  e = error_of([&] { blocked.update(std::vector<std::uint8_t>{1, 2, 3, 4}, std::vector<std::uint8_t>{1}); });
  CHECK(e.message() == "a value of map 'blocked_ports' has 4 bytes, got 1");

  e = error_of([&] { obj.map("seen").lookup<std::uint64_t>(std::uint32_t{0}); });
  CHECK(contains(e.message(), "map 'seen' is a percpu-array map: it holds one value per CPU"));
  CHECK(contains(e.hint(), "lookup_per_cpu"));

  e = error_of([&] { obj.program("drop-9999").test_run(std::vector<std::uint8_t>(10)); });
  CHECK(e.kind() == ErrorKind::BadValue);
  CHECK(e.message() == "test run of program 'drop_9999': a test packet needs at least 14 bytes (an Ethernet header), got 10");
}

TEST_CASE("XDP modes: names as ip link spells them") {
  CHECK(std::string(whistler::to_string(whistler::XdpMode::Auto)) == "xdp");
  CHECK(std::string(whistler::to_string(whistler::XdpMode::Native)) == "xdpdrv");
  CHECK(std::string(whistler::to_string(whistler::XdpMode::Generic)) == "xdpgeneric");
  CHECK(std::string(whistler::to_string(whistler::XdpMode::Offload)) == "xdpoffload");
  CHECK(whistler::parse_xdp_mode("xdpgeneric") == whistler::XdpMode::Generic);
  CHECK(whistler::parse_xdp_mode("xdpdrv") == whistler::XdpMode::Native);
  CHECK_FALSE(whistler::parse_xdp_mode("fast").has_value());
}

TEST_CASE("attach_xdp: a BPF link on lo, detached when the XdpLink goes") {
  whistler::Object obj = whistler::Object::load(compiled());
  whistler::Program prog = obj.program("drop-9999");
  in_new_netns([&] {
    CHECK_FALSE(contains(ip_link_lo(), "prog/xdp"));
    {
      whistler::XdpLink link = prog.attach_xdp("lo", whistler::XdpMode::Generic);
      CHECK(link.attached());
      CHECK(link.interface() == "lo");
      CHECK(link.ifindex() == 1);
      CHECK(link.mode() == whistler::XdpMode::Generic);
      CHECK(link.program_id() == prog.id());
      CHECK(link.link_id() > 0);
      std::string shown = ip_link_lo();
      CHECK(contains(shown, "xdpgeneric"));
      CHECK(contains(shown, "id " + std::to_string(prog.id())));

      // Moving keeps it attached.
      whistler::XdpLink moved = std::move(link);
      CHECK(moved.attached());
      CHECK(contains(ip_link_lo(), "xdpgeneric"));
    }
    CHECK_FALSE(contains(ip_link_lo(), "prog/xdp"));

    // detach(), twice.
    whistler::XdpLink link = prog.attach_xdp("lo", whistler::XdpMode::Generic);
    CHECK(contains(ip_link_lo(), "xdpgeneric"));
    link.detach();
    CHECK_FALSE(link.attached());
    CHECK_FALSE(contains(ip_link_lo(), "prog/xdp"));
    link.detach();
  });
}

TEST_CASE("attach_xdp: refusals explain themselves") {
  whistler::Object obj = whistler::Object::load(compiled());
  whistler::Program prog = obj.program("drop-9999");
  whistler::Program other = obj.program("pass-all");
  in_new_netns([&] {
    whistler::Error e = error_of([&] { prog.attach_xdp("nosuch0", whistler::XdpMode::Generic); });
    CHECK(e.kind() == ErrorKind::InterfaceMissing);
    CHECK(contains(e.message(), "no network interface named 'nosuch0'"));

    // lo has no native XDP.
    e = error_of([&] { prog.attach_xdp("lo", whistler::XdpMode::Native); });
    CHECK(e.kind() == ErrorKind::NativeUnsupported);
    CHECK(contains(e.message(), "does not support native XDP"));
    // Hints name the API's spellings, not the command line's.
    CHECK(contains(e.hint(), "use XdpMode::Generic"));
    CHECK_FALSE(contains(e.hint(), "--mode"));

    whistler::XdpLink first = prog.attach_xdp("lo", whistler::XdpMode::Generic);
    e = error_of([&] { other.attach_xdp("lo", whistler::XdpMode::Generic); });
    CHECK(e.kind() == ErrorKind::AlreadyAttached);
    CHECK(contains(e.message(), "lo already runs XDP program 'drop_9999'"));
    CHECK(contains(e.hint(), "XdpAttachOptions::replace"));

    // Replacing swaps the program atomically; ours is no longer the one running.
    whistler::XdpLink second = other.attach_xdp("lo", {.mode = whistler::XdpMode::Generic, .replace = true});
    CHECK(second.attached());
    CHECK_FALSE(first.attached());
    CHECK(contains(ip_link_lo(), "id " + std::to_string(other.id())));
  });
}
