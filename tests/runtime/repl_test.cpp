// `whistler repl` driven through a pipe (standard input not a terminal), in
// network namespaces of the test's own: definitions compile as typed,
// test-run returns verdicts, maps are read and written with typed keys and
// values, programs are attached to and detached from a veth, pinned on a
// private BPF filesystem; errors never end the session; quitting, the end of
// input and SIGTERM detach what the session attached; the exit status.
#include <bpf/bpf.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>

#include "exit_codes.hpp"
#include "harness.hpp"

using namespace whistler::rt;
namespace fs = std::filesystem;

namespace {

// Counts IPv4 packets per source address; drops the sources in `blocked`.
const char* const kGuard = R"((defmap seen :type :hash :key-type u32 :value-type u64 :max-entries 64)
(defmap blocked :type :hash :key-type u32 :value-type u32 :max-entries 64)
(defprog guard (:type :xdp)
  (let ((ip (parse-ipv4 (xdp-data) (xdp-data-end))))
    (when ip
      (incf (getmap seen (ipv4-src-addr ip)))
      (when (map-lookup blocked (ipv4-src-addr ip))
        (return XDP_DROP))))
  XDP_PASS)
)";

const std::string kMacA("\x02\x00\x00\x00\x00\x01", 6);
const std::string kMacB("\x02\x00\x00\x00\x00\x02", 6);

std::string syn_to(uint16_t port, const std::string& src_ip = "10.0.0.1") {
  return tcp_syn_frame(kMacA, kMacB, src_ip, "10.0.0.2", 40000, port);
}

// A frame as a Lisp list of byte values: (2 0 0 ...).
std::string byte_list(const std::string& frame) {
  std::string out = "(";
  for (unsigned char c : frame) out += (out.size() > 1 ? " " : "") + std::to_string(c);
  return out + ")";
}

