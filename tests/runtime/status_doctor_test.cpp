// `whistler status`, `whistler doctor` and `whistler detach` when there is
// nothing to detach, in network namespaces of the test's own (never the
// host's interfaces) with a private BPF filesystem.
#include <doctest/doctest.h>
#include <linux/capability.h>
#include <sys/utsname.h>

#include <csignal>
#include <filesystem>
#include <sstream>

#include "exit_codes.hpp"
#include "harness.hpp"

using namespace whistler::rt;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json parse(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  REQUIRE_MESSAGE(!j.is_discarded(), "not JSON: " << text);
  return j;
}

const json* interface_named(const json& status, const std::string& name) {
  for (const auto& i : status["interfaces"])
    if (i.value("name", "") == name) return &i;
  return nullptr;
}

const json* check_named(const json& doctor, const std::string& name) {
  for (const auto& c : doctor["checks"])
    if (c.value("check", "") == name) return &c;
  return nullptr;
}

// The doctor's text line for a check: "STATUS NAME TEXT".
std::string doctor_line(const std::string& out, const std::string& name) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string status, check;
    words >> status >> check;
    if (check == name) return line;
  }
  return {};
}

SpawnOptions piped(SpawnOptions o) {
  o.stdin_pipe = true;
  return o;
}

}  // namespace

TEST_CASE("status: nothing attached in a fresh namespace, as text and as JSON") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  TempBpffs bpffs;
  SpawnOptions env = with_env(pair.a.name(), "WHISTLER_BPFFS", bpffs.path());
  Result text = run({whistler_path(), "status"}, env);
  CHECK(text.exit_code == whistler::kExitOk);
  CHECK_MESSAGE(contains(text.out, "no XDP programs are attached in this network namespace"), text.out);
  CHECK(text.err.empty());
  Result j = run({whistler_path(), "status", "--json"}, env);
  CHECK(j.exit_code == whistler::kExitOk);
  json s = parse(j.out);
  CHECK(s["interfaces"].is_array());
  CHECK(s["interfaces"].empty());
  CHECK(s["pins"].empty());
  CHECK(s["bpffs"]["root"] == bpffs.path());
  CHECK(s["bpffs"]["mounted"] == true);
  CHECK(s["bpffs"]["whistler_dir"] == bpffs.path() + "/whistler");
  // One interface asked for: listed even without a program.
  Result one = run({whistler_path(), "status", "--json", "--iface", pair.a_if}, env);
  json o = parse(one.out);
  REQUIRE(o["interfaces"].size() == 1);
  CHECK(o["interfaces"][0]["name"] == "veth0");
  CHECK(o["interfaces"][0]["driver"] == "veth");
  CHECK(o["interfaces"][0]["xdp"].empty());
  Result one_text = run({whistler_path(), "status", "--iface", pair.a_if}, env);
  CHECK(contains(one_text.out, "no XDP program is attached to veth0"));
  // No BPF filesystem: said, with the command that mounts one.
  TempDir plain;
  Result no_fs = run({whistler_path(), "status"}, with_env(pair.a.name(), "WHISTLER_BPFFS", plain.path()));
  CHECK(no_fs.exit_code == whistler::kExitOk);
  CHECK(contains(no_fs.out, "no BPF filesystem at " + plain.path() + " (mount -t bpf bpf " + plain.path() + "), so no pins"));
}

