// Integer expressions: literals, variables, arithmetic, comparisons, byte
// order, casts, conditional expressions, let, context fields, helpers, defun
// and macro calls, struct reads. Packet reads are in packet_forms.cpp and map
// reads in map_forms.cpp.
#include <algorithm>

#include "generator_core.hpp"

namespace whistler::torture {

Sexp ProgramGenerator::condition(Context& ctx, int depth) {
  static const char* comparisons[] = {"=", "/=", "!=", "<", ">", "<=", ">=", "s<", "s>", "s<=", "s>="};
  switch (depth <= 0 ? 0 : rng_.weighted({10, 2, 1, 2, 1})) {
    case 0: return Sexp{atom(rng_.pick(comparisons)), int_expr(ctx, depth), int_expr(ctx, depth)};
    case 1: return Sexp{rng_.chance(50) ? "and" : "or", condition(ctx, depth - 1), condition(ctx, depth - 1)};
    case 2: return Sexp{"not", condition(ctx, depth - 1)};
    case 3: return int_expr(ctx, depth);
    default: return Sexp{"zerop", int_expr(ctx, depth - 1)};
  }
}

Sexp ProgramGenerator::runtime_int_expr(Context& ctx, int depth) {
  std::vector<const Variable*> vars;
  for (auto* v : visible_ints())
    if (!v->constant) vars.push_back(v);
  switch (rng_.weighted({vars.empty() ? 0 : 6, 2, 2})) {
    case 0: return atom(rng_.pick(vars)->name);
    case 1: return Sexp{rng_.chance(50) ? "logand" : "+", Sexp{"ctx", "rx-queue-index"}, int_expr(ctx, depth)};
    default:
      if (auto e = expression_packet_length(ctx, depth)) return Sexp{"logand", *e, small_literal(0, 7)};
      return Sexp{"ctx", "ingress-ifindex"};
  }
}

std::optional<Sexp> ProgramGenerator::expression_literal(Context&, int) { return literal(); }

std::optional<Sexp> ProgramGenerator::expression_variable(Context&, int) {
  auto ints = visible_ints();
  if (ints.empty()) return std::nullopt;
  return atom(rng_.pick(ints)->name);
}

std::optional<Sexp> ProgramGenerator::expression_arith(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  static const char* ops[] = {"+", "-", "*", "logand", "logior", "logxor"};
  const char* op = rng_.pick(ops);
  std::vector<Sexp> items = {atom(op), int_expr(ctx, depth), int_expr(ctx, depth)};
  if (rng_.chance(15)) items.push_back(int_expr(ctx, depth));
  if (rng_.chance(5)) {
    // (- x) negates, (+) is 0, (logand x) is x.
    std::string o = op;
    items.resize(o == "-" ? 2 : o == "+" ? 1 + rng_.below(2) : 2);
  }
  if (rng_.chance(8)) return Sexp{rng_.chance(50) ? "1+" : "1-", int_expr(ctx, depth)};
  return Sexp::list(std::move(items));
}

// Division and remainder: unsigned, by a literal or by a run-time value that
// may be zero (BPF defines x / 0 = 0 and x mod 0 = x). A constant zero
// divisor is a compile error, so constant divisors are never zero.
std::optional<Sexp> ProgramGenerator::expression_divide(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  static const char* ops[] = {"/", "mod", "rem"};
  Sexp divisor;
  switch (rng_.weighted({4, 5, 1})) {
    case 0: divisor = num(rng_.pick(std::vector<int64_t>{1, 2, 3, 7, 8, 10, 40, 255, 256, 1000, -1})); break;
    case 1: divisor = runtime_int_expr(ctx, depth); break;
    default: divisor = Sexp{"logand", runtime_int_expr(ctx, depth), small_literal(0, 3)}; break;  // often 0
  }
  return Sexp{atom(rng_.pick(ops)), int_expr(ctx, depth), divisor};
}

std::optional<Sexp> ProgramGenerator::expression_unary(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  switch (rng_.below(5)) {
    case 0: return Sexp{"lognot", int_expr(ctx, depth)};
    case 1: return Sexp{"-", int_expr(ctx, depth)};
    case 2: return Sexp{"zerop", int_expr(ctx, depth)};
    case 3: return Sexp{"not", int_expr(ctx, depth)};
    default: return Sexp{rng_.chance(50) ? "1+" : "1-", int_expr(ctx, depth)};
  }
}

std::optional<Sexp> ProgramGenerator::expression_shift(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  Sexp x = int_expr(ctx, depth);
  switch (rng_.weighted({4, 4, 2, 1})) {
    case 0: return Sexp{"ash", x, num(rng_.between(-66, 66))};
    case 1: return Sexp{rng_.chance(50) ? "<<" : ">>", x, small_literal(0, 63)};
    case 2: return Sexp{rng_.chance(50) ? "<<" : ">>", x, Sexp{"logand", int_expr(ctx, depth), "63"}};
    default: return Sexp{rng_.chance(50) ? "<<" : ">>", x, int_expr(ctx, depth)};  // any count
  }
}

std::optional<Sexp> ProgramGenerator::expression_compare(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  return condition(ctx, 1);
}

std::optional<Sexp> ProgramGenerator::expression_minmax(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  std::vector<Sexp> items = {rng_.chance(50) ? "min" : "max", int_expr(ctx, depth), int_expr(ctx, depth)};
  if (rng_.chance(20)) items.push_back(int_expr(ctx, depth));
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::expression_byteswap(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  static const char* ops[] = {"ntohs", "htons", "ntohl", "htonl", "ntohll", "htonll"};
  return Sexp{atom(rng_.pick(ops)), int_expr(ctx, depth)};
}

std::optional<Sexp> ProgramGenerator::expression_cast(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  return Sexp{"cast", atom(scalar_name(rng_.pick(kAllScalars))), int_expr(ctx, depth)};
}

std::optional<Sexp> ProgramGenerator::expression_if(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  Sexp test = condition(ctx, depth);
  switch (rng_.weighted({6, 1, 1, 1})) {
    case 0: return Sexp{"if", test, int_expr(ctx, depth), int_expr(ctx, depth)};
    case 1: return Sexp{"if", test, int_expr(ctx, depth)};
    case 2: return Sexp{"when", test, int_expr(ctx, depth)};
    default: return Sexp{"unless", test, int_expr(ctx, depth)};
  }
}

std::optional<Sexp> ProgramGenerator::expression_cond(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  std::vector<Sexp> items = {"cond"};
  int clauses = static_cast<int>(rng_.between(1, 3));
  for (int i = 0; i < clauses; ++i) {
    if (rng_.chance(15)) items.push_back(Sexp{int_expr(ctx, depth - 1)});  // (cond (x)) yields x
    else items.push_back(Sexp{condition(ctx, depth - 1), int_expr(ctx, depth - 1)});
  }
  if (rng_.chance(70)) items.push_back(Sexp{"t", int_expr(ctx, depth - 1)});
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::expression_case(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  std::vector<Sexp> items = {"case", int_expr(ctx, depth - 1)};
  int64_t key = rng_.between(0, 10);
  int clauses = static_cast<int>(rng_.between(1, 3));
  for (int i = 0; i < clauses; ++i) {
    if (rng_.chance(30)) {
      items.push_back(Sexp{Sexp{num(key), num(key + 3)}, int_expr(ctx, depth - 1)});
      key += 4;
    } else {
      items.push_back(Sexp{num(key++), int_expr(ctx, depth - 1)});
    }
  }
  if (rng_.chance(60)) items.push_back(Sexp{"otherwise", int_expr(ctx, depth - 1)});
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::expression_logic(Context& ctx, int depth) {
  if (depth <= 0) return std::nullopt;
  switch (rng_.weighted({4, 4, 2, 1})) {
    case 0: return Sexp{"and", int_expr(ctx, depth), int_expr(ctx, depth)};
    case 1: return Sexp{"or", int_expr(ctx, depth), int_expr(ctx, depth)};
    case 2: return Sexp{"not", condition(ctx, depth)};
    default: return Sexp{rng_.chance(50) ? "and" : "or"};
  }
}

std::optional<Sexp> ProgramGenerator::expression_let(Context& ctx, int depth) {
  if (depth <= 0 || !stack_room(8)) return std::nullopt;
  use_stack(8);
  std::string name = fresh("x");
  Scalar type = rng_.chance(30) ? rng_.pick(kAllScalars) : Scalar::U64;
  Sexp init = int_expr(ctx, depth);
  ScopeMark m = mark();
  bind(int_var(name, type));
  Sexp value = int_expr(ctx, depth);
  restore(m);
  Sexp binding = type == Scalar::U64 ? Sexp{atom(name), init} : Sexp{atom(name), atom(scalar_name(type)), init};
  return Sexp{rng_.chance(70) ? "let" : "let*", Sexp{binding}, value};
}

std::optional<Sexp> ProgramGenerator::expression_ctx_field(Context& ctx, int) {
  static const char* fields[] = {"ingress-ifindex", "rx-queue-index", "ingress_ifindex", "rx_queue_index"};
  if (ctx.devmap_section && rng_.chance(30)) return Sexp{"ctx", "egress-ifindex"};
  return Sexp{"ctx", atom(rng_.pick(fields))};
}

std::optional<Sexp> ProgramGenerator::expression_helper(Context& ctx, int depth) {
  // Helpers whose results change from run to run make a program unfit for
  // the -O0/-O2 comparison: they are drawn less often.
  static const char* nondeterministic[] = {"ktime-get-ns", "ktime-get-boot-ns", "ktime-get-coarse-ns",
                                           "ktime-get-tai-ns", "jiffies64", "get-prandom-u32",
                                           "get-smp-processor-id"};
  switch (rng_.weighted({allow_nondeterministic_ ? 1 : 0, 3, 1, 2, 1})) {
    case 0:
      note_nondeterministic();
      return Sexp{atom(rng_.pick(nondeterministic))};
    case 1: return Sexp{"xdp-get-buff-len"};
    case 2: return Sexp{"get-numa-node-id"};
    case 3: {  // csum-diff over a struct or the packet
      auto from_size = [&](int limit) { return 4 * static_cast<int>(rng_.between(1, std::max(1, limit / 4))); };
      std::vector<Sexp> args;
      auto ptrs = struct_pointers();
      for (int side = 0; side < 2; ++side) {
        switch (rng_.weighted({2, ptrs.empty() ? 0 : 3, 3})) {
          case 0: args.push_back("0"); args.push_back("0"); break;
          case 1: {
            const Variable* v = rng_.pick(ptrs);
            int size = structs_[static_cast<size_t>(v->struct_index)].size;
            if (size < 4) { args.push_back("0"); args.push_back("0"); break; }
            args.push_back(atom(v->name));
            args.push_back(num(from_size(size)));
            break;
          }
          default: {
            auto p = packet_pointer(ctx, 1);
            if (!p) { args.push_back("0"); args.push_back("0"); break; }
            args.push_back(*p);
            args.push_back(num(from_size(rng_.chance(80) ? 40 : 512)));
          }
        }
      }
      args.push_back(rng_.chance(60) ? Sexp("0") : int_expr(ctx, depth));
      return splice(Sexp{"csum-diff"}, args);
    }
    default: {
      auto rings = maps_where([](const MapDef& m) { return m.type == MapType::Ringbuf; });
      if (rings.empty()) return std::nullopt;
      return Sexp{"ringbuf-query", atom(maps_[static_cast<size_t>(rng_.pick(rings))].name), "0"};
    }
  }
}

std::optional<Sexp> ProgramGenerator::expression_call(Context& ctx, int depth) {
  std::vector<const FunctionDef*> callable;
  for (const auto& f : functions_)
    // Moving the packet mid-expression would strand pointers.
    if (!f.moves_packet && may_call(ctx, f)) callable.push_back(&f);
  if (callable.empty()) return std::nullopt;
  return call_form(ctx, *rng_.pick(callable));
}

std::optional<Sexp> ProgramGenerator::expression_macro(Context& ctx, int depth) {
  std::vector<const MacroDef*> int_macros;
  for (const auto& m : macros_)
    if (m.kind == MacroDef::Kind::IntExpression) int_macros.push_back(&m);
  if (int_macros.empty()) return std::nullopt;
  const MacroDef* m = rng_.pick(int_macros);
  std::vector<Sexp> items = {atom(m->name)};
  for (int i = 0; i < m->int_args; ++i) items.push_back(int_expr(ctx, std::max(depth, 1)));
  return Sexp::list(std::move(items));
}

std::optional<Sexp> ProgramGenerator::expression_sizeof(Context&, int) {
  if (structs_.empty()) return std::nullopt;
  return Sexp{"sizeof", atom(structs_[rng_.below(structs_.size())].name)};
}

std::optional<Sexp> ProgramGenerator::expression_struct_read(Context&, int) {
  std::vector<Sexp> reads;
  for (auto* v : struct_pointers())
    for (auto& p : struct_places(atom(v->name), v->struct_index, 2)) reads.push_back(p);
  for (auto* v : scalar_pointers()) {
    reads.push_back(Sexp{"load", atom(scalar_name(v->type)), atom(v->name), "0"});
    // A narrower read of the value's first bytes.
    Scalar t = rng_.pick(kAllScalars);
    if (scalar_bytes(t) <= scalar_bytes(v->type)) reads.push_back(Sexp{"load", atom(scalar_name(t)), atom(v->name)});
  }
  if (reads.empty()) return std::nullopt;
  return rng_.pick(reads);
}

std::optional<Sexp> ProgramGenerator::expression_stack_slot_read(Context&, int) {
  std::vector<const Variable*> vars;
  for (auto* v : visible_ints())
    if (v->has_slot && scalar_bytes(v->type) == 8) vars.push_back(v);
  if (vars.empty()) return std::nullopt;
  const Variable* v = rng_.pick(vars);
  Scalar t = rng_.pick(kAllScalars);
  int bytes = scalar_bytes(t);
  int offset = static_cast<int>(rng_.below(static_cast<uint64_t>(8 / bytes))) * bytes;
  return Sexp{"load", atom(scalar_name(t)), Sexp{"stack-addr", atom(v->name)}, num(offset)};
}

}  // namespace whistler::torture
