// `whistler run` on veth pairs in namespaces of the test's own: attach in
// each mode, count real frames, detach on signals, and every refusal this
// kernel can produce, with the message a person can act on.
#include <doctest/doctest.h>
#include <linux/capability.h>

#include <csignal>
#include <filesystem>

#include "harness.hpp"

using namespace whistler::rt;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::string> run_args(const std::string& file, const std::string& iface, const std::string& mode,
                                  std::vector<std::string> extra = {}) {
  std::vector<std::string> a = {whistler_path(), "run", file, "--iface", iface, "--mode", mode, "--json", "--interval", "0.2"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

auto is_event(const std::string& kind) {
  return [kind](const json& j) { return j.value("event", "") == kind; };
}

uint64_t verdict(const json& stats, const char* key) { return stats["verdicts"].value(key, uint64_t{0}); }

// Attaches drop9999 in `mode`, sends 7 TCP/9999 and 5 TCP/8080 frames from
// the peer namespace, checks the counters, a real TCP connection, then
// Ctrl-C and a clean interface.
void drop9999_in_mode(const std::string& mode, const std::string& mode_name, int ip_mode) {
  VethPair pair;
  Process p(run_args(example("drop9999.lisp"), pair.a_if, mode), in_ns(pair.a.name()));
  auto attached = p.wait_for_event(is_event("attached"), 20);
  REQUIRE_MESSAGE(attached, (p.out() + p.err()));
  CHECK((*attached)["mode"] == mode_name);
  CHECK((*attached)["attached_via"] == "link");
  LinkXdp x = link_xdp(pair.a.name(), pair.a_if);
  CHECK(x.attached);
  CHECK(x.mode == ip_mode);
  CHECK(x.prog_name == "drop_9999");
  CHECK(x.prog_id == (*attached)["prog_id"].get<uint32_t>());

  std::string dst = mac_of(pair.a.name(), pair.a_if), src = mac_of(pair.b.name(), pair.b_if);
  REQUIRE(send_frames(pair.b.name(), pair.b_if, tcp_syn_frame(dst, src, pair.b_ip, pair.a_ip, 40000, 9999), 7) == 7);
  REQUIRE(send_frames(pair.b.name(), pair.b_if, tcp_syn_frame(dst, src, pair.b_ip, pair.a_ip, 40001, 8080), 5) == 5);
  auto stats = p.wait_for_event(
      [](const json& j) { return j.value("event", "") == "stats" && verdict(j, "drop") >= 7 && verdict(j, "pass") >= 5; }, 10);
  REQUIRE_MESSAGE(stats, (p.out() + p.err()));
  CHECK(verdict(*stats, "drop") == 7);  // only the TCP/9999 frames
  CHECK(verdict(*stats, "aborted") == 0);

  // Real TCP: SYNs to 9999 vanish, other ports answer with a reset.
  CHECK(tcp_connect(pair.b.name(), pair.a_ip, 9999, 1.0) == "timeout");
  CHECK(tcp_connect(pair.b.name(), pair.a_ip, 8081, 3.0) == "refused");

  p.signal(SIGINT);
  CHECK(p.wait(10) == 0);
  auto final_stats = p.last_event("final");
  REQUIRE(final_stats);
  CHECK(verdict(*final_stats, "drop") >= 8);  // the 7 frames and the SYN(s) of the connection attempt
  CHECK(p.last_event("detached"));
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  // Detached: the port is reachable again (RST instead of silence).
  CHECK(tcp_connect(pair.b.name(), pair.a_ip, 9999, 3.0) == "refused");
}

}  // namespace

TEST_CASE("run --mode xdpgeneric: counts real TCP/9999 drops, Ctrl-C detaches and exits 0") {
  SKIP_UNLESS_ROOT();
  drop9999_in_mode("xdpgeneric", "generic", 2);
}

TEST_CASE("run --mode xdpdrv: native mode on veth counts real drops, Ctrl-C detaches") {
  SKIP_UNLESS_ROOT();
  drop9999_in_mode("xdpdrv", "native", 1);
}

TEST_CASE("run --mode xdp: the kernel chooses native on veth, Ctrl-C detaches") {
  SKIP_UNLESS_ROOT();
  drop9999_in_mode("xdp", "native", 1);
}

TEST_CASE("run without --json prints a status line with the verdict counts and detaches on Ctrl-C") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Process p({whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpgeneric", "--interval", "0.2"},
            in_ns(pair.a.name()));
  REQUIRE_MESSAGE(p.wait_for("attached to veth0 in generic mode via BPF link", 20), (p.out() + p.err()));
  std::string dst = mac_of(pair.a.name(), pair.a_if), src = mac_of(pair.b.name(), pair.b_if);
  REQUIRE(send_frames(pair.b.name(), pair.b_if, tcp_syn_frame(dst, src, pair.b_ip, pair.a_ip, 1234, 9999), 3) == 3);
  CHECK_MESSAGE(p.wait_for("drop 3", 10), p.out());
  CHECK(contains(p.out(), "veth0 generic drop-9999: pass"));
  p.signal(SIGINT);
  CHECK(p.wait(10) == 0);
  CHECK(contains(p.out(), "whistler: detached drop-9999 from veth0"));
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
}

TEST_CASE("run: SIGTERM detaches like Ctrl-C, kill -9 leaves nothing attached either (BPF link)") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  {
    Process p(run_args(example("drop9999.lisp"), pair.a_if, "xdpgeneric"), in_ns(pair.a.name()));
    REQUIRE(p.wait_for_event(is_event("attached"), 20));
    p.signal(SIGTERM);
    CHECK(p.wait(10) == 0);
    auto detached = p.last_event("detached");
    REQUIRE(detached);
    CHECK((*detached)["signal"] == SIGTERM);
    CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  }
  {
    Process p(run_args(example("drop9999.lisp"), pair.a_if, "xdpdrv"), in_ns(pair.a.name()));
    REQUIRE(p.wait_for_event(is_event("attached"), 20));
    CHECK(link_xdp(pair.a.name(), pair.a_if).attached);
    p.signal(SIGKILL);
    CHECK(p.wait(10) == 128 + SIGKILL);
    bool clean = false;
    for (int i = 0; i < 40 && !clean; ++i) {
      clean = !link_xdp(pair.a.name(), pair.a_if).attached;
      if (!clean) usleep(50000);
    }
    CHECK_MESSAGE(clean, "a killed `whistler run` must not leave its program attached");
  }
}

