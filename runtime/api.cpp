// The public runtime API (include/whistler/runtime.hpp) over the runtime
// library: BpfObject, test_run, MapHandle and XdpAttachment do the work;
// this file turns their RuntimeErrors into whistler::Error exceptions and
// hides libbpf behind handles.
//
// The internal headers come first (see compiler/api.cpp): below,
// runtime::X is the internal type and an unqualified X the public one.
#include "bpf_info.hpp"
#include "bpf_object.hpp"
#include "verifier_log.hpp"
#include "interfaces.hpp"
#include "map_access.hpp"
#include "runtime_error.hpp"
#include "test_run.hpp"
#include "xdp_attach.hpp"
#include "xdp_mode.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <whistler/runtime.hpp>

#include <cerrno>
#include <cstring>

namespace whistler::v1 {

namespace impl {

struct ErrorData {
  ErrorKind kind;
  std::string message;
  std::string hint;
  std::string detail;
  int error_number;
};

struct ObjectState {
  std::unique_ptr<runtime::BpfObject> object;
  std::string name;
};

struct ProgramState {
  std::shared_ptr<const ObjectState> object;
  std::string name;
  std::string section;
  int fd = -1;
  std::uint32_t id = 0;
};

struct MapState {
  std::shared_ptr<const ObjectState> object;
  runtime::MapHandle handle;
  std::string type;
};

struct XdpLinkState {
  std::shared_ptr<const ObjectState> object;  // declared first: outlives the attachment
  std::unique_ptr<runtime::XdpAttachment> attachment;
};

}  // namespace impl

namespace {

namespace rk = runtime::ErrorKind;

ErrorKind public_kind(const std::string& kind) {
  static const std::pair<const char*, ErrorKind> kinds[] = {
      {rk::InterfaceMissing, ErrorKind::InterfaceMissing},   {rk::NativeUnsupported, ErrorKind::NativeUnsupported},
      {rk::MtuTooLarge, ErrorKind::MtuTooLarge},             {rk::AlreadyAttached, ErrorKind::AlreadyAttached},
      {rk::ModeConflict, ErrorKind::ModeConflict},           {rk::OffloadUnsupported, ErrorKind::OffloadUnsupported},
      {rk::MissingCapability, ErrorKind::MissingCapability}, {rk::VerifierRejected, ErrorKind::VerifierRejected},
      {rk::NotAttached, ErrorKind::NotAttached},             {rk::NotFound, ErrorKind::NotFound},
      {rk::BadValue, ErrorKind::BadValue},                   {rk::Kernel, ErrorKind::Kernel},
  };
  for (const auto& [name, k] : kinds)
    if (kind == name) return k;
  return ErrorKind::Other;
}

// The runtime's hints are written for the `whistler` command and name its
// options; API users get the API's names for the same things.
std::string api_hint(std::string hint) {
  static const std::pair<const char*, const char*> spellings[] = {
      {"--mode xdpdrv or xdpgeneric", "XdpMode::Native or XdpMode::Generic"},
      {"--mode xdpgeneric", "XdpMode::Generic"},
      {"--mode xdpdrv", "XdpMode::Native"},
      {"--mode xdpoffload", "XdpMode::Offload"},
      {"--mode xdp", "XdpMode::Auto"},
      {"--replace", "XdpAttachOptions::replace"},
      {"(--verbose)", "(Error::detail())"},
  };
  for (const auto& [cli, api] : spellings)
    for (size_t at = hint.find(cli); at != std::string::npos; at = hint.find(cli, at + std::strlen(api)))
      hint.replace(at, std::strlen(cli), api);
  return hint;
}

[[noreturn]] void raise(const runtime::RuntimeError& e, std::optional<ErrorKind> kind = std::nullopt) {
  throw Error(kind ? *kind : public_kind(e.kind), e.message.empty() ? "the BPF operation failed" : e.message,
              api_hint(e.hint), e.detail, e.error);
}

// Runs a runtime call that reports through a RuntimeError, throwing it.
template <class F>
auto checked(F&& f) {
  runtime::RuntimeError error;
  auto result = f(error);
  if (error) raise(error);
  return result;
}

std::string to_string_bytes(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Map::Bytes to_vector(const std::string& s) { return Map::Bytes(s.begin(), s.end()); }

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Refuses what cannot be an object before libbpf sees it: libbpf's own
// errors for arbitrary bytes are bare errno texts.
void check_elf(std::span<const std::byte> bytes, const std::string& what) {
  static const char hint[] =
      "load the output of whistlerc -o FILE.o, of whistler::compile_file / compile_source with "
      "OutputKind::Object, or another BPF ELF object";
  if (bytes.empty()) throw Error(ErrorKind::InvalidObject, fmt::format("{} is empty (0 bytes)", what), hint);
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "\x7f" "ELF", 4) != 0) {
    std::string start;
    for (size_t i = 0; i < std::min<size_t>(bytes.size(), 4); ++i)
      start += fmt::format("{}{:02x}", i ? " " : "", static_cast<unsigned>(bytes[i]));
    throw Error(ErrorKind::InvalidObject,
                fmt::format("{} is not an ELF object: it starts with {} instead of 7f 45 4c 46 (\"\\x7fELF\")", what, start),
                hint);
  }
}

runtime::OpenOptions open_options(const LoadOptions& options) {
  runtime::OpenOptions o;
  o.name = options.name.empty() ? "whistler" : options.name;
  o.verbose_log = options.verifier_log;
  if (!options.offload_interface.empty()) {
    auto iface = runtime::find_interface(options.offload_interface);
    if (!iface) raise(runtime::missing_interface_error(options.offload_interface));
    o.offload_ifindex = iface->ifindex;
  }
  return o;
}

std::shared_ptr<impl::ObjectState> finish_load(std::unique_ptr<runtime::BpfObject> object, runtime::RuntimeError& error,
                                               const std::string& name) {
  if (!object) raise(error, error.kind == rk::BadValue ? std::optional(ErrorKind::InvalidObject) : std::nullopt);
  if (!object->load(error)) {
    if (error.kind == rk::VerifierRejected) {
      // The reason, the .lisp line it was checking and the usual fix, as
      // `whistlerc --check` reports them; the whole log stays in detail().
      runtime::VerifierReport report = runtime::analyze_verifier_log(error.detail);
      if (report.line) error.message += fmt::format(" at {}:{}", report.file, report.line);
      if (!report.reason.empty()) error.message += ": " + report.reason;
      if (error.hint.empty()) error.hint = report.hint;
      if (error.hint.empty())
        error.hint = "Error::detail() holds the verifier's log; `whistlerc --check FILE.lisp` explains it against the source";
    }
    raise(error);
  }
  auto state = std::make_shared<impl::ObjectState>();
  state->object = std::move(object);
  state->name = name;
  return state;
}

std::vector<std::string> program_names(const runtime::BpfObject& o) {
  std::vector<std::string> names;
  for (bpf_program* p : o.programs()) names.push_back(bpf_program__name(p));
  return names;
}

std::vector<std::string> map_names(const runtime::BpfObject& o) {
  std::vector<std::string> names;
  for (bpf_map* m : o.maps()) names.push_back(bpf_map__name(m));
  return names;
}

[[noreturn]] void not_found(const std::string& object, const char* what, std::string_view name,
                            const std::vector<std::string>& names) {
  std::string there = names.empty() ? fmt::format("it has no {}s", what) : fmt::format("its {}s: {}", what, join(names));
  throw Error(ErrorKind::NotFound, fmt::format("object '{}' has no {} named '{}'; {}", object, what, name, there),
              fmt::format("{}s are found by their Whistler name (drop-9999) or ELF name (drop_9999)", what), {}, ENOENT);
}

}  // namespace