Result repl(const std::string& script, const SpawnOptions& options, std::vector<std::string> extra = {}) {
  std::vector<std::string> argv = {whistler_path(), "repl"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return run(argv, options, script, 60);
}

SpawnOptions piped(SpawnOptions o) {
  o.stdin_pipe = true;
  return o;
}

// Sends one line to a running session and returns what it printed until
// `expect` appeared (or the time ran out): its answer to that line.
std::string say(Process& p, const std::string& line, const std::string& expect, double seconds = 20) {
  size_t out = p.out().size(), err = p.err().size();
  p.write(line + "\n");
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    std::string now = p.out().substr(out) + p.err().substr(err);
    if (contains(now, expect)) return now;
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds) return now;
    p.pump(50);
  }
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// A session at a terminal: the REPL on the slave side of a pseudo-terminal,
// in `netns`. Killed by the destructor if it still runs.
class PtySession {
 public:
  PtySession(const std::vector<std::string>& argv, const std::string& netns) {
    std::string ns_path = "/run/netns/" + netns;
    pid_ = forkpty(&fd_, nullptr, nullptr, nullptr);
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
    if (pid_ == 0) {
      int ns = open(ns_path.c_str(), O_RDONLY);
      if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) _exit(126);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::signal(SIGINT, SIG_DFL);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~PtySession() {
    if (running_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(fd_);
  }
  PtySession(const PtySession&) = delete;
  PtySession& operator=(const PtySession&) = delete;

  void write(const std::string& text) {
    if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) throw std::runtime_error("pty write failed");
  }
  // Everything the terminal showed since the last call, once `needle` is in it.
  std::string read_until(const std::string& needle, double seconds) {
    auto start = std::chrono::steady_clock::now();
    while (!contains(seen_, needle) &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;
      seen_.append(buf, static_cast<size_t>(n));
    }
    std::string out = seen_;
    if (contains(seen_, needle)) seen_.clear();
    return out;
  }
  int wait(double seconds) {
    auto start = std::chrono::steady_clock::now();
    int status = 0;
    while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
      read_until("\x01never", 0.05);  // keep the terminal drained
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        running_ = false;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  bool running_ = true;
  std::string seen_;
};

// `ip -d link show` in the namespace mentions no XDP program.
bool no_xdp_in_ip_link(const std::string& netns, const std::string& ifname) {
  Result r = run({"ip", "-d", "-n", netns, "link", "show", "dev", ifname});
  return r.exit_code == 0 && !contains(r.out, "xdp") && !contains(r.out, "prog/");
}

}  // namespace

TEST_CASE("repl (piped): each kind of top-level form compiles as typed, and typing one again replaces it") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  Result r = repl(R"((defconstant +port+ 9999)
(defstruct point (x u32) (y u16))
(defmacro port-is (tcp port) `(= (tcp-dst-port ,tcp) ,port))
(defun twice (x) (* 2 x))
(defmap points :type :hash :key-type u32 :value-type point :max-entries 8)
(defprog filter (:type :xdp)
  (with-tcp (data data-end tcp)
    (when (port-is tcp +port+)
      (return XDP_DROP)))
  XDP_PASS)
(test-run filter ")" + hex(syn_to(9999)) + R"(")
(defconstant +port+ 8080)
(test-run filter ")" + hex(syn_to(9999)) + R"(")
(test-run filter ")" + hex(syn_to(8080)) + R"(")
(defconstant +port+ 8080)
+port+
:list
:quit
)",
                  in_ns(ns.name()));
  CHECK_MESSAGE(r.exit_code == whistler::kExitOk, (r.out + r.err));
  CHECK(r.err.empty());
  CHECK(contains(r.out, "; defined constant +port+\n"));
  CHECK(contains(r.out, "; defined struct point\n"));
  CHECK(contains(r.out, "; defined macro port-is\n"));
  CHECK(contains(r.out, "; defined function twice\n"));
  CHECK(contains(r.out, "; defined map points\n"));
  CHECK(contains(r.out, "; defined program filter\n"));
  CHECK(contains(r.out, "; redefined constant +port+\n"));
  CHECK(contains(r.out, "; constant +port+ unchanged\n"));
  // The program uses the macro and the constant: 9999 dropped, then (after
  // the redefinition) passed, and 8080 dropped.
  CHECK_MESSAGE(contains(r.out, "XDP_DROP\n; redefined constant +port+\nXDP_PASS\nXDP_DROP\n"), r.out);
  CHECK(contains(r.out, "\n8080\n"));
  // :list shows the definitions as they are now.
  CHECK(contains(r.out, "(defconstant +port+ 8080)"));
  CHECK_FALSE(contains(r.out, "(defconstant +port+ 9999)\n(defstruct"));
}

TEST_CASE("repl (piped): test-run returns the verdict for a hex string or a list of byte values") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  std::string tcp9999 = syn_to(9999);
  Result r = repl(std::string(kDrop9999) + R"((defprog tx-all (:type :xdp) XDP_TX)
(defprog abort-all (:type :xdp) XDP_ABORTED)
(test-run drop-9999 ")" + hex(tcp9999) + R"(")
(test-run drop-9999 ")" + hex(syn_to(8080)) + R"(")
(test-run drop-9999 )" + byte_list(tcp9999) + R"()
(test-run drop-9999 )" + byte_list(syn_to(22)) + R"()
(test-run drop-9999 "02:00:00:00:00:01 02:00:00:00:00:02 0806 0000")
(test-run tx-all ")" + hex(tcp9999) + R"(")
(test-run abort-all ")" + hex(tcp9999) + R"(")
(test-run drop-9999 ")" + hex(tcp9999) + R"(" :repeat 1000)
)",
                  in_ns(ns.name()));
  CHECK_MESSAGE(r.exit_code == whistler::kExitOk, (r.out + r.err));
  CHECK(r.err.empty());
  CHECK_MESSAGE(contains(r.out, "XDP_DROP\nXDP_PASS\nXDP_DROP\nXDP_PASS\nXDP_PASS\nXDP_TX\nXDP_ABORTED\nXDP_DROP  ; "), r.out);
  CHECK(contains(r.out, " ns per run"));
}

TEST_CASE("repl (piped): a bad packet for test-run is an error with the reason, and the session goes on") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  Result r = repl(std::string(kDrop9999) + R"((test-run drop-9999 "0011")
(test-run drop-9999 "xyz")
(test-run drop-9999 (1 2 300))
(test-run drop-9999)
(test-run no-such ")" + hex(syn_to(1)) + R"(")
(test-run drop-9999 ")" + hex(syn_to(1)) + R"(" :repeat 0)
(test-run drop-9999 ")" + hex(syn_to(9999)) + R"(")
)",
                  in_ns(ns.name()));
  CHECK(r.exit_code == whistler::kExitProgramErrors);
  CHECK_MESSAGE(contains(r.err, "error: a test packet needs at least 14 bytes (an Ethernet header), got 2"), r.err);
  CHECK(contains(r.err, "error: test-run: \"xyz\" is not hex bytes"));
  CHECK(contains(r.err, "error: test-run: packet bytes are numbers from 0 to 255, got 300"));
  CHECK(contains(r.err, "error: (test-run PROG BYTES [:repeat N])"));
  CHECK(contains(r.err, "error: no program named 'no-such'"));
  CHECK(contains(r.err, "hint: programs: drop-9999"));
  CHECK(contains(r.err, "error: :repeat takes a count from 1 to 100000000"));
  // The last form still ran.
  CHECK(contains(r.out, "XDP_DROP\n"));
}

TEST_CASE("repl (piped): map-put, map-get, map-del and map-dump with typed keys and values, and test-run updates maps") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  Result r = repl(std::string(kGuard) + R"((defstruct point (x u32) (y u16))
(defmap points :type :hash :key-type u32 :value-type point :max-entries 8)
(defmap slots :type :array :key-type u32 :value-type u64 :max-entries 4)
(defconstant +seven+ 7)
(map-get seen "10.0.0.1")
(test-run guard ")" + hex(syn_to(80)) + R"(")
(test-run guard ")" + hex(syn_to(81)) + R"(")
(map-get seen "10.0.0.1")
(map-put blocked "10.0.0.1" 1)
(test-run guard ")" + hex(syn_to(82)) + R"(")
(map-get seen "10.0.0.1")
(map-del blocked "10.0.0.1")
(map-del blocked "10.0.0.1")
(test-run guard ")" + hex(syn_to(83)) + R"(")
(map-put points 1 (:x 7 :y 9))
(map-put points 2 (70000 65535))
(map-put points +seven+ (:y 3))
(map-get points 1)
(map-get points 2)
(map-get points 7)
(map-dump points)
(map-put slots 3 XDP_DROP)
(map-get slots 3)
(map-dump slots)
(map-put points 3 (:x 1 :y 70000))
(map-put points 3 (:z 1))
(map-put slots 4 1)
(map-del slots 1)
(map-dump nope)
)",
                  in_ns(ns.name()));
  CHECK(r.exit_code == whistler::kExitProgramErrors);  // the last five forms fail on purpose
  // A missing key is nil; test-run counts through the same maps the REPL reads.
  CHECK_MESSAGE(contains(r.out, "nil\nXDP_PASS\nXDP_PASS\n2\nt\nXDP_DROP\n3\nt\nnil\nXDP_PASS\n"), r.out);
  // Struct values by field name, by position, and with missing fields zero.
  CHECK_MESSAGE(contains(r.out, "t\nt\nt\n(:x 7 :y 9)\n(:x 70000 :y 65535)\n(:x 0 :y 3)\n"), r.out);
  CHECK(contains(r.out, "(1 (:x 7 :y 9))\n"));
  CHECK(contains(r.out, "(2 (:x 70000 :y 65535))\n"));
  CHECK(contains(r.out, "(7 (:x 0 :y 3))\n"));
  CHECK(contains(r.out, "; 3 entries\n"));
  // Constants as values; every index of an array exists.
  CHECK(contains(r.out, "t\n1\n(0 0)\n(1 0)\n(2 0)\n(3 1)\n; 4 entries\n"));
  // Values that do not fit the types are refused with the reason.
  CHECK_MESSAGE(contains(r.err, "70000 does not fit in 2 bytes"), r.err);
  CHECK(contains(r.err, "map-put points: value:"));
  CHECK(contains(r.err, "z"));
  CHECK(contains(r.err, "error: map-put slots: index 4 is outside the array (its indexes are 0 to 3)"));
  CHECK(contains(r.err, "error: entries of array map 'slots' cannot be deleted"));
  CHECK(contains(r.err, "error: no map named 'nope'"));
  CHECK(contains(r.err, "hint: maps: seen, blocked, points, slots"));
}

TEST_CASE("repl (pipe kept open): attach-xdp on a veth in generic and native mode, live map reads, detach-xdp, and :quit detaches the rest") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Process p({whistler_path(), "repl"}, piped(in_ns(pair.a.name())));
  for (const auto& line : {std::string("(defmap seen :type :hash :key-type u32 :value-type u64 :max-entries 64)"),
                           std::string("(defmap blocked :type :hash :key-type u32 :value-type u32 :max-entries 64)")})
    REQUIRE(contains(say(p, line, "; defined map"), "; defined map"));
  // A definition over several lines is read when it is complete.
  std::string guard = kGuard;
  guard = guard.substr(guard.find("(defprog"));
  REQUIRE_MESSAGE(contains(say(p, guard, "; defined program guard"), "; defined program guard"), (p.out() + p.err()));

  std::string out = say(p, R"((attach-xdp guard "veth0" :mode "xdpgeneric"))", "; attached");
  REQUIRE_MESSAGE(contains(out, "; attached guard (id "), (out + p.err()));
  CHECK(contains(out, "to veth0 in generic mode via BPF link"));
  LinkXdp x = link_xdp(pair.a.name(), pair.a_if);
  CHECK(x.attached);
  CHECK(x.mode == 2);
  CHECK(x.prog_name == "guard");
  CHECK(contains(out, "(id " + std::to_string(x.prog_id) + ")"));

  // Real traffic from the peer namespace runs the attached program, which
  // counts into the map the session reads and drops what the session blocks.
  CHECK(tcp_connect(pair.b.name(), pair.a_ip, 9, 3.0) == "refused");
  out = say(p, "(map-get seen \"" + pair.b_ip + "\")", "\n");
  CHECK_MESSAGE(out != "nil\n", out);
  CHECK(std::stoul(out) >= 1);
  CHECK(contains(say(p, "(map-put blocked \"" + pair.b_ip + "\" 1)", "t\n"), "t\n"));
  CHECK(tcp_connect(pair.b.name(), pair.a_ip, 9, 1.0) == "timeout");
  CHECK(contains(say(p, "(map-del blocked \"" + pair.b_ip + "\")", "t\n"), "t\n"));
  CHECK(tcp_connect(pair.b.name(), pair.a_ip, 9, 3.0) == "refused");

  out = say(p, R"((detach-xdp guard "veth0"))", "; detached");
  CHECK_MESSAGE(contains(out, "; detached guard from veth0"), out);
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  out = say(p, R"((detach-xdp guard "veth0"))", "error:");
  CHECK(contains(out, "error: this session did not attach guard to veth0"));

  // Native mode; :status shows it.
  out = say(p, R"((attach-xdp guard "veth0" :mode "xdpdrv"))", "; attached");
  CHECK_MESSAGE(contains(out, "to veth0 in native mode via BPF link"), (out + p.err()));
  CHECK(link_xdp(pair.a.name(), pair.a_if).mode == 1);
  out = say(p, ":status", "; verdicts");
  CHECK(contains(out, "; guard (id "));
  CHECK(contains(out, "on veth0 in native mode via BPF link"));

  out = say(p, ":quit", "; detached");
  CHECK(contains(out, "; detached guard from veth0"));
  CHECK(p.wait(10) == whistler::kExitProgramErrors);  // the second detach-xdp failed
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  CHECK(no_xdp_in_ip_link(pair.a.name(), pair.a_if));
}

TEST_CASE("repl: the end of input (without :quit) detaches every program the session attached, and so does SIGTERM") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  SUBCASE("end of input") {
    Result r = repl(std::string(kDrop9999) + R"((defprog pass-all (:type :xdp) XDP_PASS)
(attach-xdp drop-9999 "veth0" :mode "xdpgeneric")
(attach-xdp pass-all "lo")
:status
)",
                    in_ns(pair.a.name()));
    CHECK_MESSAGE(r.exit_code == whistler::kExitOk, (r.out + r.err));
    CHECK(contains(r.out, "; attached drop-9999 (id "));
    CHECK(contains(r.out, "; attached pass-all (id "));
    CHECK(contains(r.out, "to lo in generic mode"));  // the kernel's choice on lo
    CHECK(contains(r.out, "; detached drop-9999 from veth0\n"));
    CHECK(contains(r.out, "; detached pass-all from lo\n"));
  }
  SUBCASE("SIGTERM while the session waits for input") {
    Process p({whistler_path(), "repl"}, piped(in_ns(pair.a.name())));
    REQUIRE(contains(say(p, kDrop9999, "; defined program"), "; defined program"));
    REQUIRE(contains(say(p, R"((attach-xdp drop-9999 "veth0" :mode "xdpdrv"))", "; attached"), "; attached"));
    REQUIRE(link_xdp(pair.a.name(), pair.a_if).attached);
    p.signal(SIGTERM);
    CHECK(p.wait(10) == whistler::kExitOk);
    CHECK(contains(p.out(), "; detached drop-9999 from veth0"));
  }
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
  CHECK_FALSE(link_xdp(pair.a.name(), "lo").attached);
  CHECK(no_xdp_in_ip_link(pair.a.name(), pair.a_if));
  CHECK(no_xdp_in_ip_link(pair.a.name(), "lo"));
}

TEST_CASE("repl: errors print a message and never end the session") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Result r = repl(std::string(kDrop9999) + R"((frobnicate 1 2)
(defprog broken (:type :xdp)
  (no-such-form 1)
  XDP_PASS)
(defprog drop-9999 (:type :xdp) (also-no-such 2))
(attach-xdp drop-9999 "veth9" :mode "xdpgeneric")
(attach-xdp drop-9999 "lo" :mode "xdpdrv")
(attach-xdp drop-9999 "veth0" :mode "fast")
(attach-xdp drop-9999 "veth0" :colour "red")
(attach-xdp drop-9999)
(detach-xdp drop-9999 "veth0")
(map-get drop-9999 1)
(load-program nothing)
:frobnicate
)
"unterminated
string"
(test-run drop-9999 ")" + hex(syn_to(9999)) + R"(")
(attach-xdp drop-9999 "veth0" :mode "xdpgeneric")
:status
)",
                  in_ns(pair.a.name()));
  CHECK(r.exit_code == whistler::kExitProgramErrors);
  const std::string& e = r.err;
  // Unknown top-level form, with its location in the input.
  CHECK_MESSAGE(contains(e, "<stdin>:6:1: error: unknown top-level form 'frobnicate'"), e);
  // A compile error points at the line and column of the input, with the source line and a caret.
  CHECK(contains(e, "<stdin>:8:3: error: unknown form 'no-such-form'\n    (no-such-form 1)\n    ^\n"));
  CHECK(contains(e, "<stdin>:10:33: error: unknown form 'also-no-such'"));
  // A missing interface names those that exist.
  CHECK(contains(e, "error: no network interface named 'veth9' in this network namespace"));
  CHECK(contains(e, "the interfaces here are: lo, veth0"));
  // Refusals are explained in the REPL's own terms.
  CHECK(contains(e, "error: the driver of lo (loopback) does not support native XDP"));
  CHECK(contains(e, "use :mode \"xdpgeneric\""));
  CHECK_FALSE(contains(e, "--mode"));
  CHECK(contains(e, "error: unknown XDP mode \"fast\""));
  CHECK(contains(e, "error: (attach-xdp ...) has no option :colour"));
  CHECK(contains(e, "error: (attach-xdp PROG \"IFACE\""));
  CHECK(contains(e, "error: this session did not attach drop-9999 to veth0"));
  CHECK(contains(e, "error: 'drop-9999' is a program, not a map"));
  CHECK(contains(e, "error: no program named 'nothing'"));
  CHECK(contains(e, "error: unknown command ':frobnicate'"));
  CHECK(contains(e, "error: unexpected ')'"));
  // The failed definitions changed nothing: the earlier drop-9999 still
  // runs, is attached, and the end of input detaches it.
  CHECK_MESSAGE(contains(r.out, "XDP_DROP\n; attached drop-9999 (id "), r.out);
  CHECK(contains(r.out, "; detached drop-9999 from veth0"));
  CHECK_FALSE(contains(r.out, "broken"));
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
}

TEST_CASE("repl: exit status 0 when every form succeeded, 1 when one failed, and :quit ends the session there") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  Result ok_eof = repl(std::string(kDrop9999) + "(test-run drop-9999 \"" + hex(syn_to(9999)) + "\")\n", in_ns(ns.name()));
  CHECK_MESSAGE(ok_eof.exit_code == whistler::kExitOk, ok_eof.err);
  Result ok_quit = repl(std::string(kDrop9999) + ":quit\n(this is never read\n", in_ns(ns.name()));
  CHECK_MESSAGE(ok_quit.exit_code == whistler::kExitOk, ok_quit.err);
  CHECK(ok_quit.err.empty());
  Result after_quit = repl(":help\n:q\n(frobnicate)\n", in_ns(ns.name()));
  CHECK(after_quit.exit_code == whistler::kExitOk);
  CHECK_FALSE(contains(after_quit.err, "frobnicate"));
  Result failed = repl("(frobnicate)\n(defprog p (:type :xdp) XDP_PASS)\n:quit\n", in_ns(ns.name()));
  CHECK(failed.exit_code == whistler::kExitProgramErrors);
  CHECK(contains(failed.out, "; defined program p"));
  Result unfinished = repl("(defprog p (:type :xdp)\n  XDP_PASS\n", in_ns(ns.name()));
  CHECK(unfinished.exit_code == whistler::kExitProgramErrors);
  CHECK(contains(unfinished.err, "error: the input ended inside a form: (defprog p (:type :xdp)"));
  Result empty = repl("\n; only a comment\n", in_ns(ns.name()));
  CHECK(empty.exit_code == whistler::kExitOk);
  CHECK(empty.out.empty());
  CHECK(empty.err.empty());
}

TEST_CASE("repl: comments, a block comment over several lines and several forms on a line: each form is read once") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  Result r = repl("; a line comment\n"
                  "(defprog a (:type :xdp) XDP_PASS) #| a block comment\n"
                  "   over two lines |# (defprog b (:type :xdp) XDP_DROP) ; and a comment\n"
                  "(defprog c (:type :xdp)   ; a comment inside a form\n"
                  "  #| and a block comment |# XDP_TX) (test-run a \"" + hex(syn_to(1)) + "\") (test-run b \"" +
                      hex(syn_to(1)) + "\")\n"
                  "(test-run c \"" + hex(syn_to(1)) + "\")\n",
                  in_ns(ns.name()));
  CHECK_MESSAGE(r.exit_code == whistler::kExitOk, r.err);
  CHECK_MESSAGE(r.out == "; defined program a\n; defined program b\n; defined program c\nXDP_PASS\nXDP_DROP\nXDP_TX\n", r.out);
  CHECK(count(r.out, "program a") == 1);
}

TEST_CASE("repl: input redirected from a file, and --load FILE, with diagnostics at the file's line and column") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  TempDir dir;
  std::string lib = dir.file("lib.lisp", "(defconstant +port+ 9999)\n\n(defmacro port-is (tcp port)\n  `(= (tcp-dst-port ,tcp) ,port))\n");
  std::string script = dir.file("session.lisp", std::string(R"(; a script
(defprog filter (:type :xdp)
  (with-tcp (data data-end tcp)
    (when (port-is tcp +port+) (return XDP_DROP)))
  XDP_PASS) (test-run filter ")") + hex(syn_to(9999)) + R"(")
(test-run filter ")" + hex(syn_to(80)) + R"(") (defprog bad (:type :xdp)
    (oops)) :quit
)");
  std::string cmd = whistler_path() + " repl --load " + lib + " < " + script;
  Result r = run({"sh", "-c", cmd}, in_ns(ns.name()));
  CHECK(r.exit_code == whistler::kExitProgramErrors);
  CHECK_MESSAGE(contains(r.out, "; defined constant +port+\n; defined macro port-is\n; defined program filter\nXDP_DROP\nXDP_PASS\n"), (r.out + r.err));
  CHECK_MESSAGE(contains(r.err, "<stdin>:7:5: error: unknown form 'oops'"), r.err);

  // Errors in a --load file name the file.
  std::string broken = dir.file("broken.lisp", "(defconstant +a+ 1)\n  (defmap m :type :hash :key-type nosuch :value-type u64 :max-entries 4)\n");
  Result b = run({"sh", "-c", whistler_path() + " repl --load " + broken + " < /dev/null"}, in_ns(ns.name()));
  CHECK(b.exit_code == whistler::kExitProgramErrors);
  CHECK_MESSAGE(contains(b.err, broken + ":2:35: error: defmap m: :key-type nosuch is not a type"), b.err);
  Result missing = run({whistler_path(), "repl", "--load", dir.path() + "/nope.lisp"}, in_ns(ns.name()));
  CHECK(missing.exit_code == whistler::kExitProgramErrors);
  CHECK(missing.err == dir.path() + "/nope.lisp: error: cannot read: No such file or directory\n");
}

TEST_CASE("repl: pin a program and a map on a BPF filesystem, the pins outlive the session, bad places are refused") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  TempBpffs bpffs;
  TempDir not_bpffs;
  std::string prog_pin = bpffs.path() + "/guard";
  std::string map_pin = bpffs.path() + "/maps/seen";
  Result r = repl(std::string(kGuard) + "(map-put seen 7 70)\n(pin guard \"" + prog_pin + "\")\n(pin seen \"" + map_pin +
                      "\")\n(pin seen \"" + map_pin + "\")\n(pin seen \"" + not_bpffs.path() + "/seen\")\n(pin blocked)\n(pin nothing \"" +
                      bpffs.path() + "/x\")\n(map-put seen 8 80)\n",
                  with_env(ns.name(), "WHISTLER_BPFFS", bpffs.path()));
  CHECK(r.exit_code == whistler::kExitProgramErrors);
  CHECK_MESSAGE(contains(r.out, "; pinned program guard at " + prog_pin + "\n"), (r.out + r.err));
  CHECK(contains(r.out, "; pinned map seen at " + map_pin + "\n"));
  // Without a path: under Whistler's directory of the BPF filesystem.
  CHECK(contains(r.out, "; pinned map blocked at " + bpffs.path() + "/whistler/blocked\n"));
  CHECK(contains(r.err, "error: a map is already pinned at '" + map_pin + "'"));
  CHECK(contains(r.err, "is not on a BPF filesystem, so nothing can be pinned there"));
  CHECK(contains(r.err, "mount -t bpf bpf"));
  CHECK(contains(r.err, "error: nothing named 'nothing' to pin"));
  CHECK_FALSE(fs::exists(not_bpffs.path() + "/seen"));

