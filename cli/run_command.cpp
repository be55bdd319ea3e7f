#include "run_command.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "bpf_object.hpp"
#include "compilation.hpp"
#include "diagnostics_json.hpp"
#include "error_report.hpp"
#include "exit_codes.hpp"
#include "interfaces.hpp"
#include "map_view.hpp"
#include "pins.hpp"
#include "program_build.hpp"
#include "ring_buffer.hpp"
#include "termination_signals.hpp"
#include "value_json.hpp"
#include "verdict_counts.hpp"
#include "xdp_attach.hpp"

namespace whistler {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Where the command's output goes: JSON lines, or text (a status line that
// rewrites itself on a terminal, one line per tick otherwise).
class RunOutput {
 public:
  RunOutput(bool json, bool verbose) : json_(json), verbose_(verbose), tty_(isatty(STDOUT_FILENO)) {}

  bool json() const { return json_; }

  void event(const nlohmann::json& j) {
    clear_status();
    std::cout << json_text(j) << "\n";
    std::cout.flush();
  }
  void info(const std::string& text) {
    clear_status();
    std::cout << text << "\n";
    std::cout.flush();
  }
  void status(const std::string& line) {
    if (tty_) {
      std::cout << "\r\x1b[K" << line;
      status_shown_ = true;
    } else {
      std::cout << line << "\n";
    }
    std::cout.flush();
  }
  void error(const runtime::RuntimeError& e) {
    clear_status();
    if (json_) {
      nlohmann::json j = to_json(e, verbose_);
      j["event"] = "error";
      event(j);
    } else {
      print_runtime_error(std::cerr, e, verbose_);
    }
  }
  void diagnostics(Compilation& c) {
    clear_status();
    if (json_) {
      event({{"event", "error"}, {"kind", "program"}, {"diagnostics", diagnostics_to_json(c.diags())}});
    } else {
      std::cerr << c.diags().render_all();
      if (c.diags().error_count() > 1) std::cerr << fmt::format("{} errors\n", c.diags().error_count());
    }
  }
  void usage(const std::string& message, const std::string& hint = {}) {
    runtime::RuntimeError e;
    e.message = message;
    e.hint = hint;
    e.kind = "usage";
    error(e);
  }
  void clear_status() {
    if (status_shown_) {
      std::cout << "\r\x1b[K";
      status_shown_ = false;
    }
  }
  bool broken() const { return !std::cout; }

 private:
  bool json_;
  bool verbose_;
  bool tty_;
  bool status_shown_ = false;
};

struct RingSource {
  std::string name;
  runtime::RecordLayout layout;
  std::unique_ptr<runtime::RingBufferReader> reader;
};

std::string elapsed_text(double seconds) { return fmt::format("[{:>5.0f}s]", std::floor(seconds)); }

}  // namespace