TEST_CASE("run: a second run on the same interface is refused with the program's name, id and mode, --replace swaps atomically") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Process first(run_args(example("drop9999.lisp"), pair.a_if, "xdpgeneric"), in_ns(pair.a.name()));
  auto attached = first.wait_for_event(is_event("attached"), 20);
  REQUIRE(attached);
  uint32_t id = (*attached)["prog_id"];
  uint32_t link = (*attached)["link_id"];

  Result again = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpgeneric"},
                     in_ns(pair.a.name()));
  CHECK(again.exit_code == 3);
  CHECK_MESSAGE(contains(again.err, "veth0 already runs XDP program 'drop_9999' (id " + std::to_string(id) +
                                        ") in generic mode, held by BPF link " + std::to_string(link)),
                again.err);
  CHECK(contains(again.err, "--replace"));
  CHECK(contains(again.err, "whistler detach --iface veth0"));
  // The kernel's choice ("xdp") is refused the same way: never replaced silently.
  Result auto_mode = run({whistler_path(), "run", example("packet-counter.lisp"), "--iface", pair.a_if, "--json"},
                         in_ns(pair.a.name()));
  CHECK(auto_mode.exit_code == 3);
  CHECK(contains(auto_mode.out, "\"kind\":\"already-attached\""));
  CHECK(link_xdp(pair.a.name(), pair.a_if).prog_id == id);

  Process second(run_args(example("packet-counter.lisp"), pair.a_if, "xdpgeneric", {"--replace"}), in_ns(pair.a.name()));
  auto replaced = second.wait_for_event(is_event("attached"), 20);
  REQUIRE_MESSAGE(replaced, (second.out() + second.err()));
  CHECK(contains((*replaced)["replaced"].get<std::string>(), "'drop_9999' (id " + std::to_string(id) + ")"));
  // Same link, new program: the hook never ran without a program.
  CHECK((*replaced)["link_id"] == link);
  LinkXdp x = link_xdp(pair.a.name(), pair.a_if);
  CHECK(x.prog_name == "count_packets");
  CHECK(x.prog_id == (*replaced)["prog_id"].get<uint32_t>());
  // The first run notices, leaves the new program alone and exits 0.
  CHECK(first.wait(10) == 0);
  CHECK(first.last_event("replaced"));
  CHECK(link_xdp(pair.a.name(), pair.a_if).prog_name == "count_packets");

  second.signal(SIGINT);
  CHECK(second.wait(10) == 0);
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
}