// ---------------------------------------------------------------------------
// Error and the enums

Error::Error(ErrorKind kind, std::string message, std::string hint, std::string detail, int error_number)
    : std::runtime_error(hint.empty() ? message : message + "\n  hint: " + hint),
      data_(std::make_shared<impl::ErrorData>(
          impl::ErrorData{kind, std::move(message), std::move(hint), std::move(detail), error_number})) {}

ErrorKind Error::kind() const noexcept { return data_->kind; }
const std::string& Error::message() const noexcept { return data_->message; }
const std::string& Error::hint() const noexcept { return data_->hint; }
const std::string& Error::detail() const noexcept { return data_->detail; }
int Error::error_number() const noexcept { return data_->error_number; }

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Other: return "other";
    case ErrorKind::CompileFailed: return "compile-failed";
    case ErrorKind::InvalidObject: return "invalid-object";
    case ErrorKind::NotFound: return rk::NotFound;
    case ErrorKind::BadValue: return rk::BadValue;
    case ErrorKind::MissingCapability: return rk::MissingCapability;
    case ErrorKind::VerifierRejected: return rk::VerifierRejected;
    case ErrorKind::InterfaceMissing: return rk::InterfaceMissing;
    case ErrorKind::NativeUnsupported: return rk::NativeUnsupported;
    case ErrorKind::MtuTooLarge: return rk::MtuTooLarge;
    case ErrorKind::AlreadyAttached: return rk::AlreadyAttached;
    case ErrorKind::ModeConflict: return rk::ModeConflict;
    case ErrorKind::OffloadUnsupported: return rk::OffloadUnsupported;
    case ErrorKind::NotAttached: return rk::NotAttached;
    case ErrorKind::Kernel: return rk::Kernel;
  }
  return "other";
}