TEST_CASE("status: a program attached from the REPL shows its interface, mode, id and the link the session holds") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  TempBpffs bpffs;
  SpawnOptions env = with_env(pair.a.name(), "WHISTLER_BPFFS", bpffs.path());
  Process repl({whistler_path(), "repl"}, piped(env));
  repl.write(std::string(kDrop9999) + "(attach-xdp drop-9999 \"veth0\" :mode \"xdpgeneric\")\n");
  REQUIRE_MESSAGE(repl.wait_for("; attached", 20), (repl.out() + repl.err()));
  LinkXdp x = link_xdp(pair.a.name(), pair.a_if);
  REQUIRE(x.attached);

  Result text = run({whistler_path(), "status"}, env);
  CHECK(text.exit_code == whistler::kExitOk);
  CHECK(contains(text.out, "INTERFACE"));
  CHECK(contains(text.out, "MODE"));
  CHECK(contains(text.out, "PROGRAM"));
  CHECK(contains(text.out, "ID"));
  CHECK(contains(text.out, "ATTACHED THROUGH"));
  std::string row = text.out.substr(text.out.find("\nveth0") + 1);
  row = row.substr(0, row.find('\n'));
  CHECK_MESSAGE(contains(row, "generic"), text.out);
  CHECK(contains(row, "drop_9999"));
  CHECK(contains(row, std::string(" ") + std::to_string(x.prog_id) + " "));
  CHECK(contains(row, "BPF link "));
  CHECK(contains(row, "(detached when its process ends)"));

  Result j = run({whistler_path(), "status", "--json"}, env);
  CHECK(j.exit_code == whistler::kExitOk);
  json s = parse(j.out);
  REQUIRE(s["interfaces"].size() == 1);
  const json& i = s["interfaces"][0];
  CHECK(i["name"] == "veth0");
  CHECK(i["ifindex"].is_number_integer());
  CHECK(i["driver"] == "veth");
  CHECK(i["mtu"] == 1500);
  CHECK(i["up"] == true);
  REQUIRE(i["xdp"].size() == 1);
  CHECK(i["xdp"][0]["id"] == x.prog_id);
  CHECK(i["xdp"][0]["name"] == "drop_9999");
  CHECK(i["xdp"][0]["mode"] == "generic");
  CHECK(i["xdp"][0]["attached_via"] == "link");
  CHECK(i["xdp"][0]["link_id"].get<uint32_t>() > 0);
  CHECK_FALSE(i["xdp"][0].contains("link_pins"));
  CHECK(s["pins"].empty());

  repl.write(":quit\n");
  CHECK(repl.wait(10) == whistler::kExitOk);
  Result after = run({whistler_path(), "status", "--json"}, env);
  CHECK(parse(after.out)["interfaces"].empty());
}

