// Statement forms: binding and assignment, struct memory, control flow,
// returns, loops, calls of defuns and macros, printk.
#include <algorithm>
#include <cctype>
#include <set>

#include "generator_core.hpp"

namespace whistler::torture {

std::vector<Sexp> ProgramGenerator::body_with(Context& ctx, const Variable& v, int min_count, int max_count) {
  ScopeMark m = mark();
  bind(v);
  auto out = body(ctx, min_count, max_count);
  restore(m);
  return out;
}

// ---- Binding ----

std::optional<Sexp> ProgramGenerator::statement_let(Context& ctx) {
  int n = static_cast<int>(rng_.between(1, 3));
  if (!stack_room(8 * n)) return std::nullopt;
  use_stack(8 * n);
  bool sequential = rng_.chance(40);
  ScopeMark m = mark();
  std::vector<Sexp> bindings;
  std::vector<Variable> pending;  // let binds after every init is evaluated
  std::vector<std::string> untyped;
  for (int i = 0; i < n; ++i) {
    std::string name = fresh("v");
    auto ints = visible_ints(true);
    if (!ints.empty() && rng_.chance(8)) name = rng_.pick(ints)->name;  // shadow an outer variable
    Scalar type = Scalar::U64;
    switch (rng_.weighted({2, 1, 30, 22, 6})) {
      case 0: bindings.push_back(atom(name)); break;
      case 1: bindings.push_back(Sexp{atom(name)}); break;
      case 2:
        bindings.push_back(Sexp{atom(name), int_expr(ctx, 3)});
        untyped.push_back(name);
        break;
      case 3:
        type = rng_.pick(kAllScalars);
        bindings.push_back(Sexp{atom(name), atom(scalar_name(type)), int_expr(ctx, 3)});
        break;
      default:
        type = rng_.pick(kAllScalars);
        bindings.push_back(Sexp{atom(name), atom(scalar_name(type))});
        break;
    }
    Variable v = int_var(name, type);
    if (sequential) bind(v);
    else pending.push_back(v);
  }
  for (auto& v : pending) bind(v);
  std::vector<Sexp> items = {sequential ? "let*" : "let", Sexp::list(bindings)};
  if (!untyped.empty() && rng_.chance(12)) {
    Scalar t = rng_.pick(kAllScalars);
    const std::string& name = rng_.pick(untyped);
    items.push_back(Sexp{"declare", Sexp{"type", atom(scalar_name(t)), atom(name)}});
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
      if (it->name == name) {
        it->type = t;
        break;
      }
  }
  for (auto& s : body(ctx, 1, 4)) items.push_back(s);
  restore(m);
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::statement_let_struct(Context& ctx) {
  if (structs_.empty()) return std::nullopt;
  int s = static_cast<int>(rng_.below(structs_.size()));
  const StructDef& def = structs_[static_cast<size_t>(s)];
  if (!stack_room(def.size + 8)) return std::nullopt;
  use_stack(def.size + 8);
  std::string name = fresh("s");
  Sexp binding;
  switch (rng_.weighted({5, 3, 1})) {
    case 0: binding = Sexp{atom(name), Sexp{atom("make-" + def.name)}}; break;
    case 1: binding = Sexp{atom(name), atom(def.name)}; break;
    default: binding = Sexp{atom(name), atom(def.name), Sexp{atom("make-" + def.name)}}; break;
  }
  auto stmts = body_with(ctx, struct_var(name, s, Storage::Stack), 1, 5);
  return splice(Sexp{"let", Sexp{binding}}, stmts);
}

std::optional<Sexp> ProgramGenerator::statement_let_pointer(Context& ctx) {
  if (!stack_room(8)) return std::nullopt;
  auto p = packet_pointer(ctx, 2);
  if (!p) return std::nullopt;
  use_stack(8);
  std::string name = fresh("p");
  Variable v = packet_var(name, Header::Any);
  auto stmts = body_with(ctx, v, 1, 4);
  return splice(Sexp{rng_.chance(80) ? "let" : "let*", Sexp{Sexp{atom(name), *p}}}, stmts);
}

// A packet pointer that each branch of an if sets differently, then used:
// the bounds checks meet a phi of pointers.
std::optional<Sexp> ProgramGenerator::statement_pointer_in_branches(Context& ctx) {
  if (!stack_room(8)) return std::nullopt;
  auto first = packet_pointer(ctx, 1);
  if (!first) return std::nullopt;
  use_stack(8);
  std::string name = fresh("p");
  Sexp test = condition(ctx, 2);
  auto then = packet_pointer(ctx, 2);
  auto otherwise = packet_pointer(ctx, 2);
  if (!then || !otherwise) return std::nullopt;
  Sexp branches = rng_.chance(70) ? Sexp{"if", test, Sexp{"setf", atom(name), *then}, Sexp{"setf", atom(name), *otherwise}}
                                  : Sexp{"when", test, Sexp{"setf", atom(name), *then}};
  ScopeMark m = mark();
  bind(packet_var(name, Header::Any));
  std::vector<Sexp> stmts = {branches};
  Scalar t = rng_.pick(kAllScalars);
  Sexp offset = packet_offset(ctx, Header::Any, scalar_bytes(t));
  auto ints = visible_ints(true);
  if (ints.empty() || rng_.chance(50))
    stmts.push_back(Sexp{"store", atom(scalar_name(t)), atom(name), offset, int_expr(ctx, 1)});
  else
    stmts.push_back(Sexp{"setf", atom(rng_.pick(ints)->name), Sexp{"load", atom(scalar_name(t)), atom(name), offset}});
  for (auto& s : body(ctx, 1, 3)) stmts.push_back(s);
  restore(m);
  return splice(Sexp{"let", Sexp{Sexp{atom(name), *first}}}, stmts);
}

// ---- Assignment ----

std::optional<Sexp> ProgramGenerator::statement_setf_var(Context& ctx) {
  auto ints = visible_ints(true);
  if (ints.empty()) return std::nullopt;
  std::vector<Sexp> items = {rng_.chance(85) ? "setf" : "setq"};
  int pairs = rng_.chance(80) ? 1 : 2;
  for (int i = 0; i < pairs; ++i) {
    items.push_back(atom(rng_.pick(ints)->name));
    items.push_back(int_expr(ctx, 3));
  }
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::statement_setf_pointer(Context& ctx) {
  // A pointer moved in a loop's body is at a different offset on every path
  // through the iterations, and the verifier keeps each: 8 iterations that
  // may each move two pointers took more than its 1,000,000 instructions
  // (seed 6017920), as the same loop in C would.
  if (ctx.loop_trips > kMaxTripsBranchy) return std::nullopt;
  auto ptrs = packet_pointers(true);
  if (ptrs.empty()) return std::nullopt;
  const Variable* target = rng_.pick(ptrs);
  std::string name = target->name;
  auto value = packet_pointer(ctx, 2);
  if (!value) return std::nullopt;
  // The variable now points wherever the value does.
  for (auto it = vars_.rbegin(); it != vars_.rend(); ++it)
    if (it->name == name) {
      it->header = Header::Any;
      break;
    }
  return Sexp{"setf", atom(name), *value};
}

std::optional<Sexp> ProgramGenerator::statement_incf_var(Context& ctx) {
  auto ints = visible_ints(true);
  if (ints.empty()) return std::nullopt;
  Sexp var = atom(rng_.pick(ints)->name);
  const char* op = rng_.chance(60) ? "incf" : "decf";
  switch (rng_.below(3)) {
    case 0: return Sexp{op, var};
    case 1: return Sexp{op, var, int_expr(ctx, 2)};
    default: return Sexp{"setf", var, Sexp{rng_.chance(50) ? "1+" : "1-", var}};
  }
}

Sexp ProgramGenerator::struct_accessor(int struct_index, size_t field, const Sexp& ptr) const {
  return Sexp{atom(structs_[static_cast<size_t>(struct_index)].fields[field].accessor), ptr};
}

std::vector<Sexp> ProgramGenerator::struct_places(const Sexp& ptr, int struct_index, int depth_left) {
  std::vector<Sexp> places;
  const StructDef& def = structs_[static_cast<size_t>(struct_index)];
  for (size_t i = 0; i < def.fields.size(); ++i) {
    const StructField& f = def.fields[i];
    switch (f.kind) {
      case StructField::Kind::Scalar: places.push_back(struct_accessor(struct_index, i, ptr)); break;
      case StructField::Kind::Array: {
        int index = static_cast<int>(rng_.below(static_cast<uint64_t>(f.count)));
        places.push_back(Sexp{"load", atom(scalar_name(f.type)), struct_accessor(struct_index, i, ptr),
                              num(index * scalar_bytes(f.type))});
        break;
      }
      case StructField::Kind::Nested:
        if (depth_left > 0)
          for (auto& p : struct_places(struct_accessor(struct_index, i, ptr), f.nested, depth_left - 1))
            places.push_back(p);
        break;
    }
  }
  return places;
}

namespace {

// Stores into a pointer's memory are fine on every storage; the places of
// read-only memory do not occur (ring buffer records and map values are writable).
std::vector<Sexp> scalar_pointer_places(const Variable& v, RandomSource& rng) {
  std::vector<Sexp> places;
  places.push_back(Sexp{"load", atom(scalar_name(v.type)), atom(v.name), "0"});
  if (rng.chance(30)) places.push_back(Sexp{"load", atom(scalar_name(v.type)), atom(v.name)});
  return places;
}

}  // namespace

std::optional<Sexp> ProgramGenerator::statement_setf_field(Context& ctx) {
  std::vector<Sexp> places;
  for (auto* v : struct_pointers())
    for (auto& p : struct_places(atom(v->name), v->struct_index, 2)) places.push_back(p);
  for (auto* v : scalar_pointers())
    for (auto& p : scalar_pointer_places(*v, rng_)) places.push_back(p);
  if (places.empty()) return std::nullopt;
  std::vector<Sexp> items = {"setf"};
  int pairs = static_cast<int>(rng_.between(1, 3));
  for (int i = 0; i < pairs; ++i) {
    items.push_back(rng_.pick(places));
    items.push_back(int_expr(ctx, 3));
  }
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::statement_incf_field(Context& ctx) {
  std::vector<Sexp> places;
  for (auto* v : struct_pointers())
    for (auto& p : struct_places(atom(v->name), v->struct_index, 2)) places.push_back(p);
  for (auto* v : scalar_pointers())
    for (auto& p : scalar_pointer_places(*v, rng_)) places.push_back(p);
  if (places.empty()) return std::nullopt;
  const char* op = rng_.chance(65) ? "incf" : "decf";
  if (rng_.chance(50)) return Sexp{op, rng_.pick(places)};
  return Sexp{op, rng_.pick(places), int_expr(ctx, 2)};
}

std::optional<Sexp> ProgramGenerator::statement_store_struct(Context& ctx) {
  auto ptrs = struct_pointers();
  auto scalars = scalar_pointers();
  if (ptrs.empty() && scalars.empty()) return std::nullopt;
  Sexp ptr;
  int size = 0;
  if (!ptrs.empty() && (scalars.empty() || rng_.chance(70))) {
    const Variable* v = rng_.pick(ptrs);
    const StructDef& def = structs_[static_cast<size_t>(v->struct_index)];
    ptr = atom(v->name);
    size = def.size;
    // Sometimes an array field's element.
    for (size_t i = 0; i < def.fields.size(); ++i)
      if (def.fields[i].kind == StructField::Kind::Array && rng_.chance(40)) {
        const StructField& f = def.fields[i];
        Sexp elements = struct_accessor(v->struct_index, i, ptr);
        int index = static_cast<int>(rng_.below(static_cast<uint64_t>(f.count)));
        return Sexp{"store", atom(scalar_name(f.type)), elements, num(index * scalar_bytes(f.type)), int_expr(ctx, 3)};
      }
  } else {
    const Variable* v = rng_.pick(scalars);
    ptr = atom(v->name);
    size = scalar_bytes(v->type);
  }
  // A scalar that fits, at an offset aligned to its size (stack accesses must be aligned).
  std::vector<Scalar> fits;
  for (Scalar t : kAllScalars)
    if (scalar_bytes(t) <= size) fits.push_back(t);
  Scalar t = rng_.pick(fits);
  int bytes = scalar_bytes(t);
  int slots = size / bytes;
  int offset = static_cast<int>(rng_.below(static_cast<uint64_t>(slots))) * bytes;
  if (rng_.chance(25)) return Sexp{"setf", Sexp{"load", atom(scalar_name(t)), ptr, num(offset)}, int_expr(ctx, 3)};
  return Sexp{"store", atom(scalar_name(t)), ptr, num(offset), int_expr(ctx, 3)};
}

std::optional<Sexp> ProgramGenerator::statement_memset_struct(Context& ctx) {
  auto ptrs = struct_pointers();
  if (ptrs.empty()) return std::nullopt;
  const Variable* v = rng_.pick(ptrs);
  int size = structs_[static_cast<size_t>(v->struct_index)].size;
  int offset = static_cast<int>(rng_.below(static_cast<uint64_t>(size)));
  int n = static_cast<int>(rng_.between(0, size - offset));
  if (rng_.chance(30)) {
    offset = 0;
    n = size;
  }
  Sexp value = rng_.chance(60) ? Sexp(rng_.chance(50) ? "0" : "#xff") : int_expr(ctx, 2);
  return Sexp{"memset", atom(v->name), num(offset), value, num(n)};
}

std::optional<Sexp> ProgramGenerator::statement_memcpy(Context& ctx) {
  auto ptrs = struct_pointers();
  if (ptrs.empty()) return std::nullopt;
  const Variable* dst = rng_.pick(ptrs);
  int dst_size = structs_[static_cast<size_t>(dst->struct_index)].size;
  switch (rng_.weighted({4, 3, 2})) {
    case 0: {  // struct to struct (different variables)
      std::vector<const Variable*> others;
      for (auto* v : ptrs)
        if (v->name != dst->name) others.push_back(v);
      if (others.empty()) return std::nullopt;
      const Variable* src = rng_.pick(others);
      int src_size = structs_[static_cast<size_t>(src->struct_index)].size;
      int n = static_cast<int>(rng_.between(1, std::min(dst_size, src_size)));
      return Sexp{"memcpy", atom(dst->name), atom(src->name), num(n)};
    }
    case 1: {  // from the packet
      auto src = packet_pointer(ctx, 2);
      if (!src) return std::nullopt;
      return Sexp{"memcpy", atom(dst->name), *src, num(rng_.between(1, dst_size))};
    }
    default: {  // into the packet
      auto to = packet_pointer(ctx, 2);
      if (!to) return std::nullopt;
      return Sexp{"memcpy", *to, atom(dst->name), num(rng_.between(1, dst_size))};
    }
  }
}

std::optional<Sexp> ProgramGenerator::statement_atomic_add(Context& ctx) {
  struct Target {
    Sexp ptr;
    int offset;
    int bytes;
  };
  std::vector<Target> targets;
  for (auto* v : struct_pointers()) {
    const StructDef& def = structs_[static_cast<size_t>(v->struct_index)];
    for (const auto& f : def.fields)
      if (f.kind == StructField::Kind::Scalar && scalar_bytes(f.type) >= 4)
        targets.push_back({atom(v->name), f.offset, scalar_bytes(f.type)});
  }
  for (auto* v : scalar_pointers())
    if (scalar_bytes(v->type) >= 4) targets.push_back({atom(v->name), 0, scalar_bytes(v->type)});
  if (targets.empty()) return std::nullopt;
  const Target& t = rng_.pick(targets);
  Sexp delta = rng_.chance(50) ? Sexp("1") : int_expr(ctx, 2);
  if (t.bytes == 4) return Sexp{"atomic-add", t.ptr, num(t.offset), delta, "u32"};
  if (rng_.chance(30)) return Sexp{"atomic-add", t.ptr, num(t.offset), delta, "u64"};
  return Sexp{"atomic-add", t.ptr, num(t.offset), delta};
}

// ---- Control ----

std::optional<Sexp> ProgramGenerator::statement_when(Context& ctx) {
  Sexp test = condition(ctx, 3);
  return splice(Sexp{rng_.chance(75) ? "when" : "unless", test}, body(ctx, 1, 4));
}

std::optional<Sexp> ProgramGenerator::statement_if(Context& ctx) {
  Sexp test = condition(ctx, 3);
  auto branch = [&]() -> Sexp {
    auto stmts = body(ctx, 1, 3);
    if (stmts.size() == 1 && rng_.chance(60)) return stmts[0];
    return splice(Sexp{"progn"}, stmts);
  };
  Sexp then = branch();
  if (rng_.chance(25)) return Sexp{"if", test, then};
  Sexp otherwise = branch();
  return Sexp{"if", test, then, otherwise};
}

std::optional<Sexp> ProgramGenerator::statement_cond(Context& ctx) {
  std::vector<Sexp> items = {"cond"};
  int clauses = static_cast<int>(rng_.between(1, 4));
  for (int i = 0; i < clauses; ++i) {
    Sexp clause{condition(ctx, 2)};
    if (rng_.chance(90))
      for (auto& s : body(ctx, 1, 2)) clause.items.push_back(s);
    items.push_back(clause);
  }
  if (rng_.chance(60)) items.push_back(splice(Sexp{"t"}, body(ctx, 1, 2)));
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::statement_case(Context& ctx) {
  std::vector<Sexp> items = {"case", int_expr(ctx, 2)};
  int clauses = static_cast<int>(rng_.between(1, 4));
  int64_t next_key = rng_.between(0, 20);
  for (int i = 0; i < clauses; ++i) {
    Sexp keys;
    if (rng_.chance(30)) {
      keys = Sexp{num(next_key), num(next_key + 1)};
      next_key += 2;
    } else {
      keys = num(next_key++);
    }
    Sexp clause{keys};
    for (auto& s : body(ctx, rng_.chance(10) ? 0 : 1, 2)) clause.items.push_back(s);
    items.push_back(clause);
  }
  if (rng_.chance(60)) items.push_back(splice(Sexp{rng_.chance(50) ? "t" : "otherwise"}, body(ctx, 1, 2)));
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::statement_and_or(Context& ctx) {
  auto ints = visible_ints(true);
  if (ints.empty()) return std::nullopt;
  Sexp assign{"setf", atom(rng_.pick(ints)->name), int_expr(ctx, 2)};
  return Sexp{rng_.chance(50) ? "and" : "or", condition(ctx, 2), assign};
}

std::optional<Sexp> ProgramGenerator::statement_when_let_int(Context& ctx) {
  if (!stack_room(16)) return std::nullopt;
  use_stack(16);
  ScopeMark m = mark();
  std::vector<Sexp> bindings;
  int n = static_cast<int>(rng_.between(1, 2));
  for (int i = 0; i < n; ++i) {
    std::string name = fresh("w");
    if (rng_.chance(40)) {
      Scalar t = rng_.pick(kAllScalars);
      bindings.push_back(Sexp{atom(name), atom(scalar_name(t)), int_expr(ctx, 2)});
      bind(int_var(name, t));
    } else {
      bindings.push_back(Sexp{atom(name), int_expr(ctx, 2)});
      bind(int_var(name));
    }
  }
  Sexp result;
  if (rng_.chance(60)) {
    result = splice(Sexp{"when-let", Sexp::list(bindings)}, body(ctx, 1, 3));
  } else {
    Sexp then = splice(Sexp{"progn"}, body(ctx, 1, 2));
    restore(m);
    Sexp binding = bindings.size() == 1 && rng_.chance(50) ? bindings[0] : Sexp::list(bindings);
    if (rng_.chance(30)) return Sexp{"if-let", binding, then};
    // The else branch runs inside the bindings, which it must not rely on.
    for (const auto& b : bindings) hide(b.items[0].text);
    Sexp otherwise = splice(Sexp{"progn"}, body(ctx, 1, 2));
    restore(m);
    return Sexp{"if-let", binding, then, otherwise};
  }
  restore(m);
  return result;
}

std::optional<Sexp> ProgramGenerator::statement_progn(Context& ctx) {
  return splice(Sexp{"progn"}, body(ctx, 0, 3));
}

// (return V) leaves the program with action V, also from inside a defun
// (which is inlined into the program): V is a verdict everywhere.
std::optional<Sexp> ProgramGenerator::statement_return(Context& ctx) {
  if (!ctx.may_leave()) return std::nullopt;
  Sexp value = verdict(ctx);
  Sexp ret = rng_.chance(3) ? Sexp{"return"} : Sexp{"return", value};
  // Unconditional returns only inside branches, so the rest of the body is not all dead.
  if (ctx.depth > 2 && rng_.chance(15)) return ret;
  return Sexp{rng_.chance(80) ? "when" : "unless", condition(ctx, 2), ret};
}

// (return-from NAME V) leaves the defun NAME with value V, or the program NAME
// with action V.
std::optional<Sexp> ProgramGenerator::statement_return_from(Context& ctx) {
  if (ctx.block_name.empty() || !ctx.may_leave()) return std::nullopt;
  Sexp value = ctx.in_function ? int_expr(ctx, 2) : verdict(ctx);
  return Sexp{"when", condition(ctx, 2), Sexp{"return-from", atom(ctx.block_name), value}};
}

// ---- Loops ----

namespace {

// Forms in `s` that branch where the verifier follows them: parses (VLAN
// tags and all), with-* blocks, conditionals, map lookups (a test for 0),
// min and max, checksum loops, calls of defuns (inlined, with their branches).
int branchy_forms(const Sexp& s) {
  if (!s.is_list()) return 0;
  static const std::set<std::string> branchy = {"case", "cond", "if", "when", "unless", "when-let", "if-let", "and",
                                                "or", "getmap", "map-lookup", "min", "max", "csum-diff",
                                                "ipv4-recompute-checksum"};
  const std::string& h = s.head();
  bool defun_call = h.size() > 2 && h.rfind("fn", 0) == 0 && std::isdigit(static_cast<unsigned char>(h[2]));
  int n = (h.rfind("parse-", 0) == 0 || h.rfind("with-", 0) == 0 || branchy.count(h) || defun_call) ? 1 : 0;
  for (const Sexp& item : s.items) n += branchy_forms(item);
  return n;
}

// A loop's trip count for a body with `branchy` such forms: each undecided
// branch in an iteration multiplies the states the verifier keeps. Bodies
// with three parses, a case and csum-diff in 8 trips (seed 9017693), or a
// dozen lookups and conditionals in 5 (13008997: "the sequence of 8193 jumps
// is too complex"), took more than the verifier follows.
int trips_for(int count, int branchy) { return std::min(count, std::max(1, 16 / std::max(1, branchy))); }

}  // namespace


std::optional<Sexp> ProgramGenerator::statement_dotimes(Context& ctx) {
  if (ctx.loop_depth >= 2 || !stack_room(8)) return std::nullopt;
  use_stack(8);
  std::string var = fresh("i");
  // The verifier follows every iteration, and each undecided branch in one
  // doubles the states it may keep: 16 iterations, or loops of 8 nested,
  // took more than its 1,000,000 instructions in a few programs in a
  // thousand, as they would compiled from C. Trip counts stay where the
  // verifier's complexity limit is not what a run measures: up to 8, up to 3
  // inside another loop, and 12 for the body of both (8 by 3 still took more
  // than 1,000,000 twice in 20,000 programs: seed 6000043).
  int count = static_cast<int>(rng_.weighted({1, 3, 6, 6, 3}));
  count = std::vector<int>{0, 1, 3, 4, 8}[static_cast<size_t>(count)];
  if (ctx.loop_depth > 0) count = std::min({count, 3, kMaxLoopTrips / ctx.loop_trips});
  Context inner = ctx;
  inner.loop_depth++;
  inner.loop_trips = ctx.loop_trips * std::max(count, 1);
  Variable v = int_var(var);
  v.assignable = false;
  auto stmts = body_with(inner, v, 1, 3);
  int branchy = 0;
  for (const Sexp& s : stmts) branchy += branchy_forms(s);
  count = trips_for(count, branchy);
  Sexp spec{atom(var), num(count)};
  if (rng_.chance(10)) spec.items.push_back(num(0));
  return splice(Sexp{"dotimes", spec}, stmts);
}

std::optional<Sexp> ProgramGenerator::statement_loop(Context& ctx) {
  if (ctx.loop_depth >= 2 || !stack_room(8)) return std::nullopt;
  use_stack(8);
  Context inner = ctx;
  inner.loop_depth++;
  std::string var = fresh("i");
  Variable v = int_var(var);
  v.assignable = false;
  int64_t from = rng_.between(0, 6);
  int64_t span = rng_.between(0, ctx.loop_depth > 0 ? std::min<int64_t>(3, kMaxLoopTrips / ctx.loop_trips) : 6);  // see statement_dotimes
  inner.loop_trips = ctx.loop_trips * static_cast<int>(std::max<int64_t>(span + 1, 1));
  // The span for the body drawn: fewer trips round a branchy one.
  auto fitted = [&](const std::vector<Sexp>& stmts, int64_t extra) {
    int branchy = 0;
    for (const Sexp& s : stmts) branchy += branchy_forms(s);
    return std::max<int64_t>(0, trips_for(static_cast<int>(span + extra), branchy) - extra);
  };
  switch (rng_.below(4)) {
    case 0: {
      auto stmts = body_with(inner, v, 1, 3);
      return splice(Sexp{"loop", "for", atom(var), "from", num(from), "below", num(from + fitted(stmts, 0)), "do"}, stmts);
    }
    case 1: {
      auto stmts = body_with(inner, v, 1, 3);
      const char* to = rng_.chance(50) ? "to" : "upto";
      return splice(Sexp{"loop", "for", atom(var), to, num(fitted(stmts, 1)), "do"}, stmts);
    }
    case 2: {
      auto stmts = body_with(inner, v, 1, 3);
      return splice(Sexp{"loop", "for", atom(var), "below", num(fitted(stmts, 0)), "do"}, stmts);
    }
    default: {
      auto stmts = body(inner, 1, 3);
      return splice(Sexp{"loop", "repeat", num(fitted(stmts, 0)), "do"}, stmts);
    }
  }
}

// A pointer walking through the packet in a loop: the compiler checks each
// access against a loop phi.
std::optional<Sexp> ProgramGenerator::statement_pointer_walk(Context& ctx) {
  if (ctx.loop_depth >= 1 || !stack_room(24)) return std::nullopt;
  auto start = packet_pointer(ctx, 1);
  if (!start) return std::nullopt;
  use_stack(24);
  std::string p = fresh("walk");
  std::string i = fresh("i");
  int count = static_cast<int>(rng_.between(1, 8));
  int step = static_cast<int>(rng_.pick(std::vector<int>{1, 1, 2, 4, 8}));
  Scalar t = rng_.pick(std::vector<Scalar>{Scalar::U8, Scalar::U8, Scalar::U16, Scalar::U32});
  std::vector<Sexp> loop_body;
  Sexp read{"load", atom(scalar_name(t)), atom(p), "0"};
  auto ints = visible_ints(true);
  if (!ints.empty() && (rng_.chance(60) || !ctx.may_leave())) {
    loop_body.push_back(Sexp{"incf", atom(rng_.pick(ints)->name), read});
  } else if (ctx.may_leave()) {
    loop_body.push_back(Sexp{"when", Sexp{"=", read, small_literal(0, 255)}, Sexp{"return", verdict(ctx)}});
  } else {
    return std::nullopt;
  }
  if (rng_.chance(30)) loop_body.push_back(Sexp{"store", atom(scalar_name(t)), atom(p), "0", int_expr(ctx, 1)});
  loop_body.push_back(Sexp{"setf", atom(p), Sexp{"+", atom(p), num(step)}});
  return Sexp{"let", Sexp{Sexp{atom(p), *start}}, splice(Sexp{"dotimes", Sexp{atom(i), num(count)}}, loop_body)};
}

// ---- Calls ----

std::optional<Sexp> ProgramGenerator::statement_call(Context& ctx) {
  if (functions_.empty()) return std::nullopt;
  const FunctionDef& f = functions_[rng_.below(functions_.size())];
  if (f.moves_packet && ctx.loop_depth > 0) return std::nullopt;
  if (!may_call(ctx, f)) return std::nullopt;
  auto call = call_form(ctx, f);
  if (!call) return std::nullopt;
  if (f.moves_packet) packet_moved();
  auto ints = visible_ints(true);
  if (!ints.empty() && rng_.chance(50)) return Sexp{"setf", atom(rng_.pick(ints)->name), *call};
  return call;
}

std::optional<Sexp> ProgramGenerator::call_form(Context& ctx, const FunctionDef& f) {
  // Functions are inlined: every call takes the stack of the function's body again.
  if (!stack_room(f.stack_bytes)) return std::nullopt;
  use_stack(f.stack_bytes);
  std::vector<Sexp> items = {atom(f.name)};
  for (const auto& p : f.params) {
    switch (p.kind) {
      case FunctionParam::Kind::TypedInt:
      case FunctionParam::Kind::Int: items.push_back(int_expr(ctx, 2)); break;
      case FunctionParam::Kind::PacketPointer: {
        auto ptr = packet_pointer(ctx, 1);
        items.push_back(ptr ? *ptr : Sexp{"xdp-data"});
        break;
      }
      case FunctionParam::Kind::StructPointer: {
        auto s = struct_pointer_operand(ctx, p.struct_index);
        if (!s) return std::nullopt;
        items.push_back(*s);
        break;
      }
    }
  }
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::struct_pointer_operand(Context& ctx, int struct_index) {
  auto ptrs = struct_pointers(struct_index);
  if (!ptrs.empty() && rng_.chance(85)) return atom(rng_.pick(ptrs)->name);
  int size = structs_[static_cast<size_t>(struct_index)].size;
  if (!stack_room(size)) {
    if (ptrs.empty()) return std::nullopt;
    return atom(rng_.pick(ptrs)->name);
  }
  use_stack(size);
  return Sexp{atom("make-" + structs_[static_cast<size_t>(struct_index)].name)};
}

std::optional<Sexp> ProgramGenerator::statement_macro(Context& ctx) {
  std::vector<const MacroDef*> statement_macros;
  for (const auto& m : macros_)
    if (m.kind == MacroDef::Kind::Statement) statement_macros.push_back(&m);
  if (statement_macros.empty()) return std::nullopt;
  const MacroDef* m = rng_.pick(statement_macros);
  return splice(Sexp{atom(m->name), condition(ctx, 2)}, body(ctx, 1, 3));
}

std::optional<Sexp> ProgramGenerator::statement_printk(Context& ctx) {
  if (!rng_.chance(25)) return std::nullopt;  // rare: it is slow and writes to the trace buffer
  note_printk();
  int n = static_cast<int>(rng_.between(0, 3));
  static const char* conversions[] = {"%llu", "%lld", "%llx", "%u", "%d", "%x"};
  std::string format = "torture";
  std::vector<Sexp> items = {rng_.chance(80) ? "printk" : "trace-printk", Sexp()};
  for (int i = 0; i < n; ++i) {
    format += std::string(" ") + rng_.pick(conversions);
    items.push_back(int_expr(ctx, 2));
  }
  items[1] = Sexp::string(format + "\n");
  return Sexp::list(std::move(items));
}

// Stores into a variable's own stack slot through (stack-addr VAR).
std::optional<Sexp> ProgramGenerator::statement_stack_addr(Context& ctx) {
  std::vector<const Variable*> vars;
  // 64-bit variables only: a narrower variable's slot holds its widened
  // value, which a partial store would leave in no defined state.
  for (auto* v : visible_ints(true))
    if (v->has_slot && scalar_bytes(v->type) == 8) vars.push_back(v);
  if (vars.empty()) return std::nullopt;
  const Variable* v = rng_.pick(vars);
  Scalar t = v->type;
  int offset = 0;
  if (rng_.chance(50)) {
    t = rng_.pick(std::vector<Scalar>{Scalar::U8, Scalar::U16, Scalar::U32});
    offset = static_cast<int>(rng_.below(static_cast<uint64_t>(8 / scalar_bytes(t)))) * scalar_bytes(t);
  }
  return Sexp{"store", atom(scalar_name(t)), Sexp{"stack-addr", atom(v->name)}, num(offset), int_expr(ctx, 2)};
}

}  // namespace whistler::torture
