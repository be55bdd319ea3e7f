#include "interpreter.hpp"

#include "large_stack.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

namespace whistler {

namespace {

// Non-local exit for block / return-from.
struct ReturnFrom {
  ReturnFrom(const Symbol* b, Value* v, SourceLoc l) noexcept : block(b), value(v), loc(l) {
    prepare_to_unwind();  // may unwind deep recursion (large_stack.hpp)
  }
  const Symbol* block;
  Value* value;
  SourceLoc loc;  // of the return-from form
};

constexpr int kMaxDepth = 10000;

struct DepthGuard {
  Interpreter& in;
  int& depth;
  DepthGuard(Interpreter& i, int& d, SourceLoc loc) : in(i), depth(d) {
    if (++depth > kMaxDepth) {
      --depth;
      in.fail(loc, "compile-time evaluation nested too deeply (runaway macro recursion?)");
    }
  }
  ~DepthGuard() { --depth; }
};

bool truthy(const Value* v) { return v->tag != Tag::Nil; }

SourceLoc loc_or(const Value* v, SourceLoc fallback) { return v->loc.valid() ? v->loc : fallback; }

}  // namespace

static std::atomic<uint64_t> default_step_limit{Interpreter::kDefaultStepLimit};

Interpreter::Interpreter(Heap& heap, Diagnostics& diags, Module& module)
    : heap_(heap), diags_(diags), module_(module), step_limit_(default_step_limit.load()) {
  global_ = new_env(nullptr);
}

void Interpreter::set_default_step_limit(uint64_t limit) { default_step_limit.store(limit); }

void Interpreter::step(SourceLoc loc) {
  if (++steps_ > step_limit_)
    fail(loc, fmt::format("compile-time evaluation took more than {} steps", step_limit_),
         "does a loop or a recursion in macro code never end?");
}

Env* Interpreter::new_env(Env* parent) {
  Env& e = envs_.emplace_back();
  e.parent = parent;
  return &e;
}

void Interpreter::fail(SourceLoc loc, std::string message, std::string hint) {
  diags_.fatal(loc, std::move(message), std::move(hint));
}

int64_t expect_int(Interpreter& in, Value* v, SourceLoc loc, const char* what) {
  if (v->tag != Tag::Int) in.fail(loc, fmt::format("{} expects an integer, got {}", what, print(v)));
  return v->i;
}

Value** Interpreter::lookup_var(const Symbol* s, Env* env) {
  for (Env* e = env; e; e = e->parent)
    for (auto it = e->vars.rbegin(); it != e->vars.rend(); ++it)
      if (it->first == s) return &it->second;
  return nullptr;
}

void Interpreter::set_var(Value* sym, Value* value, Env* env) {
  if (!is_variable_name(sym)) fail(sym->loc, fmt::format("cannot assign to {}", print(sym)));
  if (Value** slot = lookup_var(sym->sym, env)) {
    *slot = value;
    return;
  }
  global_->vars.emplace_back(sym->sym, value);
}

Value* Interpreter::eval_symbol(Value* form, Env* env) {
  const Symbol* s = form->sym;
  if (s->keyword() || s == WSYM("t")) return form;
  if (Value** slot = lookup_var(s, env)) return *slot;
  auto c = module_.constants.find(s);
  if (c != module_.constants.end()) return c->second;
  fail(form->loc, fmt::format("unbound variable '{}' in compile-time code", s->name),
       "macro bodies run at compile time; they see their parameters, let bindings and defconstant values");
}

Value* Interpreter::eval(Value* form, Env* env) {
  switch (form->tag) {
    case Tag::Nil:
    case Tag::Int:
    case Tag::Str:
    case Tag::Func:
      return form;
    case Tag::Sym:
      return eval_symbol(form, env);
    case Tag::Cons:
      break;
  }
  if (depth_ == 0) steps_ = 0;  // an outermost evaluation: a fresh budget
  DepthGuard guard(*this, depth_, form->loc);
  step(form->loc);
  Value* head = form->cons.car;
  Value* args = form->cons.cdr;
  if (head->tag == Tag::Sym) {
    const Symbol* h = head->sym;
    if (h == WSYM("quote")) return car(args);
    if (h == WSYM("quasiquote")) return eval_quasiquote(car(args), env, 1);
    if (h == WSYM("if")) {
      if (list_length(args) < 2 || list_length(args) > 3) fail(form->loc, "if takes a test, a then form and an optional else form");
      if (truthy(eval(nth(args, 0), env))) return eval(nth(args, 1), env);
      Value* e = nth(args, 2);
      return e ? eval(e, env) : heap_.nil();
    }
    if (h == WSYM("when") || h == WSYM("unless")) {
      bool test = truthy(eval(car(args), env));
      if (test == (h == WSYM("when"))) return eval_body(cdr(args), env);
      return heap_.nil();
    }
    if (h == WSYM("progn")) return eval_body(args, env);
    if (h == WSYM("let")) return eval_let(form, env, false);
    if (h == WSYM("let*")) return eval_let(form, env, true);
    if (h == WSYM("cond")) return eval_cond(form, env);
    if (h == WSYM("case")) return eval_case(form, env);
    if (h == WSYM("and")) {
      Value* result = heap_.t();
      for (Value* x : items(args)) {
        result = eval(x, env);
        if (!truthy(result)) return result;
      }
      return result;
    }
    if (h == WSYM("or")) {
      for (Value* x : items(args)) {
        Value* r = eval(x, env);
        if (truthy(r)) return r;
      }
      return heap_.nil();
    }
    if (h == WSYM("lambda")) return make_lambda(car(args), cdr(args), env, nullptr);
    if (h == WSYM("function")) return function_value(car(args), env, form->loc);
    if (h == WSYM("setq") || h == WSYM("setf")) return eval_setq(form, env);
    if (h == WSYM("push")) return eval_push(form, env, true);
    if (h == WSYM("pop")) return eval_push(form, env, false);
    if (h == WSYM("incf")) return eval_incf(form, env, 1);
    if (h == WSYM("decf")) return eval_incf(form, env, -1);
    if (h == WSYM("dolist")) return eval_dolist(form, env);
    if (h == WSYM("dotimes")) return eval_dotimes(form, env);
    if (h == WSYM("loop")) return eval_loop(form, env);
    if (h == WSYM("flet")) return eval_flet(form, env, false);
    if (h == WSYM("labels")) return eval_flet(form, env, true);
    if (h == WSYM("block")) return eval_block(form, env);
    if (h == WSYM("return-from")) return eval_return_from(form, env, false);
    if (h == WSYM("return")) return eval_return_from(form, env, true);
    if (h == WSYM("declare")) return heap_.nil();
    if (h == WSYM("sizeof")) {
      // (sizeof NAME) names a type as in BPF code; (sizeof 'NAME) or any other
      // argument expression is evaluated, then called as the builtin.
      Value* arg = car(args);
      if (list_length(args) == 1 && is_variable_name(arg) && !lookup_var(arg->sym, env) &&
          (module_.find_struct(arg->sym) || scalar_type_named(arg->sym)))
        args = heap_.list({heap_.list({heap_.symbol(WSYM("quote"), arg->loc), arg}, arg->loc)}, form->loc);
      return eval_call(heap_.cons(head, args, form->loc), env);
    }
    if (h == WSYM("the")) return eval(nth(args, 1) ? nth(args, 1) : heap_.nil(), env);
    if (h == WSYM("destructuring-bind")) {
      Value* pattern = car(args);
      Value* value = eval(nth(args, 1) ? nth(args, 1) : heap_.nil(), env);
      Env* inner = new_env(env);
      bind_lambda_list(pattern, value, inner, form->loc, "destructuring-bind");
      return eval_body(cdr(cdr(args)), inner);
    }
    if (h == WSYM("multiple-value-bind")) {  // single values only: binds the first variable
      Value* vars = car(args);
      Value* value = eval(nth(args, 1) ? nth(args, 1) : heap_.nil(), env);
      Env* inner = new_env(env);
      bool first = true;
      for (Value* v : items(vars)) {
        if (!is_variable_name(v)) fail(loc_or(v, form->loc), fmt::format("multiple-value-bind: cannot bind {}", print(v)));
        inner->vars.emplace_back(v->sym, first ? value : heap_.nil());
        first = false;
      }
      return eval_body(cdr(cdr(args)), inner);
    }
  }
  return eval_call(form, env);
}

Value* Interpreter::eval_body(Value* forms, Env* env) {
  Value* result = heap_.nil();
  for (Value* f : items(forms)) result = eval(f, env);
  return result;
}

Value* Interpreter::eval_call(Value* form, Env* env) {
  Value* head = form->cons.car;
  if (head->tag == Tag::Cons && is_form(head, WSYM("lambda"))) {
    Value* fn = eval(head, env);
    std::vector<Value*> args;
    for (Value* a : items(form->cons.cdr)) args.push_back(eval(a, env));
    return apply(fn, args, form->loc);
  }
  if (head->tag != Tag::Sym) fail(form->loc, fmt::format("cannot call {}: not a function name", print(head)));
  const Symbol* h = head->sym;
  // Local functions first, then builtins, then Whistler macros usable at compile time.
  for (Env* e = env; e; e = e->parent)
    for (auto it = e->fns.rbegin(); it != e->fns.rend(); ++it)
      if (it->first == h) {
        std::vector<Value*> args;
        for (Value* a : items(form->cons.cdr)) args.push_back(eval(a, env));
        return apply(it->second, args, form->loc);
      }
  const auto& builtins = interpreter_builtins();
  auto b = builtins.find(h);
  if (b != builtins.end()) {
    std::vector<Value*> args;
    for (Value* a : items(form->cons.cdr)) args.push_back(eval(a, env));
    return b->second(*this, args, form->loc);
  }
  if (const MacroDef* m = module_.find_macro(h)) {
    size_t before = diags_.all().size();
    Value* expansion;
    try {
      expansion = expand(*m, form);
    } catch (const AbortForm&) {
      // As in BPF code, an error inside a standard library macro called from
      // compile-time code in a user file is reported at that call.
      auto& list = const_cast<std::vector<Diagnostic>&>(diags_.all());
      const SourceManager& sources = diags_.sources();
      if (list.size() > before && form->loc.valid() && !sources.is_system(form->loc)) {
        Diagnostic& d = list.back();
        if (!d.loc.valid() || sources.is_system(d.loc)) {
          d.loc = form->loc;
          d.message = fmt::format("in ({} ...): {}", h->name, d.message);
        }
      }
      throw;
    }
    return eval(expansion, env);
  }
  fail(form->loc, fmt::format("unknown function '{}' in compile-time code", h->name),
       "macro bodies can call list, string and arithmetic functions, lambdas, flet/labels and other macros");
}

Value* Interpreter::make_lambda(Value* params, Value* body, Env* env, const Symbol* name) {
  if (!is_list(params)) fail(params->loc, "lambda needs a parameter list");
  Closure* c = heap_.new_closure();
  c->name = name;
  c->params = params;
  c->body = body;
  c->env = env;
  return heap_.function(c);
}

Value* Interpreter::function_value(Value* designator, Env* env, SourceLoc loc) {
  if (is_form(designator, WSYM("lambda"))) return eval(designator, env);
  if (designator->tag == Tag::Func) return designator;
  if (designator->tag != Tag::Sym) fail(loc, fmt::format("{} does not name a function", print(designator)));
  const Symbol* s = designator->sym;
  for (Env* e = env; e; e = e->parent)
    for (auto it = e->fns.rbegin(); it != e->fns.rend(); ++it)
      if (it->first == s) return it->second;
  const auto& builtins = interpreter_builtins();
  auto b = builtins.find(s);
  if (b == builtins.end()) fail(loc, fmt::format("'{}' does not name a compile-time function", s->name));
  Closure* c = heap_.new_closure();
  c->name = s;
  c->builtin = b->second;
  return heap_.function(c);
}

Value* Interpreter::apply(Value* fn, std::vector<Value*>& args, SourceLoc loc) {
  if (fn->tag == Tag::Sym) fn = function_value(fn, global_, loc);
  if (fn->tag != Tag::Func) fail(loc, fmt::format("{} is not a function", print(fn)));
  Closure* c = fn->fn;
  if (c->builtin) return c->builtin(*this, args, loc);
  DepthGuard guard(*this, depth_, loc);
  Env* env = new_env(c->env);
  Value* arglist = heap_.list(args);
  bind_lambda_list(c->params, arglist, env, loc, c->name ? fmt::format("function '{}'", c->name->name) : "lambda");
  if (c->name) {
    try {
      return eval_body(c->body, env);
    } catch (ReturnFrom& r) {
      if (r.block != c->name) throw;
      return r.value;
    }
  }
  return eval_body(c->body, env);
}

Value* Interpreter::expand(const MacroDef& macro, Value* call) {
  DepthGuard guard(*this, depth_, call->loc);
  Env* env = new_env(global_);
  bind_lambda_list(macro.lambda_list, cdr(call), env, call->loc, fmt::format("macro '{}'", macro.name->name), false, call);
  try {
    return eval_body(macro.body, env);
  } catch (ReturnFrom& r) {
    if (r.block == macro.name) return r.value;
    // No block of that name encloses the return-from: a located error, not an
    // exception escaping the interpreter.
    stray_return(r.block, r.loc.valid() ? r.loc : call->loc);
  }
}

Value* Interpreter::eval_toplevel(Value* form) {
  try {
    return eval(form, global_);
  } catch (ReturnFrom& r) {
    stray_return(r.block, r.loc.valid() ? r.loc : form->loc);
  }
}

void Interpreter::stray_return(const Symbol* block, SourceLoc loc) {
  if (block == WSYM("nil"))
    fail(loc, "return outside of a block, loop, dolist or dotimes in compile-time code");
  fail(loc, fmt::format("return-from {}: no enclosing block named {}", block->name, block->name));
}

// ---- Lambda lists --------------------------------------------------------------

void Interpreter::bind_lambda_list(Value* ll, Value* args, Env* env, SourceLoc call_loc, const std::string& what,
                                   bool nested, Value* whole) {
  enum class State { Required, Optional, Rest, AfterRest, Key, Aux };
  State state = State::Required;
  Value* rest_args = args;
  bool have_keys = false;
  bool allow_other_keys = false;
  std::vector<const Symbol*> known_keys;
  long required = 0, optional = 0;
  bool has_rest = false;
  // First pass: validate the lambda-list keywords and count the positional
  // parameters (every element before &rest/&key/&aux that is not a keyword).
  Value* tail = ll;
  for (; tail->tag == Tag::Cons; tail = tail->cons.cdr) {
    Value* e = tail->cons.car;
    if (e->tag == Tag::Sym && !e->sym->keyword() && !e->sym->name.empty() && e->sym->name[0] == '&') {
      bool needs_variable = is_sym(e, WSYM("&rest")) || is_sym(e, WSYM("&body")) || is_sym(e, WSYM("&whole")) ||
                            is_sym(e, WSYM("&environment"));
      if (needs_variable && tail->cons.cdr->tag != Tag::Cons)
        fail(loc_or(e, call_loc), fmt::format("{} needs a variable after it", print(e)));
      if (is_sym(e, WSYM("&optional"))) {
        state = State::Optional;
      } else if (is_sym(e, WSYM("&rest")) || is_sym(e, WSYM("&body"))) {
        has_rest = true;
        state = State::AfterRest;
      } else if (is_sym(e, WSYM("&key"))) {
        has_rest = true;
        state = State::Key;
      } else if (is_sym(e, WSYM("&aux"))) {
        state = State::Aux;
      } else if (is_sym(e, WSYM("&whole")) || is_sym(e, WSYM("&environment"))) {
        if (tail->cons.cdr->tag == Tag::Cons) tail = tail->cons.cdr;  // its variable is not an argument
      } else if (!is_sym(e, WSYM("&allow-other-keys"))) {
        fail(loc_or(e, call_loc), fmt::format("unknown lambda-list keyword {} in {}", print(e), what),
             "lambda lists take &optional &rest &body &key &allow-other-keys &aux &whole");
      }
      continue;
    }
    if (state == State::Required) ++required;
    else if (state == State::Optional) ++optional;
  }
  bool dotted = tail->tag != Tag::Nil;
  if (dotted) has_rest = true;  // (a . rest), or a lone symbol

  long given = 0;
  Value* last = args;
  for (; last->tag == Tag::Cons; last = last->cons.cdr) ++given;
  // Only a dotted lambda list, (a . b), matches a dotted argument list.
  if (last->tag != Tag::Nil && !dotted) fail(call_loc, fmt::format("{} called with an improper argument list {}", what, print(args)));
  auto arity_text = [&]() {
    if (has_rest) return fmt::format("at least {}", required);
    if (optional) return fmt::format("{} to {}", required, required + optional);
    return fmt::format("{}", required);
  };
  if (given < required || (!has_rest && given > required + optional)) {
    // "1 argument", "at least 1 argument", but "1 to 2 arguments".
    const char* plural = (required == 1 && !optional) ? "" : "s";
    if (nested)
      fail(call_loc, fmt::format("{} expects a list like {} here, got {}", what, print(ll), print(args)),
           fmt::format("this list takes {} element{}", arity_text(), plural));
    fail(call_loc, fmt::format("{} expects {} argument{}, got {}", what, arity_text(), plural, given),
         fmt::format("its parameters are {}", print(ll)));
  }

  auto bind_pattern = [&](Value* pattern, Value* value) {
    if (pattern->tag == Tag::Sym) {
      if (!is_variable_name(pattern)) fail(loc_or(pattern, call_loc), fmt::format("bad parameter {} in lambda list", print(pattern)));
      env->vars.emplace_back(pattern->sym, value);
    } else if (pattern->tag == Tag::Cons) {
      if (!is_list(value))
        fail(loc_or(value, call_loc), fmt::format("{} expects a list matching {} here, got {}", what, print(pattern), print(value)));
      bind_lambda_list(pattern, value, env, loc_or(value, call_loc), what, true);
    } else if (pattern->tag != Tag::Nil) {
      fail(loc_or(pattern, call_loc), fmt::format("bad parameter {} in lambda list", print(pattern)));
    }
  };

  state = State::Required;
  Value* p = ll;
  for (; p->tag == Tag::Cons; p = p->cons.cdr) {
    Value* e = p->cons.car;
    if (is_sym(e, WSYM("&optional"))) { state = State::Optional; continue; }
    if (is_sym(e, WSYM("&rest")) || is_sym(e, WSYM("&body"))) {
      p = p->cons.cdr;
      if (p->tag != Tag::Cons) fail(loc_or(e, call_loc), "&rest needs a variable after it");
      bind_pattern(p->cons.car, rest_args);
      state = State::AfterRest;
      continue;
    }
    if (is_sym(e, WSYM("&key"))) {
      state = State::Key;
      have_keys = true;
      if (list_length(rest_args) % 2 != 0)
        fail(call_loc, fmt::format("{}: odd number of keyword arguments {}", what, print(rest_args)));
      continue;
    }
    if (is_sym(e, WSYM("&allow-other-keys"))) { allow_other_keys = true; continue; }
    if (is_sym(e, WSYM("&aux"))) { state = State::Aux; continue; }
    if (is_sym(e, WSYM("&whole")) || is_sym(e, WSYM("&environment"))) {
      if (p->cons.cdr->tag != Tag::Cons) fail(loc_or(e, call_loc), fmt::format("{} needs a variable after it", print(e)));
      p = p->cons.cdr;  // &whole binds the argument list; &environment binds nil
      bind_pattern(p->cons.car, is_sym(e, WSYM("&whole")) ? (whole ? whole : args) : heap_.nil());
      continue;
    }
    switch (state) {
      case State::Required:
        bind_pattern(e, rest_args->cons.car);
        rest_args = rest_args->cons.cdr;
        break;
      case State::Optional: {
        Value* var = e->tag == Tag::Cons ? car(e) : e;
        Value* init = e->tag == Tag::Cons ? nth(e, 1) : nullptr;
        Value* svar = e->tag == Tag::Cons ? nth(e, 2) : nullptr;
        bool supplied = rest_args->tag == Tag::Cons;
        Value* value = supplied ? rest_args->cons.car : (init ? eval(init, env) : heap_.nil());
        if (supplied) rest_args = rest_args->cons.cdr;
        bind_pattern(var, value);
        if (svar) bind_pattern(svar, heap_.boolean(supplied));
        break;
      }
      case State::Key: {
        Value* spec = e->tag == Tag::Cons ? car(e) : e;
        Value* init = e->tag == Tag::Cons ? nth(e, 1) : nullptr;
        Value* svar = e->tag == Tag::Cons ? nth(e, 2) : nullptr;
        Value* var = spec;
        const Symbol* key;
        if (spec->tag == Tag::Cons) {  // ((:keyword var) default)
          if (car(spec)->tag != Tag::Sym || list_length(spec) != 2)
            fail(loc_or(spec, call_loc), fmt::format("bad &key parameter {} in lambda list", print(e)), "write ((:KEYWORD VAR) DEFAULT)");
          key = car(spec)->sym;
          var = nth(spec, 1);
        } else {
          if (!is_variable_name(spec)) fail(loc_or(spec, call_loc), fmt::format("bad &key parameter {} in lambda list", print(e)));
          key = intern(":" + spec->sym->name);
        }
        known_keys.push_back(key);
        Value* found = nullptr;
        for (Value* k = rest_args; k->tag == Tag::Cons && k->cons.cdr->tag == Tag::Cons; k = k->cons.cdr->cons.cdr)
          if (is_sym(k->cons.car, key)) {
            found = k->cons.cdr->cons.car;
            break;
          }
        bind_pattern(var, found ? found : (init ? eval(init, env) : heap_.nil()));
        if (svar) bind_pattern(svar, heap_.boolean(found != nullptr));
        break;
      }
      case State::Aux: {
        Value* var = e->tag == Tag::Cons ? car(e) : e;
        Value* init = e->tag == Tag::Cons ? nth(e, 1) : nullptr;
        bind_pattern(var, init ? eval(init, env) : heap_.nil());
        break;
      }
      case State::Rest:
      case State::AfterRest:
        fail(loc_or(e, call_loc), fmt::format("unexpected {} after &rest in lambda list", print(e)));
    }
  }
  if (p->tag == Tag::Sym) bind_pattern(p, rest_args);  // dotted rest: (a b . rest)
  if (have_keys && !allow_other_keys) {
    // (f ... :allow-other-keys t) accepts any keyword, as in Common Lisp.
    for (Value* k = rest_args; k->tag == Tag::Cons && k->cons.cdr->tag == Tag::Cons; k = k->cons.cdr->cons.cdr)
      if (is_sym(k->cons.car, WSYM(":allow-other-keys"))) {
        allow_other_keys = truthy(k->cons.cdr->cons.car);
        break;
      }
  }
  if (have_keys && !allow_other_keys) {
    for (Value* k = rest_args; k->tag == Tag::Cons && k->cons.cdr->tag == Tag::Cons; k = k->cons.cdr->cons.cdr) {
      Value* key = k->cons.car;
      bool known = key->tag == Tag::Sym && std::find(known_keys.begin(), known_keys.end(), key->sym) != known_keys.end();
      if (is_sym(key, WSYM(":allow-other-keys"))) known = true;
      if (!known) {
        std::string names;
        for (const Symbol* s : known_keys) names += (names.empty() ? "" : " ") + s->name;
        fail(loc_or(key, call_loc), fmt::format("{} does not take the keyword {}", what, print(key)),
             names.empty() ? std::string("it takes no keywords") : fmt::format("it takes {}", names));
      }
    }
  }
}

// ---- Special forms ---------------------------------------------------------------

Value* Interpreter::eval_quasiquote(Value* tmpl, Env* env, int depth) {
  if (tmpl->tag != Tag::Cons) return tmpl;
  auto operand = [&](Value* form) {
    Value* x = nth(form, 1);
    return x ? x : heap_.nil();
  };
  if (is_form(tmpl, WSYM("unquote"))) {
    if (depth == 1) return eval(operand(tmpl), env);
    return heap_.list({tmpl->cons.car, eval_quasiquote(operand(tmpl), env, depth - 1)}, tmpl->loc);
  }
  if (is_form(tmpl, WSYM("unquote-splicing"))) {
    if (depth == 1) fail(tmpl->loc, ",@ must appear inside a list");
    return heap_.list({tmpl->cons.car, eval_quasiquote(operand(tmpl), env, depth - 1)}, tmpl->loc);
  }
  if (is_form(tmpl, WSYM("quasiquote")))
    return heap_.list({tmpl->cons.car, eval_quasiquote(operand(tmpl), env, depth + 1)}, tmpl->loc);
  std::vector<Value*> out;
  Value* tail = nullptr;
  Value* p = tmpl;
  for (; p->tag == Tag::Cons; p = p->cons.cdr) {
    if (p != tmpl && (is_form(p, WSYM("unquote")) || is_form(p, WSYM("quasiquote")))) {  // `(a . ,b)
      tail = eval_quasiquote(p, env, depth);
      break;
    }
    Value* e = p->cons.car;
    if (is_form(e, WSYM("unquote-splicing")) && depth == 1) {
      Value* spliced = eval(operand(e), env);
      if (!is_list(spliced))
        fail(e->loc, fmt::format(",@ needs a list to splice, got {}", print(spliced)));
      for (Value* x : items(spliced)) out.push_back(x);
      continue;
    }
    out.push_back(eval_quasiquote(e, env, depth));
  }
  if (!tail && p->tag != Tag::Nil) tail = p;
  if (out.empty()) return tail ? tail : heap_.nil();
  // Fresh conses keep the template's location.
  Value* result = tail ? tail : heap_.nil();
  for (auto it = out.rbegin(); it != out.rend(); ++it) result = heap_.cons(*it, result, tmpl->loc);
  return result;
}

Value* Interpreter::eval_let(Value* form, Env* env, bool sequential) {
  Value* bindings = nth(form, 1);
  if (!bindings || !is_list(bindings)) fail(form->loc, "let needs a list of bindings");
  Env* inner = new_env(env);
  std::vector<std::pair<const Symbol*, Value*>> pending;
  for (Value* b : items(bindings)) {
    Value* var = b->tag == Tag::Cons ? car(b) : b;
    if (!is_variable_name(var)) fail(loc_or(var, form->loc), fmt::format("cannot bind {}", print(var)));
    Value* init = b->tag == Tag::Cons ? nth(b, 1) : nullptr;
    Value* value = init ? eval(init, sequential ? inner : env) : heap_.nil();
    if (sequential) inner->vars.emplace_back(var->sym, value);
    else pending.emplace_back(var->sym, value);
  }
  for (auto& p : pending) inner->vars.push_back(p);
  return eval_body(cdr(cdr(form)), inner);
}

Value* Interpreter::eval_cond(Value* form, Env* env) {
  for (Value* clause : items(cdr(form))) {
    if (clause->tag != Tag::Cons) fail(loc_or(clause, form->loc), "cond clause must be a list (test forms...)");
    Value* test = eval(clause->cons.car, env);
    if (truthy(test)) return clause->cons.cdr->tag == Tag::Nil ? test : eval_body(clause->cons.cdr, env);
  }
  return heap_.nil();
}

Value* Interpreter::eval_case(Value* form, Env* env) {
  Value* key = eval(nth(form, 1) ? nth(form, 1) : heap_.nil(), env);
  for (Value* clause : items(cdr(cdr(form)))) {
    Value* keys = car(clause);
    bool match = false;
    if (is_sym(keys, WSYM("t")) || is_sym(keys, WSYM("otherwise"))) match = true;
    else if (keys->tag == Tag::Nil) match = false;  // () is an empty list of keys
    else if (keys->tag == Tag::Cons) {
      for (Value* k : items(keys))
        if (equal(k, key)) match = true;
    } else {
      match = equal(keys, key);
    }
    if (match) return eval_body(cdr(clause), env);
  }
  return heap_.nil();
}

Value* Interpreter::eval_setq(Value* form, Env* env) {
  Value* result = heap_.nil();
  Value* p = cdr(form);
  while (p->tag == Tag::Cons) {
    Value* place = p->cons.car;
    if (p->cons.cdr->tag != Tag::Cons) fail(form->loc, "setf needs an even number of arguments");
    Value* value_form = p->cons.cdr->cons.car;
    result = eval(value_form, env);
    if (place->tag == Tag::Sym) {
      set_var(place, result, env);
    } else if (is_form(place, WSYM("car")) || is_form(place, WSYM("first")) || is_form(place, WSYM("cdr")) ||
               is_form(place, WSYM("rest"))) {
      Value* cell = eval(nth(place, 1), env);
      if (cell->tag != Tag::Cons) fail(place->loc, "setf of car/cdr needs a cons");
      if (is_form(place, WSYM("car")) || is_form(place, WSYM("first"))) cell->cons.car = result;
      else cell->cons.cdr = result;
    } else {
      fail(loc_or(place, form->loc), fmt::format("compile-time setf cannot assign to {}", print(place)));
    }
    p = p->cons.cdr->cons.cdr;
  }
  return result;
}

Value* Interpreter::eval_push(Value* form, Env* env, bool push) {
  if (push) {
    Value* place = nth(form, 2);
    if (!place || place->tag != Tag::Sym) fail(form->loc, "push needs an item and a variable as its place");
    Value* item = eval(nth(form, 1), env);
    Value* list = eval(place, env);
    Value* result = heap_.cons(item, list);
    set_var(place, result, env);
    return result;
  }
  Value* place = nth(form, 1);
  if (!place || place->tag != Tag::Sym) fail(form->loc, "pop needs a variable as its place");
  Value* list = eval(place, env);
  set_var(place, cdr(list), env);
  return list->tag == Tag::Cons ? list->cons.car : heap_.nil();
}

Value* Interpreter::eval_incf(Value* form, Env* env, int sign) {
  Value* place = nth(form, 1);
  if (!place || place->tag != Tag::Sym) fail(form->loc, "compile-time incf/decf needs a variable");
  int64_t delta = nth(form, 2) ? expect_int(*this, eval(nth(form, 2), env), form->loc, "incf") : 1;
  int64_t v = expect_int(*this, eval(place, env), form->loc, "incf");
  Value* result = heap_.integer(static_cast<int64_t>(static_cast<uint64_t>(v) + static_cast<uint64_t>(sign * delta)));
  set_var(place, result, env);
  return result;
}

Value* Interpreter::eval_dolist(Value* form, Env* env) {
  Value* spec = nth(form, 1);
  if (!spec || spec->tag != Tag::Cons || !is_variable_name(car(spec))) fail(form->loc, "dolist needs (var list [result])");
  Value* list = eval(nth(spec, 1) ? nth(spec, 1) : heap_.nil(), env);
  if (!is_list(list)) fail(form->loc, fmt::format("dolist needs a list, got {}", print(list)));
  Env* inner = new_env(env);
  inner->vars.emplace_back(car(spec)->sym, heap_.nil());
  try {
    for (Value* x : items(list)) {
      step(form->loc);
      inner->vars.back().second = x;
      eval_body(cdr(cdr(form)), inner);
    }
  } catch (ReturnFrom& r) {
    if (r.block != WSYM("nil")) throw;
    return r.value;
  }
  Value* result = nth(spec, 2);
  inner->vars.back().second = heap_.nil();  // as in CL, the result form sees the variable as nil
  return result ? eval(result, inner) : heap_.nil();
}

Value* Interpreter::eval_dotimes(Value* form, Env* env) {
  Value* spec = nth(form, 1);
  if (!spec || spec->tag != Tag::Cons || !is_variable_name(car(spec))) fail(form->loc, "dotimes needs (var count [result])");
  int64_t n = expect_int(*this, eval(nth(spec, 1) ? nth(spec, 1) : heap_.nil(), env), form->loc, "dotimes");
  Env* inner = new_env(env);
  inner->vars.emplace_back(car(spec)->sym, heap_.integer(0));
  try {
    for (int64_t i = 0; i < n; ++i) {
      step(form->loc);
      inner->vars.back().second = heap_.integer(i);
      eval_body(cdr(cdr(form)), inner);
    }
  } catch (ReturnFrom& r) {
    if (r.block != WSYM("nil")) throw;
    return r.value;
  }
  Value* result = nth(spec, 2);
  inner->vars.back().second = heap_.integer(std::max<int64_t>(n, 0));  // as in CL, the count of iterations
  return result ? eval(result, inner) : heap_.nil();
}

// A subset of LOOP: for/as (in, on, from/below/to/upto/downfrom/by, = then),
// while, until, when/if/unless, collect/append/nconc/sum/count/do, finally.
Value* Interpreter::eval_loop(Value* form, Env* env) {
  std::vector<Value*> clauses = list_items(cdr(form));
  struct Iter {
    enum Kind { In, On, Range, Assign } kind;
    const Symbol* var;
    Value* list = nullptr;
    int64_t next = 0, end = 0, step = 1;
    bool has_end = false, inclusive = false, down = false;
    Value* then = nullptr;
    bool first = true;
  };
  std::vector<Iter> iters;
  size_t i = 0;
  Env* inner = new_env(env);
  auto kw = [&](size_t k, const char* name) {
    return k < clauses.size() && clauses[k]->tag == Tag::Sym && clauses[k]->sym->name == name;
  };
  auto need = [&](size_t k) -> Value* {
    if (k >= clauses.size()) fail(form->loc, "loop clause is incomplete");
    return clauses[k];
  };
  // Parse iteration clauses.
  while (kw(i, "for") || kw(i, "as")) {
    Value* var = need(i + 1);
    if (!is_variable_name(var)) fail(loc_or(var, form->loc), "loop for needs a variable");
    Iter it{};
    it.var = var->sym;
    if (kw(i + 2, "in") || kw(i + 2, "on")) {
      it.kind = kw(i + 2, "in") ? Iter::In : Iter::On;
      it.list = eval(need(i + 3), inner);
      i += 4;
    } else if (kw(i + 2, "=")) {
      it.kind = Iter::Assign;
      it.list = need(i + 3);  // init form
      i += 4;
      if (kw(i, "then")) {
        it.then = need(i + 1);
        i += 2;
      }
    } else if (kw(i + 2, "from") || kw(i + 2, "downfrom") || kw(i + 2, "below") || kw(i + 2, "to") || kw(i + 2, "upto")) {
      it.kind = Iter::Range;
      i += 2;
      while (kw(i, "from") || kw(i, "downfrom") || kw(i, "below") || kw(i, "to") || kw(i, "upto") || kw(i, "above") ||
             kw(i, "downto") || kw(i, "by")) {
        std::string k = clauses[i]->sym->name;
        int64_t v = expect_int(*this, eval(need(i + 1), inner), form->loc, "loop");
        if (k == "from") it.next = v;
        else if (k == "downfrom") { it.next = v; it.down = true; }
        else if (k == "below") { it.end = v; it.has_end = true; }
        else if (k == "to" || k == "upto") { it.end = v; it.has_end = true; it.inclusive = true; }
        else if (k == "above") { it.end = v; it.has_end = true; it.down = true; }
        else if (k == "downto") { it.end = v; it.has_end = true; it.inclusive = true; it.down = true; }
        else it.step = v;
        i += 2;
      }
    } else {
      fail(loc_or(var, form->loc), "unsupported loop iteration clause",
           "use: for x in list, for x on list, for i from a below b [by s], for x = init then next");
    }
    inner->vars.emplace_back(it.var, heap_.nil());
    iters.push_back(it);
  }
  std::vector<Value*> body(clauses.begin() + static_cast<long>(i), clauses.end());
  std::vector<Value*> collected;
  int64_t sum = 0;
  bool summing = false;
  Value* finally = nullptr;
  try {
    for (;;) {
      step(form->loc);
      // Step iterators.
      for (size_t k = 0; k < iters.size(); ++k) {
        Iter& it = iters[k];
        Value** slot = nullptr;
        for (auto& b : inner->vars)
          if (b.first == it.var) slot = &b.second;
        switch (it.kind) {
          case Iter::In:
          case Iter::On:
            if (it.list->tag != Tag::Cons) throw ReturnFrom{WSYM("%loop-end"), nullptr, {}};
            *slot = it.kind == Iter::In ? it.list->cons.car : it.list;
            it.list = it.list->cons.cdr;
            break;
          case Iter::Range: {
            int64_t v = it.next;
            if (it.has_end) {
              bool done = it.down ? (it.inclusive ? v < it.end : v <= it.end) : (it.inclusive ? v > it.end : v >= it.end);
              if (done) throw ReturnFrom{WSYM("%loop-end"), nullptr, {}};
            }
            *slot = heap_.integer(v);
            it.next = it.down ? v - it.step : v + it.step;
            break;
          }
          case Iter::Assign:
            *slot = it.first ? eval(it.list, inner) : (it.then ? eval(it.then, inner) : eval(it.list, inner));
            it.first = false;
            break;
        }
      }
      // Body clauses.
      size_t j = 0;
      bool skip = false;
      while (j < body.size()) {
        Value* c = body[j];
        std::string k = c->tag == Tag::Sym ? c->sym->name : "";
        if (k == "while" || k == "until") {
          bool t = truthy(eval(need(i + j + 1), inner));
          if ((k == "while") != t) throw ReturnFrom{WSYM("%loop-end"), nullptr, {}};
          j += 2;
        } else if (k == "when" || k == "if" || k == "unless") {
          bool t = truthy(eval(need(i + j + 1), inner));
          skip = (k == "unless") == t;
          j += 2;
          continue;  // applies to the next clause
        } else if (k == "collect" || k == "collecting" || k == "append" || k == "appending" || k == "nconc" ||
                   k == "sum" || k == "summing" || k == "count" || k == "counting") {
          Value* x = need(i + j + 1);
          if (!skip) {
            Value* v = eval(x, inner);
            if (k == "collect" || k == "collecting") collected.push_back(v);
            else if (k == "sum" || k == "summing") { summing = true; sum += expect_int(*this, v, x->loc, "loop sum"); }
            else if (k == "count" || k == "counting") { summing = true; if (truthy(v)) ++sum; }
            else for (Value* y : items(v)) collected.push_back(y);
          }
          j += 2;
        } else if (k == "do" || k == "doing") {
          ++j;
          while (j < body.size() && body[j]->tag == Tag::Cons) {
            if (!skip) eval(body[j], inner);
            ++j;
          }
        } else if (k == "finally") {
          finally = need(i + j + 1);
          j += 2;
        } else if (c->tag == Tag::Cons) {
          if (!skip) eval(c, inner);
          ++j;
        } else {
          fail(loc_or(c, form->loc), fmt::format("unsupported loop keyword {}", print(c)));
        }
        skip = false;
      }
      if (iters.empty() && body.empty()) break;
    }
  } catch (ReturnFrom& r) {
    if (r.block == WSYM("nil")) return r.value;
    if (r.block != WSYM("%loop-end")) throw;
  }
  if (finally) {
    try {
      eval(finally, inner);
    } catch (ReturnFrom& r) {
      if (r.block == WSYM("nil")) return r.value;
      throw;
    }
  }
  if (summing) return heap_.integer(sum);
  return heap_.list(collected);
}

Value* Interpreter::eval_flet(Value* form, Env* env, bool recursive) {
  Env* inner = new_env(env);
  for (Value* def : items(nth(form, 1) ? nth(form, 1) : heap_.nil())) {
    Value* name = car(def);
    if (name->tag != Tag::Sym) fail(loc_or(def, form->loc), "flet/labels definitions are (name (params) body...)");
    inner->fns.emplace_back(name->sym, make_lambda(nth(def, 1) ? nth(def, 1) : heap_.nil(), cdr(cdr(def)),
                                                   recursive ? inner : env, name->sym));
  }
  return eval_body(cdr(cdr(form)), inner);
}

Value* Interpreter::eval_block(Value* form, Env* env) {
  Value* name = nth(form, 1);
  const Symbol* block = name && name->tag == Tag::Sym ? name->sym : WSYM("nil");
  try {
    return eval_body(cdr(cdr(form)), env);
  } catch (ReturnFrom& r) {
    if (r.block != block) throw;
    return r.value;
  }
}

Value* Interpreter::eval_return_from(Value* form, Env* env, bool plain) {
  const Symbol* block = WSYM("nil");
  Value* value_form = nth(form, 1);
  if (!plain) {
    Value* name = nth(form, 1);
    if (!name || name->tag != Tag::Sym) fail(form->loc, "return-from needs a block name");
    block = name->sym;
    value_form = nth(form, 2);
  }
  Value* value = value_form ? eval(value_form, env) : heap_.nil();
  throw ReturnFrom{block, value, form->loc};
}

}  // namespace whistler