TEST_CASE("run: native and generic at once is refused, naming the running program and its mode") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Process first(run_args(example("drop9999.lisp"), pair.a_if, "xdpgeneric"), in_ns(pair.a.name()));
  REQUIRE(first.wait_for_event(is_event("attached"), 20));
  for (const char* extra : {"", "--replace"}) {
    std::vector<std::string> args = {whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpdrv"};
    if (*extra) args.push_back(extra);
    Result r = run(args, in_ns(pair.a.name()));
    CHECK(r.exit_code == 3);
    CHECK_MESSAGE(contains(r.err, "native and generic XDP cannot be active on one interface at the same time"), r.err);
    CHECK(contains(r.err, "'drop_9999'"));
    CHECK(contains(r.err, "in generic mode"));
    CHECK(contains(r.err, "--mode xdpgeneric"));
  }
  CHECK(link_xdp(pair.a.name(), pair.a_if).mode == 2);
}

TEST_CASE("run: a missing interface is refused with the list of those that exist") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Result r = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", "veth9"}, in_ns(pair.a.name()));
  CHECK(r.exit_code == 3);
  CHECK_MESSAGE(contains(r.err, "no network interface named 'veth9' in this network namespace"), r.err);
  CHECK(contains(r.err, "did you mean 'veth0'?"));
  CHECK(contains(r.err, "the interfaces here are: lo, veth0"));
  Result j = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", "nope", "--json"}, in_ns(pair.a.name()));
  CHECK(j.exit_code == 3);
  auto e = json::parse(j.out);
  CHECK(e["event"] == "error");
  CHECK(e["kind"] == "interface-missing");
}

TEST_CASE("run --mode xdpdrv on lo: the driver has no native XDP, the message points to generic mode") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Result r = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", "lo", "--mode", "xdpdrv"}, in_ns(pair.a.name()));
  CHECK(r.exit_code == 3);
  CHECK_MESSAGE(contains(r.err, "the driver of lo (loopback) does not support native XDP"), r.err);
  CHECK(contains(r.err, "--mode xdpgeneric"));
  CHECK_FALSE(link_xdp(pair.a.name(), "lo").attached);
  // The kernel's choice on lo is generic, and works.
  Result ok = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", "lo", "--json", "--duration", "0.3"},
                  in_ns(pair.a.name()));
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  CHECK(contains(ok.out, "\"mode\":\"generic\""));
}

TEST_CASE("run --mode xdpdrv with a jumbo MTU: refused with the MTU and the driver's limit, and the limit is right") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  pair.set_mtu(9000);
  Result r = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpdrv"}, in_ns(pair.a.name()));
  CHECK(r.exit_code == 3);
  CHECK_MESSAGE(contains(r.err, "is too large for 'drop_9999' in native mode: veth allows at most 3506 bytes for XDP without fragments (veth0 has MTU 9000)"), r.err);
  CHECK(contains(r.err, "ip link set dev veth0 mtu 3506"));
  CHECK(contains(r.err, "--mode xdpgeneric"));
  CHECK(contains(r.err, "xdp.frags"));
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  // One byte over the limit still fails; at the limit it attaches.
  pair.set_mtu(3507);
  CHECK(run({whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpdrv"}, in_ns(pair.a.name()))
            .exit_code == 3);
  pair.set_mtu(3506);
  Result at_limit = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpdrv", "--duration", "0.3"},
                        in_ns(pair.a.name()));
  CHECK_MESSAGE(at_limit.exit_code == 0, at_limit.err);
  // Generic mode has no such limit.
  pair.set_mtu(9000);
  Result generic = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpgeneric", "--duration", "0.3"},
                       in_ns(pair.a.name()));
  CHECK_MESSAGE(generic.exit_code == 0, generic.err);
}