const char* to_string(XdpAction action) {
  switch (action) {
    case XdpAction::Aborted: return "XDP_ABORTED";
    case XdpAction::Drop: return "XDP_DROP";
    case XdpAction::Pass: return "XDP_PASS";
    case XdpAction::Tx: return "XDP_TX";
    case XdpAction::Redirect: return "XDP_REDIRECT";
  }
  return "unknown";
}

namespace {

runtime::XdpMode internal_mode(XdpMode mode) {
  switch (mode) {
    case XdpMode::Auto: return runtime::XdpMode::Auto;
    case XdpMode::Native: return runtime::XdpMode::Native;
    case XdpMode::Generic: return runtime::XdpMode::Generic;
    case XdpMode::Offload: return runtime::XdpMode::Offload;
  }
  return runtime::XdpMode::Auto;
}

XdpMode public_mode(runtime::XdpMode mode) {
  switch (mode) {
    case runtime::XdpMode::Auto: return XdpMode::Auto;
    case runtime::XdpMode::Native: return XdpMode::Native;
    case runtime::XdpMode::Generic: return XdpMode::Generic;
    case runtime::XdpMode::Offload: return XdpMode::Offload;
  }
  return XdpMode::Auto;
}

}  // namespace

const char* to_string(XdpMode mode) { return runtime::xdp_mode_spelling(internal_mode(mode)); }

std::optional<XdpMode> parse_xdp_mode(std::string_view name) {
  auto mode = runtime::parse_xdp_mode(std::string(name));
  if (!mode) return std::nullopt;
  return public_mode(*mode);
}

// ---------------------------------------------------------------------------
// Object

Object::Object(std::shared_ptr<impl::ObjectState> state) : state_(std::move(state)) {}
Object::Object(Object&&) noexcept = default;
Object& Object::operator=(Object&&) noexcept = default;
Object::~Object() = default;

Object Object::load(std::span<const std::byte> elf, const LoadOptions& options) {
  runtime::OpenOptions o = open_options(options);
  check_elf(elf, fmt::format("the BPF object '{}'", o.name));
  runtime::RuntimeError error;
  auto object = runtime::BpfObject::open_memory(to_string_bytes(elf), o, error);
  return Object(finish_load(std::move(object), error, o.name));
}

Object Object::load(const CompileResult& compiled, const LoadOptions& options) {
  if (!compiled.ok()) {
    std::string first;
    for (const auto& d : compiled.diagnostics)
      if (d.severity == Severity::Error) {
        first = d.location.file.empty() ? d.message
                : d.location.line == 0  // about the whole file
                    ? fmt::format("{}: {}", d.location.file, d.message)
                    : fmt::format("{}:{}:{}: {}", d.location.file, d.location.line, d.location.column, d.message);
        break;
      }
    throw Error(ErrorKind::CompileFailed, fmt::format("the program did not compile: {}", first),
                "fix the errors (CompileResult::diagnostics; Error::detail() has them as whistlerc prints them)",
                compiled.error_text());
  }
  if (compiled.output.empty())
    throw Error(ErrorKind::InvalidObject, "the compilation produced no object",
                "compile with CompileOptions::output = OutputKind::Object");
  return load(std::span<const std::uint8_t>(compiled.output), options);
}

Object Object::load_file(const std::string& path, const LoadOptions& options) {
  runtime::OpenOptions o = open_options(options);
  runtime::RuntimeError error;
  std::string bytes;
  if (!runtime::BpfObject::read_file(path, bytes, error))
    raise(error, error.kind == rk::BadValue ? std::optional(ErrorKind::InvalidObject) : std::nullopt);
  check_elf(std::as_bytes(std::span<const char>(bytes)), fmt::format("'{}'", path));
  auto object = runtime::BpfObject::open_memory(bytes, o, error, path);
  return Object(finish_load(std::move(object), error, options.name.empty() ? path : options.name));
}

const std::string& Object::name() const { return state_->name; }

std::optional<Program> Object::find_program(std::string_view name) const {
  bpf_program* p = state_->object->program(std::string(name));
  if (!p) return std::nullopt;
  auto s = std::make_shared<impl::ProgramState>();
  s->object = state_;
  s->name = bpf_program__name(p);
  s->section = bpf_program__section_name(p);
  s->fd = bpf_program__fd(p);
  auto info = runtime::program_info_by_fd(s->fd);
  s->id = info ? info->id : 0;
  return Program(std::move(s));
}

