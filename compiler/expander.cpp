#include "expander.hpp"

#include <cctype>
#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace whistler {

std::string elf_name(const std::string& lisp_name) {
  std::string out = lisp_name;
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

namespace {

struct MapTypeName {
  const char* keyword;
  MapKind kind;
};
constexpr MapTypeName kMapTypes[] = {
    {":array", MapKind::Array},
    {":hash", MapKind::Hash},
    {":percpu-array", MapKind::PercpuArray},
    {":percpu-hash", MapKind::PercpuHash},
    {":lru-hash", MapKind::LruHash},
    {":lru-percpu-hash", MapKind::LruPercpuHash},
    {":lpm-trie", MapKind::LpmTrie},
    {":ringbuf", MapKind::Ringbuf},
    {":prog-array", MapKind::ProgArray},
    {":devmap", MapKind::Devmap},
    {":devmap-hash", MapKind::DevmapHash},
    {":cpumap", MapKind::Cpumap},
    {":xskmap", MapKind::Xskmap},
    {":perf-event-array", MapKind::PerfEventArray},
};

constexpr int kMaxExpansionDepth = 20000;

bool valid_section(const std::string& s) {
  if (s == "xdp" || s == "xdp.frags" || s == "xdp/devmap" || s == "xdp/cpumap" || s == "xdp.frags/devmap" ||
      s == "xdp.frags/cpumap")
    return true;
  for (const char* prefix : {"xdp/", "xdp.frags/"}) {
    std::string p = prefix;
    if (s.size() > p.size() && s.compare(0, p.size(), p) == 0) {
      std::string rest = s.substr(p.size());
      return std::all_of(rest.begin(), rest.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == '/';
      });
    }
  }
  return false;
}

// Keyword options of a definition form, with duplicate/unknown/missing-value checks.
struct Options {
  std::map<std::string, Value*> values;
  std::map<std::string, SourceLoc> locs;
  Value* get(const char* k) const {
    auto it = values.find(k);
    return it == values.end() ? nullptr : it->second;
  }
};

}  // namespace

namespace {

// Restores a scope's variables when a binding form ends, normally or by an error.
struct ScopeMark {
  std::vector<const Symbol*>& vars;
  size_t mark;
  template <typename S>
  explicit ScopeMark(S& scope) : vars(scope.vars), mark(scope.vars.size()) {}
  ~ScopeMark() { vars.resize(mark); }
};

}  // namespace

bool Expander::Scope::bound(const Symbol* s) const {
  return std::find(vars.begin(), vars.end(), s) != vars.end();
}

Expander::Expander(Heap& heap, Diagnostics& diags, Module& module, Interpreter& interp)
    : heap_(heap), diags_(diags), module_(module), interp_(interp) {}

SourceLoc Expander::located(const Value* form, SourceLoc site) const {
  if (form->loc.valid() && !diags_.sources().is_system(form->loc)) return form->loc;
  return site.valid() ? site : form->loc;
}

Value* Expander::relocate(Value* data, SourceLoc site) {
  SourceLoc loc = located(data, site);
  if (loc == data->loc) return data;
  switch (data->tag) {
    case Tag::Nil: return heap_.nil_at(loc);
    case Tag::Int: return heap_.integer(data->i, loc);
    case Tag::Sym: return heap_.symbol(data->sym, loc);
    case Tag::Str: return heap_.string(*data->str, loc);
    case Tag::Func: return data;
    case Tag::Cons: break;
  }
  // Copy the list's spine iteratively, up to a tail that has a user location.
  std::vector<Value*> elements;
  Value* p = data;
  do {
    elements.push_back(relocate(p->cons.car, loc));
    p = p->cons.cdr;
  } while (p->tag == Tag::Cons && located(p, loc) != p->loc);
  return heap_.list(elements, loc, relocate(p, loc));
}

// ---- Top level ----------------------------------------------------------------------

void Expander::top_level(Value* form) { top_level(form, {}); }

void Expander::top_level(Value* form, SourceLoc site) {
  try {
    top_level_form(form, site);
  } catch (const AbortForm&) {
    // Reported already. Remember the name it meant to define, so later uses
    // of it do not pile up follow-on errors; continue with the next form.
    const Symbol* h = head_symbol(form);
    Value* name = nth(form, 1);
    if (h && name) {
      if (name->tag == Tag::Cons) name = car(name);
      if (name->tag == Tag::Sym) module_.poisoned.insert(name->sym);
    }
  }
}

