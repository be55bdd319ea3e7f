#include "harness.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace whistler::rt {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<int> g_counter{0};

std::string unique(const char* prefix) {
  return std::string(prefix) + std::to_string(getpid()) + "-" + std::to_string(g_counter++);
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

uint16_t checksum(const uint8_t* data, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += (data[i] << 8) | data[i + 1];
  if (len & 1) sum += data[len - 1] << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::string ip_frame(const std::string& dst_mac, const std::string& src_mac, const std::string& src_ip,
                     const std::string& dst_ip, uint8_t proto, const std::string& l4) {
  std::string f = dst_mac + src_mac + std::string("\x08\x00", 2);
  uint8_t ip[20] = {0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0};
  uint16_t total = static_cast<uint16_t>(20 + l4.size());
  ip[2] = total >> 8;
  ip[3] = total & 0xff;
  inet_pton(AF_INET, src_ip.c_str(), ip + 12);
  inet_pton(AF_INET, dst_ip.c_str(), ip + 16);
  uint16_t c = checksum(ip, 20);
  ip[10] = c >> 8;
  ip[11] = c & 0xff;
  f += std::string(reinterpret_cast<char*>(ip), 20) + l4;
  if (f.size() < 60) f.resize(60, '\0');
  return f;
}

}  // namespace

const std::string& whistler_path() {
  static const std::string p = WHISTLER_PATH;
  return p;
}

std::string example(const std::string& name) { return std::string(WHISTLER_SOURCE_DIR) + "/examples/" + name; }

bool is_root() { return geteuid() == 0; }

bool contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

std::string hex(const std::string& bytes) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

void must_run(const std::vector<std::string>& argv) {
  Result r = run(argv, {}, {}, 30);
  if (r.exit_code != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("command failed (" + std::to_string(r.exit_code) + "): " + cmd + "\n" + r.out + r.err);
  }
}

// ---- Namespaces, bpffs, temp dirs ----------------------------------------------------

NetNamespace::NetNamespace() : name_(unique("wrt-")) { must_run({"ip", "netns", "add", name_}); }

NetNamespace::~NetNamespace() { run({"ip", "netns", "del", name_}, {}, {}, 30); }

VethPair::VethPair() {
  must_run({"ip", "-n", a.name(), "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b.name()});
  must_run({"ip", "-n", a.name(), "addr", "add", a_ip + "/24", "dev", a_if});
  must_run({"ip", "-n", b.name(), "addr", "add", b_ip + "/24", "dev", b_if});
  must_run({"ip", "-n", a.name(), "link", "set", a_if, "up"});
  must_run({"ip", "-n", b.name(), "link", "set", b_if, "up"});
  must_run({"ip", "-n", a.name(), "link", "set", "lo", "up"});
  // No IPv6 chatter (router solicitations) in the counters.
  run({"ip", "netns", "exec", a.name(), "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"});
  run({"ip", "netns", "exec", b.name(), "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"});
}

void VethPair::set_mtu(int mtu) {
  must_run({"ip", "-n", a.name(), "link", "set", a_if, "mtu", std::to_string(mtu)});
  must_run({"ip", "-n", b.name(), "link", "set", b_if, "mtu", std::to_string(mtu)});
}

TempBpffs::TempBpffs() {
  path_ = (fs::temp_directory_path() / unique("whistler-bpffs-")).string();
  fs::create_directories(path_);
  if (mount("bpf", path_.c_str(), "bpf", 0, nullptr) != 0)
    throw std::runtime_error("cannot mount a bpffs on " + path_ + ": " + std::strerror(errno));
  mounted_ = true;
}

TempBpffs::~TempBpffs() {
  if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove(path_, ec);
}

TempDir::TempDir() {
  path_ = (fs::temp_directory_path() / unique("whistler-rt-")).string();
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::file(const std::string& name, const std::string& text) const {
  std::string p = path_ + "/" + name;
  std::ofstream(p) << text;
  return p;
}

void in_netns(const std::string& netns, const std::function<void()>& fn) {
  std::exception_ptr failure;
  std::thread t([&] {
    try {
      int fd = open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) throw std::runtime_error("cannot enter namespace " + netns);
      close(fd);
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  t.join();
  if (failure) std::rethrow_exception(failure);
}

// ---- Processes ---------------------------------------------------------------------

SpawnOptions in_ns(const std::string& netns) {
  SpawnOptions o;
  o.netns = netns;
  return o;
}

SpawnOptions with_env(const std::string& netns, const std::string& key, const std::string& value) {
  SpawnOptions o = in_ns(netns);
  o.env.emplace_back(key, value);
  return o;
}

SpawnOptions dropping(const std::string& netns, std::vector<int> caps) {
  SpawnOptions o = in_ns(netns);
  o.drop_caps = std::move(caps);
  return o;
}

Process::Process(const std::vector<std::string>& argv, const SpawnOptions& options) {
  int out[2], err[2], in[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || (options.stdin_pipe && pipe2(in, O_CLOEXEC)))
    throw std::runtime_error("pipe failed");
  std::string netns_path = options.netns.empty() ? "" : "/run/netns/" + options.netns;
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    if (!netns_path.empty()) {
      int fd = open(netns_path.c_str(), O_RDONLY);
      if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) _exit(126);
      close(fd);
    }
    if (!options.drop_caps.empty()) {
      __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
      __user_cap_data_struct data[2] = {};
      syscall(SYS_capget, &hdr, data);
      for (int cap : options.drop_caps) {
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
        data[cap / 32].inheritable &= ~(1u << (cap % 32));
      }
      syscall(SYS_capset, &hdr, data);
    }
    for (const auto& [k, v] : options.env) setenv(k.c_str(), v.c_str(), 1);
    if (options.stdin_pipe) dup2(in[0], 0);
    else {
      int null = open("/dev/null", O_RDONLY);
      dup2(null, 0);
    }
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
  if (options.stdin_pipe) {
    close(in[0]);
    in_fd_ = in[1];
  }
}

Process::~Process() {
  if (running_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  for (int fd : {out_fd_, err_fd_, in_fd_})
    if (fd >= 0) close(fd);
}

void Process::pump(int timeout_ms) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  int n = poll(fds, 2, timeout_ms);
  if (n <= 0) return;
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
    char buf[8192];
    ssize_t got = read(fds[i].fd, buf, sizeof buf);
    if (got > 0) (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(got));
    else if (got == 0) {
      close(fds[i].fd);
      (i == 0 ? out_fd_ : err_fd_) = -1;
    }
  }
}

bool Process::wait_for(const std::string& needle, double seconds) {
  auto start = Clock::now();
  while (since(start) < seconds) {
    if (contains(out_, needle) || contains(err_, needle)) return true;
    if (out_fd_ < 0 && err_fd_ < 0) break;
    pump(50);
  }
  return contains(out_, needle) || contains(err_, needle);
}

void Process::write(const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(in_fd_, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

void Process::close_stdin() {
  if (in_fd_ >= 0) close(in_fd_);
  in_fd_ = -1;
}

void Process::signal(int sig) {
  if (running_) kill(pid_, sig);
}

int Process::wait(double seconds) {
  auto start = Clock::now();
  while (running_) {
    pid_t r = waitpid(pid_, &status_, WNOHANG);
    if (r == pid_) {
      running_ = false;
      break;
    }
    if (since(start) >= seconds) return -1;
    pump(20);
  }
  // Whatever is left in the pipes.
  for (int i = 0; i < 50 && (out_fd_ >= 0 || err_fd_ >= 0); ++i) pump(20);
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return 128 + WTERMSIG(status_);
  return -1;
}

std::vector<nlohmann::json> Process::events() const {
  std::vector<nlohmann::json> out;
  std::istringstream in(out_);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

std::optional<nlohmann::json> Process::last_event(const std::string& kind) const {
  std::optional<nlohmann::json> last;
  for (auto& e : events())
    if (e.value("event", "") == kind) last = e;
  return last;
}

std::optional<nlohmann::json> Process::wait_for_event(const std::function<bool(const nlohmann::json&)>& pred, double seconds) {
  auto start = Clock::now();
  for (;;) {
    for (auto& e : events())
      if (pred(e)) return e;
    if (since(start) >= seconds || (out_fd_ < 0 && !running_)) return std::nullopt;
    pump(50);
  }
}

Result run(const std::vector<std::string>& argv, const SpawnOptions& options, const std::string& input, double timeout) {
  SpawnOptions o = options;
  o.stdin_pipe = !input.empty();
  Process p(argv, o);
  if (!input.empty()) {
    p.write(input);
    p.close_stdin();
  }
  Result r;
  r.exit_code = p.wait(timeout);
  if (r.exit_code == -1) {
    p.signal(SIGKILL);
    p.wait(5);
  }
  r.out = p.out();
  r.err = p.err();
  return r;
}

// ---- Interfaces and frames -------------------------------------------------------------

LinkXdp link_xdp(const std::string& netns, const std::string& ifname) {
  Result r = run({"ip", "-j", "-n", netns, "link", "show", "dev", ifname});
  LinkXdp x;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty()) throw std::runtime_error("ip -j link show failed: " + r.err);
  if (!j[0].contains("xdp")) return x;
  x.attached = true;
  x.mode = j[0]["xdp"].value("mode", 0);
  if (j[0]["xdp"].contains("prog")) {
    x.prog_id = j[0]["xdp"]["prog"].value("id", 0u);
    x.prog_name = j[0]["xdp"]["prog"].value("name", "");
  } else if (j[0]["xdp"].contains("attached") && !j[0]["xdp"]["attached"].empty()) {
    x.prog_id = j[0]["xdp"]["attached"][0]["prog"].value("id", 0u);
    x.prog_name = j[0]["xdp"]["attached"][0]["prog"].value("name", "");
  }
  return x;
}

std::string mac_of(const std::string& netns, const std::string& ifname) {
  std::string mac;
  in_netns(netns, [&] {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ifreq req{};
    std::strncpy(req.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (ioctl(s, SIOCGIFHWADDR, &req) == 0) mac.assign(req.ifr_hwaddr.sa_data, 6);
    close(s);
  });
  if (mac.size() != 6) throw std::runtime_error("no MAC address for " + ifname);
  return mac;
}

std::string tcp_syn_frame(const std::string& dst_mac, const std::string& src_mac, const std::string& src_ip,
                          const std::string& dst_ip, uint16_t src_port, uint16_t dst_port) {
  uint8_t tcp[20] = {};
  tcp[0] = src_port >> 8;
  tcp[1] = src_port & 0xff;
  tcp[2] = dst_port >> 8;
  tcp[3] = dst_port & 0xff;
  tcp[12] = 0x50;  // 5 words
  tcp[13] = 0x02;  // SYN
  tcp[14] = 0xff;
  tcp[15] = 0xff;
  return ip_frame(dst_mac, src_mac, src_ip, dst_ip, 6, std::string(reinterpret_cast<char*>(tcp), 20));
}

std::string udp_frame(const std::string& dst_mac, const std::string& src_mac, const std::string& src_ip,
                      const std::string& dst_ip, uint16_t src_port, uint16_t dst_port) {
  uint8_t udp[12] = {};
  udp[0] = src_port >> 8;
  udp[1] = src_port & 0xff;
  udp[2] = dst_port >> 8;
  udp[3] = dst_port & 0xff;
  udp[5] = 12;
  std::memcpy(udp + 8, "ping", 4);
  return ip_frame(dst_mac, src_mac, src_ip, dst_ip, 17, std::string(reinterpret_cast<char*>(udp), 12));
}

int send_frames(const std::string& netns, const std::string& ifname, const std::string& frame, int count) {
  int sent = 0;
  in_netns(netns, [&] {
    int s = socket(AF_PACKET, SOCK_RAW, 0);
    if (s < 0) throw std::runtime_error(std::string("AF_PACKET socket: ") + std::strerror(errno));
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
    addr.sll_halen = 6;
    std::memcpy(addr.sll_addr, frame.data(), 6);
    for (int i = 0; i < count; ++i)
      if (sendto(s, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ==
          static_cast<ssize_t>(frame.size()))
        ++sent;
    close(s);
  });
  return sent;
}

std::string tcp_connect(const std::string& netns, const std::string& ip, uint16_t port, double timeout) {
  std::string result = "error";
  in_netns(netns, [&] {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &addr.sin_addr);
    int r = connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (r == 0) {
      result = "connected";
    } else if (errno == EINPROGRESS) {
      pollfd p{s, POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(timeout * 1000)) == 0) {
        result = "timeout";
      } else {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
        result = err == 0 ? "connected" : err == ECONNREFUSED ? "refused" : std::string("error: ") + std::strerror(err);
      }
    } else {
      result = errno == ECONNREFUSED ? "refused" : std::string("error: ") + std::strerror(errno);
    }
    close(s);
  });
  return result;
}

}  // namespace whistler::rt