Program Object::program(std::string_view name) const {
  auto p = find_program(name);
  if (!p) not_found(state_->name, "program", name, program_names(*state_->object));
  return *p;
}

std::optional<Map> Object::find_map(std::string_view name) const {
  bpf_map* m = state_->object->map(std::string(name));
  if (!m) return std::nullopt;
  std::string elf_name = bpf_map__name(m);
  auto handle = checked([&](runtime::RuntimeError& e) { return runtime::MapHandle::from_fd(bpf_map__fd(m), elf_name, e); });
  std::string type = handle->info().type;
  for (char& c : type)
    if (c == '_') c = '-';
  return Map(std::make_shared<impl::MapState>(impl::MapState{state_, std::move(*handle), std::move(type)}));
}

Map Object::map(std::string_view name) const {
  auto m = find_map(name);
  if (!m) not_found(state_->name, "map", name, map_names(*state_->object));
  return *m;
}

std::vector<Program> Object::programs() const {
  std::vector<Program> out;
  for (const auto& name : program_names(*state_->object)) out.push_back(program(name));
  return out;
}

std::vector<Map> Object::maps() const {
  std::vector<Map> out;
  for (const auto& name : map_names(*state_->object)) out.push_back(map(name));
  return out;
}

// ---------------------------------------------------------------------------
// Program

Program::Program(std::shared_ptr<const impl::ProgramState> state) : state_(std::move(state)) {}

const std::string& Program::name() const { return state_->name; }
const std::string& Program::section() const { return state_->section; }
int Program::fd() const { return state_->fd; }
std::uint32_t Program::id() const { return state_->id; }
std::string Program::verifier_log() const { return state_->object->object->verifier_log(state_->name); }

TestRunResult Program::test_run(std::span<const std::byte> packet, std::uint32_t repeat) const {
  std::vector<std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(packet.data()),
                                  reinterpret_cast<const std::uint8_t*>(packet.data()) + packet.size());
  runtime::TestRunResult r;
  runtime::RuntimeError error;
  if (!runtime::test_run(state_->fd, bytes, r, error, repeat == 0 ? 1 : repeat)) {
    error.message = fmt::format("test run of program '{}': {}", state_->name, error.message);
    raise(error);
  }
  return TestRunResult{static_cast<XdpAction>(r.action), std::move(r.packet), r.duration_ns};
}

XdpLink Program::attach_xdp(const std::string& interface, XdpMode mode) const {
  return attach_xdp(interface, XdpAttachOptions{mode, false});
}

XdpLink Program::attach_xdp(const std::string& interface, const XdpAttachOptions& options) const {
  runtime::AttachOptions o;
  o.mode = internal_mode(options.mode);
  o.persistence = runtime::Persistence::None;
  o.replace = options.replace;
  o.program_name = state_->name;
  o.frags = state_->section.rfind("xdp.frags", 0) == 0;
  auto attachment = checked(
      [&](runtime::RuntimeError& e) { return runtime::XdpAttachment::attach(state_->fd, interface, o, e); });
  auto s = std::make_unique<impl::XdpLinkState>();
  s->object = state_->object;
  s->attachment = std::move(attachment);
  return XdpLink(std::move(s));
}

// ---------------------------------------------------------------------------
// XdpLink

XdpLink::XdpLink(std::unique_ptr<impl::XdpLinkState> state) : state_(std::move(state)) {}
XdpLink::XdpLink(XdpLink&&) noexcept = default;
XdpLink& XdpLink::operator=(XdpLink&&) noexcept = default;
XdpLink::~XdpLink() = default;

void XdpLink::detach() {
  auto& a = state_->attachment;
  if (!a->active()) return;
  runtime::RuntimeError error;
  if (!a->detach(error)) raise(error);
}

bool XdpLink::attached() const {
  const auto& a = state_->attachment;
  return a->active() && a->status() == runtime::AttachmentStatus::Attached;
}

const std::string& XdpLink::interface() const { return state_->attachment->ifname(); }
int XdpLink::ifindex() const { return state_->attachment->ifindex(); }
XdpMode XdpLink::mode() const { return public_mode(state_->attachment->mode()); }
std::uint32_t XdpLink::program_id() const { return state_->attachment->prog_id(); }
std::uint32_t XdpLink::link_id() const { return state_->attachment->link_id(); }

// ---------------------------------------------------------------------------
// Map

Map::Map(std::shared_ptr<const impl::MapState> state) : state_(std::move(state)) {}