void Expander::top_level_form(Value* form, SourceLoc site) {
  SourceLoc loc = located(form, site);
  if (form->tag != Tag::Cons) {
    if (form->tag == Tag::Nil) return;
    diags_.fatal(loc, fmt::format("expected a top-level form such as (defprog ...) or (defmap ...), got {}", print(form)));
  }
  // A form produced by a standard library macro (or with no location at all)
  // is reported at the user's call: a copy of its first cons carries that location.
  if (form->loc != loc) form = heap_.cons(form->cons.car, form->cons.cdr, loc);
  const Symbol* h = head_symbol(form);
  if (!h) diags_.fatal(loc, fmt::format("expected a top-level form, got {}", print(form)));
  if (h == WSYM("in-package") || h == WSYM("declaim") || h == WSYM("eval-when") || h == WSYM("provide") ||
      h == WSYM("require"))
    return;
  if (h == WSYM("progn")) {
    for (Value* f : items(cdr(form))) top_level(f, loc);
    return;
  }
  if (h == WSYM("defmacro")) return define_macro(form);
  if (h == WSYM("defconstant") || h == WSYM("defparameter") || h == WSYM("defvar")) return define_constant(form);
  if (h == WSYM("defmap")) return define_map(form);
  if (h == WSYM("defstruct")) return define_struct(form);
  if (h == WSYM("defun")) return define_function(form);
  if (h == WSYM("defprog")) return define_program(form);
  if (const MacroDef* m = module_.find_macro(h)) {
    Value* expansion = expand_macro_once(*m, form, loc);
    // Top-level forms produced by macros take the call's location when they have none of their own.
    return top_level_form(expansion, loc);
  }
  static const char* kRuntime[] = {"attach-xdp", "detach-xdp", "load-program", "map-get", "map-put", "map-del",
                                   "map-dump", "pin", "test-run"};
  for (const char* r : kRuntime)
    if (h->name == r)
      diags_.fatal(form->loc, fmt::format("({} ...) is a runtime form", h->name),
                   "run it in `whistler repl`; a compiled file holds definitions only");
  diags_.fatal(form->loc, fmt::format("unknown top-level form '{}'", h->name),
               "top-level forms are defprog, defmap, defstruct, defun, defmacro, defconstant and macro calls");
}

Value* Expander::expand_macro_once(const MacroDef& macro, Value* form, SourceLoc site) {
  SourceLoc call = located(form, site);
  size_t before = diags_.all().size();
  try {
    return interp_.expand(macro, form);
  } catch (const AbortForm&) {
    // Make the error speak of the user's call: a failure inside a standard
    // library macro is reported at the call site.
    auto& list = const_cast<std::vector<Diagnostic>&>(diags_.all());
    if (list.size() > before) {
      Diagnostic& d = list.back();
      if (!d.loc.valid() || diags_.sources().is_system(d.loc)) {
        d.loc = call;
        d.message = fmt::format("in ({} ...): {}", macro.name->name, d.message);
      } else if (d.loc != call) {
        d.with_note(call, fmt::format("while expanding macro '{}' here", macro.name->name));
      }
    }
    throw;
  }
}

void Expander::define_macro(Value* form) {
  Value* name = nth(form, 1);
  Value* ll = nth(form, 2);
  if (!name || !is_variable_name(name)) diags_.fatal(form->loc, "defmacro needs a name", "(defmacro NAME (PARAMS...) BODY...)");
  if (!ll || !is_list(ll)) diags_.fatal(form->loc, fmt::format("defmacro {} needs a parameter list", name->sym->name));
  MacroDef def;
  def.name = name->sym;
  def.lambda_list = ll;
  def.body = cdr(cdr(cdr(form)));
  // Skip a docstring.
  if (def.body->tag == Tag::Cons && def.body->cons.car->tag == Tag::Str && def.body->cons.cdr->tag != Tag::Nil)
    def.body = def.body->cons.cdr;
  def.loc = form->loc;
  def.system = diags_.sources().is_system(form->loc);
  module_.macros[def.name] = def;
  module_.accessors.erase(def.name);  // the later definition wins
}

Value* Expander::constant_value(Value* form) { return interp_.eval_toplevel(form); }

int64_t Expander::constant_integer(Value* form, const char* what) {
  Value* v = constant_value(form);
  if (v->tag != Tag::Int)
    diags_.fatal(form->loc, fmt::format("{} must be a constant integer, got {}", what, print(v)));
  return v->i;
}

void Expander::define_constant(Value* form) {
  Value* name = nth(form, 1);
  Value* value = nth(form, 2);
  if (!name || !is_variable_name(name) || !value)
    diags_.fatal(form->loc, "defconstant needs a name and a value", "(defconstant NAME VALUE)");
  module_.constants[name->sym] = constant_value(value);
}

std::optional<Type> Expander::parse_type(Value* spec, bool allow_struct) {
  if (spec->tag == Tag::Sym) {
    const Symbol* s = spec->sym;
    if (s->keyword()) s = intern(s->name.substr(1));
    if (auto t = scalar_type_named(s)) return t;
    if (allow_struct)
      if (const StructDef* def = module_.find_struct(s)) return Type::structure(def);
    return std::nullopt;
  }
  if (is_form(spec, WSYM("array")) && list_length(spec) == 3) {
    auto element = parse_type(nth(spec, 1), allow_struct);
    if (!element) return std::nullopt;
    int64_t n = constant_integer(nth(spec, 2), "array length");
    if (n <= 0) diags_.fatal(spec->loc, "array length must be positive");
    return Type::array(*element, static_cast<uint64_t>(n));
  }
  return std::nullopt;
}

