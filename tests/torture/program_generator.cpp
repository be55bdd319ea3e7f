// The top-level forms of a generated program (defconstant, defstruct, defmap,
// defmacro, defun, defprog), the scope, and the weighted dispatch over the
// form tables.
#include "program_generator.hpp"

#include <algorithm>
#include <set>

#include "generator_core.hpp"

namespace whistler::torture {

GeneratedProgram generate_program(uint64_t seed, const GeneratorOptions& options) {
  ProgramGenerator generator(seed, options);
  return generator.generate();
}

// ---------------------------------------------------------------------------
// Scope
// ---------------------------------------------------------------------------

bool ProgramGenerator::take_risk(int percent) {
  if (risk_budget_ <= 0 || !rng_.chance(percent)) return false;
  --risk_budget_;
  return true;
}

std::string ProgramGenerator::fresh(const char* prefix) { return std::string(prefix) + std::to_string(names_++); }

Variable& ProgramGenerator::bind(Variable v) {
  vars_.push_back(std::move(v));
  return vars_.back();
}

Variable ProgramGenerator::int_var(const std::string& name, Scalar type) {
  Variable v;
  v.name = name;
  v.kind = ValueKind::Int;
  v.type = type;
  return v;
}

Variable ProgramGenerator::packet_var(const std::string& name, Header header) {
  Variable v;
  v.name = name;
  v.kind = ValueKind::PacketPointer;
  v.header = header;
  v.epoch = epoch_;
  return v;
}

Variable ProgramGenerator::struct_var(const std::string& name, int struct_index, Storage storage, bool percpu) {
  Variable v;
  v.name = name;
  v.kind = ValueKind::StructPointer;
  v.struct_index = struct_index;
  v.storage = storage;
  v.percpu = percpu;
  return v;
}

void ProgramGenerator::hide(const std::string& name) {
  Variable v;
  v.name = name;
  v.kind = ValueKind::Hidden;
  bind(v);
}

std::vector<const Variable*> ProgramGenerator::visible(bool (*pred)(const Variable&)) const {
  std::vector<const Variable*> out;
  std::set<std::string> seen;
  for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
    if (!seen.insert(it->name).second) continue;  // shadowed by an inner binding
    if (pred(*it)) out.push_back(&*it);
  }
  return out;
}

std::vector<const Variable*> ProgramGenerator::visible_ints(bool assignable_only) const {
  auto all = visible([](const Variable& v) { return v.kind == ValueKind::Int; });
  if (!assignable_only) return all;
  std::vector<const Variable*> out;
  for (auto* v : all)
    if (v->assignable) out.push_back(v);
  return out;
}

std::vector<const Variable*> ProgramGenerator::packet_pointers(bool assignable_only) const {
  std::vector<const Variable*> out;
  for (auto* v : visible([](const Variable& v) { return v.kind == ValueKind::PacketPointer; }))
    if (v->epoch == epoch_ && (!assignable_only || v->assignable)) out.push_back(v);
  return out;
}

std::vector<const Variable*> ProgramGenerator::headers(Header h) const {
  std::vector<const Variable*> out;
  for (auto* v : packet_pointers())
    if (v->header == h) out.push_back(v);
  return out;
}

std::vector<const Variable*> ProgramGenerator::data_ends() const {
  std::vector<const Variable*> out;
  for (auto* v : visible([](const Variable& v) { return v.kind == ValueKind::DataEnd; }))
    if (v->epoch == epoch_) out.push_back(v);
  return out;
}

std::vector<const Variable*> ProgramGenerator::meta_pointers() const {
  std::vector<const Variable*> out;
  for (auto* v : visible([](const Variable& v) { return v.kind == ValueKind::MetaPointer; }))
    if (v->epoch == epoch_) out.push_back(v);
  return out;
}

std::vector<const Variable*> ProgramGenerator::struct_pointers(int struct_index) const {
  std::vector<const Variable*> out;
  for (auto* v : visible([](const Variable& v) { return v.kind == ValueKind::StructPointer; }))
    if (struct_index < 0 || v->struct_index == struct_index) out.push_back(v);
  return out;
}

std::vector<const Variable*> ProgramGenerator::scalar_pointers() const {
  return visible([](const Variable& v) { return v.kind == ValueKind::ScalarPointer; });
}

std::vector<int> ProgramGenerator::maps_where(bool (*pred)(const MapDef&)) const {
  std::vector<int> out;
  for (size_t i = 0; i < maps_.size(); ++i)
    if (pred(maps_[i])) out.push_back(static_cast<int>(i));
  return out;
}