TEST_CASE("status --json: a netlink program from `whistler run --persist` and a pinned link from the REPL, with the pins") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  TempBpffs bpffs;
  SpawnOptions env = with_env(pair.a.name(), "WHISTLER_BPFFS", bpffs.path());
  Result netlink = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpdrv", "--persist",
                        "netlink", "--duration", "0.2"},
                       env);
  REQUIRE_MESSAGE(netlink.exit_code == whistler::kExitOk, netlink.err);
  Result repl = run({whistler_path(), "repl"}, env,
                    "(defmap hits :type :array :key-type u32 :value-type u64 :max-entries 4)\n"
                    "(defprog count-all (:type :xdp) (incf (getmap hits 0)) XDP_PASS)\n"
                    "(attach-xdp count-all \"lo\" :persist \"link\")\n"
                    "(pin hits)\n");
  REQUIRE_MESSAGE(repl.exit_code == whistler::kExitOk, (repl.out + repl.err));
  LinkXdp on_veth = link_xdp(pair.a.name(), pair.a_if), on_lo = link_xdp(pair.a.name(), "lo");
  REQUIRE(on_veth.attached);
  REQUIRE(on_lo.attached);

  Result j = run({whistler_path(), "status", "--json"}, env);
  CHECK(j.exit_code == whistler::kExitOk);
  json s = parse(j.out);
  CHECK(s["interfaces"].size() == 2);
  const json* veth = interface_named(s, "veth0");
  const json* lo = interface_named(s, "lo");
  REQUIRE(veth);
  REQUIRE(lo);
  REQUIRE((*veth)["xdp"].size() == 1);
  CHECK((*veth)["xdp"][0]["id"] == on_veth.prog_id);
  CHECK((*veth)["xdp"][0]["name"] == "drop_9999");
  CHECK((*veth)["xdp"][0]["mode"] == "native");
  CHECK((*veth)["xdp"][0]["attached_via"] == "netlink");
  CHECK_FALSE((*veth)["xdp"][0].contains("link_id"));
  REQUIRE((*lo)["xdp"].size() == 1);
  CHECK((*lo)["xdp"][0]["id"] == on_lo.prog_id);
  CHECK((*lo)["xdp"][0]["name"] == "count_all");
  CHECK((*lo)["xdp"][0]["mode"] == "generic");
  CHECK((*lo)["xdp"][0]["attached_via"] == "link");
  REQUIRE((*lo)["xdp"][0]["link_pins"].size() == 1);
  std::string link_pin = (*lo)["xdp"][0]["link_pins"][0];
  CHECK(link_pin.rfind(bpffs.path() + "/whistler/xdp/", 0) == 0);
  CHECK(fs::exists(link_pin));
  // Whistler's pins: the REPL's link and its (pin hits).
  REQUIRE(s["pins"].size() == 2);
  bool saw_link = false, saw_map = false;
  for (const auto& p : s["pins"]) {
    if (p["type"] == "link") {
      saw_link = true;
      CHECK(p["path"] == link_pin);
      CHECK(p["prog_id"] == on_lo.prog_id);
      CHECK(p["name"] == "count_all");
      CHECK(p["attached"] == true);
      CHECK(p["id"] == (*lo)["xdp"][0]["link_id"]);
    } else {
      saw_map = true;
      CHECK(p["type"] == "map");
      CHECK(p["path"] == bpffs.path() + "/whistler/hits");
      CHECK(p["name"] == "hits");
    }
  }
  CHECK(saw_link);
  CHECK(saw_map);

  Result text = run({whistler_path(), "status"}, env);
  CHECK(contains(text.out, "netlink (stays until detached)"));
  CHECK(contains(text.out, "pinned at " + link_pin));
  CHECK(contains(text.out, "pins under " + bpffs.path() + "/whistler:"));
  CHECK(contains(text.out, bpffs.path() + "/whistler/hits  map hits (id "));

  // --iface narrows to one interface.
  json only = parse(run({whistler_path(), "status", "--json", "--iface", "lo"}, env).out);
  REQUIRE(only["interfaces"].size() == 1);
  CHECK(only["interfaces"][0]["name"] == "lo");

  for (const char* iface : {"veth0", "lo"}) {
    Result d = run({whistler_path(), "detach", "--iface", iface}, env);
    CHECK_MESSAGE(d.exit_code == whistler::kExitOk, d.err);
  }
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  CHECK_FALSE(link_xdp(pair.a.name(), "lo").attached);
  CHECK(parse(run({whistler_path(), "status", "--json"}, env).out)["interfaces"].empty());
}

TEST_CASE("status --iface with a missing interface: exit 3 and the interfaces that exist") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Result r = run({whistler_path(), "status", "--iface", "veth7"}, in_ns(pair.a.name()));
  CHECK(r.exit_code == whistler::kExitRefused);
  CHECK_MESSAGE(contains(r.err, "no network interface named 'veth7' in this network namespace"), r.err);
  CHECK(contains(r.err, "did you mean 'veth0'?"));
  Result j = run({whistler_path(), "status", "--iface", "veth7", "--json"}, in_ns(pair.a.name()));
  CHECK(j.exit_code == whistler::kExitRefused);
  CHECK(parse(j.out)["error"]["kind"] == "interface-missing");
}