void Expander::define_map(Value* form) {
  Value* name = nth(form, 1);
  if (!name || !is_variable_name(name))
    diags_.fatal(form->loc, "defmap needs a name", "(defmap NAME :type :hash :key-size 4 :value-size 8 :max-entries 1024)");
  if (module_.find_map(name->sym)) diags_.fatal(located(name, form->loc), fmt::format("map '{}' is defined twice", name->sym->name));
  static const std::vector<std::string> kKeys = {":type",     ":key-size",  ":value-size", ":max-entries",
                                                 ":map-flags", ":key-type", ":value-type", ":pinning"};
  Options opts;
  for (Value* p = cdr(cdr(form)); p->tag == Tag::Cons; p = cdr(cdr(p))) {
    Value* key = p->cons.car;
    if (!is_keyword(key)) diags_.fatal(located(key, form->loc), fmt::format("defmap {}: expected a keyword option, got {}", name->sym->name, print(key)));
    if (std::find(kKeys.begin(), kKeys.end(), key->sym->name) == kKeys.end())
      diags_.fatal(located(key, form->loc), fmt::format("defmap {}: unknown option {}", name->sym->name, key->sym->name),
                   "options are :type :key-size :value-size :max-entries :map-flags :key-type :value-type :pinning");
    if (p->cons.cdr->tag != Tag::Cons) diags_.fatal(located(key, form->loc), fmt::format("defmap option {} needs a value", key->sym->name));
    if (opts.values.count(key->sym->name)) diags_.fatal(located(key, form->loc), fmt::format("defmap option {} given twice", key->sym->name));
    opts.values[key->sym->name] = p->cons.cdr->cons.car;
    opts.locs[key->sym->name] = located(key, form->loc);
  }
  MapDef m;
  m.name = name->sym;
  m.elf_name = elf_name(name->sym->name);
  m.loc = form->loc;
  Value* type = opts.get(":type");
  if (!type) diags_.fatal(form->loc, fmt::format("defmap {} needs :type", name->sym->name), "for example :type :hash");
  bool found = false;
  for (const auto& t : kMapTypes)
    if (is_sym(type, intern(t.keyword))) {
      m.kind = t.kind;
      found = true;
    }
  if (!found) {
    std::string names;
    for (const auto& t : kMapTypes) names += std::string(names.empty() ? "" : " ") + t.keyword;
    diags_.fatal(located(type, form->loc), fmt::format("unknown map type {}", print(type)), "map types are " + names);
  }
  auto int_opt = [&](const char* k, int64_t lo, int64_t hi) -> std::optional<uint32_t> {
    Value* v = opts.get(k);
    if (!v) return std::nullopt;
    int64_t n = constant_integer(v, k);
    if (n < lo || n > hi) diags_.fatal(located(v, form->loc), fmt::format("defmap {}: {} must be between {} and {}, got {}", name->sym->name, k, lo, hi, n));
    return static_cast<uint32_t>(n);
  };
  auto max_entries = int_opt(":max-entries", 0, 0xffffffffLL);
  if (!max_entries && m.kind != MapKind::PerfEventArray)
    diags_.fatal(form->loc, fmt::format("defmap {} needs :max-entries", name->sym->name));
  m.max_entries = max_entries.value_or(0);
  if (m.max_entries == 0 && m.kind != MapKind::PerfEventArray)
    diags_.fatal(located(opts.get(":max-entries"), form->loc), fmt::format("defmap {}: :max-entries must be positive", name->sym->name));
  m.map_flags = int_opt(":map-flags", 0, 0xffffffffLL).value_or(0);
  if (Value* pin = opts.get(":pinning")) {
    if (!is_keyword(pin) || pin->sym->name != ":by-name")
      diags_.fatal(located(pin, form->loc), "defmap :pinning takes :by-name", "pinned maps live under /sys/fs/bpf/NAME");
    m.pin = "by-name";
  }

  if (m.kind == MapKind::Ringbuf) {
    for (const char* k : {":key-size", ":value-size", ":key-type"})
      if (opts.get(k)) diags_.fatal(opts.locs[k], fmt::format("ring buffer {} has no keys or values: remove {}", name->sym->name, k));
    // :value-type names the struct its records are, for tools that decode them.
    if (Value* tv = opts.get(":value-type")) {
      auto t = parse_type(tv, true);
      if (!t || t->kind != Type::Kind::Struct)
        diags_.fatal(located(tv, form->loc), fmt::format("ring buffer {}: :value-type must name a defstruct (the record layout), got {}", name->sym->name, print(tv)));
      m.value_type = t;
      m.value_size = static_cast<uint32_t>(t->size());
      m.value_is_record = true;
    }
    uint32_t n = m.max_entries;
    if ((n & (n - 1)) != 0 || n % 4096 != 0)
      diags_.fatal(located(opts.get(":max-entries"), form->loc),
                   fmt::format("ring buffer {}: :max-entries is its size in bytes and must be a power of 2 and a multiple of 4096, got {}",
                               name->sym->name, n),
                   "for example (ash 1 24) for 16 MiB");
  } else {
    auto resolve = [&](const char* size_key, const char* type_key, uint32_t fallback, std::optional<Type>& out,
                       uint32_t& size) {
      Value* tv = opts.get(type_key);
      auto sz = int_opt(size_key, 1, 1 << 20);
      if (tv) {
        auto t = parse_type(tv, true);
        if (!t) diags_.fatal(located(tv, form->loc), fmt::format("defmap {}: {} {} is not a type", name->sym->name, type_key, print(tv)),
                             "use u8 u16 u32 u64 i8..i64, (array u8 N) or a defstruct name");
        out = t;
        size = static_cast<uint32_t>(t->size());
        if (sz && *sz != size)
          diags_.fatal(opts.locs[size_key], fmt::format("defmap {}: {} {} disagrees with {} of {} bytes", name->sym->name, size_key, *sz, type_key, size));
      } else if (sz) {
        size = *sz;
        if (size == 1 || size == 2 || size == 4 || size == 8) out = Type::integer(size * 8);
        else out = Type::array(Type::integer(8), size);
      } else if (fallback) {
        size = fallback;
        out = Type::integer(fallback * 8);
      } else {
        diags_.fatal(form->loc, fmt::format("defmap {} needs {} (or {})", name->sym->name, size_key, type_key));
      }
    };
    bool fixed = m.kind == MapKind::ProgArray || m.kind == MapKind::PerfEventArray || m.kind == MapKind::Devmap ||
                 m.kind == MapKind::DevmapHash || m.kind == MapKind::Cpumap || m.kind == MapKind::Xskmap;
    resolve(":key-size", ":key-type", fixed ? 4 : 0, m.key_type, m.key_size);
    resolve(":value-size", ":value-type", fixed ? 4 : 0, m.value_type, m.value_size);
    m.value_is_record = !m.value_type->is_int();
    if ((m.kind == MapKind::Array || m.kind == MapKind::PercpuArray || fixed) && m.key_size != 4)
      diags_.fatal(opts.get(":key-size") ? opts.locs[":key-size"] : form->loc,
                   fmt::format("defmap {}: array-like maps take 4-byte keys, got {}", name->sym->name, m.key_size));
    if (m.kind == MapKind::LpmTrie) {
      if (m.key_size < 5)
        diags_.fatal(form->loc, fmt::format("defmap {}: an lpm-trie key is a u32 prefix length followed by the address bytes (key-size 8 for IPv4, 20 for IPv6), got {}",
                                            name->sym->name, m.key_size));
      m.map_flags |= 1;  // BPF_F_NO_PREALLOC is mandatory for LPM tries
    }
  }
  module_.maps.push_back(std::move(m));
}

