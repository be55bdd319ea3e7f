// The random program generator: from a 64-bit seed, deterministically, a
// well-typed Whistler program (one the language documentation says is valid,
// so whistlerc should accept it and the kernel verifier should load it).
//
// How it works
// ------------
// The generator keeps a typed scope while it writes the program: integer
// variables with their declared types, packet pointers and which header they
// point at (and the "packet epoch" they belong to: xdp-adjust-head/-tail/-meta
// invalidate every packet pointer, so pointers taken before such a call are
// never used after it), nullable pointers from parse-* and map lookups (used
// only under a null test), stack struct pointers, map value pointers and ring
// buffer records. Every form is generated only where it is valid: while a
// record reserved by hand is held, nothing leaves the program (`return`
// leaves the program also from inside a defun; `return-from` leaves the
// defun) nor tail-calls; programs that share a prog-array, devmap or cpumap
// agree on xdp.frags, and those that share a prog-array on the attach type.
//
// The grammar is table-driven: form_tables.cpp lists every top-level
// statement form, integer expression form and packet pointer form as one line
//
//     {"name", WEIGHT, &ProgramGenerator::generator_function},
//
// The generator picks a line at random by weight; the function returns the
// form (an Sexp) or std::nullopt when the form cannot be written in the
// current scope (no struct pointer in scope, no map of the right type...),
// and another line is drawn.
//
// How to add a form
// -----------------
// 1. Write `std::optional<Sexp> ProgramGenerator::statement_NAME(Context& ctx)`
//    (or `expression_NAME(Context& ctx, int depth)`, or
//    `pointer_NAME(Context& ctx, int depth)`) in the file of its area:
//    statement_forms.cpp (binding, control, loops), expression_forms.cpp
//    (integer expressions), packet_forms.cpp (with-*, parse-*, loads and
//    stores, checksums, packet-moving helpers), map_forms.cpp (maps, ring
//    buffers, redirects, tail calls). Declare it in generator_core.hpp.
//    Use the scope queries (`visible_ints`, `packet_pointers`,
//    `struct_pointers`, ...) to find operands, `int_expr`/`condition`/
//    `packet_pointer` for subexpressions, `body` for nested statements, and
//    `ScopeMark` + `bind` for variables the form introduces.
// 2. Add one line to the matching table in form_tables.cpp with a weight
//    (weights are relative; 1 is rare, 10 is common).
// 3. Run `whistler-torture --print SEED` on a few seeds to see it, and
//    `whistler-torture --seed 1 --count 500` to check that it does not
//    introduce compile errors (a form the compiler refuses is either a
//    generator bug or a compiler bug; the summary lists them by message).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sexp.hpp"

namespace whistler::torture {

// What the generator may use besides the language: the kernel decides some of it.
struct GeneratorOptions {
  // xdp-adjust-meta: only when the kernel offers bpf_xdp_adjust_meta to XDP
  // programs (a kernel build choice; see kernel_features.hpp).
  bool adjust_meta = true;
};

struct GeneratedProgram {
  uint64_t seed = 0;
  std::vector<Sexp> forms;             // the top-level forms
  std::vector<std::string> programs;   // Whistler names of the defprogs, in order
  // Calls a helper whose result differs from run to run (ktime, prandom,
  // jiffies, the CPU number): its -O0 and -O2 runs are not compared.
  bool nondeterministic = false;

  std::string text() const { return print_program(forms); }
};

GeneratedProgram generate_program(uint64_t seed, const GeneratorOptions& options = {});

}  // namespace whistler::torture