  // The session is over; the pinned objects live on, with the map's contents.
  int prog = bpf_obj_get(prog_pin.c_str());
  REQUIRE(prog >= 0);
  bpf_prog_info pinfo{};
  uint32_t len = sizeof pinfo;
  REQUIRE(bpf_obj_get_info_by_fd(prog, &pinfo, &len) == 0);
  CHECK(std::string(pinfo.name) == "guard");
  CHECK(pinfo.type == BPF_PROG_TYPE_XDP);
  close(prog);
  int map = bpf_obj_get(map_pin.c_str());
  REQUIRE(map >= 0);
  uint32_t key = 7;
  uint64_t value = 0;
  CHECK(bpf_map_lookup_elem(map, &key, &value) == 0);
  CHECK(value == 70);
  key = 8;
  CHECK(bpf_map_lookup_elem(map, &key, &value) == 0);  // written after pinning: the same map
  CHECK(value == 80);
  close(map);
  CHECK(fs::exists(bpffs.path() + "/whistler/blocked"));
}

TEST_CASE("repl: :help lists the definitions, runtime forms and commands") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  Result r = repl(":help\n", in_ns(ns.name()));
  CHECK(r.exit_code == whistler::kExitOk);
  for (const char* form : {"(defprog", "(defmap", "(defstruct", "(defmacro", "(attach-xdp PROG \"IFACE\"", ":mode",
                           "\"xdpgeneric\"", "(detach-xdp PROG \"IFACE\")", "(map-get MAP KEY)", "(map-put MAP KEY VALUE)",
                           "(map-del MAP KEY)", "(map-dump MAP)", "(pin PROG-OR-MAP", "(test-run PROG BYTES", ":help", ":quit",
                           ":list", ":status", "Quitting detaches"})
    CHECK_MESSAGE(contains(r.out, form), form);
  CHECK(r.err.empty());
}

