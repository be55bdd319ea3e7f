// The generator's state and the declarations of every form generator. The
// forms are implemented by area (statement_forms.cpp, expression_forms.cpp,
// packet_forms.cpp, map_forms.cpp) and listed with their weights in
// form_tables.cpp; program_generator.cpp writes the top-level forms and holds
// the scope machinery. See program_generator.hpp for how to add a form.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "generator_model.hpp"
#include "program_generator.hpp"
#include "random_source.hpp"
#include "sexp.hpp"

namespace whistler::torture {

// Loop sizes the verifier follows within its 1,000,000 instructions (see
// statement_dotimes, statement_setf_pointer, statement_checksum).
constexpr int kMaxLoopTrips = 12;     // the body of nested loops, in all
constexpr int kMaxTripsBranchy = 4;   // a body that moves a packet pointer or has a loop of its own

// Where in the program a form is being written.
struct Context {
  int depth = 0;             // statement nesting
  int loop_depth = 0;        // inside dotimes / loop bodies
  int loop_trips = 1;        // how often the enclosing loops run this body, together
  int ringbuf_depth = 0;     // inside with-ringbuf bodies
  // A defun body. (return V) there still leaves the PROGRAM with V as its
  // action (the function is inlined); (return-from NAME V) leaves the defun.
  bool in_function = false;
  std::string block_name;    // the defun's or program's name, for return-from
  bool devmap_section = false;  // (ctx egress-ifindex) is readable
  // Between a hand-written (ringbuf-reserve ...) and its submit or discard:
  // leaving the program (a return, a with-* form's exit, a call of a defun
  // that may leave) or the defun (return-from) or tail-calling would leak the
  // record, which the compiler refuses.
  bool holding_record = false;

  // Whether a form here may leave the program or the current defun.
  bool may_leave() const { return !holding_record; }
  // Whether a tail call may be written here: not while a record is held
  // (with-ringbuf's or one reserved by hand: the compiler refuses it), not in
  // a loop (a later iteration would use packet pointers from before it).
  bool may_tail_call() const { return !holding_record && ringbuf_depth == 0 && loop_depth == 0; }
};

class ProgramGenerator;
using StatementFn = std::optional<Sexp> (ProgramGenerator::*)(Context&);
using ExpressionFn = std::optional<Sexp> (ProgramGenerator::*)(Context&, int depth);

enum class Nesting { Flat, Nests };  // whether the form has statements inside

struct StatementRule {
  const char* name;
  int weight;
  Nesting nesting;  // deep in the program, or with the budget spent, only Flat forms are drawn
  StatementFn generate;
};

struct ExpressionRule {
  const char* name;
  int weight;
  ExpressionFn generate;
};

// form_tables.cpp
const std::vector<StatementRule>& statement_rules();
const std::vector<ExpressionRule>& int_expression_rules();
const std::vector<ExpressionRule>& packet_pointer_rules();

class ProgramGenerator {
 public:
  ProgramGenerator(uint64_t seed, const GeneratorOptions& options) : rng_(seed), seed_(seed), options_(options) {}
  const GeneratorOptions& options() const { return options_; }
  GeneratedProgram generate();

  // ---- Building blocks used by every form ----

  // `count` statements (fewer when the program's budget runs out).
  std::vector<Sexp> body(Context& ctx, int min_count, int max_count);
  Sexp statement(Context& ctx);
  Sexp int_expr(Context& ctx, int depth);
  // An integer expression that is not a compile-time constant (a divisor).
  Sexp runtime_int_expr(Context& ctx, int depth);
  Sexp condition(Context& ctx, int depth);
  // A non-null packet pointer of the current packet epoch, when one can be written.
  std::optional<Sexp> packet_pointer(Context& ctx, int depth, Header* header = nullptr);
  Sexp data_start(Context& ctx);  // DATA for parse-*: a data variable or (xdp-data)
  Sexp data_end(Context& ctx);    // a data-end variable or (xdp-data-end)
  Sexp verdict(Context& ctx);     // an XDP action
  Sexp literal();
  Sexp small_literal(int64_t lo, int64_t hi);
  Sexp packet_offset(Context& ctx, Header header, int access_bytes);
  std::string fresh(const char* prefix);