TEST_CASE("doctor: exits 0 on this machine and names each item: kernel, BTF, bpffs, capabilities, load, JIT, versions") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  TempBpffs bpffs;
  SpawnOptions env = with_env(ns.name(), "WHISTLER_BPFFS", bpffs.path());
  utsname u{};
  uname(&u);
  Result r = run({whistler_path(), "doctor"}, env);
  CHECK_MESSAGE(r.exit_code == whistler::kExitOk, (r.out + r.err));
  CHECK(contains(r.out, "whistler doctor: ready"));
  CHECK_FALSE(contains(r.out, "FAIL"));
  CHECK(contains(doctor_line(r.out, "kernel"), std::string("Linux ") + u.release));
  CHECK(contains(doctor_line(r.out, "btf"), "kernel BTF at /sys/kernel/btf/vmlinux"));
  CHECK(contains(doctor_line(r.out, "bpffs"), "BPF filesystem mounted at " + bpffs.path()));
  std::string caps = doctor_line(r.out, "capabilities");
  for (const char* cap : {"CAP_BPF", "CAP_PERFMON", "CAP_NET_ADMIN"}) CHECK_MESSAGE(contains(caps, cap), caps);
  CHECK(contains(doctor_line(r.out, "load"), "the kernel loads XDP programs"));
  // Inside a network namespace the JIT sysctl is not visible; the answer still comes.
  CHECK_MESSAGE(contains(doctor_line(r.out, "jit"), "the BPF JIT is enabled"), r.out);
  std::string versions = doctor_line(r.out, "versions");
  CHECK(contains(versions, "whistler "));
  CHECK(contains(versions, "LLVM "));
  CHECK(contains(versions, "libbpf "));

  Result j = run({whistler_path(), "doctor", "--json"}, env);
  CHECK(j.exit_code == whistler::kExitOk);
  json d = parse(j.out);
  CHECK(d["ok"] == true);
  for (const char* name : {"kernel", "btf", "bpffs", "capabilities", "load", "jit", "versions", "offload"}) {
    const json* c = check_named(d, name);
    REQUIRE_MESSAGE(c, name);
    CHECK((*c)["status"] != "FAIL");
    CHECK((*c)["text"].is_string());
  }
  for (const char* name : {"kernel", "btf", "bpffs", "capabilities", "load", "jit"}) CHECK((*check_named(d, name))["status"] == "ok");
  CHECK(contains((*check_named(d, "versions"))["text"].get<std::string>(), "LLVM"));
}

TEST_CASE("doctor: a missing BPF filesystem is a warning with the command that mounts one") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  TempDir plain;
  Result r = run({whistler_path(), "doctor", "--json"}, with_env(ns.name(), "WHISTLER_BPFFS", plain.path()));
  CHECK(r.exit_code == whistler::kExitOk);
  json d = parse(r.out);
  const json* c = check_named(d, "bpffs");
  REQUIRE(c);
  CHECK((*c)["status"] == "warn");
  CHECK(contains((*c)["text"].get<std::string>(), "no BPF filesystem at " + plain.path()));
  CHECK(contains((*c)["fix"].get<std::string>(), "mount -t bpf bpf " + plain.path()));
}