int run_command(const RunArgs& a) {
  RunOutput out(a.json, a.verbose);
  auto mode = runtime::parse_xdp_mode(a.mode);
  if (!mode) {
    out.usage(fmt::format("unknown XDP mode '{}'", a.mode), fmt::format("the modes are {}", runtime::xdp_mode_choices()));
    return kExitUsage;
  }
  runtime::Persistence persistence = runtime::Persistence::None;
  if (a.persist == "link") persistence = runtime::Persistence::PinnedLink;
  else if (a.persist == "netlink") persistence = runtime::Persistence::Netlink;
  else if (!a.persist.empty()) {
    out.usage(fmt::format("unknown --persist '{}'", a.persist), "use --persist link (a pinned BPF link) or --persist netlink");
    return kExitUsage;
  }
  if (a.interval <= 0) {
    out.usage("--interval must be positive");
    return kExitUsage;
  }

  // Compile, with the per-verdict counters unless they are unwanted.
  CompileOptions options;
  options.opt_level = a.opt_level;
  options.include_dirs = a.include_dirs;
  options.count_verdicts = !a.no_counters;
  for (const auto& d : a.defines) {
    auto eq = d.find('=');
    options.defines.emplace_back(d.substr(0, eq), eq == std::string::npos ? "1" : d.substr(eq + 1));
  }
  Compilation compilation(options);
  // A file that cannot be read (a directory, too large, an I/O error) is
  // refused before any interface is looked at.
  std::optional<std::string> text = compilation.read_file(a.file);
  if (!text) {
    out.diagnostics(compilation);
    return kExitProgramErrors;
  }

  // Then the interface: it is the cheapest thing to get wrong.
  auto iface = runtime::find_interface(a.iface);
  if (!iface) {
    out.error(runtime::missing_interface_error(a.iface));
    return kExitRefused;
  }

  compilation.add_source(a.file == "-" ? "<stdin>" : a.file, std::move(*text));
  CompileOutput object;
  if (!compilation.diags().has_errors()) object = compilation.generate(EmitKind::Object);
  if (!object.ok || compilation.diags().has_errors()) {
    out.diagnostics(compilation);
    return kExitProgramErrors;
  }
  if (!a.json) std::cerr << compilation.diags().render_all();  // warnings

  // Which program.
  const Module& module = compilation.module();
  const ProgramDef* prog = nullptr;
  if (!a.prog.empty()) {
    prog = find_program_named(module, a.prog);
    if (!prog) {
      out.usage(fmt::format("{} defines no program named '{}'", a.file, a.prog),
                module.programs.empty() ? "it defines no programs" : fmt::format("its programs: {}", program_names(module)));
      return kExitUsage;
    }
    if (!is_attachable_section(prog->section)) {
      out.usage(fmt::format("program '{}' (section {}) runs from a devmap or cpumap, not on an interface", a.prog, prog->section),
                "choose a program in an xdp or xdp/NAME section");
      return kExitUsage;
    }
  } else {
    auto candidates = attachable_programs(module);
    if (candidates.empty()) {
      out.usage(fmt::format("{} defines no XDP program to attach", a.file), "define one with (defprog NAME (:type :xdp) ...)");
      return kExitProgramErrors;
    }
    if (candidates.size() > 1) {
      std::string names;
      for (const auto* p : candidates) names += (names.empty() ? "" : ", ") + p->name->name;
      out.usage(fmt::format("{} defines {} XDP programs ({}); choose one with --prog NAME", a.file, candidates.size(), names));
      return kExitUsage;
    }
    prog = candidates.front();
  }
  const std::string prog_name = prog->name->name;

  // Load (bound to the device for offload).
  runtime::OpenOptions open;
  open.name = fs::path(a.file).stem().string().substr(0, 15);
  open.verbose_log = a.verbose;
  if (*mode == runtime::XdpMode::Offload) open.offload_ifindex = iface->ifindex;
  runtime::RuntimeError error;
  auto obj = load_compiled(compilation, object, open, error);
  if (!obj) {
    if (error.kind == runtime::ErrorKind::VerifierRejected && compilation.diags().has_errors()) {
      out.diagnostics(compilation);
      if (a.verbose && !a.json) std::cerr << "---- verifier log ----\n" << error.detail << "----\n";
      return kExitProgramErrors;
    }
    if (*mode == runtime::XdpMode::Offload && (error.kind == runtime::ErrorKind::OffloadUnsupported || error.error == EINVAL))
      error = runtime::offload_unsupported_error(*iface, error.detail);
    out.error(error);
    return kExitRefused;
  }
  if (a.verbose && !a.json && !obj->libbpf_messages().empty()) std::cerr << obj->libbpf_messages();
  int prog_fd = obj->program_fd(prog->elf_name);

  // Attach.
  runtime::AttachOptions attach;
  attach.mode = *mode;
  attach.persistence = persistence;
  attach.replace = a.replace;
  attach.program_name = prog->elf_name;
  attach.frags = prog->section.rfind("xdp.frags", 0) == 0;
  if (persistence == runtime::Persistence::PinnedLink) {
    // A pin left by an attachment that is gone is stale: clear it.
    std::string dir = runtime::interface_pin_dir(a.iface);
    for (const auto& pin : runtime::list_pins(dir))
      if (pin.kind == runtime::ObjectKind::Link && pin.link_ifindex == 0) {
        runtime::remove_pin_tree(dir);
        break;
      }
  }
  install_termination_handlers();
  auto attachment = runtime::XdpAttachment::attach(prog_fd, a.iface, attach, error);
  if (!attachment) {
    out.error(error);
    return kExitRefused;
  }
  if (persistence == runtime::Persistence::PinnedLink && !attachment->link_pin_path().empty()) {
    std::string maps_dir = fs::path(attachment->link_pin_path()).parent_path() / "maps";
    for (const auto& m : module.maps) {
      if (!obj->pin_map(m.elf_name, maps_dir + "/" + m.elf_name, error)) {
        out.error(error);
        runtime::RuntimeError ignored;
        attachment->detach(ignored);
        return kExitRefused;
      }
    }
  }

  const std::string mode_name = runtime::xdp_mode_description(attachment->mode());
  if (out.json()) {
    nlohmann::json j = {{"event", "attached"},
                        {"interface", a.iface},
                        {"ifindex", iface->ifindex},
                        {"program", prog_name},
                        {"elf_name", prog->elf_name},
                        {"prog_id", attachment->prog_id()},
                        {"mode", mode_name},
                        {"requested_mode", runtime::xdp_mode_spelling(*mode)},
                        {"attached_via", attachment->via_link() ? "link" : "netlink"},
                        {"persistent", attachment->persistence() != runtime::Persistence::None}};
    if (attachment->link_id()) j["link_id"] = attachment->link_id();
    if (!attachment->link_pin_path().empty()) j["link_pin"] = attachment->link_pin_path();
    if (!attachment->replaced().empty()) j["replaced"] = attachment->replaced();
    out.event(j);
  } else {
    std::string via = attachment->via_link() ? fmt::format("BPF link {}", attachment->link_id()) : "netlink";
    if (!attachment->link_pin_path().empty()) via += fmt::format(", pinned at {}", attachment->link_pin_path());
    std::string replaced = attachment->replaced().empty() ? "" : fmt::format(", atomically replacing {}", attachment->replaced());
    std::string leave = attachment->persistence() == runtime::Persistence::None ? "Ctrl-C detaches"
                                                                               : "Ctrl-C exits and leaves it attached";
    out.info(fmt::format("whistler: {} (id {}) attached to {} in {} mode via {}{}; {}", prog_name, attachment->prog_id(),
                         a.iface, mode_name, via, replaced, leave));
  }

  // Maps to watch and ring buffers to read.
  std::vector<MapView> views;
  std::vector<RingSource> rings;
  int verdict_fd = obj->map_fd(runtime::kVerdictCountsMap);
  for (const auto& m : module.maps) {
    if (m.elf_name == runtime::kVerdictCountsMap) continue;
    int fd = obj->map_fd(m.elf_name);
    runtime::RuntimeError e;
    auto view = make_map_view(m.name->name, fd, &m, e);
    if (!view) continue;
    if (m.kind == MapKind::Ringbuf) {
      RingSource src{m.name->name, view->layouts.value, nullptr};
      rings.push_back(std::move(src));
    }
    views.push_back(std::move(*view));
  }
  for (auto& ring : rings) {
    const std::string name = ring.name;
    const runtime::RecordLayout* layout = &ring.layout;
    auto on_record = [&out, name, layout](std::string_view bytes) {
      runtime::DecodedValue v = runtime::decode(*layout, bytes);
      if (out.json()) out.event({{"event", "record"}, {"map", name}, {"value", to_json(v)}});
      else out.info(fmt::format("{}: {}", name, runtime::format_lisp(v)));
    };
    runtime::RuntimeError e;
    ring.reader = runtime::RingBufferReader::open(obj->map_fd(elf_name(name)), on_record, e);
    if (!ring.reader) out.error(e);
  }

  // The live loop.
  auto start = Clock::now();
  auto next_tick = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.interval));
  runtime::VerdictCounts previous;
  auto previous_time = start;
  std::string end_reason;
  auto ring_count = [&](const std::string& name) -> uint64_t {
    for (const auto& r : rings)
      if (r.name == name && r.reader) return r.reader->delivered();
    return 0;
  };
  auto report = [&](bool final) {
    auto now = Clock::now();
    double elapsed = std::chrono::duration<double>(now - start).count();
    double dt = std::chrono::duration<double>(now - previous_time).count();
    runtime::VerdictCounts counts;
    runtime::RuntimeError e;
    bool have_counts = verdict_fd >= 0 && runtime::read_verdict_counts(verdict_fd, counts, e);
    if (out.json()) {
      nlohmann::json j = {{"event", final ? "final" : "stats"}, {"elapsed", std::round(elapsed * 1000) / 1000}};
      if (have_counts) {
        nlohmann::json verdicts, rates;
        for (uint32_t s = 0; s < runtime::kVerdictCountSlots; ++s) {
          if (s > 4 && s != runtime::kVerdictOtherSlot) continue;
          verdicts[runtime::xdp_action_key(s)] = counts.packets[s];
          rates[runtime::xdp_action_key(s)] = dt > 0 ? std::round((counts.packets[s] - previous.packets[s]) / dt * 10) / 10 : 0.0;
        }
        j["verdicts"] = verdicts;
        j["rates"] = rates;
        j["packets"] = counts.total();
      }
      nlohmann::json maps = nlohmann::json::object();
      for (const auto& v : views) maps[v.name] = map_summary_json(v, ring_count(v.name));
      j["maps"] = maps;
      out.event(j);
    } else {
      std::string line = fmt::format("{} {} {} {}", elapsed_text(elapsed), a.iface, mode_name, prog_name);
      if (have_counts) {
        line += ":";
        for (uint32_t s : {2u, 1u, 0u, 3u, 4u, runtime::kVerdictOtherSlot}) {
          if (s == runtime::kVerdictOtherSlot && counts.packets[s] == 0) continue;
          uint64_t delta = counts.packets[s] - previous.packets[s];
          line += fmt::format(" {} {}", runtime::xdp_action_key(s), counts.packets[s]);
          if (delta && dt > 0) line += fmt::format(" (+{:.0f}/s)", delta / dt);
        }
      }
      std::string maps;
      for (const auto& v : views) maps += (maps.empty() ? "" : ", ") + map_summary_text(v, ring_count(v.name));
      if (!maps.empty()) line += " | " + maps;
      if (final) out.info(line);
      else out.status(line);
    }
    if (have_counts) previous = counts;
    previous_time = now;
  };

  while (!termination_requested()) {
    auto now = Clock::now();
    if (a.duration > 0 && now - start >= std::chrono::duration<double>(a.duration)) {
      end_reason = "duration";
      break;
    }
    if (now >= next_tick) {
      report(false);
      if (out.broken()) break;
      next_tick += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.interval));
      if (next_tick < now) next_tick = now;
      uint32_t current = 0;
      auto status = attachment->status(&current);
      if (status != runtime::AttachmentStatus::Attached) {
        if (status == runtime::AttachmentStatus::Replaced) {
          end_reason = "replaced";
          if (out.json()) out.event({{"event", "replaced"}, {"interface", a.iface}, {"prog_id", current}});
          else out.info(fmt::format("whistler: {} on {} was replaced by program id {}; leaving that one attached", prog_name, a.iface, current));
        } else {
          end_reason = "detached elsewhere";
          if (out.json()) out.event({{"event", "detached"}, {"interface", a.iface}, {"by", "another process"}});
          else out.info(fmt::format("whistler: {} was detached from {} by another process", prog_name, a.iface));
        }
        break;
      }
    }
    int timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(next_tick - Clock::now()).count());
    timeout_ms = std::clamp(timeout_ms, 0, 200);
    std::vector<pollfd> fds;
    for (const auto& r : rings)
      if (r.reader) fds.push_back({r.reader->epoll_fd(), POLLIN, 0});
    ::poll(fds.data(), fds.size(), timeout_ms);
    for (auto& r : rings)
      if (r.reader) {
        runtime::RuntimeError e;
        r.reader->consume(e);
      }
  }

  // Drain what is left, report once more, detach.
  for (auto& r : rings)
    if (r.reader) {
      runtime::RuntimeError e;
      r.reader->consume(e);
    }
  if (end_reason.empty() || end_reason == "duration") report(true);
  int exit_code = kExitOk;
  if (end_reason == "replaced" || end_reason == "detached elsewhere") {
    attachment->release();
  } else if (attachment->persistence() != runtime::Persistence::None) {
    std::string where = attachment->link_pin_path().empty() ? "through netlink" : "as pinned link " + attachment->link_pin_path();
    if (out.json())
      out.event({{"event", "left-attached"}, {"interface", a.iface}, {"prog_id", attachment->prog_id()}, {"how", where}});
    else
      out.info(fmt::format("whistler: {} stays attached to {} {}; remove it with: whistler detach --iface {}", prog_name,
                           a.iface, where, a.iface));
    attachment->release();
  } else {
    runtime::RuntimeError e;
    runtime::AttachmentStatus before;
    if (!attachment->detach(e, &before)) {
      out.error(e);
      exit_code = kExitRefused;
    } else if (out.json()) {
      out.event({{"event", "detached"}, {"interface", a.iface}, {"prog_id", attachment->prog_id()}, {"signal", termination_signal()}});
    } else {
      out.info(fmt::format("whistler: detached {} from {}", prog_name, a.iface));
    }
  }
  restore_termination_handlers();
  return exit_code;
}

}  // namespace whistler