const std::string& Map::name() const { return state_->handle.name(); }
const std::string& Map::type() const { return state_->type; }
std::uint32_t Map::key_size() const { return state_->handle.key_size(); }
std::uint32_t Map::value_size() const { return state_->handle.value_size(); }
std::uint32_t Map::max_entries() const { return state_->handle.info().max_entries; }
bool Map::per_cpu() const { return state_->handle.percpu(); }
std::uint32_t Map::cpus() const { return state_->handle.cpus(); }
int Map::fd() const { return state_->handle.fd(); }
std::uint32_t Map::id() const { return state_->handle.info().id; }

std::optional<Map::Bytes> Map::lookup(std::span<const std::byte> key) const {
  auto value = checked([&](runtime::RuntimeError& e) { return state_->handle.get(to_string_bytes(key), e); });
  if (!value) return std::nullopt;
  return to_vector(*value);
}

std::optional<std::vector<Map::Bytes>> Map::lookup_per_cpu(std::span<const std::byte> key) const {
  auto value = checked([&](runtime::RuntimeError& e) { return state_->handle.get(to_string_bytes(key), e); });
  if (!value) return std::nullopt;
  std::vector<Bytes> out;
  for (const auto& one : state_->handle.split_per_cpu(*value)) out.push_back(to_vector(one));
  return out;
}

void Map::update(std::span<const std::byte> key, std::span<const std::byte> value, UpdateMode mode) const {
  std::uint64_t flags = mode == UpdateMode::NoExist ? BPF_NOEXIST : mode == UpdateMode::Exist ? BPF_EXIST : BPF_ANY;
  runtime::RuntimeError error;
  if (state_->handle.put(to_string_bytes(key), to_string_bytes(value), error, flags)) return;
  if (mode == UpdateMode::NoExist && error.error == EEXIST) {
    error.message = fmt::format("map '{}' already has this key (UpdateMode::NoExist creates only)", name());
    error.hint = "use UpdateMode::Any to overwrite";
  } else if (mode == UpdateMode::Exist && error.error == ENOENT) {
    error.message = fmt::format("map '{}' has no such key (UpdateMode::Exist overwrites only)", name());
    error.hint = "use UpdateMode::Any to create it";
    error.kind = rk::NotFound;
  }
  raise(error);
}

bool Map::erase(std::span<const std::byte> key) const {
  bool existed = false;
  runtime::RuntimeError error;
  if (!state_->handle.erase(to_string_bytes(key), error, &existed)) raise(error);
  return existed;
}

std::vector<Map::Bytes> Map::keys(std::size_t limit) const {
  auto keys = checked([&](runtime::RuntimeError& e) { return state_->handle.keys(e, limit); });
  std::vector<Bytes> out;
  out.reserve(keys.size());
  for (const auto& k : keys) out.push_back(to_vector(k));
  return out;
}

std::vector<std::pair<Map::Bytes, Map::Bytes>> Map::entries(std::size_t limit) const {
  auto entries = checked([&](runtime::RuntimeError& e) { return state_->handle.entries(e, limit); });
  std::vector<std::pair<Bytes, Bytes>> out;
  out.reserve(entries.size());
  for (const auto& [k, v] : entries) out.emplace_back(to_vector(k), to_vector(v));
  return out;
}

std::uint64_t Map::sum(std::span<const std::byte> key) const {
  if (value_size() > 8)
    throw Error(ErrorKind::BadValue,
                fmt::format("map '{}' has {}-byte values; sum() adds counters of up to 8 bytes", name(), value_size()),
                "use lookup_per_cpu and add the fields yourself");
  return checked([&](runtime::RuntimeError& e) { return state_->handle.sum_u64(to_string_bytes(key), e); });
}

void Map::check_types(std::size_t key, std::size_t value, bool per_cpu_ok) const {
  if (key != key_size() || (value != 0 && value != value_size()))
    throw Error(ErrorKind::BadValue,
                value != 0 ? fmt::format("map '{}' has {}-byte keys and {}-byte values; the types used have {} and {}",
                                         name(), key_size(), value_size(), key, value)
                           : fmt::format("map '{}' has {}-byte keys; the key type used has {}", name(), key_size(), key),
                "use integer types of the map's key and value sizes (std::uint32_t for 4 bytes, ...)", {}, EINVAL);
  if (!per_cpu_ok && per_cpu())
    throw Error(ErrorKind::BadValue,
                fmt::format("map '{}' is a {} map: it holds one value per CPU", name(), type()),
                "use lookup_per_cpu<V>(key) for the values, or sum(key) for their total", {}, EINVAL);
}

}  // namespace whistler::v1