  // ---- Scope ----

  struct ScopeMark {
    size_t vars;
  };
  ScopeMark mark() const { return {vars_.size()}; }
  void restore(ScopeMark m) { vars_.resize(m.vars); }
  Variable& bind(Variable v);
  Variable int_var(const std::string& name, Scalar type = Scalar::U64);
  Variable packet_var(const std::string& name, Header header);
  Variable struct_var(const std::string& name, int struct_index, Storage storage, bool percpu = false);
  // The else branch of (if-let (VAR INIT) THEN ELSE) runs inside the binding:
  // VAR is 0 there, and hides any outer VAR.
  void hide(const std::string& name);

  // Visible (not shadowed) variables of a kind.
  std::vector<const Variable*> visible(bool (*pred)(const Variable&)) const;
  std::vector<const Variable*> visible_ints(bool assignable_only = false) const;
  std::vector<const Variable*> packet_pointers(bool assignable_only = false) const;  // current epoch
  std::vector<const Variable*> headers(Header h) const;  // packet pointers at header h
  std::vector<const Variable*> data_ends() const;
  std::vector<const Variable*> meta_pointers() const;
  std::vector<const Variable*> struct_pointers(int struct_index = -1) const;
  std::vector<const Variable*> scalar_pointers() const;
  std::vector<int> maps_where(bool (*pred)(const MapDef&)) const;

  // Stack bytes a new binding may take (the BPF stack is 512 bytes; -O0
  // keeps every variable in its own slot).
  bool stack_room(int bytes) const { return stack_used_ + bytes <= kStackBudget; }
  void use_stack(int bytes) { stack_used_ += bytes; }

  // True (with probability `percent`) while the program's budget of risky
  // forms lasts: accesses the verifier cannot bound by itself (unmasked
  // computed offsets, offsets past 0xffff), packet memory given to helpers
  // that refuse it, atomics on the packet. Each program has a few at most,
  // so that one such form does not hide every other failure.
  bool take_risk(int percent = 100);

  // The packet moved (xdp-adjust-*): every packet pointer dies.
  void packet_moved() { ++epoch_; }

  RandomSource& rng() { return rng_; }
  const std::vector<StructDef>& structs() const { return structs_; }
  const std::vector<MapDef>& maps() const { return maps_; }

  // ---- Statement forms (statement_forms.cpp) ----
  std::optional<Sexp> statement_let(Context& ctx);
  std::optional<Sexp> statement_let_struct(Context& ctx);
  std::optional<Sexp> statement_let_pointer(Context& ctx);
  std::optional<Sexp> statement_pointer_in_branches(Context& ctx);
  std::optional<Sexp> statement_setf_var(Context& ctx);
  std::optional<Sexp> statement_setf_pointer(Context& ctx);
  std::optional<Sexp> statement_incf_var(Context& ctx);
  std::optional<Sexp> statement_setf_field(Context& ctx);
  std::optional<Sexp> statement_incf_field(Context& ctx);
  std::optional<Sexp> statement_store_struct(Context& ctx);
  std::optional<Sexp> statement_memset_struct(Context& ctx);
  std::optional<Sexp> statement_memcpy(Context& ctx);
  std::optional<Sexp> statement_atomic_add(Context& ctx);
  std::optional<Sexp> statement_when(Context& ctx);
  std::optional<Sexp> statement_if(Context& ctx);
  std::optional<Sexp> statement_cond(Context& ctx);
  std::optional<Sexp> statement_case(Context& ctx);
  std::optional<Sexp> statement_and_or(Context& ctx);
  std::optional<Sexp> statement_when_let_int(Context& ctx);
  std::optional<Sexp> statement_progn(Context& ctx);
  std::optional<Sexp> statement_return(Context& ctx);
  std::optional<Sexp> statement_return_from(Context& ctx);
  std::optional<Sexp> statement_dotimes(Context& ctx);
  std::optional<Sexp> statement_loop(Context& ctx);
  std::optional<Sexp> statement_pointer_walk(Context& ctx);
  std::optional<Sexp> statement_call(Context& ctx);
  std::optional<Sexp> statement_macro(Context& ctx);
  std::optional<Sexp> statement_helper(Context& ctx);
  std::optional<Sexp> statement_printk(Context& ctx);
  std::optional<Sexp> statement_stack_addr(Context& ctx);

