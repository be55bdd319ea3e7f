// The compile-time interpreter: evaluates macro bodies and defconstant values.
// It implements the small Common Lisp subset that macros need (lists, symbols,
// integers, strings, control forms, lambda, format), not BPF code.
#pragma once

#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "diagnostics.hpp"
#include "module.hpp"
#include "value.hpp"

namespace whistler {

// A lexical environment frame: variable and local-function bindings.
struct Env {
  Env* parent = nullptr;
  std::vector<std::pair<const Symbol*, Value*>> vars;
  std::vector<std::pair<const Symbol*, Value*>> fns;  // flet / labels
};

using Builtin = Value* (*)(Interpreter&, std::vector<Value*>& args, SourceLoc loc);

class Interpreter {
 public:
  Interpreter(Heap& heap, Diagnostics& diags, Module& module);

  Value* eval(Value* form, Env* env);
  // Evaluates a form in the global environment (defconstant values, options):
  // a return-from with no enclosing block becomes a located error.
  Value* eval_toplevel(Value* form);
  Value* eval_body(Value* forms, Env* env);  // progn
  Value* apply(Value* fn, std::vector<Value*>& args, SourceLoc loc);

  // Expand one macro call: bind the macro's lambda list to the call's
  // arguments and evaluate its body. Errors are reported and throw AbortForm.
  Value* expand(const MacroDef& macro, Value* call);

  // Each outermost evaluation (a macro expansion, a constant, a REPL
  // expression) may take at most this many steps (forms evaluated, loop
  // iterations); then it is a located error, so an endless loop in macro
  // code ends instead of hanging the compiler. 5,000,000 steps take 0.1 to
  // 2 s in a release build (a bare (loop while t) to a loop with a body),
  // and are about 3,000 times the most that the standard library, the
  // examples, the documentation's examples and the 1,000-rule benchmark
  // program need for one evaluation (1,687 steps, measured 2026-12-07).
  static constexpr uint64_t kDefaultStepLimit = 5'000'000;
  // The limit of Interpreters created from now on, process-wide (the fuzz
  // targets lower it: inputs must run in well under a second under ASan).
  static void set_default_step_limit(uint64_t limit);
  uint64_t steps() const { return steps_; }

  // Binds a (destructuring) lambda list against a list of arguments.
  // `what` names the function or macro for error messages; `whole` is what
  // &whole binds (the macro call form), the argument list when null.
  void bind_lambda_list(Value* lambda_list, Value* args, Env* env, SourceLoc call_loc, const std::string& what,
                        bool nested = false, Value* whole = nullptr);

  Env* new_env(Env* parent);
  Env* global() { return global_; }
  Heap& heap() { return heap_; }
  Diagnostics& diags() { return diags_; }
  Module& module() { return module_; }

  [[noreturn]] void fail(SourceLoc loc, std::string message, std::string hint = {});

 private:
  [[noreturn]] void stray_return(const Symbol* block, SourceLoc loc);
  Value* eval_symbol(Value* form, Env* env);
  Value* eval_call(Value* form, Env* env);
  Value* eval_quasiquote(Value* tmpl, Env* env, int depth);
  Value* eval_let(Value* form, Env* env, bool sequential);
  Value* eval_cond(Value* form, Env* env);
  Value* eval_case(Value* form, Env* env);
  Value* eval_loop(Value* form, Env* env);
  Value* eval_dolist(Value* form, Env* env);
  Value* eval_dotimes(Value* form, Env* env);
  Value* eval_setq(Value* form, Env* env);
  Value* eval_push(Value* form, Env* env, bool push);
  Value* eval_incf(Value* form, Env* env, int sign);
  Value* eval_flet(Value* form, Env* env, bool recursive);
  Value* eval_block(Value* form, Env* env);
  Value* eval_return_from(Value* form, Env* env, bool plain);
  Value* make_lambda(Value* params, Value* body, Env* env, const Symbol* name);
  Value* function_value(Value* designator, Env* env, SourceLoc loc);
  Value** lookup_var(const Symbol* s, Env* env);
  void set_var(Value* sym, Value* value, Env* env);

  Heap& heap_;
  Diagnostics& diags_;
  Module& module_;
  std::deque<Env> envs_;
  Env* global_;
  void step(SourceLoc loc);

  int depth_ = 0;
  uint64_t steps_ = 0;
  uint64_t step_limit_;
};

// Registered builtin functions of the interpreter, by name.
const std::unordered_map<const Symbol*, Builtin>& interpreter_builtins();

// Integer or error.
int64_t expect_int(Interpreter& in, Value* v, SourceLoc loc, const char* what);

}  // namespace whistler