TEST_CASE("repl: compile-time expressions print their value, as at a Lisp prompt; program code says where it belongs") {
  SKIP_UNLESS_ROOT();
  NetNamespace ns;
  Result r = repl("(+ 1 2)\n'foo\n(format nil \"~a-~d\" 'x 5)\n(defmacro twice (x) `(* 2 ,x))\n(twice 4)\n"
                  "(with-tcp (data data-end tcp) 1)\n(defconstant port 9999)\n(ash port 1)\n",
                  in_ns(ns.name()));
  CHECK_MESSAGE(contains(r.out, "3\nfoo\n\"x-5\"\n; defined macro twice\n8\n"), r.out);
  CHECK_MESSAGE(contains(r.out, "19998\n"), r.out);
  CHECK_MESSAGE(contains(r.err, "'with-tcp' expands to program code, which runs only inside a program"), r.err);
  CHECK(contains(r.err, "(defprog NAME (:type :xdp) ...)"));
  CHECK(r.exit_code == 1);  // one form failed
}

TEST_CASE("repl: :replace t swaps the program atomically (same link), a mode change is refused, redefinitions say what still runs") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  Process p({whistler_path(), "repl"}, piped(in_ns(pair.a.name())));
  REQUIRE(contains(say(p, "(defprog first (:type :xdp) XDP_PASS)", "; defined"), "; defined"));
  REQUIRE(contains(say(p, "(defprog second (:type :xdp) XDP_PASS)", "; defined"), "; defined"));
  std::string out = say(p, R"((attach-xdp first "veth0" :mode "xdpgeneric"))", "; attached");
  REQUIRE_MESSAGE(contains(out, "; attached first"), (out + p.err()));
  uint32_t first_id = link_xdp(pair.a.name(), pair.a_if).prog_id;

  out = say(p, R"((attach-xdp second "veth0"))", "error:");
  CHECK(contains(out, "error: veth0 already runs first (id " + std::to_string(first_id) + ") in generic mode, attached by this session"));
  CHECK(contains(out, "replace it atomically with :replace t"));
  out = say(p, R"((attach-xdp second "veth0" :mode "xdpdrv" :replace t))", "error:");
  CHECK_MESSAGE(contains(out, "it cannot be replaced by a program in native mode"), out);
  CHECK(link_xdp(pair.a.name(), pair.a_if).prog_id == first_id);

  out = say(p, R"((attach-xdp second "veth0" :replace t))", "; replaced");
  CHECK_MESSAGE(contains(out, "; replaced first with second (id "), out);
  LinkXdp x = link_xdp(pair.a.name(), pair.a_if);
  CHECK(x.prog_name == "second");
  CHECK(x.mode == 2);

  out = say(p, "(defprog second (:type :xdp) XDP_DROP)", "swaps in");
  CHECK_MESSAGE(contains(out, "; redefined program second\n; veth0 still runs the earlier second; (attach-xdp second \"veth0\" :replace t)"), out);
  CHECK(link_xdp(pair.a.name(), pair.a_if).prog_id == x.prog_id);
  out = say(p, R"((attach-xdp second "veth0" :replace t))", "; replaced");
  CHECK(contains(out, "; replaced second with second"));
  CHECK(link_xdp(pair.a.name(), pair.a_if).prog_id != x.prog_id);

  p.close_stdin();
  CHECK(p.wait(10) == whistler::kExitProgramErrors);  // two refusals above
  CHECK(contains(p.out(), "; detached second from veth0"));
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
}

