// Loading BPF objects into the kernel and using them from C++: test runs,
// maps, and XDP attachments.
//
//   #include <whistler/whistler.hpp>
//   whistler::Object obj = whistler::Object::load(whistler::compile_file("drop.lisp"));
//   whistler::TestRunResult r = obj.program("drop-9999").test_run(frame);
//   if (r.verdict == whistler::XdpAction::Drop) ...
//   std::optional<std::uint64_t> n = obj.map("counts").lookup<std::uint64_t>(std::uint32_t{6});
//   whistler::XdpLink link = obj.program("drop-9999").attach_xdp("eth0", whistler::XdpMode::Generic);
//   // the program runs on eth0 until `link` is destroyed (or the process ends)
//
// Failures throw whistler::Error, whose message names the object, program,
// map or interface involved and whose hint says what to do. (Compilation
// reports errors as data instead, see compiler.hpp: errors in a program are
// an expected outcome; a failed load, map access or attach is not.)
//
// Loading, test runs, map access and attaching need privileges: CAP_BPF and
// CAP_PERFMON, and CAP_NET_ADMIN for XDP programs (root has them all).
//
// Everything here is in namespace whistler::v1 (the ABI version) and visible
// as whistler::. Program and Map handles may be used from several threads at
// once (each operation is one or a few system calls); an XdpLink is used by
// one thread at a time. Handles keep their object loaded while they live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <ranges>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>
#include <whistler/compiler.hpp>
#include <whistler/export.hpp>

namespace whistler::v1 {

namespace impl {
struct ErrorData;
struct ObjectState;
struct ProgramState;
struct MapState;
struct XdpLinkState;
}  // namespace impl

// ---------------------------------------------------------------------------
// Errors

// What kind of failure an Error reports, for programs that react to some
// of them. New kinds may be added in later minor versions.
enum class ErrorKind {
  Other,               // none of the below
  CompileFailed,       // Object::load(CompileResult) on a result with errors
  InvalidObject,       // the bytes or the file are not a BPF ELF object
  NotFound,            // no program / map of that name, or no such file
  BadValue,            // wrong key or value size, packet too short, ...
  MissingCapability,   // the process lacks CAP_BPF, CAP_PERFMON or CAP_NET_ADMIN
  VerifierRejected,    // the kernel verifier refused a program (log in detail())
  InterfaceMissing,    // no network interface of that name
  NativeUnsupported,   // the driver has no native XDP (use XdpMode::Generic)
  MtuTooLarge,         // the interface's MTU is too large for XDP
  AlreadyAttached,     // another XDP program runs there (XdpAttachOptions::replace)
  ModeConflict,        // a program runs there in the other mode (native vs generic)
  OffloadUnsupported,  // the device cannot run offloaded programs
  NotAttached,         // detaching something that is not attached
  Kernel,              // any other refusal by the kernel (error_number() says which)
};

// "not-found", "verifier-rejected", ... (the names `whistler --json` uses).
WHISTLER_API const char* to_string(ErrorKind kind);

// The exception every runtime function throws.
class WHISTLER_API Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string hint = {}, std::string detail = {}, int error_number = 0);

  // what(): the message, then "\n  hint: " and the hint when there is one.
  ErrorKind kind() const noexcept;
  // What went wrong, naming the object, program, map or interface involved.
  const std::string& message() const noexcept;
  // What to do about it; may be empty.
  const std::string& hint() const noexcept;
  // The raw text behind the message: the verifier log for VerifierRejected,
  // libbpf's output, the kernel's explanation of a refused attach. May be empty.
  const std::string& detail() const noexcept;
  // The errno the kernel returned, 0 when there was none.
  int error_number() const noexcept;

 private:
  std::shared_ptr<const impl::ErrorData> data_;
};

// ---------------------------------------------------------------------------
// Values

// XDP program return values. A program may return any number; compare with
// these or look at the integer (static_cast<std::uint32_t>(verdict)).
enum class XdpAction : std::uint32_t {
  Aborted = 0,   // XDP_ABORTED
  Drop = 1,      // XDP_DROP
  Pass = 2,      // XDP_PASS
  Tx = 3,        // XDP_TX
  Redirect = 4,  // XDP_REDIRECT
};
// "XDP_DROP", ...; "unknown" for other values.
WHISTLER_API const char* to_string(XdpAction action);

