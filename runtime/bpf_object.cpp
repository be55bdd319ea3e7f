#include "bpf_object.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "bpf_info.hpp"
#include "file_io.hpp"
#include "libbpf_log.hpp"
#include "pins.hpp"
#include "privileges.hpp"

namespace whistler::runtime {

namespace {

constexpr size_t kLogSize = 4 << 20;

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// libbpf suggests raising `ulimit -l` on any EPERM; since 5.11 BPF memory is
// charged to the cgroup and the advice only misleads.
std::string without_memlock_advice(const std::string& text) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (line.find("ulimit -l") == std::string::npos) out += line + "\n";
    start = end + 1;
  }
  return out;
}

// strerror() for errno values, libbpf's own text for its error codes
// (LIBBPF_ERRNO__*, 4000 and up: "Unknown error 4001" otherwise).
std::string error_text(int err) {
  char buf[256];
  if (err >= 4000 && libbpf_strerror(err, buf, sizeof buf) == 0) return buf;
  return std::strerror(err);
}

}  // namespace

std::string to_elf_name(const std::string& name) {
  std::string out = name;
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

BpfObject::~BpfObject() {
  if (obj_) bpf_object__close(obj_);
}

std::unique_ptr<BpfObject> BpfObject::open_memory(const std::string& elf, const OpenOptions& options, RuntimeError& error,
                                                  const std::string& what) {
  return finish_open(nullptr, elf, options, error, what.empty() ? options.name : what);
}

bool BpfObject::read_file(const std::string& path, std::string& bytes, RuntimeError& error) {
  FileContents file = whistler::read_file(path, kMaxObjectBytes, "a BPF object file");
  if (!file.ok()) {
    bool missing = file.error == ENOENT || file.error == ENOTDIR;
    bool not_object = file.error == EISDIR || file.error == EFBIG;
    error = {fmt::format("cannot read '{}': {}", path, file.reason),
             missing ? "check the path" : not_object ? "give the path of a BPF ELF object file (whistlerc -o FILE.o)" : "",
             file.error, {}, missing ? ErrorKind::NotFound : not_object ? ErrorKind::BadValue : ""};
    return false;
  }
  bytes = std::move(file.bytes);
  return true;
}

std::unique_ptr<BpfObject> BpfObject::open_file(const std::string& path, const OpenOptions& options, RuntimeError& error) {
  std::string bytes;
  if (!read_file(path, bytes, error)) return nullptr;
  return finish_open(nullptr, std::move(bytes), options, error, path);
}

std::unique_ptr<BpfObject> BpfObject::finish_open(bpf_object*, std::string buffer, const OpenOptions& options,
                                                  RuntimeError& error, const std::string& what) {
  std::unique_ptr<BpfObject> self(new BpfObject());
  self->elf_ = std::move(buffer);
  self->options_ = options;
  LibbpfLogCapture capture;
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = self->options_.name.c_str());
  self->obj_ = bpf_object__open_mem(self->elf_.data(), self->elf_.size(), &opts);
  self->libbpf_messages_ = capture.text();
  if (!self->obj_) {
    int err = errno;
    self->obj_ = nullptr;
    error = {fmt::format("cannot open BPF object {}: {}", what, error_text(err)),
             "is it an ELF object for the BPF target (whistlerc -o FILE.o)?", err, capture.text(), ErrorKind::BadValue};
    return nullptr;
  }
  // Program types: libbpf 1.1 infers XDP only from the exact section names, so
  // set it for xdp/NAME and xdp.frags/NAME too.
  bpf_program* prog;
  bpf_object__for_each_program(prog, self->obj_) {
    std::string section = bpf_program__section_name(prog);
    if (section == "xdp/devmap" || section == "xdp.frags/devmap") {
      bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
      bpf_program__set_expected_attach_type(prog, BPF_XDP_DEVMAP);
    } else if (section == "xdp/cpumap" || section == "xdp.frags/cpumap") {
      bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
      bpf_program__set_expected_attach_type(prog, BPF_XDP_CPUMAP);
    } else if (section == "xdp" || starts_with(section, "xdp/") || starts_with(section, "xdp.frags")) {
      // BPF_XDP as libbpf sets it for "xdp": programs loaded one way or the
      // other cannot replace each other atomically (link update wants equal
      // expected attach types).
      bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
      bpf_program__set_expected_attach_type(prog, BPF_XDP);
    }
    if (starts_with(section, "xdp.frags")) bpf_program__set_flags(prog, bpf_program__flags(prog) | BPF_F_XDP_HAS_FRAGS);
    if (options.offload_ifindex) bpf_program__set_ifindex(prog, static_cast<__u32>(options.offload_ifindex));
    auto log = std::make_unique<std::vector<char>>(kLogSize);
    bpf_program__set_log_buf(prog, log->data(), log->size());
    if (options.verbose_log) bpf_program__set_log_level(prog, 1);
    self->logs_[bpf_program__name(prog)] = std::move(log);
  }
  if (options.no_pinning) {
    bpf_map* map;
    bpf_object__for_each_map(map, self->obj_) bpf_map__set_pin_path(map, nullptr);
  }
  if (options.offload_ifindex) {
    bpf_map* map;
    bpf_object__for_each_map(map, self->obj_) bpf_map__set_ifindex(map, static_cast<__u32>(options.offload_ifindex));
  }
  return self;
}