TEST_CASE("repl: :persist attachments stay after the session, which says how to remove them") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  TempBpffs bpffs;
  SpawnOptions env = with_env(pair.a.name(), "WHISTLER_BPFFS", bpffs.path());
  Result r = repl(std::string(kDrop9999) + R"((attach-xdp drop-9999 "veth0" :mode "xdpgeneric" :persist "link")
(attach-xdp drop-9999 "lo" :persist "netlink")
:quit
)",
                  env);
  CHECK_MESSAGE(r.exit_code == whistler::kExitOk, (r.out + r.err));
  CHECK(contains(r.out, ", pinned at " + bpffs.path() + "/whistler/xdp/"));
  CHECK(contains(r.out, "; drop-9999 stays attached to veth0 (pinned link); remove it with: whistler detach --iface veth0"));
  CHECK(contains(r.out, "; drop-9999 stays attached to lo (netlink); remove it with: whistler detach --iface lo"));
  CHECK(link_xdp(pair.a.name(), pair.a_if).prog_name == "drop_9999");
  CHECK(link_xdp(pair.a.name(), "lo").prog_name == "drop_9999");
  for (const char* iface : {"veth0", "lo"}) {
    Result d = run({whistler_path(), "detach", "--iface", iface}, env);
    CHECK_MESSAGE(d.exit_code == whistler::kExitOk, d.err);
    CHECK_FALSE(link_xdp(pair.a.name(), iface).attached);
  }
  CHECK_FALSE(fs::exists(bpffs.path() + "/whistler/xdp"));
}