TEST_CASE("doctor without capabilities: names what is missing and why, with a fix, and exits 3") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  Result none = run({whistler_path(), "doctor"}, dropping(ns.name(), {CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_SYS_ADMIN}));
  CHECK(none.exit_code == whistler::kExitRefused);
  std::string caps = doctor_line(none.out, "capabilities");
  CHECK_MESSAGE(caps.rfind("FAIL", 0) == 0, none.out);
  CHECK(contains(caps, "missing CAP_BPF CAP_PERFMON CAP_NET_ADMIN"));
  CHECK(contains(caps, "CAP_BPF is needed to load programs"));
  CHECK(contains(caps, "CAP_PERFMON is needed to load packet-parsing programs"));
  CHECK(contains(caps, "CAP_NET_ADMIN is needed to attach programs"));
  CHECK(contains(none.out, "fix: run as root, or grant them: sudo setcap cap_bpf,cap_perfmon,cap_net_admin+ep $(which whistler)"));
  CHECK(doctor_line(none.out, "load").rfind("FAIL", 0) == 0);
  CHECK(contains(none.out, "whistler doctor: problems found; see the fixes above"));

  Result no_net_admin = run({whistler_path(), "doctor", "--json"}, dropping(ns.name(), {CAP_NET_ADMIN}));
  CHECK(no_net_admin.exit_code == whistler::kExitRefused);
  json d = parse(no_net_admin.out);
  CHECK(d["ok"] == false);
  const json* c = check_named(d, "capabilities");
  REQUIRE(c);
  CHECK((*c)["status"] == "FAIL");
  CHECK_MESSAGE(contains((*c)["text"].get<std::string>(), "missing CAP_NET_ADMIN: CAP_NET_ADMIN is needed to attach"), (*c)["text"]);
  CHECK_FALSE(contains((*c)["text"].get<std::string>(), "CAP_BPF"));
  CHECK(contains((*c)["fix"].get<std::string>(), "setcap cap_net_admin+ep"));
  CHECK((*check_named(d, "load"))["status"] == "ok");

  Result no_perfmon = run({whistler_path(), "doctor"}, dropping(ns.name(), {CAP_PERFMON, CAP_SYS_ADMIN}));
  CHECK(no_perfmon.exit_code == whistler::kExitRefused);
  CHECK_MESSAGE(contains(doctor_line(no_perfmon.out, "capabilities"), "missing CAP_PERFMON: CAP_PERFMON is needed"), no_perfmon.out);
}

TEST_CASE("detach --iface with nothing attached: says so and exits 0 (kExitOk), also as JSON and for one mode") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Result r = run({whistler_path(), "detach", "--iface", pair.a_if}, in_ns(pair.a.name()));
  CHECK(r.exit_code == whistler::kExitOk);
  CHECK_MESSAGE(r.out == "nothing to detach: no XDP program runs on veth0\n", r.out);
  CHECK(r.err.empty());
  Result mode = run({whistler_path(), "detach", "--iface", pair.a_if, "--mode", "xdpgeneric"}, in_ns(pair.a.name()));
  CHECK(mode.exit_code == whistler::kExitOk);
  CHECK(contains(mode.out, "nothing to detach: no XDP program in generic mode runs on veth0"));
  Result j = run({whistler_path(), "detach", "--iface", pair.a_if, "--json"}, in_ns(pair.a.name()));
  CHECK(j.exit_code == whistler::kExitOk);
  json d = parse(j.out);
  CHECK(d["interface"] == "veth0");
  CHECK(d["ok"] == true);
  CHECK(d["detached"].empty());
  // A program in the other mode stays, and is not "nothing".
  Result run_native = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpdrv", "--persist",
                           "netlink", "--duration", "0.2"},
                          in_ns(pair.a.name()));
  REQUIRE_MESSAGE(run_native.exit_code == whistler::kExitOk, run_native.err);
  Result other = run({whistler_path(), "detach", "--iface", pair.a_if, "--mode", "xdpgeneric"}, in_ns(pair.a.name()));
  CHECK(other.exit_code == whistler::kExitOk);
  CHECK(contains(other.out, "nothing to detach: no XDP program in generic mode runs on veth0"));
  CHECK(link_xdp(pair.a.name(), pair.a_if).attached);
  CHECK(run({whistler_path(), "detach", "--iface", pair.a_if}, in_ns(pair.a.name())).exit_code == whistler::kExitOk);
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  // A missing interface is a refusal.
  Result missing = run({whistler_path(), "detach", "--iface", "veth5"}, in_ns(pair.a.name()));
  CHECK(missing.exit_code == whistler::kExitRefused);
  CHECK(contains(missing.err, "no network interface named 'veth5' in this network namespace"));
  Result missing_json = run({whistler_path(), "detach", "--iface", "veth5", "--json"}, in_ns(pair.a.name()));
  CHECK(missing_json.exit_code == whistler::kExitRefused);
  CHECK(parse(missing_json.out)["error"]["kind"] == "interface-missing");
}