// The XDP attach modes, with the names `ip link` uses for them.
enum class XdpMode {
  Auto,     // "xdp": the kernel chooses (native when the driver has it, else generic)
  Native,   // "xdpdrv": in the driver, before the kernel allocates an skb
  Generic,  // "xdpgeneric": after the skb is built; works on every interface
  Offload,  // "xdpoffload": on the NIC (load with LoadOptions::offload_interface)
};
// "xdp", "xdpdrv", "xdpgeneric", "xdpoffload".
WHISTLER_API const char* to_string(XdpMode mode);
// Parses those names (and "auto", "native", "generic", "offload"); nullopt otherwise.
WHISTLER_API std::optional<XdpMode> parse_xdp_mode(std::string_view name);

// How Map::update treats an existing key (BPF_ANY, BPF_NOEXIST, BPF_EXIST).
enum class UpdateMode {
  Any,      // create or overwrite
  NoExist,  // create only: fails (Kernel, EEXIST) when the key is there
  Exist,    // overwrite only: fails (NotFound) when the key is absent
};

struct TestRunResult {
  XdpAction verdict = XdpAction::Aborted;  // what the program returned
  std::vector<std::uint8_t> packet;        // the packet after the program (rewrites, adjust-head/tail)
  std::uint32_t duration_ns = 0;           // the kernel's mean time per run
};

// Keys and values for Map's typed overloads: integers, enums and structs
// without pointers (anything trivially copyable that is not a pointer or a
// range). Their size must be the map's key or value size.
template <class T>
concept MapValue = std::is_trivially_copyable_v<T> && !std::is_pointer_v<T> && !std::is_array_v<T> &&
                   !std::ranges::range<T>;

class Object;
class Program;
class Map;

// ---------------------------------------------------------------------------
// XDP attachments

struct XdpAttachOptions {
  XdpMode mode = XdpMode::Auto;
  // Swap out a program already running on the interface in the same mode,
  // atomically (no packet sees no program). Without it, attaching where a
  // program runs fails with AlreadyAttached.
  bool replace = false;
};

// An XDP program attached to an interface through a BPF link. The link
// belongs to this process: the program is detached when the XdpLink is
// destroyed, and by the kernel when the process ends (even on a crash).
// Move-only.
class WHISTLER_API XdpLink {
 public:
  XdpLink(XdpLink&&) noexcept;
  XdpLink& operator=(XdpLink&&) noexcept;  // detaches what *this held first
  ~XdpLink();                              // detaches; errors are ignored

  // Detaches now; throws Error when the kernel refuses. Does nothing when
  // already detached. A program that replaced ours is left running.
  void detach();
  // Whether our program is still the one running on the interface.
  bool attached() const;

  const std::string& interface() const;
  int ifindex() const;
  // The mode in effect: Native or Generic when Auto was asked for.
  XdpMode mode() const;
  std::uint32_t program_id() const;  // the kernel's id of the attached program
  std::uint32_t link_id() const;     // the BPF link's id (bpftool link show)

 private:
  friend class Program;
  explicit XdpLink(std::unique_ptr<impl::XdpLinkState> state);
  std::unique_ptr<impl::XdpLinkState> state_;
};

// ---------------------------------------------------------------------------
// Programs

// A loaded program of an Object. Cheap to copy; keeps the object loaded.
class WHISTLER_API Program {
 public:
  // The ELF and kernel name ("drop_9999" for (defprog drop-9999 ...)).
  const std::string& name() const;
  // The ELF section ("xdp", "xdp/drop_9999", "xdp.frags", ...).
  const std::string& section() const;
  // The program's file descriptor, owned by the Object (do not close it).
  int fd() const;
  // The kernel's id of the program (bpftool prog show id N).
  std::uint32_t id() const;
  // The verifier's log: empty unless LoadOptions::verifier_log was set.
  std::string verifier_log() const;

  // Runs the program once on `packet` with BPF_PROG_TEST_RUN, without any
  // interface (`repeat` > 1 runs it that many times, for timing; the verdict
  // and packet are the last run's). The packet needs at least 14 bytes (an
  // Ethernet header).
  TestRunResult test_run(std::span<const std::byte> packet, std::uint32_t repeat = 1) const;
  TestRunResult test_run(std::span<const std::uint8_t> packet, std::uint32_t repeat = 1) const {
    return test_run(std::as_bytes(packet), repeat);
  }

  // Attaches the program to the interface named `interface` (in this
  // thread's network namespace) through a BPF link. Refusals explain
  // themselves: no such interface (the ones that exist are listed), a driver
  // without native XDP, an MTU too large, a program already attached (named,
  // with its id and mode), missing capabilities.
  XdpLink attach_xdp(const std::string& interface, XdpMode mode = XdpMode::Auto) const;
  XdpLink attach_xdp(const std::string& interface, const XdpAttachOptions& options) const;