TEST_CASE("run --mode xdpoffload without offload hardware: a clear refusal that says what to use instead") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Result r = run({whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpoffload"},
                 in_ns(pair.a.name()));
  CHECK(r.exit_code == 3);
  CHECK_MESSAGE(contains(r.err, "veth0 (driver veth) cannot run offloaded XDP programs"), r.err);
  CHECK(contains(r.err, "--mode xdpdrv"));
  CHECK(contains(r.err, "netdevsim"));
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  if (!fs::exists("/sys/bus/netdevsim"))
    MESSAGE("offload success path not tested: this kernel has no netdevsim (and no offload NIC)");
}

TEST_CASE("run without CAP_BPF, CAP_PERFMON or CAP_NET_ADMIN: the message names the missing capability") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  auto attempt = [&](std::vector<int> drop, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {whistler_path(), "run", example("drop9999.lisp"), "--iface", pair.a_if, "--mode", "xdpgeneric",
                                     "--duration", "0.3"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args, dropping(pair.a.name(), drop));
  };
  Result no_bpf = attempt({CAP_BPF, CAP_SYS_ADMIN});
  CHECK(no_bpf.exit_code == 3);
  CHECK_MESSAGE(contains(no_bpf.err, "needs CAP_BPF, which this process does not have"), no_bpf.err);
  CHECK_FALSE(contains(no_bpf.err, "ulimit"));

  Result no_perfmon = attempt({CAP_PERFMON, CAP_SYS_ADMIN});
  CHECK(no_perfmon.exit_code == 3);
  CHECK_MESSAGE(contains(no_perfmon.err, "needs CAP_PERFMON as well as CAP_BPF"), no_perfmon.err);

  Result no_net_admin = attempt({CAP_NET_ADMIN, CAP_SYS_ADMIN});
  CHECK(no_net_admin.exit_code == 3);
  CHECK_MESSAGE(contains(no_net_admin.err, "loading XDP programs needs CAP_NET_ADMIN"), no_net_admin.err);

  // With CAP_SYS_ADMIN the program loads; the netlink attach still needs CAP_NET_ADMIN.
  Result attach = attempt({CAP_NET_ADMIN}, {"--persist", "netlink"});
  CHECK(attach.exit_code == 3);
  CHECK_MESSAGE(contains(attach.err, "attaching 'drop_9999' to veth0 needs CAP_NET_ADMIN"), attach.err);
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
}

TEST_CASE("run: a verifier rejection is reported at the .lisp line, --verbose adds the raw log, nothing is attached") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  TempDir dir;
  // Past the verifier's complexity limits, which the compiler does not model:
  // compiled, refused by the verifier.
  std::string src = dir.file("unchecked.lisp",
                             "(defmap counts :type :array :key-type u32 :value-type u64 :max-entries 1)\n"
                             "(defprog unchecked (:type :xdp)\n"
                             "  (dotimes (i 9000)\n"
                             "    (when (= (getmap counts 0) i) (incf (getmap counts 0))))\n"
                             "  XDP_PASS)\n");
  Result r = run({whistler_path(), "run", src, "--iface", pair.a_if}, in_ns(pair.a.name()));
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(contains(r.err, src + ":4:5: error: the kernel verifier rejected program 'unchecked'"), r.err);
  CHECK(contains(r.err, "The sequence of 8193 jumps is too complex"));
  CHECK_FALSE(contains(r.err, "processed"));
  Result v = run({whistler_path(), "run", src, "--iface", pair.a_if, "--verbose"}, in_ns(pair.a.name()));
  CHECK(v.exit_code == 1);
  CHECK(contains(v.err, "---- verifier log ----"));
  CHECK(contains(v.err, "processed"));
  Result j = run({whistler_path(), "run", src, "--iface", pair.a_if, "--json"}, in_ns(pair.a.name()));
  auto e = json::parse(j.out);
  CHECK(e["kind"] == "program");
  CHECK(e["diagnostics"][0]["line"] == 4);
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  // Compile errors exit 1 too, before touching the interface.
  std::string bad = dir.file("bad.lisp", "(defprog p (:type :xdp)\n  (no-such-form 1)\n  XDP_PASS)\n");
  Result b = run({whistler_path(), "run", bad, "--iface", pair.a_if}, in_ns(pair.a.name()));
  CHECK(b.exit_code == 1);
  CHECK(contains(b.err, "bad.lisp:2:"));
}

