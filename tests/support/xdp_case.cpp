#include "xdp_case.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "bpf_object.hpp"
#include "compilation.hpp"
#include "packet_builder.hpp"
#include "test_run.hpp"
#include "test_support.hpp"

namespace whistler::test {

namespace {

// A byte string with a mask of the bytes that matter (any:N clears it).
struct Datum {
  std::vector<uint8_t> bytes;
  std::vector<bool> care;
  std::optional<int64_t> integer;  // set when written as one bare integer
};

// Thrown for a mistake in the case file itself (or a setup step that failed):
// the run of the file stops there.
struct CaseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::vector<std::string> split_ws(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string join(const std::vector<std::string>& words, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to && i < words.size(); ++i) out += (out.empty() ? "" : " ") + words[i];
  return out;
}

// Decimal, 0x hex or negative; throws std::invalid_argument.
int64_t parse_int(const std::string& text, bool* is_negative = nullptr) {
  std::string t = text;
  bool neg = !t.empty() && t[0] == '-';
  if (neg) t = t.substr(1);
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t = t.substr(2);
  }
  if (t.empty()) throw std::invalid_argument("'" + text + "' is not an integer");
  for (char c : t) {
    bool ok = base == 16 ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : (c >= '0' && c <= '9');
    if (!ok) throw std::invalid_argument("'" + text + "' is not an integer");
  }
  uint64_t v;
  try {
    v = std::stoull(t, nullptr, base);
  } catch (const std::out_of_range&) {
    throw std::invalid_argument("'" + text + "' does not fit in 64 bits");
  }
  if (is_negative) *is_negative = neg;
  if (neg) {
    if (v > (uint64_t(1) << 63)) throw std::invalid_argument("'" + text + "' does not fit in 64 bits");
    return static_cast<int64_t>(0 - v);
  }
  return static_cast<int64_t>(v);
}

void put_int(std::vector<uint8_t>& out, const std::string& text, size_t width, bool big_endian) {
  bool neg = false;
  int64_t v = parse_int(text, &neg);
  uint64_t u = static_cast<uint64_t>(v);
  if (width < 8) {
    uint64_t limit = uint64_t(1) << (8 * width);
    bool fits = neg ? v >= -static_cast<int64_t>(limit / 2) : u < limit;
    if (!fits) throw std::invalid_argument("'" + text + "' does not fit in " + std::to_string(width) + " bytes");
  }
  for (size_t i = 0; i < width; ++i) {
    size_t shift = big_endian ? 8 * (width - 1 - i) : 8 * i;
    out.push_back(static_cast<uint8_t>(u >> shift));
  }
}

// KEY / VALUE / DATUM syntax, see xdp_case.hpp.
Datum parse_datum(const std::string& text, size_t size, bool allow_any, const char* what) {
  Datum d;
  auto check_size = [&] {
    if (d.bytes.size() != size)
      throw std::invalid_argument(std::string(what) + " '" + text + "' is " + std::to_string(d.bytes.size()) +
                                  " bytes, the map's " + what + " size is " + std::to_string(size));
  };
  if (text.find(':') == std::string::npos && text.find('+') == std::string::npos) {
    if (size > 8)
      throw std::invalid_argument(std::string(what) + " '" + text + "': the " + what + " is " + std::to_string(size) +
                                  " bytes, write it as parts (hex:..., u64:...+u64:...)");
    d.integer = parse_int(text);
    put_int(d.bytes, text, size, false);
    d.care.assign(size, true);
    return d;
  }
  std::vector<std::string> parts;
  {
    size_t start = 0;
    while (true) {
      size_t plus = text.find('+', start);
      parts.push_back(text.substr(start, plus == std::string::npos ? std::string::npos : plus - start));
      if (plus == std::string::npos) break;
      start = plus + 1;
    }
  }
  for (const std::string& part : parts) {
    size_t colon = part.find(':');
    if (colon == std::string::npos)
      throw std::invalid_argument("'" + part + "' in '" + text + "' needs a type (u32:5, be16:80, ip:..., hex:...)");
    std::string type = part.substr(0, colon), arg = part.substr(colon + 1);
    bool care = true;
    if (type == "u8" || type == "u16" || type == "u32" || type == "u64") {
      put_int(d.bytes, arg, std::stoul(type.substr(1)) / 8, false);
    } else if (type == "be16" || type == "be32" || type == "be64") {
      put_int(d.bytes, arg, std::stoul(type.substr(2)) / 8, true);
    } else if (type == "ip") {
      uint8_t a[4];
      if (inet_pton(AF_INET, arg.c_str(), a) != 1) throw std::invalid_argument("'" + arg + "' is not an IPv4 address");
      d.bytes.insert(d.bytes.end(), a, a + 4);
    } else if (type == "ip6") {
      uint8_t a[16];
      if (inet_pton(AF_INET6, arg.c_str(), a) != 1) throw std::invalid_argument("'" + arg + "' is not an IPv6 address");
      d.bytes.insert(d.bytes.end(), a, a + 16);
    } else if (type == "mac") {
      std::vector<uint8_t> m = parse_hex(arg);
      if (m.size() != 6) throw std::invalid_argument("'" + arg + "' is not a MAC address");
      d.bytes.insert(d.bytes.end(), m.begin(), m.end());
    } else if (type == "hex") {
      std::vector<uint8_t> h = parse_hex(arg);
      d.bytes.insert(d.bytes.end(), h.begin(), h.end());
    } else if (type == "zero" || type == "any") {
      int64_t n = parse_int(arg);
      if (n < 0 || n > 1 << 16) throw std::invalid_argument("bad byte count in '" + part + "'");
      if (type == "any") {
        if (!allow_any) throw std::invalid_argument("any: only makes sense in expected values");
        care = false;
      }
      d.bytes.resize(d.bytes.size() + static_cast<size_t>(n), 0);
    } else {
      throw std::invalid_argument("unknown part type '" + type +
                                  "' (u8 u16 u32 u64 be16 be32 be64 ip ip6 mac hex zero any)");
    }
    d.care.resize(d.bytes.size(), care);
  }
  check_size();
  return d;
}

bool matches(const Datum& want, const std::vector<uint8_t>& got) {
  if (got.size() != want.bytes.size()) return false;
  for (size_t i = 0; i < got.size(); ++i)
    if (want.care[i] && got[i] != want.bytes[i]) return false;
  return true;
}

std::string show(const Datum& d) {
  std::string out;
  static const char* digits = "0123456789abcdef";
  for (size_t i = 0; i < d.bytes.size(); ++i) {
    if (!d.care[i]) {
      out += "??";
      continue;
    }
    out.push_back(digits[d.bytes[i] >> 4]);
    out.push_back(digits[d.bytes[i] & 15]);
  }
  return out;
}

uint64_t le_value(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n && i < 8; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

const std::map<std::string, uint32_t>& verdicts() {
  static const std::map<std::string, uint32_t> v = {
      {"XDP_ABORTED", 0}, {"XDP_DROP", 1}, {"XDP_PASS", 2}, {"XDP_TX", 3}, {"XDP_REDIRECT", 4}};
  return v;
}

std::string verdict_name(uint32_t v) {
  for (const auto& [name, value] : verdicts())
    if (value == v) return name;
  return std::to_string(v);
}

uint32_t parse_verdict(const std::string& text) {
  auto it = verdicts().find(text);
  if (it != verdicts().end()) return it->second;
  try {
    int64_t n = parse_int(text);
    if (n >= 0 && n <= 0xffffffffLL) return static_cast<uint32_t>(n);
  } catch (const std::invalid_argument&) {
  }
  throw std::invalid_argument("'" + text + "' is not a verdict (XDP_ABORTED XDP_DROP XDP_PASS XDP_TX XDP_REDIRECT or a number)");
}

bool is_percpu(bpf_map_type t) {
  return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

std::string first_difference(const std::vector<uint8_t>& want, const std::vector<uint8_t>& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  if (i < want.size() && i < got.size())
    return "first difference at byte " + std::to_string(i) + ": expected " + to_hex({want[i]}) + ", got " + to_hex({got[i]});
  return "lengths differ: expected " + std::to_string(want.size()) + " bytes, got " + std::to_string(got.size());
}

std::string last_lines(const std::string& text, size_t n) {
  size_t pos = text.size();
  for (size_t i = 0; i <= n && pos != std::string::npos && pos > 0; ++i) pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

class CaseRunner {
 public:
  CaseRunner(std::string display, CaseReport& report, int opt_level) : display_(std::move(display)), report_(report) {
    options_.opt_level = opt_level;
  }

  ~CaseRunner() {
    for (auto& [name, rb] : ringbufs_) ring_buffer__free(rb);
  }

  void run(const std::string& text) {
    std::vector<std::string> lines;
    {
      std::istringstream in(text);
      std::string l;
      while (std::getline(in, l)) lines.push_back(l);
    }
    size_t i = 0;
    try {
      for (; i < lines.size(); ++i) {
        line_ = static_cast<int>(i + 1);
        std::string l = trim(lines[i]);
        if (l.empty() || l[0] == '#') continue;
        if (l == "begin-source") {
          size_t start = i;
          std::string src(i + 1, '\n');  // keep the case file's line numbers in diagnostics
          for (++i; i < lines.size() && trim(lines[i]) != "end-source"; ++i) src += lines[i] + "\n";
          if (i == lines.size()) throw CaseError("begin-source without end-source");
          line_ = static_cast<int>(start + 1);
          add_source_text(src);
          continue;
        }
        command(split_ws(l));
      }
      line_ = static_cast<int>(lines.size());
      if (!compiled_ && sources_ == 0) throw CaseError("no source: start with `source PATH` or begin-source");
    } catch (const CaseError& e) {
      fail(e.what());
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
  }

 private:
  void fail(const std::string& message) { report_.failures.push_back(display_ + ":" + std::to_string(line_) + ": " + message); }
  void check(bool ok, const std::string& message) {
    ++report_.checks;
    if (!ok) fail(message);
  }

  Compilation& compilation() {
    if (compiled_) throw CaseError("source and options must come before packets and map commands");
    if (!compilation_) compilation_ = std::make_unique<Compilation>(options_);
    return *compilation_;
  }

  void add_source_text(const std::string& src) {
    Compilation& c = compilation();
    ++sources_;
    if (!c.add_source(display_, src)) throw CaseError("the inline source does not compile:\n" + c.diags().render_all());
  }

  void command(const std::vector<std::string>& w) {
    const std::string& op = w[0];
    auto need = [&](size_t n, const char* usage) {
      if (w.size() != n) throw CaseError(std::string("usage: ") + usage);
    };
    if (op == "source") {
      need(2, "source PATH (relative to the repository root)");
      Compilation& c = compilation();
      ++sources_;
      std::string path = w[1].empty() || w[1][0] == '/' ? w[1] : source_path(w[1]);
      if (!c.add_file(path)) throw CaseError("source " + w[1] + " does not compile:\n" + c.diags().render_all());
    } else if (op == "define") {
      need(3, "define NAME VALUE");
      if (compilation_ || compiled_) throw CaseError("define must come before the sources");
      options_.defines.emplace_back(w[1], w[2]);
    } else if (op == "count-verdicts") {
      need(1, "count-verdicts");
      if (compilation_ || compiled_) throw CaseError("count-verdicts must come before the sources");
      options_.count_verdicts = true;
    } else if (op == "known-bug") {
      if (w.size() < 2) throw CaseError("usage: known-bug TEXT (what the bug is)");
    } else if (op == "program") {
      need(2, "program NAME");
      ensure_loaded();
      if (!object_->program(w[1])) throw CaseError("no program '" + w[1] + "' in the object (programs: " + program_list() + ")");
      program_ = w[1];
    } else if (op == "expect-section") {
      need(2, "expect-section SECTION");
      bpf_program* p = current_program();
      std::string got = bpf_program__section_name(p);
      check(got == w[1], "program " + std::string(bpf_program__name(p)) + " is in section '" + got + "', expected '" + w[1] + "'");
    } else if (op == "map-put") {
      need(4, "map-put MAP KEY VALUE");
      map_put(w[1], w[2], w[3]);
    } else if (op == "map-delete") {
      need(3, "map-delete MAP KEY");
      bpf_map* m = find_map(w[1]);
      Datum key = parse_datum(w[2], bpf_map__key_size(m), false, "key");
      if (bpf_map_delete_elem(bpf_map__fd(m), key.bytes.data()) != 0)
        throw CaseError("map-delete " + w[1] + " " + w[2] + ": " + std::strerror(errno));
    } else if (op == "packet" || op == "repeat") {
      packet(w);
    } else if (op == "expect-output") {
      expect_output(w);
    } else if (op == "expect-map") {
      expect_map(w);
    } else if (op == "expect-map-entries") {
      need(3, "expect-map-entries MAP N");
      bpf_map* m = find_map(w[1]);
      int64_t want = parse_int(w[2]);
      std::vector<uint8_t> key(bpf_map__key_size(m)), next(key.size());
      int64_t n = 0;
      const void* prev = nullptr;
      while (bpf_map_get_next_key(bpf_map__fd(m), prev, next.data()) == 0) {
        ++n;
        key = next;
        prev = key.data();
        if (n > 10000000) break;
      }
      check(n == want, "map " + w[1] + " has " + std::to_string(n) + " entries, expected " + std::to_string(want));
    } else if (op == "expect-ringbuf") {
      expect_ringbuf(w);
    } else {
      throw CaseError("unknown command '" + op +
                      "' (source begin-source define count-verdicts known-bug program expect-section map-put map-delete packet "
                      "repeat expect-output expect-map expect-map-entries expect-ringbuf)");
    }
  }

  void ensure_loaded() {
    if (compiled_) return;
    if (!compilation_ || sources_ == 0) throw CaseError("no source before the first packet or map command");
    compiled_ = true;
    CompileOutput out = compilation_->generate(EmitKind::Object);
    if (!out.ok) throw CaseError("compilation failed:\n" + compilation_->diags().render_all());
    runtime::RuntimeError err;
    runtime::OpenOptions opts;
    opts.name = "xdptest";
    object_ = runtime::BpfObject::open_memory(out.bytes, opts, err);
    if (!object_) throw CaseError("libbpf cannot open the object: " + err.message + "\n" + err.detail);
    bool loaded = object_->load(err);
    const std::string& messages = object_->libbpf_messages();
    if (messages.find("BTF is optional") != std::string::npos)
      fail("libbpf dropped the object's BTF (\"BTF is optional\"):\n" + messages);
    if (!loaded)
      throw CaseError("load failed: " + err.message + (err.hint.empty() ? "" : " (" + err.hint + ")") + "\n" +
                      last_lines(err.detail, 40));
    for (bpf_map* m : object_->maps()) {
      if (bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF) continue;
      ring_buffer* rb = ring_buffer__new(bpf_map__fd(m), &CaseRunner::on_record, &records_[bpf_map__name(m)], nullptr);
      if (!rb) throw CaseError(std::string("cannot open ring buffer ") + bpf_map__name(m) + ": " + std::strerror(errno));
      ringbufs_[bpf_map__name(m)] = rb;
    }
  }

  static int on_record(void* ctx, void* data, size_t size) {
    auto* q = static_cast<std::deque<std::vector<uint8_t>>*>(ctx);
    auto* p = static_cast<uint8_t*>(data);
    q->emplace_back(p, p + size);
    return 0;
  }

  std::string program_list() const {
    std::string out;
    for (bpf_program* p : object_->programs()) out += (out.empty() ? "" : ", ") + std::string(bpf_program__name(p));
    return out.empty() ? "none" : out;
  }

  bpf_program* current_program() {
    ensure_loaded();
    if (!program_.empty()) return object_->program(program_);
    auto programs = object_->programs();
    if (programs.size() != 1)
      throw CaseError("the object has " + std::to_string(programs.size()) + " programs (" + program_list() +
                      "): say which with `program NAME`");
    return programs[0];
  }

  bpf_map* find_map(const std::string& name) {
    ensure_loaded();
    bpf_map* m = object_->map(name);
    if (!m) {
      std::string list;
      for (bpf_map* x : object_->maps()) list += (list.empty() ? "" : ", ") + std::string(bpf_map__name(x));
      throw CaseError("no map '" + name + "' in the object (maps: " + (list.empty() ? "none" : list) + ")");
    }
    return m;
  }

  void map_put(const std::string& name, const std::string& key_text, const std::string& value_text) {
    bpf_map* m = find_map(name);
    Datum key = parse_datum(key_text, bpf_map__key_size(m), false, "key");
    std::vector<uint8_t> value;
    size_t vsize = bpf_map__value_size(m);
    if (bpf_map__type(m) == BPF_MAP_TYPE_PROG_ARRAY) {
      bpf_program* p = object_->program(value_text);
      if (!p) throw CaseError("map-put " + name + ": no program '" + value_text + "' (programs: " + program_list() + ")");
      uint32_t fd = static_cast<uint32_t>(bpf_program__fd(p));
      value.resize(4);
      std::memcpy(value.data(), &fd, 4);
    } else if (is_percpu(bpf_map__type(m))) {
      Datum v = parse_datum(value_text, vsize, false, "value");
      size_t stride = (vsize + 7) / 8 * 8;
      value.assign(stride * static_cast<size_t>(libbpf_num_possible_cpus()), 0);
      std::copy(v.bytes.begin(), v.bytes.end(), value.begin());
    } else {
      value = parse_datum(value_text, vsize, false, "value").bytes;
    }
    if (bpf_map_update_elem(bpf_map__fd(m), key.bytes.data(), value.data(), BPF_ANY) != 0)
      throw CaseError("map-put " + name + " " + key_text + " " + value_text + ": " + std::strerror(errno));
  }

  void packet(const std::vector<std::string>& w) {
    size_t first = 1;
    int64_t times = 1;
    if (w[0] == "repeat") {
      if (w.size() < 3 || w[2] != "packet") throw CaseError("usage: repeat N packet SPEC => VERDICT");
      times = parse_int(w[1]);
      if (times < 1 || times > 100000) throw CaseError("repeat count " + w[1] + " is outside 1..100000");
      first = 3;
    }
    size_t arrow = 0;
    for (size_t i = first; i < w.size(); ++i)
      if (w[i] == "=>") arrow = i;
    if (arrow == 0 || arrow + 2 != w.size() || arrow == first) throw CaseError("usage: packet SPEC => VERDICT");
    std::string spec = join(w, first, arrow);
    std::vector<uint8_t> frame;
    if (w[first] == "hex") {
      frame = parse_hex(join(w, first + 1, arrow));
    } else {
      frame = build_packet(spec);  // std::invalid_argument names the spec
    }
    uint32_t want = parse_verdict(w[arrow + 1]);
    bpf_program* p = current_program();
    for (int64_t run = 1; run <= times; ++run) {
      runtime::TestRunResult result;
      runtime::RuntimeError err;
      if (!runtime::test_run(bpf_program__fd(p), frame, result, err)) {
        ++report_.checks;
        fail("test run of '" + spec + "' (" + std::to_string(frame.size()) + " bytes) failed: " + err.message);
        have_output_ = false;
        return;
      }
      ++report_.packets;
      last_input_ = frame;
      last_output_ = result.packet;
      have_output_ = true;
      std::string which = times > 1 ? " (run " + std::to_string(run) + " of " + std::to_string(times) + ")" : "";
      check(result.action == want, std::string(bpf_program__name(p)) + " returned " + verdict_name(result.action) +
                                       " for '" + spec + "'" + which + ", expected " + verdict_name(want));
      if (result.action != want) return;  // one message for a repeat, not N
    }
  }

  void expect_output(const std::vector<std::string>& w) {
    if (w.size() < 2) throw CaseError("usage: expect-output [hex] HEX | packet SPEC | unchanged");
    std::vector<uint8_t> want;
    std::string described;
    if (w[1] == "unchanged" && w.size() == 2) {
      want = last_input_;
      described = "the input frame";
    } else if (w[1] == "packet") {
      described = join(w, 2, w.size());
      want = build_packet(described);
    } else {
      want = parse_hex(join(w, w[1] == "hex" ? 2 : 1, w.size()));
      described = "the given bytes";
    }
    if (!have_output_) throw CaseError("expect-output before any successful packet run");
    check(want == last_output_, "output packet differs from " + described + ": " + first_difference(want, last_output_) +
                                    "\n  expected " + to_hex(want) + "\n  got      " + to_hex(last_output_));
  }

  void expect_map(const std::vector<std::string>& w) {
    bool absent = w.size() == 4 && w[3] == "absent";
    if (!absent && (w.size() != 5 || w[3] != "="))
      throw CaseError("usage: expect-map MAP KEY = VALUE | expect-map MAP KEY absent");
    bpf_map* m = find_map(w[1]);
    Datum key = parse_datum(w[2], bpf_map__key_size(m), false, "key");
    size_t vsize = bpf_map__value_size(m);
    bool percpu = is_percpu(bpf_map__type(m));
    size_t stride = (vsize + 7) / 8 * 8;
    size_t ncpu = percpu ? static_cast<size_t>(libbpf_num_possible_cpus()) : 1;
    std::vector<uint8_t> buf(percpu ? stride * ncpu : vsize);
    bool found = bpf_map_lookup_elem(bpf_map__fd(m), key.bytes.data(), buf.data()) == 0;
    int lookup_errno = errno;
    std::string what = "map " + w[1] + " key " + w[2];
    if (absent) {
      check(!found, what + " has an entry, expected none");
      return;
    }
    if (!found) {
      check(false, what + ": no entry (" + std::strerror(lookup_errno) + ")");
      return;
    }
    if (percpu) {
      if (vsize > 8) throw CaseError("per-CPU values compare as a sum over CPUs: values wider than 8 bytes are not supported");
      int64_t want = parse_int(w[4]);
      uint64_t sum = 0;
      std::string per_cpu;
      for (size_t c = 0; c < ncpu; ++c) {
        uint64_t v = le_value(buf.data() + c * stride, vsize);
        sum += v;
        if (v) per_cpu += " cpu" + std::to_string(c) + "=" + std::to_string(v);
      }
      check(sum == static_cast<uint64_t>(want), what + ": sum over CPUs is " + std::to_string(sum) + ", expected " +
                                                   std::to_string(want) + " (per CPU:" + (per_cpu.empty() ? " all 0" : per_cpu) + ")");
      return;
    }
    Datum want = parse_datum(w[4], vsize, true, "value");
    std::string got_text = to_hex(buf);
    if (vsize <= 8) got_text += " (" + std::to_string(le_value(buf.data(), vsize)) + ")";
    check(matches(want, buf), what + " is " + got_text + ", expected " + show(want));
  }

  void expect_ringbuf(const std::vector<std::string>& w) {
    if (w.size() != 3) throw CaseError("usage: expect-ringbuf MAP DATUM | expect-ringbuf MAP empty");
    bpf_map* m = find_map(w[1]);
    if (bpf_map__type(m) != BPF_MAP_TYPE_RINGBUF) throw CaseError("map " + w[1] + " is not a ring buffer");
    std::string name = bpf_map__name(m);
    if (ring_buffer__consume(ringbufs_.at(name)) < 0) throw CaseError("reading ring buffer " + w[1] + " failed");
    auto& q = records_[name];
    if (w[2] == "empty") {
      check(q.empty(), "ring buffer " + w[1] + " holds " + std::to_string(q.size()) + " more record(s), the next " +
                           (q.empty() ? "" : to_hex(q.front())));
      return;
    }
    if (q.empty()) {
      check(false, "ring buffer " + w[1] + " has no record");
      return;
    }
    std::vector<uint8_t> got = q.front();
    q.pop_front();
    Datum want;
    try {
      want = parse_datum(w[2], got.size(), true, "record");
    } catch (const std::invalid_argument& e) {
      check(false, std::string(e.what()) + " (record " + to_hex(got) + ")");
      return;
    }
    check(matches(want, got), "ring buffer " + w[1] + " record is " + to_hex(got) + ", expected " + show(want));
  }

  std::string display_;
  CaseReport& report_;
  int line_ = 0;
  CompileOptions options_;
  std::unique_ptr<Compilation> compilation_;
  int sources_ = 0;
  bool compiled_ = false;
  std::unique_ptr<runtime::BpfObject> object_;
  std::string program_;
  std::vector<uint8_t> last_input_, last_output_;
  bool have_output_ = false;
  std::map<std::string, ring_buffer*> ringbufs_;
  std::map<std::string, std::deque<std::vector<uint8_t>>> records_;
};

}  // namespace

CaseReport run_case_text(const std::string& text, const std::string& display, int opt_level) {
  CaseReport report;
  CaseRunner runner(display, report, opt_level);
  runner.run(text);
  return report;
}

CaseReport run_case_file(const std::string& path, const std::string& display, int opt_level) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    CaseReport report;
    report.failures.push_back((display.empty() ? path : display) + ":0: cannot read the case file");
    return report;
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return run_case_text(text, display.empty() ? path : display, opt_level);
}

}  // namespace whistler::test
