// Packet forms: with-* blocks, parse-* with null tests, header accessors read
// and written, raw loads and stores at constant and computed offsets, packet
// pointer expressions, explicit bounds checks, checksums, metadata, the
// helpers that move the packet (after which no older packet pointer is used),
// and xdp-load-bytes / xdp-store-bytes.
#include <algorithm>

#include "generator_core.hpp"

namespace whistler::torture {

namespace {

struct HeaderForm {
  const char* with;    // with-ipv4
  const char* parse;   // parse-ipv4 ("" when none)
  const char* var;     // the usual name of the header variable ("" for with-packet/with-eth)
  Header header;
};

const HeaderForm kHeaderForms[] = {
    {"with-packet", "", "", Header::Eth},
    {"with-eth", "parse-eth", "eth", Header::Eth},
    {"with-ipv4", "parse-ipv4", "ip", Header::Ipv4},
    {"with-ipv6", "parse-ipv6", "ip6", Header::Ipv6},
    {"with-tcp", "parse-tcp", "tcp", Header::Tcp},
    {"with-udp", "parse-udp", "udp", Header::Udp},
    {"with-icmp", "parse-icmp", "icmp", Header::Icmp},
};

const HeaderForm& random_header_form(RandomSource& rng, bool parse) {
  while (true) {
    const HeaderForm& f = kHeaderForms[rng.weighted({2, 2, 6, 3, 4, 4, 2})];
    if (!parse || f.parse[0]) return f;
  }
}

}  // namespace

// ---- Offsets ----

Sexp ProgramGenerator::packet_offset(Context& ctx, Header header, int access_bytes) {
  int hlen = header_length(header);
  if (hlen == 0) hlen = 20;
  std::vector<const Variable*> counters;
  for (auto* v : visible_ints())
    if (!v->assignable && !v->constant) counters.push_back(v);
  switch (rng_.weighted({16, 5, 2, 3, counters.empty() ? 0 : 2, 8})) {
    case 0: return small_literal(0, hlen + 8);
    case 1: return num(std::max<int64_t>(0, hlen - access_bytes + rng_.between(-2, 2)));
    case 2: return num(rng_.pick(std::vector<int64_t>{60, 64, 100, 128, 200, 512, 1000, 1499, 1500}));
    case 3:  // masked: bounded, but a root of its own for the bounds checks
      return Sexp{"logand", int_expr(ctx, 2), atom(rng_.pick(std::vector<std::string>{"#x0f", "#x3f", "#xff", "#x1ff", "#x7ff"}))};
    case 4: return Sexp{"+", atom(rng_.pick(counters)->name), small_literal(0, hlen)};
    default: break;
  }
  // The rest is what the verifier cannot bound by itself: drawn only while
  // the program's risk budget lasts, so one such access does not hide others.
  if (!take_risk()) return small_literal(0, hlen);
  auto scalar_maps = maps_where([](const MapDef& m) { return m.holds_data() && !m.records(); });
  switch (rng_.weighted({2, 3, 3, 2, scalar_maps.empty() ? 0 : 2, 1})) {
    case 0:
      return num(rng_.pick(std::vector<int64_t>{1514, 2000, 4000, 9000, 65534, 65535, 65536, 70000, 0x100000}));
    case 1: return Sexp{rng_.chance(70) ? "mod" : "rem", int_expr(ctx, 2), num(rng_.pick(std::vector<int64_t>{8, 40, 60, 64, 100}))};
    case 2: {  // unmasked: a narrow value (a header field, a u8/u16 variable)
      std::vector<const Variable*> narrow;
      for (auto* v : visible_ints())
        if (!v->constant && scalar_bytes(v->type) <= 2 && !scalar_info(v->type).is_signed) narrow.push_back(v);
      if (!narrow.empty() && rng_.chance(50)) return atom(rng_.pick(narrow)->name);
      if (auto e = expression_header_read(ctx, 0)) return *e;
      return runtime_int_expr(ctx, 1);
    }
    case 3: {  // the last byte: (- length 1), a header's length field less a constant
      std::optional<Sexp> len;
      auto udps = headers(Header::Udp);
      auto ips = headers(Header::Ipv4);
      if (!udps.empty() && rng_.chance(40)) len = Sexp{"udp-length", atom(rng_.pick(udps)->name)};
      else if (!ips.empty() && rng_.chance(30)) len = Sexp{"ipv4-total-len", atom(rng_.pick(ips)->name)};
      else len = expression_packet_length(ctx, 0);
      if (!len) return small_literal(0, 20);
      return Sexp{"-", *len, num(rng_.between(1, access_bytes + 2))};
    }
    case 4: {
      const MapDef& m = maps_[static_cast<size_t>(rng_.pick(scalar_maps))];
      auto key = map_key(ctx, m, false);
      if (!key) return small_literal(0, 20);
      return Sexp{"getmap", atom(m.name), *key};
    }
    // Anything computed at run time. (A constant negative offset is documented
    // as not checked: the language leaves accesses before the packet start to the program.)
    default: return runtime_int_expr(ctx, 2);
  }
}

// ---- Packet pointer expressions ----

std::optional<Sexp> ProgramGenerator::pointer_variable(Context&, int) {
  auto ptrs = packet_pointers();
  if (ptrs.empty()) return std::nullopt;
  return atom(rng_.pick(ptrs)->name);
}

std::optional<Sexp> ProgramGenerator::pointer_data(Context&, int) {
  return rng_.chance(70) ? Sexp{"xdp-data"} : Sexp{"ctx", "data"};
}

std::optional<Sexp> ProgramGenerator::pointer_offset(Context& ctx, int depth) {
  if (depth < 0) return std::nullopt;
  auto base = packet_pointer(ctx, depth);
  if (!base) return std::nullopt;
  int64_t n = rng_.chance(95) || !take_risk() ? rng_.between(0, 64) : rng_.pick(std::vector<int64_t>{1500, 4096, 65535, 70000});
  switch (rng_.weighted({6, 2, 2})) {
    case 0: return Sexp{"+", *base, num(n)};
    case 1: return Sexp{"+", num(n), *base};
    default: return Sexp{"-", Sexp{"+", *base, num(n + 8)}, num(rng_.between(0, 8))};  // never below the base
  }
}

std::optional<Sexp> ProgramGenerator::pointer_computed_offset(Context& ctx, int depth) {
  if (depth < 0) return std::nullopt;
  Header h = Header::Any;
  auto base = packet_pointer(ctx, depth, &h);
  if (!base) return std::nullopt;
  return Sexp{"+", *base, packet_offset(ctx, h, 1)};
}

std::optional<Sexp> ProgramGenerator::pointer_payload(Context&, int) {
  auto ips = headers(Header::Ipv4);
  if (ips.empty()) return std::nullopt;
  return Sexp{"ipv4-payload", atom(rng_.pick(ips)->name)};
}

std::optional<Sexp> ProgramGenerator::pointer_if(Context& ctx, int depth) {
  if (depth < 0) return std::nullopt;
  Sexp test = condition(ctx, 1);
  auto a = packet_pointer(ctx, depth);
  auto b = packet_pointer(ctx, depth);
  if (!a || !b) return std::nullopt;
  return Sexp{"if", test, *a, *b};
}

std::optional<Sexp> ProgramGenerator::pointer_cast(Context& ctx, int depth) {
  if (depth < 0) return std::nullopt;
  auto p = packet_pointer(ctx, depth);
  if (!p) return std::nullopt;
  return Sexp{"cast", "u64", *p};
}

// ---- Reads ----

std::optional<Sexp> ProgramGenerator::expression_packet_length(Context&, int) {
  auto ends = data_ends();
  auto starts = headers(Header::Eth);
  switch (rng_.weighted({(ends.empty() || starts.empty()) ? 0 : 5, 3, 1, ends.empty() ? 0 : 1})) {
    case 0: return Sexp{"-", atom(rng_.pick(ends)->name), atom(rng_.pick(starts)->name)};
    case 1: return Sexp{"-", Sexp{"xdp-data-end"}, Sexp{"xdp-data"}};
    case 2: return Sexp{"-", Sexp{"ctx", "data-end"}, Sexp{"ctx", "data"}};
    default: {  // bytes from a header to the end
      auto ptrs = packet_pointers();
      if (ptrs.empty()) return std::nullopt;
      return Sexp{"-", atom(rng_.pick(ends)->name), atom(rng_.pick(ptrs)->name)};
    }
  }
}

std::optional<Sexp> ProgramGenerator::expression_header_read(Context&, int) {
  std::vector<const Variable*> known;
  for (auto* v : packet_pointers())
    if (v->header != Header::Any) known.push_back(v);
  if (known.empty()) return std::nullopt;
  const Variable* v = rng_.pick(known);
  Header h = v->header;
  if (rng_.chance(10)) h = static_cast<Header>(rng_.below(6));  // any accessor works on any packet pointer
  if (h == Header::Ipv4 && rng_.chance(10)) return Sexp{"ipv4-ihl", atom(v->name)};
  const auto& fields = header_fields(h);
  return Sexp{atom(rng_.pick(fields).accessor), atom(v->name)};
}

std::optional<Sexp> ProgramGenerator::expression_packet_load(Context& ctx, int depth) {
  Header h = Header::Any;
  auto p = packet_pointer(ctx, std::min(depth, 1), &h);
  if (!p) return std::nullopt;
  Scalar t = rng_.pick(kAllScalars);
  if (rng_.chance(5)) return Sexp{"load", atom(scalar_name(t)), *p};
  return Sexp{"load", atom(scalar_name(t)), *p, packet_offset(ctx, h, scalar_bytes(t))};
}

std::optional<Sexp> ProgramGenerator::expression_meta_load(Context&, int) {
  // Without metadata (the usual case) the access takes the short-packet exit
  // on every frame, and the rest of the program never runs: rare.
  if (meta_pointers().empty() && !rng_.chance(15)) return std::nullopt;
  Scalar t = rng_.pick(std::vector<Scalar>{Scalar::U8, Scalar::U16, Scalar::U32, Scalar::U64});
  int offset = static_cast<int>(rng_.below(static_cast<uint64_t>(16 / scalar_bytes(t)))) * scalar_bytes(t);
  auto metas = meta_pointers();
  Sexp base = !metas.empty() && rng_.chance(80) ? atom(rng_.pick(metas)->name) : Sexp{"ctx", "data-meta"};
  return Sexp{"load", atom(scalar_name(t)), base, num(offset)};
}

std::optional<Sexp> ProgramGenerator::expression_checksum(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  return Sexp{rng_.chance(50) ? "csum-replace2" : "csum-replace4", int_expr(ctx, depth), int_expr(ctx, depth),
              int_expr(ctx, depth)};
}

std::optional<Sexp> ProgramGenerator::expression_parse_test(Context& ctx, int depth) {
  if (!stack_room(40)) return std::nullopt;  // the parse-* macros' temporaries
  use_stack(40);
  const HeaderForm& f = random_header_form(rng_, true);
  Sexp parse{atom(f.parse), data_start(ctx), data_end(ctx)};
  switch (rng_.weighted({3, 2, depth > 0 ? 3 : 0})) {
    case 0: return Sexp{"if", parse, "1", "0"};
    case 1: return Sexp{"and", parse, rng_.chance(50) ? Sexp("1") : int_expr(ctx, 1)};
    default: {
      std::string name = fresh("h");
      ScopeMark m = mark();
      bind(packet_var(name, f.header));
      Sexp read = int_expr(ctx, depth);
      const auto& fields = header_fields(f.header);
      if (rng_.chance(70)) read = Sexp{atom(rng_.pick(fields).accessor), atom(name)};
      restore(m);
      return Sexp{"let", Sexp{Sexp{atom(name), parse}}, Sexp{"if", atom(name), read, int_expr(ctx, 0)}};
    }
  }
}

// ---- Statements ----

std::optional<Sexp> ProgramGenerator::statement_with_header(Context& ctx) {
  if (!ctx.may_leave()) return std::nullopt;  // they (return XDP_PASS) when the packet does not match
  const HeaderForm& f = random_header_form(rng_, false);
  // The macros bind DATA, DATA-END, the header and temporaries of their own.
  if (!stack_room(48)) return std::nullopt;
  use_stack(48);
  std::string data = rng_.chance(60) ? "data" : fresh("d");
  std::string end = rng_.chance(60) ? "data-end" : fresh("de");
  std::string var = f.var[0] && rng_.chance(70) ? std::string(f.var) : fresh("h");
  ScopeMark m = mark();
  bind(packet_var(data, Header::Eth));
  Variable de;
  de.name = end;
  de.kind = ValueKind::DataEnd;
  de.epoch = epoch_;
  bind(de);
  Sexp spec{atom(data), atom(end)};
  std::string with = f.with;
  if (with == "with-packet") {
    if (rng_.chance(70)) {
      spec.items.push_back(":min-len");
      spec.items.push_back(rng_.chance(80) ? small_literal(0, 100) : Sexp("+eth-hdr-len+"));
    }
  } else if (with != "with-eth") {
    spec.items.push_back(atom(var));
    bind(packet_var(var, f.header));
  }
  auto stmts = body(ctx, 1, 5);
  restore(m);
  return splice(Sexp{atom(with), spec}, stmts);
}

std::optional<Sexp> ProgramGenerator::statement_parse(Context& ctx) {
  if (!stack_room(48)) return std::nullopt;
  use_stack(48);
  const HeaderForm& f = random_header_form(rng_, true);
  Sexp parse{atom(f.parse), data_start(ctx), data_end(ctx)};
  std::string name = rng_.chance(50) ? std::string(f.var) : fresh("h");
  ScopeMark m = mark();
  Variable v = packet_var(name, f.header);
  auto with_header = [&](int lo, int hi) {
    bind(v);
    auto stmts = body(ctx, lo, hi);
    restore(m);
    return stmts;
  };
  switch (rng_.weighted({4, 4, 2, ctx.may_leave() ? 2 : 0, 2})) {
    case 0: {  // (let ((h (parse-X ...))) (when h ...))
      auto stmts = with_header(1, 4);
      Sexp test = rng_.chance(70) ? atom(name) : Sexp{"/=", atom(name), "0"};
      return Sexp{"let", Sexp{Sexp{atom(name), parse}}, splice(Sexp{"when", test}, stmts)};
    }
    case 1: {  // when-let, sometimes with a second parse
      std::vector<Sexp> bindings = {Sexp{atom(name), parse}};
      bind(v);
      if (rng_.chance(30)) {
        const HeaderForm& g = random_header_form(rng_, true);
        std::string second = fresh("h");
        bindings.push_back(Sexp{atom(second), Sexp{atom(g.parse), data_start(ctx), data_end(ctx)}});
        bind(packet_var(second, g.header));
      }
      auto stmts = body(ctx, 1, 4);
      restore(m);
      return splice(Sexp{"when-let", Sexp::list(bindings)}, stmts);
    }
    case 2: {  // if-let: in the else branch the name is bound to 0
      auto then = with_header(1, 3);
      hide(name);
      auto otherwise = body(ctx, 1, 2);
      restore(m);
      return Sexp{"if-let", Sexp{atom(name), parse}, splice(Sexp{"progn"}, then), splice(Sexp{"progn"}, otherwise)};
    }
    case 3: {  // a guard, then the rest of the block uses the header
      Sexp guard = Sexp{"unless", atom(name), Sexp{"return", verdict(ctx)}};  // leaves the program, also from a defun
      if (rng_.chance(40)) guard = Sexp{"when", Sexp{"=", atom(name), "0"}, guard.items[2]};
      auto stmts = with_header(1, 4);
      return splice(Sexp{"let", Sexp{Sexp{atom(name), parse}}, guard}, stmts);
    }
    default:  // a test without a binding
      return splice(Sexp{"when", parse}, body(ctx, 1, 3));
  }
}

std::optional<Sexp> ProgramGenerator::statement_setf_header(Context& ctx) {
  std::vector<const Variable*> known;
  for (auto* v : packet_pointers())
    if (v->header != Header::Any) known.push_back(v);
  if (known.empty()) return std::nullopt;
  const Variable* v = rng_.pick(known);
  const auto& fields = header_fields(v->header);
  Sexp place{atom(rng_.pick(fields).accessor), atom(v->name)};
  switch (rng_.weighted({6, 2, 1, 2})) {
    case 0: return Sexp{"setf", place, int_expr(ctx, 3)};
    case 1: return Sexp{rng_.chance(50) ? "incf" : "decf", place};
    case 2: return Sexp{rng_.chance(50) ? "incf" : "decf", place, int_expr(ctx, 2)};
    default: {
      Sexp second{atom(rng_.pick(fields).accessor), atom(v->name)};
      return Sexp{"setf", place, int_expr(ctx, 2), second, int_expr(ctx, 2)};
    }
  }
}

std::optional<Sexp> ProgramGenerator::statement_packet_store(Context& ctx) {
  Header h = Header::Any;
  auto p = packet_pointer(ctx, 2, &h);
  if (!p) return std::nullopt;
  Scalar t = rng_.pick(kAllScalars);
  Sexp offset = packet_offset(ctx, h, scalar_bytes(t));
  switch (rng_.weighted({6, 2, 2})) {
    case 0: return Sexp{"store", atom(scalar_name(t)), *p, offset, int_expr(ctx, 2)};
    case 1: return Sexp{"setf", Sexp{"load", atom(scalar_name(t)), *p, offset}, int_expr(ctx, 2)};
    default: {
      bool wide = rng_.chance(50);
      Sexp load{"load", wide ? "u32" : "u16", *p, packet_offset(ctx, h, wide ? 4 : 2)};
      return Sexp{"setf", Sexp{wide ? "ntohl" : "ntohs", load}, int_expr(ctx, 2)};
    }
  }
}

std::optional<Sexp> ProgramGenerator::statement_packet_memory(Context& ctx) {
  auto ptrs = packet_pointers();
  switch (rng_.weighted({8, ptrs.empty() ? 0 : 6, 1})) {
    case 0: {
      Header h = Header::Any;
      auto p = packet_pointer(ctx, 1, &h);
      if (!p) return std::nullopt;
      int64_t n = rng_.chance(90) ? rng_.between(1, 32) : rng_.between(33, 512);
      return Sexp{"memset", *p, packet_offset(ctx, h, 1), rng_.chance(50) ? Sexp("0") : int_expr(ctx, 1), num(n)};
    }
    case 1: {  // within one pointer, non-overlapping
      const Variable* v = rng_.pick(ptrs);
      int64_t n = rng_.between(1, 16);
      int64_t a = rng_.between(0, 32);
      int64_t b = a + n + rng_.between(0, 16);
      if (rng_.chance(50)) std::swap(a, b);
      return Sexp{"memcpy", Sexp{"+", atom(v->name), num(a)}, Sexp{"+", atom(v->name), num(b)}, num(n)};
    }
    default: {  // an atomic add into the packet (the kernel allows no atomics there)
      if (!take_risk()) return std::nullopt;
      auto p = packet_pointer(ctx, 1);
      if (!p) return std::nullopt;
      bool wide = rng_.chance(50);
      Sexp form{"atomic-add", *p, num(rng_.between(0, 8) * (wide ? 8 : 4)), int_expr(ctx, 1)};
      if (!wide) form.items.push_back("u32");
      return form;
    }
  }
}

std::optional<Sexp> ProgramGenerator::statement_bounds_check(Context& ctx) {
  if (!ctx.may_leave()) return std::nullopt;
  auto ptrs = packet_pointers();
  Sexp ptr = ptrs.empty() ? Sexp{"xdp-data"} : atom(rng_.pick(ptrs)->name);
  Sexp end = data_end(ctx);
  int64_t n = rng_.chance(85) ? rng_.between(1, 64) : rng_.pick(std::vector<int64_t>{100, 1500});
  if (rng_.chance(5) && take_risk()) n = rng_.pick(std::vector<int64_t>{65535, 70000});
  Sexp exit{"return", verdict(ctx)};  // leaves the program, also from a defun
  switch (rng_.weighted({4, 2, 2, 2, 3})) {
    case 0: return Sexp{"when", Sexp{">", Sexp{"+", ptr, num(n)}, end}, exit};
    case 1: return Sexp{"if", Sexp{"<", end, Sexp{"+", ptr, num(n)}}, exit};
    case 2: return Sexp{"unless", Sexp{"<=", Sexp{"+", ptr, num(n)}, end}, exit};
    case 3: {  // a length test
      auto starts = headers(Header::Eth);
      Sexp start = starts.empty() ? Sexp{"xdp-data"} : atom(rng_.pick(starts)->name);
      return Sexp{"when", Sexp{rng_.chance(70) ? "<" : "<=", Sexp{"-", end, start}, num(n)}, exit};
    }
    default: {  // the checked access in the branch
      Scalar t = rng_.pick(kAllScalars);
      int64_t offset = std::max<int64_t>(0, n - scalar_bytes(t));
      auto ints = visible_ints(true);
      Sexp then = !ints.empty() && rng_.chance(50)
                      ? Sexp{"setf", atom(rng_.pick(ints)->name), Sexp{"load", atom(scalar_name(t)), ptr, num(offset)}}
                      : Sexp{"store", atom(scalar_name(t)), ptr, num(offset), int_expr(ctx, 1)};
      return Sexp{"if", Sexp{"<=", Sexp{"+", ptr, num(n)}, end}, then, splice(Sexp{"progn"}, body(ctx, 0, 2))};
    }
  }
}

std::optional<Sexp> ProgramGenerator::statement_checksum(Context& ctx) {
  if (!stack_room(40)) return std::nullopt;
  use_stack(40);
  auto ips = headers(Header::Ipv4);
  auto udps = headers(Header::Udp);
  auto tcps = headers(Header::Tcp);
  // Recomputing a checksum is a loop over the header's words: an 8-trip loop
  // around one, with other branches, took more than the verifier's
  // 1,000,000 instructions at -O0 (seed 8200862).
  bool recompute = ctx.loop_trips <= kMaxTripsBranchy;
  std::vector<int> weights{ips.empty() ? 0 : 3, ips.empty() ? 0 : 2, ips.empty() || !recompute ? 0 : 3,
                           udps.empty() && tcps.empty() ? 0 : 2, recompute ? 1 : 0};
  if (std::all_of(weights.begin(), weights.end(), [](int w) { return w == 0; })) return std::nullopt;
  switch (rng_.weighted(weights)) {
    case 0: {  // TTL decrement with an incremental update of the word it shares with the protocol
      Sexp ip = atom(rng_.pick(ips)->name);
      std::string old = fresh("old");
      return Sexp{"let", Sexp{Sexp{atom(old), Sexp{"load", "u16", ip, "8"}}}, Sexp{"decf", Sexp{"ipv4-ttl", ip}},
                  Sexp{"setf", Sexp{"ipv4-checksum", ip},
                       Sexp{"csum-replace2", Sexp{"ipv4-checksum", ip}, atom(old), Sexp{"load", "u16", ip, "8"}}}};
    }
    case 1: {  // an address rewrite
      Sexp ip = atom(rng_.pick(ips)->name);
      std::string old = fresh("old"), now = fresh("new");
      const char* field = rng_.chance(50) ? "ipv4-dst-addr" : "ipv4-src-addr";
      return Sexp{"let", Sexp{Sexp{atom(old), Sexp{atom(field), ip}}, Sexp{atom(now), Sexp{"htonl", int_expr(ctx, 1)}}},
                  Sexp{"setf", Sexp{atom(field), ip}, atom(now), Sexp{"ipv4-checksum", ip},
                       Sexp{"csum-replace4", Sexp{"ipv4-checksum", ip}, atom(old), atom(now)}}};
    }
    case 2: return Sexp{"ipv4-recompute-checksum", atom(rng_.pick(ips)->name)};
    case 3: {  // a port rewrite with the transport checksum
      bool udp = !udps.empty() && (tcps.empty() || rng_.chance(50));
      Sexp h = atom(rng_.pick(udp ? udps : tcps)->name);
      const char* port = rng_.chance(50) ? (udp ? "udp-dst-port" : "tcp-dst-port") : (udp ? "udp-src-port" : "tcp-src-port");
      const char* sum = udp ? "udp-checksum" : "tcp-checksum";
      int offset = std::string(port).find("dst") != std::string::npos ? 2 : 0;
      std::string old = fresh("old");
      return Sexp{"let", Sexp{Sexp{atom(old), Sexp{"load", "u16", h, num(offset)}}},
                  Sexp{"setf", Sexp{atom(port), h}, int_expr(ctx, 1)},
                  Sexp{"setf", Sexp{atom(sum), h},
                       Sexp{"csum-replace2", Sexp{atom(sum), h}, atom(old), Sexp{"load", "u16", h, num(offset)}}}};
    }
    default: {  // recompute on any packet pointer
      auto p = packet_pointer(ctx, 1);
      if (!p) return std::nullopt;
      return Sexp{"ipv4-recompute-checksum", *p};
    }
  }
}

std::optional<Sexp> ProgramGenerator::statement_metadata(Context& ctx) {
  if (!stack_room(16)) return std::nullopt;
  int64_t grow = 4 * rng_.between(1, 8);
  auto meta_access = [&](const Sexp& meta, int64_t room) -> Sexp {
    Scalar t = rng_.pick(std::vector<Scalar>{Scalar::U8, Scalar::U16, Scalar::U32, Scalar::U64});
    int bytes = scalar_bytes(t);
    int64_t limit = std::max<int64_t>(room, bytes);
    int64_t offset = rng_.below(static_cast<uint64_t>(limit / bytes + 1)) * bytes;
    if (rng_.chance(60)) return Sexp{"store", atom(scalar_name(t)), meta, num(offset), int_expr(ctx, 1)};
    auto ints = visible_ints(true);
    if (ints.empty()) return Sexp{"store", atom(scalar_name(t)), meta, num(offset), Sexp{"load", atom(scalar_name(t)), meta, num(offset)}};
    return Sexp{"setf", atom(rng_.pick(ints)->name), Sexp{"load", atom(scalar_name(t)), meta, num(offset)}};
  };
  if (ctx.loop_depth > 0 || !options_.adjust_meta || rng_.chance(35)) {
    // No metadata area unless one was made: accesses take the short-packet exit.
    return meta_access(Sexp{"ctx", "data-meta"}, 4);
  }
  use_stack(16);
  // (when (= (xdp-adjust-meta -N) 0) (let ((meta (ctx data-meta)) (data (ctx data))) ...))
  Sexp adjust{"xdp-adjust-meta", num(-grow)};
  packet_moved();
  std::string meta = fresh("meta");
  std::string data = rng_.chance(50) ? "data" : fresh("d");
  ScopeMark m = mark();
  Variable mv;
  mv.name = meta;
  mv.kind = ValueKind::MetaPointer;
  mv.epoch = epoch_;
  bind(mv);
  bind(packet_var(data, Header::Eth));
  std::vector<Sexp> stmts;
  if (rng_.chance(40)) {
    // The program's own check, as the documentation's example writes it.
    stmts.push_back(Sexp{"when", Sexp{"<=", Sexp{"+", atom(meta), num(grow)}, atom(data)}, meta_access(atom(meta), grow)});
  } else {
    stmts.push_back(meta_access(atom(meta), grow));
  }
  for (auto& s : body(ctx, 0, 2)) stmts.push_back(s);
  restore(m);
  return Sexp{"when", Sexp{"=", adjust, "0"},
              splice(Sexp{"let", Sexp{Sexp{atom(meta), Sexp{"ctx", "data-meta"}}, Sexp{atom(data), Sexp{"ctx", "data"}}}}, stmts)};
}

std::optional<Sexp> ProgramGenerator::statement_move_packet(Context& ctx) {
  if (ctx.loop_depth > 0) return std::nullopt;  // a later iteration would use pointers from before the move
  static const char* helpers[] = {"xdp-adjust-head", "xdp-adjust-tail", "xdp-adjust-meta"};
  const char* helper = helpers[rng_.weighted({4, 4, options_.adjust_meta ? 1 : 0})];
  Sexp delta;
  if (std::string(helper) == "xdp-adjust-meta") delta = num(-4 * rng_.between(0, 8));
  else if (rng_.chance(80)) delta = num(rng_.pick(std::vector<int64_t>{-64, -16, -8, -4, -1, 0, 1, 2, 4, 8, 14, 16, 40}));
  else delta = Sexp{"-", Sexp{"logand", int_expr(ctx, 1), "15"}, "8"};
  Sexp call{atom(helper), delta};
  packet_moved();
  switch (rng_.weighted({3, 3, 2, ctx.may_leave() ? 2 : 0})) {
    case 0: return call;
    case 1: {  // on success, work on the moved packet
      auto stmts = body(ctx, 1, 3);
      return splice(Sexp{"when", Sexp{"=", call, "0"}}, stmts);
    }
    case 2: {
      auto ints = visible_ints(true);
      if (ints.empty()) return call;
      return Sexp{"setf", atom(rng_.pick(ints)->name), call};
    }
    default: return Sexp{"unless", Sexp{"=", call, "0"}, Sexp{"return", verdict(ctx)}};
  }
}

std::optional<Sexp> ProgramGenerator::statement_xdp_bytes(Context& ctx) {
  Sexp buffer;
  int size = 0;
  auto ptrs = struct_pointers();
  std::vector<const Variable*> slots;
  for (auto* v : visible_ints(true))
    if (v->has_slot && scalar_bytes(v->type) == 8) slots.push_back(v);
  if (ptrs.empty() && slots.empty()) return std::nullopt;
  switch (rng_.weighted({ptrs.empty() ? 0 : 3, slots.empty() ? 0 : 2})) {
    case 0: {
      const Variable* v = rng_.pick(ptrs);
      buffer = atom(v->name);
      size = structs_[static_cast<size_t>(v->struct_index)].size;
      break;
    }
    default:
      if (slots.empty()) return std::nullopt;
      buffer = Sexp{"stack-addr", atom(rng_.pick(slots)->name)};
      size = 8;
  }
  const char* helper = rng_.chance(60) ? "xdp-load-bytes" : "xdp-store-bytes";
  Sexp offset = rng_.chance(75) ? small_literal(0, 64) : int_expr(ctx, 1);
  Sexp call{atom(helper), offset, buffer, num(rng_.between(1, size))};
  switch (rng_.weighted({3, 2, 1})) {
    case 0: return call;
    case 1: return splice(Sexp{"when", Sexp{"=", call, "0"}}, body(ctx, 1, 2));
    default: {
      auto ints = visible_ints(true);
      if (ints.empty()) return call;
      return Sexp{"setf", atom(rng_.pick(ints)->name), call};
    }
  }
}

}  // namespace whistler::torture
