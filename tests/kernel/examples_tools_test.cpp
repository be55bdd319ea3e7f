// The object files whistlerc writes for the examples load with the standard
// tools: `bpftool prog loadall` (pinned in a bpffs directory of our own,
// removed afterwards) and `ip link set dev lo xdpgeneric obj ... sec ...`
// inside a network namespace this test creates and deletes. The host's
// interfaces are never touched.
#include <doctest/doctest.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include <bpf/libbpf.h>

#include "bpf_object.hpp"
#include "process_runner.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using whistler::test::ProcessResult;
using whistler::test::run_process;

namespace {

const std::string kWhistlerc = WHISTLERC_PATH;
constexpr long kBpfFsMagic = 0xcafe4a11;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("whistler-kernel-test-" + std::to_string(getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

struct Program {
  std::string name;  // ELF name
  std::string section;
};

struct ExampleObject {
  std::string example;  // file name
  std::string object;   // path of the .o whistlerc wrote
  std::vector<Program> programs;
};

// Compiles every example with the whistlerc binary; lists programs with libbpf.
std::vector<ExampleObject> build_examples(const TempDir& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(whistler::test::source_path("examples")))
    if (e.path().extension() == ".lisp") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<ExampleObject> out;
  for (const fs::path& f : files) {
    ExampleObject x;
    x.example = f.filename().string();
    x.object = (dir.path / (f.stem().string() + ".o")).string();
    ProcessResult r = run_process({kWhistlerc, f.string(), "-o", x.object});
    CHECK_MESSAGE(r.exit_code == 0, x.example << ": whistlerc failed:\n" << r.err);
    if (r.exit_code != 0) continue;
    whistler::runtime::RuntimeError err;
    auto obj = whistler::runtime::BpfObject::open_file(x.object, {}, err);
    REQUIRE_MESSAGE(obj, x.example << ": " << err.message);
    for (bpf_program* p : obj->programs()) x.programs.push_back({bpf_program__name(p), bpf_program__section_name(p)});
    CHECK_MESSAGE(!x.programs.empty(), x.example << ": no programs");
    out.push_back(std::move(x));
  }
  REQUIRE(out.size() >= 4);
  return out;
}

bool for_devmap_or_cpumap(const std::string& section) {
  return section.find("/devmap") != std::string::npos || section.find("/cpumap") != std::string::npos;
}

std::string joined(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

// A network namespace for the lifetime of the object.
struct NetNs {
  std::string name = "whistler-kt-" + std::to_string(getpid());
  bool created = false;
  NetNs() {
    run_process({"ip", "netns", "del", name});  // left over from a crashed run with this pid
    ProcessResult r = run_process({"ip", "netns", "add", name});
    REQUIRE_MESSAGE(r.exit_code == 0, "ip netns add " << name << ": " << r.err);
    created = true;
  }
  ~NetNs() {
    if (created) run_process({"ip", "netns", "del", name});
  }
  ProcessResult exec(std::vector<std::string> argv) const {
    argv.insert(argv.begin(), {"ip", "netns", "exec", name});
    return run_process(argv);
  }
  // `ip -j link show dev lo` inside the namespace.
  nlohmann::json lo() const {
    ProcessResult r = exec({"ip", "-j", "link", "show", "dev", "lo"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    REQUIRE_MESSAGE((j.is_array() && j.size() == 1), "unexpected ip -j output: " << r.out);
    return j[0];
  }
};

// A bpffs at /sys/fs/bpf: mounts one if there is none, and unmounts it after.
struct BpfFs {
  bool mounted_here = false;
  BpfFs() {
    struct statfs st {};
    if (statfs("/sys/fs/bpf", &st) == 0 && static_cast<long>(st.f_type) == kBpfFsMagic) return;
    fs::create_directories("/sys/fs/bpf");
    REQUIRE_MESSAGE(mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr) == 0, "cannot mount a bpffs at /sys/fs/bpf");
    mounted_here = true;
  }
  ~BpfFs() {
    if (mounted_here) umount("/sys/fs/bpf");
  }
};

// A directory of pins in the bpffs, removed (unpinned) when done.
struct PinDir {
  fs::path path;
  explicit PinDir(const std::string& name) : path("/sys/fs/bpf/whistler-kt-" + std::to_string(getpid()) + "-" + name) {
    fs::remove_all(path);
  }
  ~PinDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("whistlerc objects of every example load with bpftool prog loadall") {
  TempDir dir;
  BpfFs bpffs;
  for (const ExampleObject& x : build_examples(dir)) {
    CAPTURE(x.example);
    PinDir pin_dir(fs::path(x.object).stem().string());
    const fs::path& pins = pin_dir.path;
    // `type xdp` also sets the expected attach type BPF_XDP on every program,
    // which the verifier refuses for devmap/cpumap programs (they read
    // egress_ifindex): objects holding one load with the types libbpf infers
    // from the section names.
    bool special = std::any_of(x.programs.begin(), x.programs.end(), [](const Program& p) { return for_devmap_or_cpumap(p.section); });
    std::vector<std::string> argv = {"bpftool", "prog", "loadall", x.object, pins.string()};
    if (!special) argv.insert(argv.end(), {"type", "xdp"});
    ProcessResult r = run_process(argv);
    CHECK_MESSAGE(r.exit_code == 0, joined(argv) << "\n" << r.err);
    CHECK_MESSAGE(r.err.find("BTF is optional") == std::string::npos, r.err);
    if (r.exit_code == 0) {
      std::set<std::string> pinned, expected;
      for (const auto& e : fs::directory_iterator(pins)) pinned.insert(e.path().filename().string());
      for (const Program& p : x.programs) expected.insert(p.name);
      CHECK(pinned == expected);
      for (const Program& p : x.programs) {
        ProcessResult show = run_process({"bpftool", "-j", "prog", "show", "pinned", (pins / p.name).string()});
        REQUIRE_MESSAGE(show.exit_code == 0, show.err);
        nlohmann::json j = nlohmann::json::parse(show.out, nullptr, false);
        CHECK(j.value("type", "") == "xdp");
        // The full name (from BTF func info), not the kernel's 15-character one.
        CHECK(j.value("name", "") == p.name);
        CHECK_MESSAGE(j.contains("btf_id"), p.name << ": loaded without BTF");
      }
    }
  }
  // Nothing of ours left in the bpffs.
  for (const auto& e : fs::directory_iterator("/sys/fs/bpf"))
    CHECK(e.path().filename().string().rfind("whistler-kt-" + std::to_string(getpid()) + "-", 0) != 0);
}

TEST_CASE("whistlerc objects of every example attach with ip link ... xdpgeneric in a namespace") {
  TempDir dir;
  std::vector<ExampleObject> examples = build_examples(dir);
  NetNs ns;
  REQUIRE_FALSE(ns.lo().contains("xdp"));
  int attached = 0;
  for (const ExampleObject& x : examples) {
    for (const Program& p : x.programs) {
      // Programs for devmap/cpumap entries cannot be attached to a device.
      if (for_devmap_or_cpumap(p.section)) continue;
      CAPTURE(x.example);
      CAPTURE(p.section);
      std::vector<std::string> argv = {"ip", "link", "set", "dev", "lo", "xdpgeneric", "obj", x.object, "sec", p.section};
      ProcessResult r = ns.exec(argv);
      CHECK_MESSAGE(r.exit_code == 0, joined(argv) << "\n" << r.err);
      CHECK_MESSAGE(r.err.find("BTF is optional") == std::string::npos, r.err);
      if (r.exit_code != 0) continue;
      nlohmann::json lo = ns.lo();
      REQUIRE_MESSAGE(lo.contains("xdp"), "not attached: " << lo.dump());
      CHECK(lo["xdp"].value("mode", -1) == 2);  // XDP_ATTACHED_SKB (generic)
      std::string shown = lo["xdp"]["prog"].value("name", "");
      CHECK_MESSAGE((shown == p.name || shown == p.name.substr(0, 15)), "attached: " << shown);
      ++attached;
      ProcessResult off = ns.exec({"ip", "link", "set", "dev", "lo", "xdpgeneric", "off"});
      CHECK_MESSAGE(off.exit_code == 0, off.err);
      CHECK_FALSE(ns.lo().contains("xdp"));
    }
  }
  CHECK(attached >= 4);
}
