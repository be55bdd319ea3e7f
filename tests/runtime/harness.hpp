// Test harness for the runtime and the `whistler` command: network
// namespaces and veth pairs of the test's own (never the host's interfaces),
// a private BPF filesystem, child processes in a namespace and with dropped
// capabilities, and real frames sent across a veth pair. Every guard cleans
// up in its destructor, so a failing test leaves nothing behind.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

// Tests that need namespaces and BPF return early, saying why, without root.
#define SKIP_UNLESS_ROOT()                                                            \
  if (!whistler::rt::is_root()) {                                                     \
    MESSAGE("skipped: needs root (namespaces, CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN)"); \
    return;                                                                           \
  }

namespace whistler::rt {

// The seed's drop-9999 program, for tests that need any program at all.
inline const char* const kDrop9999 = R"((defprog drop-9999 (:type :xdp)
  (with-tcp (data data-end tcp)
    (when (= (tcp-dst-port tcp) 9999)
      (return XDP_DROP)))
  XDP_PASS)
)";


const std::string& whistler_path();
std::string example(const std::string& name);  // absolute path of examples/NAME
bool is_root();

// Runs a command to completion; throws std::runtime_error when it fails.
void must_run(const std::vector<std::string>& argv);

// A network namespace created with `ip netns add`, deleted on destruction.
class NetNamespace {
 public:
  NetNamespace();
  ~NetNamespace();
  NetNamespace(const NetNamespace&) = delete;
  NetNamespace& operator=(const NetNamespace&) = delete;
  const std::string& name() const { return name_; }
  std::string path() const { return "/run/netns/" + name_; }

 private:
  std::string name_;
};

// veth0 (10.211.0.1/24) in namespace `a`, its peer veth1 (10.211.0.2/24) in
// namespace `b`: traffic between them crosses the pair. `lo` is up in `a`.
struct VethPair {
  NetNamespace a;
  NetNamespace b;
  std::string a_if = "veth0";
  std::string b_if = "veth1";
  std::string a_ip = "10.211.0.1";
  std::string b_ip = "10.211.0.2";
  VethPair();
  void set_mtu(int mtu);  // both ends
};

// A BPF filesystem mounted on a fresh temporary directory; unmounted and
// removed on destruction.
class TempBpffs {
 public:
  TempBpffs();
  ~TempBpffs();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

// A temporary directory with files, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string file(const std::string& name, const std::string& text) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs `fn` on a thread that has entered the namespace (the calling thread's
// namespace is untouched).
void in_netns(const std::string& netns, const std::function<void()>& fn);

struct SpawnOptions {
  std::string netns;                                        // enter this namespace before exec
  std::vector<int> drop_caps;                               // capability numbers to drop (bounding and inheritable sets)
  std::vector<std::pair<std::string, std::string>> env;     // added to the environment
  bool stdin_pipe = false;                                  // else stdin is /dev/null
};

SpawnOptions in_ns(const std::string& netns);
SpawnOptions with_env(const std::string& netns, const std::string& key, const std::string& value);
SpawnOptions dropping(const std::string& netns, std::vector<int> caps);

// A child process with captured output. The destructor kills it (SIGKILL)
// if it still runs.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const SpawnOptions& options = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Reads what the child printed so far.
  void pump(int timeout_ms = 0);
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  // Waits until `needle` appears on stdout or stderr.
  bool wait_for(const std::string& needle, double seconds);
  void write(const std::string& text);
  void close_stdin();
  void signal(int sig);
  // Exit code (or 128+signal), -1 if it did not end in time.
  int wait(double seconds);
  bool running() const { return running_; }

  // JSON lines on stdout (for --json): every event, or the last of a kind.
  std::vector<nlohmann::json> events() const;
  std::optional<nlohmann::json> last_event(const std::string& kind) const;
  // Waits until an event satisfies `pred`.
  std::optional<nlohmann::json> wait_for_event(const std::function<bool(const nlohmann::json&)>& pred, double seconds);

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1, in_fd_ = -1;
  std::string out_, err_;
  bool running_ = true;
  int status_ = 0;
};

struct Result {
  int exit_code = -1;
  std::string out, err;
};

// Runs to completion (killed after `timeout` seconds).
Result run(const std::vector<std::string>& argv, const SpawnOptions& options = {}, const std::string& input = {},
           double timeout = 60);

// The XDP state of an interface as `ip -j link` reports it (an oracle
// independent of the runtime).
struct LinkXdp {
  bool attached = false;
  int mode = 0;  // 1 native, 2 generic, 3 offload
  uint32_t prog_id = 0;
  std::string prog_name;
};
LinkXdp link_xdp(const std::string& netns, const std::string& ifname);

// Frames.
std::string mac_of(const std::string& netns, const std::string& ifname);  // 6 raw bytes
std::string tcp_syn_frame(const std::string& dst_mac, const std::string& src_mac, const std::string& src_ip,
                          const std::string& dst_ip, uint16_t src_port, uint16_t dst_port);
std::string udp_frame(const std::string& dst_mac, const std::string& src_mac, const std::string& src_ip,
                      const std::string& dst_ip, uint16_t src_port, uint16_t dst_port);
// Sends the frame `count` times out of `ifname` (AF_PACKET); returns how many left.
int send_frames(const std::string& netns, const std::string& ifname, const std::string& frame, int count);
// A real TCP connection attempt from `netns`: "connected", "refused" or "timeout".
std::string tcp_connect(const std::string& netns, const std::string& ip, uint16_t port, double timeout);

std::string hex(const std::string& bytes);
bool contains(const std::string& haystack, const std::string& needle);

}  // namespace whistler::rt