bool BpfObject::load(RuntimeError& error) {
  reused_maps_.clear();
  for (const auto& [name, fd] : options_.reuse_maps) {
    bpf_map* m = map(name);
    if (!m || fd < 0) continue;
    auto old = map_info_by_fd(fd);
    if (!old || old->type_id != static_cast<uint32_t>(bpf_map__type(m)) || old->key_size != bpf_map__key_size(m) ||
        old->value_size != bpf_map__value_size(m) || old->max_entries != bpf_map__max_entries(m))
      continue;
    if (bpf_map__reuse_fd(m, fd) == 0) reused_maps_.push_back(bpf_map__name(m));
  }
  LibbpfLogCapture capture;
  int err = bpf_object__load(obj_);
  libbpf_messages_ += capture.text();
  if (err == 0) {
    loaded_ = true;
    return true;
  }
  err = -err;
  // Which program failed: the last one with a log and no fd. libbpf loads
  // the programs in order and stops at the first the kernel refuses (closing
  // those loaded before it); with a verbose log those have logs too.
  failed_program_.clear();
  for (bpf_program* p : programs()) {
    if (bpf_program__fd(p) >= 0) continue;
    std::string log = verifier_log(bpf_program__name(p));
    if (!log.empty() || failed_program_.empty()) failed_program_ = bpf_program__name(p);
  }
  std::string log = failed_program_.empty() ? std::string() : verifier_log(failed_program_);
  error.error = err;
  error.detail = log.empty() ? without_memlock_advice(capture.text()) : log;
  if (err == EPERM || err == EACCES) {
    Privileges privs = current_privileges();
    bool root_only = log.find("!root") != std::string::npos;
    if (log.empty() && !privs.bpf) {
      error.kind = ErrorKind::MissingCapability;
      error.message = "loading BPF programs and creating maps needs CAP_BPF, which this process does not have";
      error.hint = "run as root, or grant CAP_BPF and CAP_PERFMON (sudo setcap cap_bpf,cap_perfmon,cap_net_admin+ep BINARY)";
      return false;
    }
    if (log.empty() && !privs.net_admin && !privs.sys_admin && any_xdp_program()) {
      error.kind = ErrorKind::MissingCapability;
      error.message = "loading XDP programs needs CAP_NET_ADMIN (as well as CAP_BPF and CAP_PERFMON), which this process does not have";
      error.hint = "run as root, or grant it (sudo setcap cap_bpf,cap_perfmon,cap_net_admin+ep BINARY)";
      return false;
    }
    if (!privs.perfmon && (root_only || log.empty())) {
      error.kind = ErrorKind::MissingCapability;
      error.message = fmt::format(
          "loading program '{}' needs CAP_PERFMON as well as CAP_BPF: without it the verifier refuses packet pointer "
          "arithmetic; this process lacks CAP_PERFMON",
          failed_program_);
      error.hint = "run as root, or grant it (sudo setcap cap_bpf,cap_perfmon,cap_net_admin+ep BINARY)";
      return false;
    }
    if (log.empty()) {
      error.kind = ErrorKind::MissingCapability;
      error.message = fmt::format("the kernel refused to load the BPF object: {}", std::strerror(err));
      error.hint = privs.missing_for_load().empty()
                       ? "check the libbpf output (--verbose)"
                       : fmt::format("run as root or grant {} (e.g. sudo setcap cap_bpf,cap_perfmon,cap_net_admin+ep BINARY)",
                                     privs.missing_for_load());
      return false;
    }
    error.kind = ErrorKind::VerifierRejected;
    error.message = fmt::format("the verifier rejected program '{}'", failed_program_);
    return false;
  }
  if ((err == EINVAL || err == EOPNOTSUPP) && options_.offload_ifindex) {
    error.kind = ErrorKind::OffloadUnsupported;
    error.message = "the device cannot load offloaded BPF programs";
    error.hint = "offload needs a NIC that executes BPF (Netronome nfp, or netdevsim for tests); use --mode xdpdrv or xdpgeneric";
    return false;
  }
  // The verifier refuses some programs with EINVAL (a leaked reference, a
  // helper the program type may not call, a program too large): its log says
  // why. ENOSPC replaces the verifier's error when the log did not fit (a
  // complexity limit logs a path per pending branch); the log kept is its end,
  // with the reason.
  if ((err == EINVAL || err == ENOSPC) && log.find("processed ") != std::string::npos) {
    error.kind = ErrorKind::VerifierRejected;
    error.message = fmt::format("the verifier rejected program '{}'", failed_program_);
    return false;
  }
  error.kind = ErrorKind::Kernel;
  if (!log.empty()) {
    error.message = fmt::format("the kernel refused program '{}': {}", failed_program_, std::strerror(err));
    return false;
  }
  error.message = fmt::format("cannot load the BPF object: {}", std::strerror(err));
  error.hint = "see the libbpf output for the reason";
  return false;
}