  // ---- Packet forms (packet_forms.cpp) ----
  std::optional<Sexp> statement_with_header(Context& ctx);
  std::optional<Sexp> statement_parse(Context& ctx);
  std::optional<Sexp> statement_setf_header(Context& ctx);
  std::optional<Sexp> statement_packet_store(Context& ctx);
  std::optional<Sexp> statement_packet_memory(Context& ctx);
  std::optional<Sexp> statement_bounds_check(Context& ctx);
  std::optional<Sexp> statement_checksum(Context& ctx);
  std::optional<Sexp> statement_metadata(Context& ctx);
  std::optional<Sexp> statement_move_packet(Context& ctx);
  std::optional<Sexp> statement_xdp_bytes(Context& ctx);

  // ---- Map forms (map_forms.cpp) ----
  std::optional<Sexp> statement_map_update(Context& ctx);
  std::optional<Sexp> statement_map_incf(Context& ctx);
  std::optional<Sexp> statement_map_delete(Context& ctx);
  std::optional<Sexp> statement_map_lookup(Context& ctx);
  std::optional<Sexp> statement_ringbuf(Context& ctx);
  std::optional<Sexp> statement_ringbuf_output(Context& ctx);
  std::optional<Sexp> statement_redirect(Context& ctx);
  std::optional<Sexp> statement_tail_call(Context& ctx);

  // ---- Integer expressions (expression_forms.cpp, packet_forms.cpp, map_forms.cpp) ----
  std::optional<Sexp> expression_literal(Context& ctx, int depth);
  std::optional<Sexp> expression_variable(Context& ctx, int depth);
  std::optional<Sexp> expression_arith(Context& ctx, int depth);
  std::optional<Sexp> expression_divide(Context& ctx, int depth);
  std::optional<Sexp> expression_unary(Context& ctx, int depth);
  std::optional<Sexp> expression_shift(Context& ctx, int depth);
  std::optional<Sexp> expression_compare(Context& ctx, int depth);
  std::optional<Sexp> expression_minmax(Context& ctx, int depth);
  std::optional<Sexp> expression_byteswap(Context& ctx, int depth);
  std::optional<Sexp> expression_cast(Context& ctx, int depth);
  std::optional<Sexp> expression_if(Context& ctx, int depth);
  std::optional<Sexp> expression_cond(Context& ctx, int depth);
  std::optional<Sexp> expression_case(Context& ctx, int depth);
  std::optional<Sexp> expression_logic(Context& ctx, int depth);
  std::optional<Sexp> expression_let(Context& ctx, int depth);
  std::optional<Sexp> expression_ctx_field(Context& ctx, int depth);
  std::optional<Sexp> expression_helper(Context& ctx, int depth);
  std::optional<Sexp> expression_call(Context& ctx, int depth);
  std::optional<Sexp> expression_macro(Context& ctx, int depth);
  std::optional<Sexp> expression_sizeof(Context& ctx, int depth);
  std::optional<Sexp> expression_struct_read(Context& ctx, int depth);
  std::optional<Sexp> expression_stack_slot_read(Context& ctx, int depth);
  std::optional<Sexp> expression_packet_length(Context& ctx, int depth);
  std::optional<Sexp> expression_header_read(Context& ctx, int depth);
  std::optional<Sexp> expression_packet_load(Context& ctx, int depth);
  std::optional<Sexp> expression_meta_load(Context& ctx, int depth);
  std::optional<Sexp> expression_checksum(Context& ctx, int depth);
  std::optional<Sexp> expression_parse_test(Context& ctx, int depth);
  std::optional<Sexp> expression_getmap(Context& ctx, int depth);
  std::optional<Sexp> expression_map_value(Context& ctx, int depth);