bool ProgramGenerator::may_call(const Context& ctx, const FunctionDef& f) const {
  if (f.leaves_program && !ctx.may_leave()) return false;
  if (f.tail_calls && !ctx.may_tail_call()) return false;
  return true;
}

namespace {

// What a defun body may do to its callers: leave the program, tail-call.
void scan_exits(const Sexp& s, const std::vector<FunctionDef>& earlier, bool& leaves, bool& tail_calls) {
  if (!s.is_list()) return;
  const std::string& h = s.head();
  if (h == "return" || h == "tail-call" || (h.rfind("with-", 0) == 0 && h != "with-ringbuf")) leaves = true;
  if (h == "tail-call") tail_calls = true;
  for (const auto& f : earlier)
    if (h == f.name) {
      leaves = leaves || f.leaves_program;
      tail_calls = tail_calls || f.tail_calls;
    }
  for (const auto& item : s.items) scan_exits(item, earlier, leaves, tail_calls);
}

// Every atom of `s`.
void collect_atoms(const Sexp& s, std::set<std::string>& out) {
  if (s.is_atom()) out.insert(s.text);
  for (const auto& item : s.items) collect_atoms(item, out);
}

bool frags_section(const Sexp& program) {
  const auto& opts = program.items[2].items;
  for (size_t i = 0; i + 1 < opts.size(); ++i)
    if (opts[i].is_atom() && opts[i].text == ":section") return opts[i + 1].text.rfind("xdp.frags", 0) == 0;
  return false;
}

std::string section_of(const Sexp& program) {
  const auto& opts = program.items[2].items;
  for (size_t i = 0; i + 1 < opts.size(); ++i)
    if (opts[i].is_atom() && opts[i].text == ":section") return opts[i + 1].text;
  return "xdp";
}

bool devmap_section(const Sexp& program) {
  std::string s = section_of(program);
  return s == "xdp/devmap" || s == "xdp.frags/devmap";
}

// Makes `program` a devmap program (xdp/devmap, or xdp.frags/devmap), which
// may do all an interface program does (and read (ctx egress-ifindex)).
void set_devmap(Sexp& program) {
  std::string section = frags_section(program) ? "xdp.frags/devmap" : "xdp/devmap";
  auto& opts = program.items[2].items;
  for (size_t i = 0; i + 1 < opts.size(); ++i)
    if (opts[i].is_atom() && opts[i].text == ":section") {
      opts[i + 1].text = section;
      return;
    }
  opts.push_back(":section");
  opts.push_back(Sexp::string(section));
}

// Makes `program` an xdp.frags program or not, keeping the rest of its section.
void set_frags(Sexp& program, bool frags) {
  auto& opts = program.items[2].items;
  for (size_t i = 0; i + 1 < opts.size(); ++i) {
    if (!opts[i].is_atom() || opts[i].text != ":section") continue;
    std::string& section = opts[i + 1].text;
    if (frags) {
      if (section == "xdp") section = "xdp.frags";
      else if (section.rfind("xdp/", 0) == 0) section = "xdp.frags/" + section.substr(4);  // xdp/devmap too
    } else {
      if (section == "xdp.frags") section = "xdp";
      else if (section.rfind("xdp.frags/", 0) == 0) section = "xdp/" + section.substr(10);
    }
    return;
  }
  if (frags) {
    opts.push_back(":section");
    opts.push_back(Sexp::string("xdp.frags"));
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Dispatch over the form tables
// ---------------------------------------------------------------------------

namespace {

template <class Rule>
std::vector<int> weights_of(const std::vector<Rule>& rules) {
  std::vector<int> w;
  for (const auto& r : rules) w.push_back(r.weight);
  return w;
}

}  // namespace

std::vector<Sexp> ProgramGenerator::body(Context& ctx, int min_count, int max_count) {
  int n = static_cast<int>(rng_.between(min_count, max_count));
  if (budget_ <= 0) n = std::min(n, min_count);
  std::vector<Sexp> out;
  for (int i = 0; i < n; ++i) out.push_back(statement(ctx));
  return out;
}

Sexp ProgramGenerator::statement(Context& ctx) {
  static const std::vector<int> weights = weights_of(statement_rules());
  --budget_;
  // Deep nesting and an exhausted budget get only flat statements.
  bool flat_only = ctx.depth >= 5 || budget_ <= 0;
  for (int attempt = 0; attempt < 20; ++attempt) {
    const StatementRule& rule = statement_rules()[rng_.weighted(weights)];
    if (flat_only && rule.nesting == Nesting::Nests && attempt < 19) continue;
    Context inner = ctx;
    inner.depth = ctx.depth + 1;
    if (auto s = (this->*rule.generate)(inner)) return *s;
  }
  // Something is always possible: assign a fresh variable.
  return Sexp{"progn", int_expr(ctx, 1)};
}

namespace {

// Counts nested expression generation, so that forms whose operands are
// expressions again (calls, keys, offsets) cannot recurse without end.
struct NestingGuard {
  explicit NestingGuard(int& n) : n_(n) { ++n_; }
  ~NestingGuard() { --n_; }
  int& n_;
};

}  // namespace

Sexp ProgramGenerator::int_expr(Context& ctx, int depth) {
  static const std::vector<int> weights = weights_of(int_expression_rules());
  if (expression_nesting_ >= kMaxExpressionNesting) {
    auto ints = visible_ints();
    if (!ints.empty() && rng_.chance(60)) return atom(rng_.pick(ints)->name);
    return literal();
  }
  NestingGuard guard(expression_nesting_);
  for (int attempt = 0; attempt < 20; ++attempt) {
    const ExpressionRule& rule = int_expression_rules()[rng_.weighted(weights)];
    if (auto e = (this->*rule.generate)(ctx, depth - 1)) return *e;
  }
  return literal();
}

std::optional<Sexp> ProgramGenerator::packet_pointer(Context& ctx, int depth, Header* header) {
  static const std::vector<int> weights = weights_of(packet_pointer_rules());
  if (header) *header = Header::Any;
  if (expression_nesting_ >= kMaxExpressionNesting) {
    if (header) *header = Header::Eth;
    return Sexp{"xdp-data"};
  }
  NestingGuard guard(expression_nesting_);
  for (int attempt = 0; attempt < 12; ++attempt) {
    size_t i = rng_.weighted(weights);
    if (auto e = (this->*packet_pointer_rules()[i].generate)(ctx, depth - 1)) {
      // A plain variable tells which header it points at.
      if (header && e->is_atom())
        for (auto* v : packet_pointers())
          if (v->name == e->text) *header = v->header;
      if (header && (e->head_is("xdp-data") || (e->head_is("ctx") && e->size() == 2 && e->items[1].text == "data")))
        *header = Header::Eth;
      return e;
    }
  }
  return std::nullopt;
}

Sexp ProgramGenerator::data_start(Context& ctx) {
  auto starts = headers(Header::Eth);
  if (!starts.empty() && rng_.chance(75)) return atom(rng_.pick(starts)->name);
  return rng_.chance(70) ? Sexp{"xdp-data"} : Sexp{"ctx", "data"};
}

Sexp ProgramGenerator::data_end(Context& ctx) {
  auto ends = data_ends();
  if (!ends.empty() && rng_.chance(75)) return atom(rng_.pick(ends)->name);
  return rng_.chance(70) ? Sexp{"xdp-data-end"} : Sexp{"ctx", "data-end"};
}

Sexp ProgramGenerator::verdict(Context& ctx) {
  static const char* names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT"};
  switch (rng_.weighted({12, 3, 2, 2})) {
    case 0: return atom(names[rng_.weighted({1, 4, 8, 2, 1})]);
    case 1: return num(rng_.between(0, 4));
    case 2: return Sexp{"if", condition(ctx, 2), atom(rng_.pick(names)), atom(rng_.pick(names))};
    default: return Sexp{"logand", int_expr(ctx, 2), num(3)};
  }
}

Sexp ProgramGenerator::literal() {
  static const char* edges[] = {"0", "1", "-1", "2", "3", "7", "8", "14", "20", "40", "64", "127", "128", "255",
                                "256", "#xff", "#xffff", "#x10000", "#x7fffffff", "#x80000000", "#xffffffff",
                                "#x100000000", "#x7fffffffffffffff", "#x8000000000000000", "#xffffffffffffffff",
                                "-128", "-32768", "1500", "65535", "XDP_PASS", "XDP_DROP", "#b1010", "#o17", "1_000"};
  switch (rng_.weighted({6, 4, 2, 1, 1})) {
    case 0: return atom(rng_.pick(edges));
    case 1: return num(rng_.between(0, 100));
    case 2: return Sexp::hex(rng_.below(0x10000));
    case 3: return Sexp::hex(rng_.next() & 0xffffffffULL);
    default: return Sexp::hex(rng_.next());
  }
}

Sexp ProgramGenerator::small_literal(int64_t lo, int64_t hi) { return num(rng_.between(lo, hi)); }

// ---------------------------------------------------------------------------
// Top-level forms
// ---------------------------------------------------------------------------

StructDef ProgramGenerator::random_struct(const std::string& name, bool lpm_key) {
  StructDef def;
  def.name = name;
  def.lpm_key = lpm_key;
  auto add_scalar = [&](const std::string& field, Scalar t) {
    StructField f;
    f.name = field;
    f.kind = StructField::Kind::Scalar;
    f.type = t;
    def.fields.push_back(f);
  };
  if (lpm_key) {
    add_scalar("prefixlen", Scalar::U32);
    if (rng_.chance(60)) {
      add_scalar("addr", Scalar::U32);
    } else {
      StructField f;
      f.name = "bytes";
      f.kind = StructField::Kind::Array;
      f.type = Scalar::U8;
      f.count = rng_.pick(std::vector<int>{4, 8, 16});
      def.fields.push_back(f);
    }
    layout_struct(def, structs_);
    return def;
  }
  static const char* field_names[] = {"a", "b", "count", "len", "port", "addr", "flags", "tag", "sum", "last"};
  int n = static_cast<int>(rng_.between(1, 5));
  std::set<std::string> used;
  for (int i = 0; i < n; ++i) {
    std::string fname = rng_.pick(field_names);
    if (!used.insert(fname).second) fname += std::to_string(i);
    used.insert(fname);
    StructField f;
    f.name = fname;
    switch (rng_.weighted({10, 3, 1})) {
      case 0:
        f.kind = StructField::Kind::Scalar;
        f.type = rng_.pick(kAllScalars);
        break;
      case 1:
        f.kind = StructField::Kind::Array;
        f.type = rng_.chance(70) ? Scalar::U8 : rng_.pick(std::vector<Scalar>{Scalar::U16, Scalar::U32, Scalar::U64});
        f.count = static_cast<int>(rng_.between(1, f.type == Scalar::U8 ? 16 : 4));
        break;
      default: {
        std::vector<int> small;
        for (size_t s = 0; s < structs_.size(); ++s)
          if (structs_[s].size <= 32 && !structs_[s].lpm_key) small.push_back(static_cast<int>(s));
        if (small.empty()) {
          f.kind = StructField::Kind::Scalar;
          f.type = Scalar::U32;
        } else {
          f.kind = StructField::Kind::Nested;
          f.nested = rng_.pick(small);
        }
      }
    }
    def.fields.push_back(f);
  }
  layout_struct(def, structs_);
  return def;
}

Sexp ProgramGenerator::struct_form(const StructDef& def, const std::string& conc_name) {
  std::vector<Sexp> items;
  items.push_back("defstruct");
  if (conc_name == def.name + "-") {
    items.push_back(atom(def.name));
  } else {
    items.push_back(Sexp{atom(def.name), Sexp{":conc-name", atom(conc_name)}});
  }
  if (rng_.chance(10)) items.push_back(Sexp::string("A generated record."));
  for (const auto& f : def.fields) {
    Sexp type;
    switch (f.kind) {
      case StructField::Kind::Scalar: type = atom(scalar_name(f.type)); break;
      case StructField::Kind::Array: type = Sexp{"array", atom(scalar_name(f.type)), num(f.count)}; break;
      case StructField::Kind::Nested: type = atom(structs_[static_cast<size_t>(f.nested)].name); break;
    }
    items.push_back(Sexp{atom(f.name), type});
  }
  return Sexp::list(std::move(items));
}

void ProgramGenerator::generate_structs(std::vector<Sexp>& forms) {
  int n = static_cast<int>(rng_.weighted({2, 4, 3, 2}));
  for (int i = 0; i < n; ++i) {
    StructDef def = random_struct("rec" + std::to_string(i), false);
    std::string conc = def.name + "-";
    if (rng_.chance(15)) conc = "r" + std::to_string(i) + ".";
    for (auto& f : def.fields) f.accessor = conc + f.name;
    forms.push_back(struct_form(def, conc));
    structs_.push_back(def);
  }
}

int ProgramGenerator::ensure_lpm_key_struct(std::vector<Sexp>& forms) {
  for (size_t i = 0; i < structs_.size(); ++i)
    if (structs_[i].lpm_key) return static_cast<int>(i);
  StructDef def = random_struct("lpmkey" + std::to_string(structs_.size()), true);
  for (auto& f : def.fields) f.accessor = def.name + "-" + f.name;
  forms.push_back(struct_form(def, def.name + "-"));
  structs_.push_back(def);
  return static_cast<int>(structs_.size() - 1);
}

void ProgramGenerator::generate_constants(std::vector<Sexp>& forms) {
  int n = static_cast<int>(rng_.weighted({3, 4, 2, 1}));
  for (int i = 0; i < n; ++i) {
    std::string name = "+c" + std::to_string(i) + "+";
    int64_t value = 0;
    Sexp expr;
    switch (rng_.weighted({5, 2, 2, 1, 1})) {
      case 0:
        value = rng_.pick(std::vector<int64_t>{0, 1, 2, 4, 7, 8, 14, 17, 53, 80, 255, 1024, 4096, 65535, -1});
        expr = num(value);
        break;
      case 1: {
        int k = static_cast<int>(rng_.between(0, 20));
        value = int64_t{1} << k;
        expr = Sexp{"ash", "1", num(k)};
        break;
      }
      case 2: {
        int64_t a = rng_.between(0, 255), b = rng_.between(0, 255);
        value = a | (b << 8);
        expr = Sexp{"logior", num(a), Sexp{"ash", num(b), "8"}};
        break;
      }
      case 3:
        if (!structs_.empty()) {
          const auto& s = structs_[rng_.below(structs_.size())];
          value = s.size * 2;
          expr = Sexp{"*", "2", Sexp{"sizeof", atom(s.name)}};
          break;
        }
        [[fallthrough]];
      default: {
        auto consts = visible([](const Variable& v) { return v.constant; });
        if (consts.empty()) {
          value = 42;
          expr = num(42);
        } else {
          const Variable* c = rng_.pick(consts);
          value = c->value + 3;
          expr = Sexp{"+", atom(c->name), "3"};
        }
      }
    }
    forms.push_back(Sexp{rng_.chance(85) ? "defconstant" : "defparameter", atom(name), expr});
    Variable v = int_var(name);
    v.assignable = false;
    v.has_slot = false;
    v.constant = true;
    v.value = value;
    bind(v);
  }
}

DataType ProgramGenerator::random_data_type(bool allow_struct) {
  DataType t;
  std::vector<int> usable;
  for (size_t i = 0; i < structs_.size(); ++i)
    if (!structs_[i].lpm_key) usable.push_back(static_cast<int>(i));
  if (allow_struct && !usable.empty() && rng_.chance(45)) {
    t.is_struct = true;
    t.struct_index = rng_.pick(usable);
    t.size = structs_[static_cast<size_t>(t.struct_index)].size;
    return t;
  }
  t.scalar = rng_.pick(kAllScalars);
  t.size = scalar_bytes(t.scalar);
  return t;
}

// Appends :key-type / :key-size (or the value's) options for `t`.
void ProgramGenerator::data_type_options(const DataType& t, bool is_key, std::vector<Sexp>& options) {
  const char* type_key = is_key ? ":key-type" : ":value-type";
  const char* size_key = is_key ? ":key-size" : ":value-size";
  if (t.is_struct) {
    options.push_back(type_key);
    options.push_back(atom(structs_[static_cast<size_t>(t.struct_index)].name));
    if (rng_.chance(10)) {
      options.push_back(size_key);
      options.push_back(Sexp{"sizeof", atom(structs_[static_cast<size_t>(t.struct_index)].name)});
    }
  } else if (!scalar_info(t.scalar).is_signed && rng_.chance(30)) {
    options.push_back(size_key);
    options.push_back(num(t.size));
  } else {
    options.push_back(type_key);
    options.push_back(atom(scalar_name(t.scalar)));
  }
}

Sexp ProgramGenerator::max_entries_form(int value) {
  auto consts = visible([](const Variable& v) { return v.constant; });
  for (auto* c : consts)
    if (c->value == value && rng_.chance(50)) return atom(c->name);
  if ((value & (value - 1)) == 0 && value > 1 && rng_.chance(30)) {
    int k = 0;
    while ((1 << k) != value) ++k;
    return Sexp{"ash", "1", num(k)};
  }
  return num(value);
}

void ProgramGenerator::generate_maps(std::vector<Sexp>& forms) {
  int n = static_cast<int>(rng_.weighted({1, 3, 4, 3, 2}));
  for (int i = 0; i < n; ++i) {
    MapDef m;
    m.name = "m" + std::to_string(i);
    // Types: data maps mostly; each special kind now and then.
    static const MapType types[] = {MapType::Array,   MapType::Hash,   MapType::PercpuArray, MapType::PercpuHash,
                                    MapType::LruHash, MapType::LruPercpuHash, MapType::LpmTrie, MapType::Ringbuf,
                                    MapType::ProgArray, MapType::Devmap, MapType::DevmapHash, MapType::Cpumap,
                                    MapType::Xskmap};
    m.type = types[rng_.weighted({10, 10, 5, 4, 4, 2, 3, 5, 2, 2, 1, 1, 1})];
    std::vector<Sexp> items = {"defmap", atom(m.name), ":type", atom(map_type_keyword(m.type))};
    if (m.type == MapType::Ringbuf) {
      m.max_entries = 4096 << rng_.below(3);
      items.push_back(":max-entries");
      items.push_back(max_entries_form(m.max_entries));
      std::vector<int> usable;
      for (size_t s = 0; s < structs_.size(); ++s)
        if (!structs_[s].lpm_key) usable.push_back(static_cast<int>(s));
      if (!usable.empty() && rng_.chance(70)) {
        m.ringbuf_struct = rng_.pick(usable);
        items.push_back(":value-type");
        items.push_back(atom(structs_[static_cast<size_t>(m.ringbuf_struct)].name));
      }
    } else if (!m.holds_data()) {
      m.max_entries = static_cast<int>(rng_.between(1, 8));
      m.key.size = m.value.size = 4;
      if ((m.type == MapType::Devmap || m.type == MapType::DevmapHash) && rng_.chance(30)) {
        items.insert(items.end(), {":key-type", "u32", ":value-type", "u32"});
      }
      items.push_back(":max-entries");
      items.push_back(max_entries_form(m.max_entries));
    } else {
      if (m.type == MapType::LpmTrie) {
        m.key.is_struct = true;
        m.key.struct_index = ensure_lpm_key_struct(forms);
        m.key.size = structs_[static_cast<size_t>(m.key.struct_index)].size;
        items.push_back(":key-type");
        items.push_back(atom(structs_[static_cast<size_t>(m.key.struct_index)].name));
      } else if (m.array_like()) {
        m.key.scalar = Scalar::U32;
        m.key.size = 4;
        if (rng_.chance(50)) items.insert(items.end(), {":key-type", "u32"});
        else items.insert(items.end(), {":key-size", "4"});
      } else {
        m.key = random_data_type(true);
        data_type_options(m.key, true, items);
      }
      m.value = random_data_type(true);
      data_type_options(m.value, false, items);
      static const int sizes[] = {1, 2, 4, 8, 16, 64, 256, 1024};
      m.max_entries = sizes[rng_.weighted({1, 1, 2, 3, 4, 4, 3, 2})];
      if (m.type == MapType::LruHash || m.type == MapType::LruPercpuHash) m.max_entries = std::max(m.max_entries, 256);
      items.push_back(":max-entries");
      items.push_back(max_entries_form(m.max_entries));
      bool hash_kind = m.type == MapType::Hash || m.type == MapType::PercpuHash;
      if (hash_kind && rng_.chance(10)) items.insert(items.end(), {":map-flags", "BPF_F_NO_PREALLOC"});
    }
    if (rng_.chance(4)) items.insert(items.end(), {":pinning", ":by-name"});
    forms.push_back(Sexp::list(std::move(items)));
    maps_.push_back(m);
  }
}

void ProgramGenerator::generate_macros(std::vector<Sexp>& forms) {
  if (!rng_.chance(15)) return;
  int n = static_cast<int>(rng_.between(1, 2));
  for (int i = 0; i < n; ++i) {
    MacroDef m;
    m.name = "mac" + std::to_string(i);
    switch (rng_.below(4)) {
      case 0:  // (mac a b) => arithmetic template
        m.kind = MacroDef::Kind::IntExpression;
        m.int_args = 2;
        forms.push_back(Sexp{"defmacro", atom(m.name), Sexp{"a", "b"},
                             Sexp{"quasiquote", Sexp{"+", Sexp{"unquote", "a"},
                                                     Sexp{"*", Sexp{"unquote", "b"}, num(rng_.between(1, 9))}}}});
        break;
      case 1:  // a gensym'd let, as the documentation recommends
        m.kind = MacroDef::Kind::IntExpression;
        m.int_args = 1;
        forms.push_back(Sexp{
            "defmacro", atom(m.name), Sexp{"x"},
            Sexp{"let", Sexp{Sexp{"v", Sexp{"gensym", Sexp::string("x")}}},
                 Sexp{"quasiquote", Sexp{"let", Sexp{Sexp{Sexp{"unquote", "v"}, Sexp{"unquote", "x"}}},
                                         Sexp{"logxor", Sexp{"unquote", "v"},
                                              Sexp{">>", Sexp{"unquote", "v"}, num(rng_.between(1, 12))}}}}}});
        break;
      case 2:  // &optional with a default
        m.kind = MacroDef::Kind::IntExpression;
        m.int_args = 1;
        forms.push_back(Sexp{"defmacro", atom(m.name), Sexp{"x", "&optional", Sexp{"mask", Sexp::hex(rng_.below(0x10000))}},
                             Sexp{"quasiquote", Sexp{"logand", Sexp{"unquote", "x"}, Sexp{"unquote", "mask"}}}});
        break;
      default:  // a statement macro with &body
        m.kind = MacroDef::Kind::Statement;
        m.int_args = 1;
        forms.push_back(Sexp{"defmacro", atom(m.name), Sexp{"test", "&body", "body"},
                             Sexp{"quasiquote", Sexp{"when", Sexp{"unquote", "test"},
                                                     Sexp{"unquote-splicing", "body"}}}});
        break;
    }
    macros_.push_back(m);
  }
}

void ProgramGenerator::generate_functions(std::vector<Sexp>& forms) {
  int n = static_cast<int>(rng_.weighted({4, 3, 2, 1}));
  for (int i = 0; i < n; ++i) {
    FunctionDef f;
    f.name = "fn" + std::to_string(i);
    ScopeMark m = mark();
    int saved_epoch = epoch_;
    ++epoch_;  // the function's packet pointers are its own
    int start_epoch = epoch_;
    std::vector<Sexp> params;
    int nparams = static_cast<int>(rng_.between(0, 4));
    for (int p = 0; p < nparams; ++p) {
      FunctionParam param;
      param.name = "arg" + std::to_string(p);
      switch (rng_.weighted({4, 4, 2, structs_.empty() ? 0 : 2})) {
        case 0:
          param.kind = FunctionParam::Kind::TypedInt;
          param.type = rng_.pick(kAllScalars);
          params.push_back(Sexp{atom(param.name), atom(scalar_name(param.type))});
          bind(int_var(param.name, param.type));
          break;
        case 1:
          param.kind = FunctionParam::Kind::Int;
          params.push_back(atom(param.name));
          bind(int_var(param.name));
          break;
        case 2:
          param.kind = FunctionParam::Kind::PacketPointer;
          params.push_back(atom(param.name));
          bind(packet_var(param.name, Header::Any));
          break;
        default:
          param.kind = FunctionParam::Kind::StructPointer;
          param.struct_index = static_cast<int>(rng_.below(structs_.size()));
          params.push_back(atom(param.name));
          bind(struct_var(param.name, param.struct_index, Storage::Stack));
          break;
      }
      f.params.push_back(param);
    }
    Context ctx;
    ctx.in_function = true;
    ctx.block_name = f.name;
    budget_ = static_cast<int>(rng_.between(2, 10));
    stack_used_ = 8 * nparams;
    std::vector<Sexp> items = {"defun", atom(f.name), Sexp::list(params)};
    if (rng_.chance(10)) items.push_back(Sexp::string("A generated function."));
    for (auto& s : body(ctx, 0, 4)) items.push_back(s);
    items.push_back(int_expr(ctx, 3));
    f.moves_packet = epoch_ != start_epoch;
    for (size_t k = 3; k < items.size(); ++k) scan_exits(items[k], functions_, f.leaves_program, f.tail_calls);
    f.stack_bytes = stack_used_;
    restore(m);
    epoch_ = saved_epoch;
    forms.push_back(Sexp::list(std::move(items)));
    functions_.push_back(f);
  }
}

Sexp ProgramGenerator::generate_program_form(const std::string& name, const std::string& license) {
  static const char* actions[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT", "0", "1", "2", "3", "4"};
  std::vector<Sexp> options;
  if (rng_.chance(90)) options.insert(options.end(), {":type", ":xdp"});
  bool devmap = false;
  switch (rng_.weighted({6, 5, 2, 1, 1})) {
    case 0: break;
    case 1: options.insert(options.end(), {":section", Sexp::string("xdp/" + name)}); break;
    case 2: options.insert(options.end(), {":section", Sexp::string("xdp.frags")}); break;
    case 3: options.insert(options.end(), {":section", Sexp::string("xdp.frags/" + name)}); break;
    default:
      options.insert(options.end(), {":section", Sexp::string("xdp/devmap")});
      devmap = true;
      break;
  }
  if (!license.empty()) options.insert(options.end(), {":license", Sexp::string(license)});
  if (rng_.chance(50)) options.insert(options.end(), {":short-packet", atom(rng_.pick(actions))});

  Context ctx;
  ctx.block_name = name;
  ctx.devmap_section = devmap;
  budget_ = static_cast<int>(rng_.between(6, 45));
  stack_used_ = 0;
  ScopeMark m = mark();
  ++epoch_;
  std::vector<Sexp> items = {"defprog", atom(name), Sexp::list(options)};
  int top = std::max(1, budget_ / 3);
  for (auto& s : body(ctx, 1, top)) items.push_back(s);
  while (budget_ > 0) items.push_back(statement(ctx));
  items.push_back(verdict(ctx));
  restore(m);
  return Sexp::list(std::move(items));
}

// The kernel ties a prog-array, devmap, devmap-hash or cpumap to the first
// program loaded with it and refuses a later one that differs in xdp.frags,
// and a prog-array also to one attach type (devmap programs and interface
// programs do not share one); the compiler makes both errors. Programs drew
// their sections on their own; one that shares such a map with an earlier
// program takes the earlier one's kind (xdp <-> xdp.frags, xdp/NAME <->
// xdp.frags/NAME), and of two sharing a prog-array, an interface program
// becomes a devmap program (never the reverse: a devmap program may read
// (ctx egress-ifindex)). The maps a program uses are the names in its body
// and in the defuns it calls.
void ProgramGenerator::agree_on_shared_maps(std::vector<Sexp>& programs, const std::vector<Sexp>& function_forms) const {
  if (programs.size() < 2) return;
  std::vector<std::set<std::string>> function_atoms(function_forms.size());
  for (size_t i = 0; i < function_forms.size(); ++i) collect_atoms(function_forms[i], function_atoms[i]);
  std::vector<std::set<std::string>> uses;  // per program: the owned maps it uses
  std::vector<std::set<std::string>> prog_arrays;  // per program: the prog-arrays it uses
  for (const auto& program : programs) {
    std::set<std::string> atoms;
    collect_atoms(program, atoms);
    // Functions call only earlier ones: from the last down, each function
    // called adds what it names.
    for (size_t i = function_forms.size(); i-- > 0;)
      if (atoms.count(functions_[i].name)) atoms.insert(function_atoms[i].begin(), function_atoms[i].end());
    std::set<std::string> owned, arrays;
    for (const auto& m : maps_) {
      bool tied = m.type == MapType::ProgArray || m.type == MapType::Devmap || m.type == MapType::DevmapHash ||
                  m.type == MapType::Cpumap;
      if (tied && atoms.count(m.name)) owned.insert(m.name);
      if (m.type == MapType::ProgArray && atoms.count(m.name)) arrays.insert(m.name);
    }
    uses.push_back(std::move(owned));
    prog_arrays.push_back(std::move(arrays));
  }
  auto share = [](const std::set<std::string>& a, const std::set<std::string>& b) {
    for (const auto& name : a)
      if (b.count(name)) return true;
    return false;
  };
  for (size_t later = 1; later < programs.size(); ++later)
    for (size_t earlier = 0; earlier < later; ++earlier) {
      if (share(uses[later], uses[earlier]) && frags_section(programs[later]) != frags_section(programs[earlier]))
        set_frags(programs[later], frags_section(programs[earlier]));
      if (share(prog_arrays[later], prog_arrays[earlier]) && devmap_section(programs[later]) != devmap_section(programs[earlier]))
        set_devmap(devmap_section(programs[later]) ? programs[earlier] : programs[later]);
    }
}

GeneratedProgram ProgramGenerator::generate() {
  GeneratedProgram out;
  out.seed = seed_;
  std::vector<Sexp> forms;
  risk_budget_ = static_cast<int>(rng_.weighted({35, 40, 15, 10}));
  allow_nondeterministic_ = rng_.chance(20);
  if (risk_budget_ == 3) risk_budget_ = 4;
  if (rng_.chance(5)) forms.push_back(Sexp{"in-package", "#:whistler"});
  generate_structs(forms);
  generate_constants(forms);
  generate_maps(forms);
  generate_macros(forms);
  std::vector<Sexp> function_forms;
  generate_functions(function_forms);
  bool functions_last = rng_.chance(10);
  if (!functions_last) forms.insert(forms.end(), function_forms.begin(), function_forms.end());

  int nprograms = rng_.chance(75) ? 1 : 2;
  std::vector<Sexp> programs;
  std::vector<std::string> names;
  for (int i = 0; i < nprograms; ++i) {
    std::string name = "prog" + std::to_string(i);
    names.push_back(name);
    programs.push_back(generate_program_form(name, ""));
  }
  // The license is decided last: GPL-only helpers (printk) need a GPL-compatible one.
  static const char* gpl[] = {"GPL", "Dual BSD/GPL", "GPL v2", "Dual MIT/GPL"};
  std::string license;
  if (rng_.chance(20)) license = uses_printk_ ? rng_.pick(gpl) : rng_.pick(std::vector<const char*>{"GPL", "Dual BSD/GPL", "MIT"});
  if (!license.empty()) {
    auto& opts = programs[rng_.below(programs.size())].items[2].items;
    opts.push_back(":license");
    opts.push_back(Sexp::string(license));
  }
  agree_on_shared_maps(programs, function_forms);
  forms.insert(forms.end(), programs.begin(), programs.end());
  if (functions_last) forms.insert(forms.end(), function_forms.begin(), function_forms.end());

  out.forms = std::move(forms);
  out.programs = names;
  out.nondeterministic = nondeterministic_;
  return out;
}

}  // namespace whistler::torture