bool BpfObject::any_xdp_program() const {
  for (bpf_program* p : programs())
    if (bpf_program__type(p) == BPF_PROG_TYPE_XDP) return true;
  return false;
}

bpf_program* BpfObject::program(const std::string& name) const {
  bpf_program* p = bpf_object__find_program_by_name(obj_, name.c_str());
  if (!p) p = bpf_object__find_program_by_name(obj_, to_elf_name(name).c_str());
  return p;
}

bpf_map* BpfObject::map(const std::string& name) const {
  bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
  if (!m) m = bpf_object__find_map_by_name(obj_, to_elf_name(name).c_str());
  return m;
}

std::vector<bpf_program*> BpfObject::programs() const {
  std::vector<bpf_program*> out;
  bpf_program* p;
  bpf_object__for_each_program(p, obj_) out.push_back(p);
  return out;
}

std::vector<bpf_map*> BpfObject::maps() const {
  std::vector<bpf_map*> out;
  bpf_map* m;
  bpf_object__for_each_map(m, obj_) out.push_back(m);
  return out;
}

int BpfObject::program_fd(const std::string& name) const {
  bpf_program* p = program(name);
  return p ? bpf_program__fd(p) : -1;
}

int BpfObject::map_fd(const std::string& name) const {
  bpf_map* m = map(name);
  return m ? bpf_map__fd(m) : -1;
}

std::string BpfObject::section(const std::string& name) const {
  bpf_program* p = program(name);
  return p ? bpf_program__section_name(p) : std::string();
}

bool BpfObject::pin_program(const std::string& name, const std::string& path, RuntimeError& error) const {
  int fd = program_fd(name);
  if (fd < 0) {
    error = {fmt::format("no loaded program named '{}'", name), "", ENOENT, {}, ErrorKind::NotFound};
    return false;
  }
  return pin_fd(fd, path, error);
}

bool BpfObject::pin_map(const std::string& name, const std::string& path, RuntimeError& error) const {
  int fd = map_fd(name);
  if (fd < 0) {
    error = {fmt::format("no loaded map named '{}'", name), "", ENOENT, {}, ErrorKind::NotFound};
    return false;
  }
  return pin_fd(fd, path, error);
}

std::string BpfObject::verifier_log(const std::string& program_name) const {
  auto it = logs_.find(program_name);
  if (it == logs_.end()) it = logs_.find(to_elf_name(program_name));
  if (it == logs_.end()) return {};
  return std::string(it->second->data(), strnlen(it->second->data(), it->second->size()));
}

}  // namespace whistler::runtime
