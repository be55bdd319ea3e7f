// A BPF ELF object opened and loaded with libbpf: programs and maps found by
// Whistler or ELF name, XDP program types set for every xdp* section (libbpf
// 1.1 infers none for "xdp/NAME"), and each program's verifier log kept.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime_error.hpp"

struct bpf_object;
struct bpf_program;
struct bpf_map;

namespace whistler::runtime {

struct OpenOptions {
  std::string name = "whistler";  // object name (shown by bpftool)
  bool verbose_log = false;       // request the verifier log even on success
  int offload_ifindex = 0;        // load bound to this device (xdpoffload)
  // Maps (by ELF or Whistler name) that take an existing map's fd instead of
  // being created: state survives a reload (REPL redefinitions, pinned maps).
  // Maps whose type or sizes differ are created afresh.
  std::map<std::string, int> reuse_maps;
  // Ignore the maps' :pinning: create every map afresh and pin nothing (a
  // verifier check must leave no trace in /sys/fs/bpf).
  bool no_pinning = false;
};

class BpfObject {
 public:
  ~BpfObject();
  BpfObject(const BpfObject&) = delete;
  BpfObject& operator=(const BpfObject&) = delete;

  // Opens an object from memory (the bytes are copied) or from a file.
  // `what` names the object in errors (default: the object's name).
  static std::unique_ptr<BpfObject> open_memory(const std::string& elf, const OpenOptions& options, RuntimeError& error,
                                                const std::string& what = {});
  static std::unique_ptr<BpfObject> open_file(const std::string& path, const OpenOptions& options, RuntimeError& error);
  // Reads an object file (at most kMaxObjectBytes): false with "cannot read
  // 'PATH': REASON" (kind not-found for a missing file, bad-value for a
  // directory or a file over the limit, else none) when it cannot.
  static bool read_file(const std::string& path, std::string& bytes, RuntimeError& error);

  // Loads every program and creates every map. On a verifier rejection the
  // error names the program and carries its log in `detail`.
  bool load(RuntimeError& error);
  bool loaded() const { return loaded_; }

  // By ELF name ("drop_9999") or Whistler name ("drop-9999"); nullptr if absent.
  bpf_program* program(const std::string& name) const;
  bpf_map* map(const std::string& name) const;
  std::vector<bpf_program*> programs() const;
  std::vector<bpf_map*> maps() const;
  int program_fd(const std::string& name) const;
  int map_fd(const std::string& name) const;
  // The verifier log of a program (after load, or after a failed load).
  std::string verifier_log(const std::string& program) const;
  // Programs whose load failed in the last load() call.
  const std::string& failed_program() const { return failed_program_; }
  // Warnings libbpf printed while opening and loading (e.g. BTF problems).
  const std::string& libbpf_messages() const { return libbpf_messages_; }

  // The program's section ("xdp/drop_9999"), "" when there is no such program.
  std::string section(const std::string& program) const;
  // Names of the maps the last load() took over from OpenOptions::reuse_maps.
  const std::vector<std::string>& reused_maps() const { return reused_maps_; }

  // Pins a program or map of the loaded object (see pins.hpp for the rules).
  bool pin_program(const std::string& name, const std::string& path, RuntimeError& error) const;
  bool pin_map(const std::string& name, const std::string& path, RuntimeError& error) const;

  bpf_object* raw() const { return obj_; }

 private:
  BpfObject() = default;
  bool any_xdp_program() const;
  static std::unique_ptr<BpfObject> finish_open(bpf_object* obj, std::string buffer, const OpenOptions& options,
                                                RuntimeError& error, const std::string& what);

  bpf_object* obj_ = nullptr;
  std::string elf_;  // libbpf keeps pointers into the buffer it opened
  OpenOptions options_;
  std::map<std::string, std::unique_ptr<std::vector<char>>> logs_;
  bool loaded_ = false;
  std::string failed_program_;
  std::string libbpf_messages_;
  std::vector<std::string> reused_maps_;
};

// "drop-9999" -> "drop_9999"
std::string to_elf_name(const std::string& name);

}  // namespace whistler::runtime