TEST_CASE("run: a file with several programs needs --prog, which picks one") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Result r = run({whistler_path(), "run", example("tail-call-dispatch.lisp"), "--iface", pair.a_if}, in_ns(pair.a.name()));
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(contains(r.err, "defines 3 XDP programs (dispatch, handle-tcp, handle-udp); choose one with --prog NAME"), r.err);
  Result unknown = run({whistler_path(), "run", example("tail-call-dispatch.lisp"), "--iface", pair.a_if, "--prog", "nope"},
                       in_ns(pair.a.name()));
  CHECK(unknown.exit_code == 2);
  CHECK(contains(unknown.err, "its programs: dispatch, handle-tcp, handle-udp"));
  Result ok = run({whistler_path(), "run", example("tail-call-dispatch.lisp"), "--iface", pair.a_if, "--prog", "handle-udp",
                   "--mode", "xdpgeneric", "--json", "--duration", "0.3"},
                  in_ns(pair.a.name()));
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  CHECK(contains(ok.out, "\"elf_name\":\"handle_udp\""));
  CHECK(contains(ok.out, "\"udp-packets\""));
}

TEST_CASE("run: ring buffer records are printed as they arrive, decoded with the defstruct") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Process p(run_args(example("flow-export.lisp"), pair.a_if, "xdpgeneric"), in_ns(pair.a.name()));
  REQUIRE_MESSAGE(p.wait_for_event(is_event("attached"), 20), (p.out() + p.err()));
  CHECK(tcp_connect(pair.b.name(), pair.a_ip, 7777, 3.0) == "refused");
  auto record = p.wait_for_event(
      [&](const json& j) { return j.value("event", "") == "record" && j["value"].value("protocol", 0) == 6; }, 10);
  REQUIRE_MESSAGE(record, (p.out() + p.err()));
  CHECK((*record)["map"] == "ringbuf");
  CHECK((*record)["value"]["src-ip"] == pair.b_ip);
  CHECK((*record)["value"]["dst-ip"] == pair.a_ip);
  CHECK((*record)["value"].contains("dst-port"));
  auto stats = p.wait_for_event(
      [](const json& j) { return j.value("event", "") == "stats" && j["maps"]["ringbuf"].value("records", 0) >= 1; }, 10);
  CHECK(stats);
  p.signal(SIGINT);
  CHECK(p.wait(10) == 0);
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
}