TEST_CASE("repl at a terminal: Ctrl-C drops an unfinished form or interrupts a running one, and the session goes on") {
  SKIP_UNLESS_ROOT();
  VethPair pair;
  TempDir home;
  PtySession t({whistler_path(), "repl", "--history", home.path() + "/history"}, pair.a.name());
  CHECK(contains(t.read_until("whistler> ", 20), "REPL. :help lists the forms"));
  t.write("(defprog slow (:type :xdp) XDP_PASS)\n");
  CHECK(contains(t.read_until("whistler> ", 20), "; defined program slow"));
  t.write("(attach-xdp slow \"veth0\" :mode \"xdpgeneric\")\n");
  CHECK(contains(t.read_until("whistler> ", 20), "; attached slow"));
  // Ctrl-C in the middle of a form: the form is dropped.
  t.write("(defprog half (:type :xdp)\n");
  t.read_until("...> ", 10);
  t.write("\x03");
  CHECK(contains(t.read_until("whistler> ", 10), "; input discarded"));
  // Ctrl-C while a form runs (a test run repeated 100 million times): it stops.
  t.write("(test-run slow \"" + hex(syn_to(1)) + "\" :repeat 100000000)\n");
  usleep(300000);
  t.write("\x03");
  std::string out = t.read_until("whistler> ", 20);
  CHECK_MESSAGE(contains(out, "; interrupted"), out);
  // The session goes on, with its definitions and its attachment.
  t.write("(test-run slow \"" + hex(syn_to(1)) + "\")\n");
  CHECK(contains(t.read_until("whistler> ", 10), "XDP_PASS"));
  t.write("(test-run half \"" + hex(syn_to(1)) + "\")\n");
  CHECK(contains(t.read_until("whistler> ", 10), "no program named 'half'"));
  CHECK(link_xdp(pair.a.name(), pair.a_if).attached);
  t.write("\x04");  // Ctrl-D: end of input
  CHECK(contains(t.read_until("; detached slow from veth0", 10), "; detached slow from veth0"));
  CHECK(t.wait(10) == whistler::kExitOk);  // at a terminal, errors do not change the exit status
  CHECK_FALSE(link_xdp(pair.a.name(), pair.a_if).attached);
}
