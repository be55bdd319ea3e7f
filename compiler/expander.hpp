// The macro expander: processes top-level forms into the Module and expands
// program and function bodies into core forms for lowering.
//
// Core forms left after expansion (everything else is a macro, an accessor or
// a call of an operator, helper or defun that lowering resolves):
//   progn if and or let let* setq return declare %loop %stack-alloc
//   %setmap %incf-map %ctx-store %on-return %opaque load store cast ctx
//   stack-addr quote return-from
#pragma once

#include <vector>

#include "diagnostics.hpp"
#include "interpreter.hpp"
#include "module.hpp"
#include "value.hpp"

namespace whistler {

class Expander {
 public:
  Expander(Heap& heap, Diagnostics& diags, Module& module, Interpreter& interp);

  // Processes one top-level form: definitions go into the module. Errors are
  // reported; the form is abandoned and processing continues with the next.
  void top_level(Value* form);

  // Expands an expression form into core forms (for tests and the REPL).
  Value* expand_expression(Value* form);

  // Expands a macro call once, with error notes pointing at the call site.
  // `site` is where a call without a user location (one written in the
  // standard library) is reported: the user's form it came from.
  Value* expand_macro_once(const MacroDef& macro, Value* form, SourceLoc site = {});

 private:
  struct Scope {
    std::vector<const Symbol*> vars;
    bool bound(const Symbol* s) const;
  };

  void top_level(Value* form, SourceLoc site);
  void top_level_form(Value* form, SourceLoc site);
  void define_macro(Value* form);
  void define_constant(Value* form);
  void define_map(Value* form);
  void define_struct(Value* form);
  void define_function(Value* form);
  void define_program(Value* form);

  Value* ex(Value* form, Scope& scope, SourceLoc site);
  Value* ex_body(Value* forms, Scope& scope, SourceLoc site);
  Value* ex_let(Value* form, Scope& scope, SourceLoc loc, bool sequential);
  Value* ex_loop(Value* form, Scope& scope, SourceLoc loc);
  Value* ex_setf(Value* place, Value* value, Scope& scope, SourceLoc loc, SourceLoc site);
  Value* ex_incf(Value* form, Scope& scope, SourceLoc loc, SourceLoc site, bool decrement);
  Value* ex_accessor(const StructAccessor& acc, Value* form, Scope& scope, SourceLoc loc, SourceLoc site);
  // Expands macros (and accessors) at the head of a place until it is a core place.
  Value* place_form(Value* place, Scope& scope, SourceLoc site);

  // A location for a form: its own when it is in a user file, else `site`.
  SourceLoc located(const Value* form, SourceLoc site) const;
  // Data kept as written (types, ctx fields, quoted data) with the standard
  // library's locations replaced by `site`, as forms get theirs.
  Value* relocate(Value* data, SourceLoc site);
  // Evaluates a compile-time constant expression (defconstant values, options).
  Value* constant_value(Value* form);
  int64_t constant_integer(Value* form, const char* what);
  std::optional<Type> parse_type(Value* spec, bool allow_struct);

  Heap& heap_;
  Diagnostics& diags_;
  Module& module_;
  Interpreter& interp_;
  int depth_ = 0;  // nesting of ex(): runaway macros end in an error, not a stack overflow
};

}  // namespace whistler