 private:
  friend class Object;
  explicit Program(std::shared_ptr<const impl::ProgramState> state);
  std::shared_ptr<const impl::ProgramState> state_;
};

// ---------------------------------------------------------------------------
// Maps

// A map of a loaded Object, read and written from user space. Cheap to
// copy; keeps the object loaded.
//
// Keys and values are raw bytes (std::span<const std::byte>, or anything
// that converts to std::span<const std::uint8_t> such as
// std::vector<std::uint8_t> and std::array<std::uint8_t, N>), or typed
// values: integers and plain structs of exactly the key or value size,
// in the host's byte order as the program sees them.
//
//   m.update(std::uint32_t{6}, std::uint64_t{0});
//   std::optional<std::uint64_t> v = m.lookup<std::uint64_t>(std::uint32_t{6});
//
// Per-CPU maps (percpu-array, percpu-hash, lru-percpu-hash) hold one value
// per possible CPU: a raw lookup returns them all, each padded to 8 bytes
// (cpus() * round_up(value_size(), 8) bytes); lookup_per_cpu splits them and
// sum() adds them up. Writing a single value_size() value to a per-CPU map
// writes it to every CPU.
class WHISTLER_API Map {
 public:
  using Bytes = std::vector<std::uint8_t>;

  const std::string& name() const;  // the ELF name ("flow_counts")
  // As defmap's :type spells it: "hash", "array", "percpu-array", "ringbuf", ...
  const std::string& type() const;
  std::uint32_t key_size() const;
  std::uint32_t value_size() const;
  std::uint32_t max_entries() const;
  bool per_cpu() const;
  std::uint32_t cpus() const;  // values per key: the possible CPUs for per-CPU maps, else 1
  int fd() const;              // owned by the Object (do not close it)
  std::uint32_t id() const;    // the kernel's id of the map (bpftool map show id N)

  // The value stored under `key`, nullopt when there is none.
  std::optional<Bytes> lookup(std::span<const std::byte> key) const;
  std::optional<Bytes> lookup(std::span<const std::uint8_t> key) const { return lookup(std::as_bytes(key)); }
  // Per-CPU maps: one value per CPU (for other maps a single one).
  std::optional<std::vector<Bytes>> lookup_per_cpu(std::span<const std::byte> key) const;
  std::optional<std::vector<Bytes>> lookup_per_cpu(std::span<const std::uint8_t> key) const {
    return lookup_per_cpu(std::as_bytes(key));
  }
  // Stores `value` under `key`.
  void update(std::span<const std::byte> key, std::span<const std::byte> value, UpdateMode mode = UpdateMode::Any) const;
  void update(std::span<const std::uint8_t> key, std::span<const std::uint8_t> value,
              UpdateMode mode = UpdateMode::Any) const {
    update(std::as_bytes(key), std::as_bytes(value), mode);
  }
  // Deletes `key`; false when it was not there. Entries of array maps cannot
  // be deleted (Error, with a hint to write 0 instead).
  bool erase(std::span<const std::byte> key) const;
  bool erase(std::span<const std::uint8_t> key) const { return erase(std::as_bytes(key)); }
  // The keys, in the kernel's order, at most `limit` of them. Every index
  // of an array map is a key.
  std::vector<Bytes> keys(std::size_t limit = SIZE_MAX) const;
  // The entries (key, value as lookup() returns it), at most `limit`.
  std::vector<std::pair<Bytes, Bytes>> entries(std::size_t limit = SIZE_MAX) const;
  // Number of entries (at most `limit` are counted).
  std::size_t size(std::size_t limit = SIZE_MAX) const { return keys(limit).size(); }