  // ---- Packet pointer expressions (packet_forms.cpp) ----
  std::optional<Sexp> pointer_variable(Context& ctx, int depth);
  std::optional<Sexp> pointer_data(Context& ctx, int depth);
  std::optional<Sexp> pointer_offset(Context& ctx, int depth);
  std::optional<Sexp> pointer_computed_offset(Context& ctx, int depth);
  std::optional<Sexp> pointer_payload(Context& ctx, int depth);
  std::optional<Sexp> pointer_if(Context& ctx, int depth);
  std::optional<Sexp> pointer_cast(Context& ctx, int depth);

  // ---- Helpers shared between areas ----
  // A key or value operand for map `m`: an integer or a pointer to the key.
  std::optional<Sexp> map_key(Context& ctx, const MapDef& m, bool pointer_required);
  std::optional<Sexp> map_value_operand(Context& ctx, const MapDef& m, bool pointer_required);
  // A pointer to a struct of `struct_index`, or a (make-S) instance when the stack has room.
  std::optional<Sexp> struct_pointer_operand(Context& ctx, int struct_index);
  // (FN ARGS...) with an argument of the right kind for each parameter.
  std::optional<Sexp> call_form(Context& ctx, const FunctionDef& f);
  // Whether a call of `f` may be written in `ctx` (see Context::holding_record).
  bool may_call(const Context& ctx, const FunctionDef& f) const;
  // Field accesses of a struct pointer `ptr` to struct `s`: readable and writable
  // scalar places, (S-FIELD ptr) with nested structs and array elements.
  std::vector<Sexp> struct_places(const Sexp& ptr, int struct_index, int depth_left);
  // Binds the value of a map lookup (records: struct pointer; scalars: scalar pointer).
  Variable map_value_var(const std::string& name, const MapDef& m);
  // Generates a body with `v` bound; the caller wraps the result.
  std::vector<Sexp> body_with(Context& ctx, const Variable& v, int min_count, int max_count);
  Sexp struct_accessor(int struct_index, size_t field, const Sexp& ptr) const;
  void note_nondeterministic() { nondeterministic_ = true; }
  void note_printk() { uses_printk_ = true; }

 private:
  static constexpr int kStackBudget = 300;
  static constexpr int kMaxExpressionNesting = 7;

  // program_generator.cpp: the top-level forms
  void generate_structs(std::vector<Sexp>& forms);
  void generate_constants(std::vector<Sexp>& forms);
  void generate_maps(std::vector<Sexp>& forms);
  void generate_macros(std::vector<Sexp>& forms);
  void generate_functions(std::vector<Sexp>& forms);
  Sexp generate_program_form(const std::string& name, const std::string& license);
  void agree_on_shared_maps(std::vector<Sexp>& programs, const std::vector<Sexp>& function_forms) const;
  Sexp struct_form(const StructDef& def, const std::string& conc_name);
  StructDef random_struct(const std::string& name, bool lpm_key);
  DataType random_data_type(bool allow_struct);
  void data_type_options(const DataType& t, bool is_key, std::vector<Sexp>& options);
  int ensure_lpm_key_struct(std::vector<Sexp>& forms);
  Sexp max_entries_form(int value);

  RandomSource rng_;
  uint64_t seed_;
  GeneratorOptions options_;
  std::vector<StructDef> structs_;
  std::vector<MapDef> maps_;
  std::vector<FunctionDef> functions_;
  std::vector<MacroDef> macros_;
  // Constants at the bottom, then the current scope. A deque: pointers to
  // variables stay valid while nested forms bind more.
  std::deque<Variable> vars_;
  int epoch_ = 0;
  int budget_ = 0;     // statements left in the current program or function
  int stack_used_ = 0;
  int names_ = 0;
  int expression_nesting_ = 0;
  int risk_budget_ = 0;
  // Decided once per file: most programs use no nondeterministic helper, so
  // that the differential runs can compare them.
  bool allow_nondeterministic_ = false;
  bool nondeterministic_ = false;
  bool uses_printk_ = false;

 public:
  const std::vector<FunctionDef>& functions() const { return functions_; }
  const std::vector<MacroDef>& macros() const { return macros_; }
  int epoch() const { return epoch_; }
  int budget() const { return budget_; }
};

// Small helpers for writing forms.
inline Sexp atom(const std::string& s) { return Sexp(s); }
inline Sexp num(int64_t v) { return Sexp::number(v); }

}  // namespace whistler::torture
