// Map forms: getmap (read, setf, incf), remmap, map-lookup/-update/-delete
// and their -ptr variants, lookups bound to value pointers under a null
// test, ring buffers (with-ringbuf, ringbuf-output), redirect-map, redirect
// and tail-call.
#include <algorithm>

#include "generator_core.hpp"

namespace whistler::torture {

namespace {

bool data_map(const MapDef& m) { return m.holds_data(); }
bool scalar_data_map(const MapDef& m) { return m.holds_data() && !m.records(); }

}  // namespace

// ---- Operands ----

std::optional<Sexp> ProgramGenerator::map_key(Context& ctx, const MapDef& m, bool pointer_required) {
  if (m.key.is_struct) {
    auto ptrs = struct_pointers(m.key.struct_index);
    switch (rng_.weighted({ptrs.empty() ? 0 : 8, 2, 1, m.key.size <= 8 && !pointer_required ? 1 : 0})) {
      case 0: return atom(rng_.pick(ptrs)->name);
      case 1: return struct_pointer_operand(ctx, m.key.struct_index);  // (make-S): a zeroed key
      case 2: return packet_pointer(ctx, 1);  // a key read from the packet (bounds-checked)
      default:  // an integer key written to a stack slot of the key's size
        use_stack(8);
        return int_expr(ctx, 2);
    }
  }
  use_stack(8);  // an integer key goes through a stack slot (unless read from a header)
  if (!pointer_required) {
    // A header field of exactly the key's size is passed by address.
    if (rng_.chance(20)) {
      std::vector<Sexp> fields;
      for (auto* v : packet_pointers())
        for (const auto& f : header_fields(v->header))
          if (scalar_bytes(f.type) == m.key.size) fields.push_back(Sexp{atom(f.accessor), atom(v->name)});
      if (!fields.empty()) return rng_.pick(fields);
    }
    return int_expr(ctx, 2);
  }
  std::vector<const Variable*> slots;
  for (auto* v : visible_ints())
    if (v->has_slot) slots.push_back(v);
  std::vector<const Variable*> big_enough;
  for (auto* v : struct_pointers())
    if (structs_[static_cast<size_t>(v->struct_index)].size >= m.key.size) big_enough.push_back(v);
  switch (rng_.weighted({slots.empty() ? 0 : 6, big_enough.empty() ? 0 : 2, 1})) {
    case 0: return Sexp{"stack-addr", atom(rng_.pick(slots)->name)};
    case 1: return atom(rng_.pick(big_enough)->name);
    default: return packet_pointer(ctx, 1);
  }
}

std::optional<Sexp> ProgramGenerator::map_value_operand(Context& ctx, const MapDef& m, bool pointer_required) {
  if (m.value.is_struct) {
    if (rng_.chance(5)) return packet_pointer(ctx, 1);
    return struct_pointer_operand(ctx, m.value.struct_index);
  }
  if (!pointer_required) {
    use_stack(8);
    return int_expr(ctx, 2);
  }
  std::vector<const Variable*> slots;
  for (auto* v : visible_ints())
    if (v->has_slot) slots.push_back(v);
  if (slots.empty()) return std::nullopt;
  return Sexp{"stack-addr", atom(rng_.pick(slots)->name)};
}

Variable ProgramGenerator::map_value_var(const std::string& name, const MapDef& m) {
  if (m.records()) return struct_var(name, m.value.struct_index, Storage::MapValue, m.percpu());
  Variable v;
  v.name = name;
  v.kind = ValueKind::ScalarPointer;
  v.type = m.value.scalar;
  v.storage = Storage::MapValue;
  v.percpu = m.percpu();
  return v;
}

// ---- Statements ----

std::optional<Sexp> ProgramGenerator::statement_map_update(Context& ctx) {
  auto maps = maps_where(data_map);
  if (maps.empty()) return std::nullopt;
  const MapDef& m = maps_[static_cast<size_t>(rng_.pick(maps))];
  static const char* flags[] = {"BPF_ANY", "BPF_NOEXIST", "BPF_EXIST", "0", "1", "2"};
  Sexp call;
  switch (rng_.weighted({5, 3, 2})) {
    case 0: {
      auto key = map_key(ctx, m, false);
      auto value = map_value_operand(ctx, m, false);
      if (!key || !value) return std::nullopt;
      return Sexp{"setf", Sexp{"getmap", atom(m.name), *key}, *value};
    }
    case 1: {
      auto key = map_key(ctx, m, false);
      auto value = map_value_operand(ctx, m, false);
      if (!key || !value) return std::nullopt;
      call = Sexp{"map-update", atom(m.name), *key, *value};
      break;
    }
    default: {
      auto key = map_key(ctx, m, true);
      auto value = map_value_operand(ctx, m, true);
      if (!key || !value) return std::nullopt;
      call = Sexp{"map-update-ptr", atom(m.name), *key, *value};
      break;
    }
  }
  if (rng_.chance(50)) call.items.push_back(atom(rng_.pick(flags)));
  auto ints = visible_ints(true);
  switch (rng_.weighted({5, 2, 2})) {
    case 0: return call;
    case 1: return splice(Sexp{"when", Sexp{"=", call, "0"}}, body(ctx, 1, 2));
    default:
      if (ints.empty()) return call;
      return Sexp{"setf", atom(rng_.pick(ints)->name), call};
  }
}

std::optional<Sexp> ProgramGenerator::statement_map_incf(Context& ctx) {
  auto maps = maps_where(scalar_data_map);
  if (maps.empty()) return std::nullopt;
  const MapDef& m = maps_[static_cast<size_t>(rng_.pick(maps))];
  auto key = map_key(ctx, m, false);
  if (!key) return std::nullopt;
  const char* op = rng_.chance(75) ? "incf" : "decf";
  Sexp place{"getmap", atom(m.name), *key};
  if (rng_.chance(50)) return Sexp{op, place};
  return Sexp{op, place, int_expr(ctx, 2)};
}

std::optional<Sexp> ProgramGenerator::statement_map_delete(Context& ctx) {
  auto maps = maps_where(data_map);
  if (maps.empty()) return std::nullopt;
  const MapDef& m = maps_[static_cast<size_t>(rng_.pick(maps))];
  Sexp call;
  switch (rng_.below(3)) {
    case 0: {
      auto key = map_key(ctx, m, false);
      if (!key) return std::nullopt;
      call = Sexp{"remmap", atom(m.name), *key};
      break;
    }
    case 1: {
      auto key = map_key(ctx, m, false);
      if (!key) return std::nullopt;
      call = Sexp{"map-delete", atom(m.name), *key};
      break;
    }
    default: {
      auto key = map_key(ctx, m, true);
      if (!key) return std::nullopt;
      call = Sexp{"map-delete-ptr", atom(m.name), *key};
    }
  }
  auto ints = visible_ints(true);
  if (!ints.empty() && rng_.chance(30)) return Sexp{"setf", atom(rng_.pick(ints)->name), call};
  return call;
}

std::optional<Sexp> ProgramGenerator::statement_map_lookup(Context& ctx) {
  auto maps = maps_where(data_map);
  if (maps.empty() || !stack_room(16)) return std::nullopt;
  use_stack(16);
  const MapDef& m = maps_[static_cast<size_t>(rng_.pick(maps))];
  bool by_pointer = rng_.chance(25);
  auto key = map_key(ctx, m, by_pointer);
  if (!key) return std::nullopt;
  Sexp lookup;
  if (by_pointer) lookup = Sexp{"map-lookup-ptr", atom(m.name), *key};
  else if (m.records() && rng_.chance(50)) lookup = Sexp{"getmap", atom(m.name), *key};
  else lookup = Sexp{"map-lookup", atom(m.name), *key};
  std::string name = fresh("val");
  Variable v = map_value_var(name, m);
  switch (rng_.weighted({4, 3, 2, 2})) {
    case 0: return splice(Sexp{"when-let", Sexp{Sexp{atom(name), lookup}}}, body_with(ctx, v, 1, 4));
    case 1: {
      auto stmts = body_with(ctx, v, 1, 4);
      Sexp test = rng_.chance(70) ? atom(name) : Sexp{"/=", atom(name), "0"};
      return Sexp{"let", Sexp{Sexp{atom(name), lookup}}, splice(Sexp{"when", test}, stmts)};
    }
    case 2: {
      auto then = body_with(ctx, v, 1, 3);
      ScopeMark m = mark();
      hide(name);  // the else branch runs inside the binding
      auto otherwise = body(ctx, 1, 2);
      restore(m);
      return Sexp{"if-let", Sexp{atom(name), lookup}, splice(Sexp{"progn"}, then), splice(Sexp{"progn"}, otherwise)};
    }
    default: {  // found: use it; absent: insert
      auto then = body_with(ctx, v, 1, 3);
      auto key2 = map_key(ctx, m, false);
      auto value = map_value_operand(ctx, m, false);
      Sexp insert = key2 && value ? Sexp{"setf", Sexp{"getmap", atom(m.name), *key2}, *value} : Sexp{"progn"};
      return Sexp{"let", Sexp{Sexp{atom(name), lookup}},
                  Sexp{"if", atom(name), splice(Sexp{"progn"}, then), insert}};
    }
  }
}

std::optional<Sexp> ProgramGenerator::statement_ringbuf(Context& ctx) {
  auto rings = maps_where([](const MapDef& m) { return m.type == MapType::Ringbuf; });
  if (rings.empty() || !stack_room(8)) return std::nullopt;
  use_stack(8);
  const MapDef& m = maps_[static_cast<size_t>(rng_.pick(rings))];
  std::string name = fresh("rb");
  int s = m.ringbuf_struct;
  std::vector<int> usable;
  for (size_t i = 0; i < structs_.size(); ++i)
    if (!structs_[i].lpm_key) usable.push_back(static_cast<int>(i));
  if (s < 0 || rng_.chance(20)) s = usable.empty() ? -1 : rng_.pick(usable);
  Sexp size;
  Variable v;
  if (s >= 0) {
    int bytes = structs_[static_cast<size_t>(s)].size;
    size = rng_.chance(70) ? Sexp{"sizeof", atom(structs_[static_cast<size_t>(s)].name)} : num((bytes + 7) / 8 * 8);
    v = struct_var(name, s, Storage::Ringbuf);
  } else {
    size = num(8);
    v.name = name;
    v.kind = ValueKind::ScalarPointer;
    v.type = Scalar::U64;
    v.storage = Storage::Ringbuf;
  }
  if (rng_.chance(25)) {
    // By hand: reserve, fill, then submit or discard. Nothing in between may
    // leave the program (a return, also one in a defun it calls) or tail-call.
    std::vector<Sexp> fill;
    ScopeMark mk = mark();
    bind(v);
    Context holding = ctx;
    holding.holding_record = true;
    int writes = static_cast<int>(rng_.between(1, 3));
    for (int i = 0; i < writes; ++i) {
      auto st = s >= 0 ? statement_setf_field(holding) : statement_store_struct(holding);
      if (st) fill.push_back(*st);
    }
    restore(mk);
    fill.push_back(Sexp{rng_.chance(80) ? "ringbuf-submit" : "ringbuf-discard", atom(name), "0"});
    return Sexp{"let", Sexp{Sexp{atom(name), Sexp{"ringbuf-reserve", atom(m.name), size, "0"}}},
                splice(Sexp{"when", atom(name)}, fill)};
  }
  Context inner = ctx;
  inner.ringbuf_depth++;
  Sexp spec{atom(name), atom(m.name), size};
  if (rng_.chance(15)) spec.items.insert(spec.items.end(), {":flags", "0"});
  return splice(Sexp{"with-ringbuf", spec}, body_with(inner, v, 1, 4));
}

std::optional<Sexp> ProgramGenerator::statement_ringbuf_output(Context& ctx) {
  auto rings = maps_where([](const MapDef& m) { return m.type == MapType::Ringbuf; });
  if (rings.empty()) return std::nullopt;
  const MapDef& m = maps_[static_cast<size_t>(rng_.pick(rings))];
  auto ptrs = struct_pointers();
  std::vector<const Variable*> slots;
  for (auto* v : visible_ints())
    if (v->has_slot) slots.push_back(v);
  Sexp data, size;
  switch (rng_.weighted({ptrs.empty() ? 0 : 4, slots.empty() ? 0 : 3, 1})) {
    case 0: {
      const Variable* v = rng_.pick(ptrs);
      const StructDef& def = structs_[static_cast<size_t>(v->struct_index)];
      data = atom(v->name);
      size = rng_.chance(60) ? Sexp{"sizeof", atom(def.name)} : num(rng_.between(1, def.size));
      break;
    }
    case 1:
      data = Sexp{"stack-addr", atom(rng_.pick(slots)->name)};
      size = num(rng_.between(1, 8));
      break;
    default: {  // from the packet (bpf_ringbuf_output takes no packet memory)
      if (!take_risk()) return std::nullopt;
      auto p = packet_pointer(ctx, 1);
      if (!p) return std::nullopt;
      data = *p;
      size = num(rng_.between(1, 64));
    }
  }
  Sexp call{"ringbuf-output", atom(m.name), data, size, "0"};
  auto ints = visible_ints(true);
  if (!ints.empty() && rng_.chance(30)) return Sexp{"setf", atom(rng_.pick(ints)->name), call};
  return call;
}

std::optional<Sexp> ProgramGenerator::statement_redirect(Context& ctx) {
  auto targets = maps_where([](const MapDef& m) { return m.redirect_target(); });
  Sexp action;
  static const char* fallbacks[] = {"XDP_PASS", "XDP_DROP", "XDP_ABORTED", "0", "1", "2", "3"};
  if (!targets.empty() && rng_.chance(75)) {
    const MapDef& m = maps_[static_cast<size_t>(rng_.pick(targets))];
    Sexp key = rng_.chance(60) ? small_literal(0, m.max_entries) : int_expr(ctx, 1);
    action = Sexp{"redirect-map", atom(m.name), key, atom(rng_.pick(fallbacks))};
  } else {
    Sexp ifindex = rng_.chance(60) ? small_literal(0, 3) : Sexp{"ctx", "ingress-ifindex"};
    action = Sexp{"redirect", ifindex, rng_.chance(90) ? Sexp("0") : int_expr(ctx, 1)};
  }
  // (return ...) leaves the program, also from a defun; the action may be kept instead.
  if (!ctx.may_leave() || (ctx.in_function && rng_.chance(50))) {
    auto ints = visible_ints(true);
    if (ints.empty()) return std::nullopt;
    return Sexp{"setf", atom(rng_.pick(ints)->name), action};
  }
  if (rng_.chance(70)) return Sexp{"when", condition(ctx, 2), Sexp{"return", action}};
  return Sexp{"return", action};
}

std::optional<Sexp> ProgramGenerator::statement_tail_call(Context& ctx) {
  // A tail call that returns (an empty slot) leaves the packet as it was, but
  // the kernel invalidates packet pointers across it, as across xdp-adjust-*.
  // Not in a loop, and not while a ring buffer record is held (with-ringbuf's
  // or one reserved by hand): the record would leak if it jumped, which the
  // compiler refuses.
  if (!ctx.may_tail_call()) return std::nullopt;
  auto arrays = maps_where([](const MapDef& m) { return m.type == MapType::ProgArray; });
  if (arrays.empty()) return std::nullopt;
  const MapDef& m = maps_[static_cast<size_t>(rng_.pick(arrays))];
  Sexp index = rng_.chance(60) ? small_literal(0, m.max_entries) : int_expr(ctx, 1);
  packet_moved();
  return Sexp{"tail-call", atom(m.name), index};
}

// ---- Expressions ----

std::optional<Sexp> ProgramGenerator::expression_getmap(Context& ctx, int) {
  auto maps = maps_where(scalar_data_map);
  if (maps.empty()) return std::nullopt;
  const MapDef& m = maps_[static_cast<size_t>(rng_.pick(maps))];
  auto key = map_key(ctx, m, false);
  if (!key) return std::nullopt;
  return Sexp{"getmap", atom(m.name), *key};
}

std::optional<Sexp> ProgramGenerator::expression_map_value(Context& ctx, int depth) {
  if (depth <= 0 || !stack_room(8)) return std::nullopt;
  auto maps = maps_where(data_map);
  if (maps.empty()) return std::nullopt;
  use_stack(8);
  const MapDef& m = maps_[static_cast<size_t>(rng_.pick(maps))];
  auto key = map_key(ctx, m, false);
  if (!key) return std::nullopt;
  std::string name = fresh("g");
  Sexp lookup = m.records() && rng_.chance(50) ? Sexp{"getmap", atom(m.name), *key} : Sexp{"map-lookup", atom(m.name), *key};
  Sexp read;
  auto places = m.records() ? struct_places(atom(name), m.value.struct_index, 2) : std::vector<Sexp>{};
  if (!places.empty()) read = rng_.pick(places);
  else if (m.records()) read = Sexp{"load", "u8", atom(name), "0"};
  else read = Sexp{"load", atom(scalar_name(m.value.scalar)), atom(name), "0"};
  Sexp otherwise = int_expr(ctx, depth - 1);
  if (rng_.chance(50)) return Sexp{"if-let", Sexp{atom(name), lookup}, read, otherwise};
  return Sexp{"let", Sexp{Sexp{atom(name), lookup}}, Sexp{"if", atom(name), read, otherwise}};
}

}  // namespace whistler::torture