  // Typed access. sizeof(K) must equal key_size() and sizeof(V)
  // value_size(), else Error (BadValue) names both sizes. lookup<V> and
  // entries<K, V> refuse per-CPU maps: use lookup_per_cpu<V> or sum.
  template <MapValue V, MapValue K>
  std::optional<V> lookup(const K& key) const {
    check_types(sizeof(K), sizeof(V), false);
    std::optional<Bytes> bytes = lookup(as_span(key));
    if (!bytes) return std::nullopt;
    return from_bytes<V>(bytes->data());
  }
  template <MapValue V, MapValue K>
  std::optional<std::vector<V>> lookup_per_cpu(const K& key) const {
    check_types(sizeof(K), sizeof(V), true);
    std::optional<std::vector<Bytes>> all = lookup_per_cpu(as_span(key));
    if (!all) return std::nullopt;
    std::vector<V> out;
    out.reserve(all->size());
    for (const Bytes& one : *all) out.push_back(from_bytes<V>(one.data()));
    return out;
  }
  template <MapValue K, MapValue V>
  void update(const K& key, const V& value, UpdateMode mode = UpdateMode::Any) const {
    check_types(sizeof(K), sizeof(V), true);
    update(as_span(key), as_span(value), mode);
  }
  template <MapValue K>
  bool erase(const K& key) const {
    check_types(sizeof(K), 0, true);
    return erase(as_span(key));
  }
  template <MapValue K, MapValue V>
  std::vector<std::pair<K, V>> entries(std::size_t limit = SIZE_MAX) const {
    check_types(sizeof(K), sizeof(V), false);
    std::vector<std::pair<K, V>> out;
    for (const auto& [k, v] : entries(limit)) out.emplace_back(from_bytes<K>(k.data()), from_bytes<V>(v.data()));
    return out;
  }
  // The sum over CPUs of an unsigned counter of up to 8 bytes (per-CPU maps;
  // for other maps the value itself); 0 when the key is absent.
  template <MapValue K>
  std::uint64_t sum(const K& key) const {
    check_types(sizeof(K), 0, true);
    return sum(as_span(key));
  }
  std::uint64_t sum(std::span<const std::byte> key) const;
  std::uint64_t sum(std::span<const std::uint8_t> key) const { return sum(std::as_bytes(key)); }

 private:
  friend class Object;
  explicit Map(std::shared_ptr<const impl::MapState> state);
  // Throws when the sizes do not match the map (value 0: not checked), or
  // when `per_cpu_ok` is false and the map is per-CPU.
  void check_types(std::size_t key, std::size_t value, bool per_cpu_ok) const;
  template <class T>
  static std::span<const std::byte> as_span(const T& v) {
    return std::as_bytes(std::span<const T, 1>(&v, 1));
  }
  template <class T>
  static T from_bytes(const std::uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  std::shared_ptr<const impl::MapState> state_;
};

// ---------------------------------------------------------------------------
// Objects

struct LoadOptions {
  // The object's name, in errors and Object::name(); empty: "whistler" for
  // objects loaded from memory, the path for files.
  std::string name;
  // Keep the verifier's log of every program, even when it accepts them
  // (Program::verifier_log). On a rejection the log is always in Error::detail().
  bool verifier_log = false;
  // Load the programs and maps bound to this device, to attach them with
  // XdpMode::Offload (a NIC that executes BPF, or netdevsim). Empty: not bound.
  std::string offload_interface;
};

// A BPF ELF object loaded into the kernel: its maps created, its programs
// verified and loaded. Move-only; unloaded when the Object and every
// Program, Map and XdpLink taken from it are gone.
class WHISTLER_API Object {
 public:
  // Loads an object from memory (the bytes are copied): the output of
  // compile_file / compile_source, an object embedded with
  // whistler_add_bpf_object(... EMBED_INTO ...), or read from anywhere.
  static Object load(std::span<const std::byte> elf, const LoadOptions& options = {});
  static Object load(std::span<const std::uint8_t> elf, const LoadOptions& options = {}) {
    return load(std::as_bytes(elf), options);
  }
  static Object load(const void* elf, std::size_t size, const LoadOptions& options = {}) {
    return load(std::span<const std::byte>(static_cast<const std::byte*>(elf), size), options);
  }
  // Loads a compilation's output; when it has errors, throws CompileFailed
  // with the rendered diagnostics in detail().
  static Object load(const CompileResult& compiled, const LoadOptions& options = {});
  // Loads an object file (whistlerc -o FILE.o, or any BPF ELF object).
  static Object load_file(const std::string& path, const LoadOptions& options = {});

  Object(Object&&) noexcept;
  Object& operator=(Object&&) noexcept;
  ~Object();

  // By Whistler name ("drop-9999") or ELF name ("drop_9999"). program() and
  // map() throw NotFound, listing the names there are; find_* return nullopt.
  Program program(std::string_view name) const;
  Map map(std::string_view name) const;
  std::optional<Program> find_program(std::string_view name) const;
  std::optional<Map> find_map(std::string_view name) const;
  // Every program and map, in the object's order.
  std::vector<Program> programs() const;
  std::vector<Map> maps() const;
  // LoadOptions::name, or "whistler", or the file's path.
  const std::string& name() const;

 private:
  explicit Object(std::shared_ptr<impl::ObjectState> state);
  std::shared_ptr<impl::ObjectState> state_;
};

}  // namespace whistler::v1

namespace whistler {
using namespace v1;
}