void Expander::define_struct(Value* form) {
  Value* name_spec = nth(form, 1);
  Value* name = name_spec ? car(name_spec) : nullptr;
  if (!name || !is_variable_name(name)) diags_.fatal(form->loc, "defstruct needs a name", "(defstruct NAME (FIELD TYPE)...)");
  if (module_.find_struct(name->sym)) diags_.fatal(located(name, form->loc), fmt::format("struct '{}' is defined twice", name->sym->name));
  // (defstruct (NAME (:conc-name PREFIX)) ...): accessors are PREFIX-less
  // FIELD names with PREFIX prepended, as in Common Lisp (nil: no prefix).
  std::string conc_name = name->sym->name + "-";
  if (name_spec->tag == Tag::Cons) {
    for (Value* option : items(cdr(name_spec))) {
      Value* key = option->tag == Tag::Cons ? car(option) : option;
      if (!key || key->tag != Tag::Sym || key->sym->name != ":conc-name")
        diags_.fatal(located(option, form->loc),
                     fmt::format("defstruct {}: option {} is not supported", name->sym->name, print(option)),
                     "the only defstruct option is (:conc-name PREFIX)");
      Value* prefix = option->tag == Tag::Cons ? nth(option, 1) : nullptr;
      if (!prefix || is_nil(prefix)) conc_name.clear();
      else if (prefix->tag == Tag::Sym) conc_name = prefix->sym->name;
      else if (prefix->tag == Tag::Str) {
        conc_name = *prefix->str;
        for (char& c : conc_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      else
        diags_.fatal(located(option, form->loc), fmt::format("defstruct {}: :conc-name takes a symbol, a string or nil, got {}",
                                                             name->sym->name, print(prefix)));
    }
  }
  auto def = std::make_unique<StructDef>();
  def->name = name->sym;
  def->loc = form->loc;
  for (Value* f : items(cdr(cdr(form)))) {
    if (f->tag == Tag::Str) continue;  // docstring
    if (f->tag != Tag::Cons || !is_variable_name(car(f)) || list_length(f) != 2)
      diags_.fatal(located(f, form->loc), fmt::format("defstruct {}: a field is (NAME TYPE), got {}", name->sym->name, print(f)));
    auto t = parse_type(nth(f, 1), true);
    if (!t)
      diags_.fatal(located(nth(f, 1), located(f, form->loc)),
                   fmt::format("defstruct {}: field {} has unknown type {}", name->sym->name, car(f)->sym->name, print(nth(f, 1))),
                   "use u8 u16 u32 u64 i8 i16 i32 i64, (array TYPE N) or an earlier defstruct");
    for (const auto& existing : def->fields)
      if (existing.name == car(f)->sym)
        diags_.fatal(located(f, form->loc), fmt::format("defstruct {}: field {} appears twice", name->sym->name, car(f)->sym->name));
    def->fields.push_back(StructField{car(f)->sym, *t, 0, located(f, form->loc)});
  }
  if (def->fields.empty()) diags_.fatal(form->loc, fmt::format("defstruct {} has no fields", name->sym->name));
  layout_struct(*def);
  const StructDef* record = def.get();
  module_.structs.push_back(std::move(def));
  module_.struct_by_name[record->name] = record;
  for (const auto& f : record->fields) {
    const Symbol* accessor = intern(conc_name + f.name->name);
    module_.accessors[accessor] = StructAccessor{record, &f};
    module_.macros.erase(accessor);  // the later definition wins, as in CL (e.g. over a packet-library accessor)
  }
}

void Expander::define_function(Value* form) {
  Value* name = nth(form, 1);
  Value* params = nth(form, 2);
  if (!name || !is_variable_name(name)) diags_.fatal(form->loc, "defun needs a name", "(defun NAME (ARGS...) BODY...)");
  if (!params || !is_list(params)) diags_.fatal(form->loc, fmt::format("defun {} needs a parameter list", name->sym->name));
  if (module_.find_function(name->sym)) diags_.fatal(located(name, form->loc), fmt::format("function '{}' is defined twice", name->sym->name));
  FunctionDef fn;
  fn.name = name->sym;
  fn.loc = form->loc;
  Scope scope;
  for (Value* p : items(params)) {
    FunctionParam param;
    param.loc = located(p, form->loc);
    if (is_variable_name(p)) {
      param.name = p->sym;
    } else if (p->tag == Tag::Cons && is_variable_name(car(p)) && list_length(p) == 2) {
      param.name = car(p)->sym;
      param.type = parse_type(nth(p, 1), false);
      if (!param.type) diags_.fatal(param.loc, fmt::format("defun {}: unknown parameter type {}", name->sym->name, print(nth(p, 1))));
    } else {
      diags_.fatal(param.loc, fmt::format("defun {}: bad parameter {}", name->sym->name, print(p)),
                   "parameters are NAME or (NAME TYPE)");
    }
    scope.vars.push_back(param.name);
    fn.params.push_back(param);
  }
  if (fn.params.size() > 5)
    diags_.fatal(form->loc, fmt::format("defun {} takes {} parameters; BPF functions take at most 5", name->sym->name, fn.params.size()));
  // Register before expanding the body so recursion is diagnosed at lowering, not as unknown.
  module_.functions.push_back(fn);
  // A function replaces a macro or struct accessor of the same name, as in CL;
  // otherwise calls would silently still expand the older definition.
  module_.macros.erase(fn.name);
  module_.accessors.erase(fn.name);
  Value* body = cdr(cdr(cdr(form)));
  if (body->tag == Tag::Cons && body->cons.car->tag == Tag::Str && body->cons.cdr->tag != Tag::Nil) body = body->cons.cdr;
  try {
    module_.functions.back().body = ex_body(body, scope, form->loc);
  } catch (const AbortForm&) {
    module_.functions.pop_back();
    throw;
  }
}

void Expander::define_program(Value* form) {
  Value* name = nth(form, 1);
  if (!name || !is_variable_name(name))
    diags_.fatal(form->loc, "defprog needs a name", "(defprog NAME (:type :xdp) BODY...)");
  if (module_.find_program(name->sym)) diags_.fatal(located(name, form->loc), fmt::format("program '{}' is defined twice", name->sym->name));
  ProgramDef prog;
  prog.name = name->sym;
  prog.elf_name = elf_name(name->sym->name);
  prog.loc = form->loc;
  Value* options = nth(form, 2);
  Value* body = cdr(cdr(cdr(form)));
  if (!options || !is_list(options) || (options->tag == Tag::Cons && !is_keyword(car(options)))) {
    diags_.fatal(options ? located(options, form->loc) : form->loc, fmt::format("defprog {} needs an option list after its name", name->sym->name),
                 "(defprog NAME (:type :xdp) BODY...); use () for the defaults");
  }
  bool section_given = false;
  for (Value* p = options; p->tag == Tag::Cons; p = cdr(cdr(p))) {
    Value* key = p->cons.car;
    if (!is_keyword(key)) diags_.fatal(located(key, form->loc), fmt::format("defprog {}: expected a keyword option, got {}", name->sym->name, print(key)));
    if (p->cons.cdr->tag != Tag::Cons) diags_.fatal(located(key, form->loc), fmt::format("defprog option {} needs a value", key->sym->name));
    Value* v = p->cons.cdr->cons.car;
    const std::string& k = key->sym->name;
    if (k == ":type") {
      if (!is_sym(v, WSYM(":xdp")))
        diags_.fatal(located(v, form->loc), fmt::format("defprog {}: program type {} is not supported", name->sym->name, print(v)),
                     "Whistler compiles XDP programs: use :type :xdp");
    } else if (k == ":section") {
      if (v->tag != Tag::Str) diags_.fatal(located(v, form->loc), "defprog :section takes a string");
      if (!valid_section(*v->str))
        diags_.fatal(located(v, form->loc), fmt::format("defprog {}: invalid XDP section \"{}\"", name->sym->name, *v->str),
                     "valid sections: xdp, xdp/NAME, xdp.frags, xdp.frags/NAME, xdp/devmap, xdp/cpumap");
      prog.section = *v->str;
      section_given = true;
    } else if (k == ":license") {
      if (v->tag != Tag::Str) diags_.fatal(located(v, form->loc), "defprog :license takes a string");
      prog.license = *v->str;
      prog.license_given = true;
      prog.license_loc = located(v, form->loc);
    } else if (k == ":short-packet") {
      prog.short_packet_action = constant_integer(v, ":short-packet");
      if (prog.short_packet_action < 0 || prog.short_packet_action > 4)
        diags_.fatal(located(v, form->loc), "defprog :short-packet takes an XDP action (XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX)");
    } else {
      diags_.fatal(located(key, form->loc), fmt::format("defprog {}: unknown option {}", name->sym->name, k),
                   "options are :type :section :license :short-packet");
    }
  }
  (void)section_given;
  Scope scope;
  prog.body = ex_body(body, scope, form->loc);
  if (prog.body->tag == Tag::Nil)
    diags_.fatal(form->loc, fmt::format("defprog {} has no body", name->sym->name), "an XDP program returns an action such as XDP_PASS");
  module_.programs.push_back(std::move(prog));
}

// ---- Expressions -----------------------------------------------------------------------

Value* Expander::expand_expression(Value* form) {
  Scope scope;
  return ex(form, scope, form->loc);
}

Value* Expander::ex_body(Value* forms, Scope& scope, SourceLoc site) {
  std::vector<Value*> out;
  for (Value* f : items(forms)) {
    try {
      out.push_back(ex(f, scope, site));
    } catch (const AbortForm&) {
      // Reported; keep expanding the other statements so their errors show too.
      SourceLoc loc = located(f, site);
      out.push_back(heap_.list({heap_.symbol(WSYM("%error"), loc)}, loc));
    }
  }
  return heap_.list(out, site);
}

Value* Expander::ex(Value* form, Scope& scope, SourceLoc site) {
  SourceLoc loc = located(form, site);
  struct Depth {
    int& d;
    explicit Depth(int& depth) : d(depth) { ++d; }
    ~Depth() { --d; }
  } depth(depth_);
  if (depth_ > kMaxExpansionDepth)
    diags_.fatal(loc, fmt::format("expansion nested more than {} deep", kMaxExpansionDepth),
                 "does a macro expand into a call of itself without end?");
  switch (form->tag) {
    case Tag::Nil:
      return form->loc == loc ? form : heap_.nil_at(loc);
    case Tag::Int:
      return form->loc == loc ? form : heap_.integer(form->i, loc);
    case Tag::Str:
      return form->loc == loc ? form : heap_.string(*form->str, loc);
    case Tag::Func:
      diags_.fatal(loc, "a compile-time function cannot appear in BPF code");
    case Tag::Sym: {
      if (!scope.bound(form->sym)) {
        auto c = module_.constants.find(form->sym);
        if (c != module_.constants.end() && c->second->tag == Tag::Int) return heap_.integer(c->second->i, loc);
      }
      return form->loc == loc ? form : heap_.symbol(form->sym, loc);
    }
    case Tag::Cons:
      break;
  }
  if (list_length(form) < 0) diags_.fatal(loc, fmt::format("malformed form {}", print(form)));
  Value* head = form->cons.car;
  if (head->tag != Tag::Sym) {
    diags_.fatal(loc, fmt::format("{} is not a function, macro or operator name", print(head)),
                 head->tag == Tag::Cons ? "an extra pair of parentheses?" : "");
  }
  const Symbol* h = head->sym;
  Value* args = form->cons.cdr;
  auto rebuild = [&](Value* new_args) { return heap_.cons(heap_.symbol(h, loc), new_args, loc); };

  if (h == WSYM("quote")) return rebuild(relocate(args, loc));
  if (h == WSYM("let")) return ex_let(form, scope, loc, false);
  if (h == WSYM("let*")) return ex_let(form, scope, loc, true);
  if (h == WSYM("%loop")) return ex_loop(form, scope, loc);
  if (h == WSYM("declare")) return rebuild(relocate(args, loc));
  if (h == WSYM("setf") || h == WSYM("setq")) {
    long n = list_length(args);
    if (n == 0 || n % 2 != 0)
      diags_.fatal(loc, fmt::format("{} takes place/value pairs, got {} argument{}", h->name, n, n == 1 ? "" : "s"));
    std::vector<Value*> sets;
    for (Value* p = args; p->tag == Tag::Cons; p = p->cons.cdr->cons.cdr)
      sets.push_back(ex_setf(p->cons.car, p->cons.cdr->cons.car, scope, loc, site));
    if (sets.size() == 1) return sets[0];
    return heap_.cons(heap_.symbol(WSYM("progn"), loc), heap_.list(sets, loc), loc);
  }
  if (h == WSYM("incf") || h == WSYM("decf")) return ex_incf(form, scope, loc, site, h == WSYM("decf"));
  if (h == WSYM("sizeof")) {
    Value* t = car(args);
    if (list_length(args) == 1) {
      if (auto type = parse_type(t, true)) return heap_.integer(static_cast<int64_t>(type->size()), loc);
    }
    diags_.fatal(loc, fmt::format("sizeof needs a type or defstruct name, got {}", print(args)));
  }
  if (h == WSYM("load") || h == WSYM("store") || h == WSYM("cast")) {
    // The type argument stays as written.
    if (args->tag != Tag::Cons) return rebuild(args);
    return rebuild(heap_.cons(relocate(args->cons.car, loc), ex_body(args->cons.cdr, scope, site), loc));
  }
  if (h == WSYM("ctx") || h == WSYM("stack-addr")) return rebuild(relocate(args, loc));
  if (h == WSYM("%on-return")) {  // (%on-return (CLEANUP...) BODY...)
    if (args->tag != Tag::Cons || !is_list(args->cons.car)) diags_.fatal(loc, "malformed %on-return");
    return rebuild(heap_.cons(ex_body(args->cons.car, scope, site), ex_body(args->cons.cdr, scope, site), loc));
  }
  if (auto acc = module_.accessors.find(h); acc != module_.accessors.end() && !module_.find_macro(h))
    return ex_accessor(acc->second, form, scope, loc, site);
  if (h->name.size() > 5 && h->name.compare(0, 5, "make-") == 0) {
    if (const StructDef* def = module_.find_struct(intern(h->name.substr(5)))) {
      if (args->tag != Tag::Nil)
        diags_.fatal(loc, fmt::format("({} ...) takes no arguments: it allocates a zeroed {} on the stack", h->name, def->name->name),
                     "set fields afterwards with (setf (STRUCT-FIELD p) value)");
      return heap_.list({heap_.symbol(WSYM("%stack-alloc"), loc), heap_.integer(static_cast<int64_t>(def->size), loc),
                         heap_.integer(static_cast<int64_t>(def->align), loc)},
                        loc);
    }
  }
  if (const MacroDef* m = module_.find_macro(h)) {
    Value* expansion = expand_macro_once(*m, form, site);
    return ex(expansion, scope, loc);
  }
  // A call of an operator, helper or function: arguments are expressions.
  return rebuild(ex_body(args, scope, site));
}

Value* Expander::ex_let(Value* form, Scope& scope, SourceLoc loc, bool sequential) {
  Value* bindings = nth(form, 1);
  const char* name = sequential ? "let*" : "let";
  if (!bindings || !is_list(bindings))
    diags_.fatal(loc, fmt::format("{} needs a list of bindings", name), "(let ((VAR INIT) (VAR TYPE INIT)) BODY...)");
  ScopeMark mark(scope);  // bindings end with the let, also when a binding fails
  std::vector<const Symbol*> pending;
  std::vector<Value*> out;
  for (Value* b : items(bindings)) {
    SourceLoc bloc = located(b, loc);
    Value* var = b->tag == Tag::Cons ? car(b) : b;
    if (!is_variable_name(var))
      diags_.fatal(located(var, bloc), fmt::format("{}: cannot bind {}", name, print(var)),
                   var->tag == Tag::Cons ? "each binding is (VAR INIT), (VAR TYPE INIT) or (VAR TYPE)" : "");
    long n = b->tag == Tag::Cons ? list_length(b) : 1;
    if (n < 1 || n > 3)
      diags_.fatal(bloc, fmt::format("{}: binding {} should be (VAR INIT), (VAR TYPE INIT) or (VAR TYPE)", name, print(b)));
    std::vector<Value*> parts{heap_.symbol(var->sym, located(var, bloc))};
    if (n == 3) {
      parts.push_back(relocate(nth(b, 1), bloc));
      parts.push_back(ex(nth(b, 2), scope, bloc));
    } else if (n == 2) {
      parts.push_back(ex(nth(b, 1), scope, bloc));
    }
    out.push_back(heap_.list(parts, bloc));
    if (sequential) scope.vars.push_back(var->sym);
    else pending.push_back(var->sym);
  }
  for (const Symbol* s : pending) scope.vars.push_back(s);
  Value* body = ex_body(cdr(cdr(form)), scope, loc);
  return heap_.cons(heap_.symbol(intern(name), loc), heap_.cons(heap_.list(out, loc), body, loc), loc);
}

// (%loop VAR START END BODY...): counts VAR from START while below END.
Value* Expander::ex_loop(Value* form, Scope& scope, SourceLoc loc) {
  Value* var = nth(form, 1);
  if (!var || !is_variable_name(var) || list_length(form) < 4) diags_.fatal(loc, "malformed loop");
  Value* start = ex(nth(form, 2), scope, loc);
  Value* end = ex(nth(form, 3), scope, loc);
  ScopeMark mark(scope);
  scope.vars.push_back(var->sym);
  Value* body = ex_body(cdr(cdr(cdr(cdr(form)))), scope, loc);
  return heap_.cons(heap_.symbol(WSYM("%loop"), loc),
                    heap_.cons(heap_.symbol(var->sym, located(var, loc)), heap_.cons(start, heap_.cons(end, body, loc), loc), loc),
                    loc);
}

Value* Expander::ex_accessor(const StructAccessor& acc, Value* form, Scope& scope, SourceLoc loc, SourceLoc site) {
  const std::string accessor = head_symbol(form)->name;
  if (list_length(form) != 2)
    diags_.fatal(loc, fmt::format("({} PTR) takes one argument: a pointer to a {}", accessor, acc.record->name->name));
  Value* ptr = ex(nth(form, 1), scope, site.valid() ? site : loc);
  const Type& t = acc.field->type;
  Value* off = heap_.integer(static_cast<int64_t>(acc.field->offset), loc);
  if (t.is_int())
    return heap_.list({heap_.symbol(WSYM("load"), loc), heap_.symbol(intern(t.name()), loc), ptr, off}, loc);
  // Arrays and nested structs: a pointer to the field.
  return heap_.list({heap_.symbol(WSYM("+"), loc), ptr, off}, loc);
}

Value* Expander::place_form(Value* place, Scope& scope, SourceLoc site) {
  SourceLoc written = located(place, site);  // the place as the user wrote it
  for (int guard = 0; guard < 100; ++guard) {
    const Symbol* h = head_symbol(place);
    if (!h) return place;
    if (auto acc = module_.accessors.find(h); acc != module_.accessors.end() && !module_.find_macro(h)) {
      if (!acc->second.field->type.is_int())
        diags_.fatal(located(place, site), fmt::format("cannot setf {}: field {} is {}, not a number", print(place),
                                                       acc->second.field->name->name, acc->second.field->type.name()),
                     "copy into it with (memcpy (ACCESSOR p) src n) or set its elements with (store ...)");
      SourceLoc l = located(place, site);
      return heap_.list({heap_.symbol(WSYM("load"), l), heap_.symbol(intern(acc->second.field->type.name()), l), nth(place, 1),
                         heap_.integer(static_cast<int64_t>(acc->second.field->offset), l)},
                        l);
    }
    const MacroDef* m = module_.find_macro(h);
    if (!m) return place;
    place = expand_macro_once(*m, place, site);
  }
  diags_.fatal(written, "setf place expands without end");
}

Value* Expander::ex_setf(Value* place, Value* value, Scope& scope, SourceLoc loc, SourceLoc site) {
  SourceLoc ploc = located(place, loc);
  if (place->tag == Tag::Sym) {
    if (!is_variable_name(place)) diags_.fatal(ploc, fmt::format("cannot assign to {}", print(place)));
    if (!scope.bound(place->sym) && module_.constants.count(place->sym))
      diags_.fatal(ploc, fmt::format("cannot assign to constant {}", place->sym->name));
    return heap_.list({heap_.symbol(WSYM("setq"), loc), heap_.symbol(place->sym, ploc), ex(value, scope, site)}, loc);
  }
  place = place_form(place, scope, site);
  const Symbol* h = head_symbol(place);
  auto sym = [&](const char* s) { return heap_.symbol(intern(s), ploc); };
  if (h == WSYM("load")) {
    long n = list_length(place);
    if (n < 3 || n > 4) diags_.fatal(ploc, "(load TYPE PTR [OFFSET]) takes a type, a pointer and an optional offset");
    Value* off = n == 4 ? ex(nth(place, 3), scope, site) : heap_.integer(0, ploc);
    return heap_.list({sym("store"), relocate(nth(place, 1), ploc), ex(nth(place, 2), scope, site), off, ex(value, scope, site)}, loc);
  }
  static const std::pair<const char*, const char*> kSwaps[] = {
      {"ntohs", "htons"}, {"htons", "ntohs"}, {"ntohl", "htonl"}, {"htonl", "ntohl"}, {"ntohll", "htonll"}, {"htonll", "ntohll"}};
  for (const auto& [from, to] : kSwaps)
    if (h && h->name == from) {
      if (list_length(place) != 2) diags_.fatal(ploc, fmt::format("({} X) takes one argument", from));
      Value* swapped = heap_.list({sym(to), value}, located(value, loc));
      return ex_setf(nth(place, 1), swapped, scope, loc, site);
    }
  if (h == WSYM("getmap")) {
    if (list_length(place) != 3) diags_.fatal(ploc, "(getmap MAP KEY) takes a map and a key");
    return heap_.list({sym("%setmap"), relocate(nth(place, 1), ploc), ex(nth(place, 2), scope, site), ex(value, scope, site)}, loc);
  }
  if (h == WSYM("ctx")) {
    if (list_length(place) != 2) diags_.fatal(ploc, "(ctx FIELD) takes a field name");
    return heap_.list({sym("%ctx-store"), relocate(nth(place, 1), ploc), ex(value, scope, site)}, loc);
  }
  diags_.fatal(ploc, fmt::format("cannot setf {}", print(place)),
               "setf places are variables, (load ...), struct and header accessors, (getmap ...) and (ctx ...)");
}

Value* Expander::ex_incf(Value* form, Scope& scope, SourceLoc loc, SourceLoc site, bool decrement) {
  const char* name = decrement ? "decf" : "incf";
  long n = list_length(form);
  if (n < 2 || n > 3) diags_.fatal(loc, fmt::format("({} PLACE [DELTA]) takes a place and an optional delta", name));
  Value* place = nth(form, 1);
  Value* delta = n == 3 ? nth(form, 2) : heap_.integer(1, loc);
  if (place->tag != Tag::Sym) place = place_form(place, scope, site);
  if (is_form(place, WSYM("getmap"))) {
    if (list_length(place) != 3) diags_.fatal(located(place, loc), "(getmap MAP KEY) takes a map and a key");
    Value* d = ex(delta, scope, site);
    if (decrement) d = heap_.list({heap_.symbol(WSYM("-"), loc), heap_.integer(0, loc), d}, loc);
    return heap_.list({heap_.symbol(WSYM("%incf-map"), loc), relocate(nth(place, 1), loc), ex(nth(place, 2), scope, site), d}, loc);
  }
  Value* op = heap_.symbol(decrement ? WSYM("-") : WSYM("+"), loc);
  if (is_form(place, WSYM("load")) && nth(place, 2) && nth(place, 2)->tag == Tag::Cons) {
    // Evaluate the pointer once: (let ((p PTR)) (store T p OFF (+ (load T p OFF) D)))
    Value* tmp = heap_.gensym("ptr", loc);
    Value* off = nth(place, 3) ? nth(place, 3) : heap_.integer(0, loc);
    Value* inner_place = heap_.list({heap_.symbol(WSYM("load"), loc), nth(place, 1), tmp, off}, loc);
    Value* body = heap_.list({heap_.symbol(WSYM("setf"), loc), inner_place, heap_.list({op, inner_place, delta}, loc)}, loc);
    Value* let = heap_.list({heap_.symbol(WSYM("let"), loc), heap_.list({heap_.list({tmp, nth(place, 2)}, loc)}, loc), body}, loc);
    return ex(let, scope, site);
  }
  return ex_setf(place, heap_.list({op, place, delta}, loc), scope, loc, site);
}

}  // namespace whistler