TEST_CASE("run --persist link: stays attached after exit, pinned, status shows it, detach removes program and pins") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  TempBpffs bpffs;
  SpawnOptions in_a = with_env(pair.a.name(), "WHISTLER_BPFFS", bpffs.path());
  Process p(run_args(example("packet-counter.lisp"), pair.a_if, "xdpgeneric", {"--persist", "link"}), in_a);
  auto attached = p.wait_for_event(is_event("attached"), 20);
  REQUIRE_MESSAGE(attached, (p.out() + p.err()));
  std::string link_pin = (*attached)["link_pin"];
  CHECK(link_pin.rfind(bpffs.path() + "/whistler/xdp/", 0) == 0);
  CHECK(fs::exists(link_pin));
  std::string dir = fs::path(link_pin).parent_path();
  CHECK(fs::exists(dir + "/maps/packets"));
  p.signal(SIGINT);
  CHECK(p.wait(10) == 0);
  CHECK(p.last_event("left-attached"));
  LinkXdp x = link_xdp(pair.a.name(), pair.a_if);
  CHECK(x.attached);
  CHECK(x.prog_name == "count_packets");

  Result status = run({whistler_path(), "status", "--json"}, in_a);
  CHECK(status.exit_code == 0);
  auto s = json::parse(status.out);
  REQUIRE(s["interfaces"].size() == 1);
  CHECK(s["interfaces"][0]["name"] == "veth0");
  CHECK(s["interfaces"][0]["xdp"][0]["mode"] == "generic");
  CHECK(s["interfaces"][0]["xdp"][0]["attached_via"] == "link");
  CHECK(s["interfaces"][0]["xdp"][0]["link_pins"][0] == link_pin);
  CHECK(s["pins"].size() == 4);  // the link and three maps: packets, bytes, verdict_counts

  // A second persistent run is refused: the pinned program still runs.
  Result again = run(run_args(example("drop9999.lisp"), pair.a_if, "xdpgeneric", {"--persist", "link"}), in_a);
  CHECK(again.exit_code == 3);
  CHECK(contains(again.out, "already-attached"));

  Result detach = run({whistler_path(), "detach", "--iface", pair.a_if}, in_a);
  CHECK_MESSAGE(detach.exit_code == 0, detach.err);
  CHECK(contains(detach.out, "detached 'count_packets'"));
  CHECK(contains(detach.out, "removed pin " + link_pin));
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  CHECK_FALSE(fs::exists(link_pin));
  CHECK_FALSE(fs::exists(dir));
  Result nothing = run({whistler_path(), "detach", "--iface", pair.a_if}, in_a);
  CHECK(nothing.exit_code == 0);
  CHECK(contains(nothing.out, "nothing to detach: no XDP program runs on veth0"));
}

TEST_CASE("run --persist link without a BPF filesystem: refused before anything is attached") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  TempDir not_bpffs;
  Result r = run(run_args(example("drop9999.lisp"), pair.a_if, "xdpgeneric", {"--persist", "link"}),
                 with_env(pair.a.name(), "WHISTLER_BPFFS", not_bpffs.path()));
  CHECK(r.exit_code == 3);
  CHECK_MESSAGE(contains(r.out, "is not on a BPF filesystem"), r.out);
  CHECK(contains(r.out, "mount -t bpf bpf"));
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
}

TEST_CASE("run --persist netlink: attached through netlink, stays after exit, whistler detach removes it") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Result r = run(run_args(example("drop9999.lisp"), pair.a_if, "xdpdrv", {"--persist", "netlink", "--duration", "0.3"}),
                 in_ns(pair.a.name()));
  CHECK_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.out, "\"attached_via\":\"netlink\""));
  LinkXdp x = link_xdp(pair.a.name(), pair.a_if);
  CHECK(x.attached);
  CHECK(x.mode == 1);
  Result status = run({whistler_path(), "status"}, in_ns(pair.a.name()));
  CHECK(contains(status.out, "netlink (stays until detached)"));
  Result d = run({whistler_path(), "detach", "--iface", pair.a_if, "--json"}, in_ns(pair.a.name()));
  CHECK(d.exit_code == 0);
  auto j = json::parse(d.out);
  CHECK(j["detached"][0]["id"] == x.prog_id);
  CHECK(j["detached"][0]["mode"] == "native");
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
}

TEST_CASE("whistler detach ends another process's link, that run notices and exits 0") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Process p(run_args(example("drop9999.lisp"), pair.a_if, "xdpgeneric"), in_ns(pair.a.name()));
  REQUIRE(p.wait_for_event(is_event("attached"), 20));
  Result d = run({whistler_path(), "detach", "--iface", pair.a_if}, in_ns(pair.a.name()));
  CHECK_MESSAGE(d.exit_code == 0, d.err);
  CHECK(contains(d.out, "held by BPF link"));
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  CHECK(p.wait(10) == 0);
  auto ev = p.last_event("detached");
  REQUIRE(ev);
  CHECK((*ev)["by"] == "another process");
}
