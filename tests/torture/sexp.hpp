// S-expressions as the torture tool handles them: the generator builds
// programs as trees of these, the printer lays them out as Whistler source,
// and the reducer reads a saved program back, edits the tree and prints it
// again. Deliberately separate from the compiler's Value: no heap, no
// interning, and every atom keeps its exact spelling (#x1F stays #x1F).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace whistler::torture {

struct Sexp {
  enum class Kind { Atom, String, List };

  Kind kind = Kind::List;
  std::string text;          // the atom's spelling, or the string's contents (unescaped)
  std::vector<Sexp> items;   // a list's elements

  Sexp() = default;
  Sexp(const char* atom_text) : kind(Kind::Atom), text(atom_text) {}
  Sexp(std::string atom_text) : kind(Kind::Atom), text(std::move(atom_text)) {}
  Sexp(std::initializer_list<Sexp> elements) : kind(Kind::List), items(elements) {}

  static Sexp list(std::vector<Sexp> elements);
  static Sexp string(std::string contents);
  static Sexp number(int64_t value);
  static Sexp hex(uint64_t value);  // #x1f

  bool is_atom() const { return kind == Kind::Atom; }
  bool is_list() const { return kind == Kind::List; }
  bool is_string() const { return kind == Kind::String; }
  // A list whose first element is the atom `name`.
  bool head_is(const char* name) const;
  const std::string& head() const;  // "" unless the first element is an atom
  size_t size() const { return items.size(); }
  // Number of nodes in the tree (for the reducer's progress).
  size_t node_count() const;

  bool operator==(const Sexp& other) const;
  bool operator!=(const Sexp& other) const { return !(*this == other); }
};

// (head a b ...) followed by the elements of `rest`: bodies are spliced in.
Sexp splice(Sexp list, const std::vector<Sexp>& rest);

// One line.
std::string print_compact(const Sexp& s);
// Indented to fit `width` columns where it can: a list that does not fit puts
// each element after the first on its own line.
std::string print_pretty(const Sexp& s, size_t width = 100);
// Every form, pretty, separated by blank lines.
std::string print_program(const std::vector<Sexp>& forms);

// Reads every form of `text`, skipping comments (`;`, `#| |#`, `#;`).
// 'x `x ,x ,@x #'x become (quote x) (quasiquote x) (unquote x)
// (unquote-splicing x) (function x); the printer writes them back as
// shorthand. False with `error` set on unbalanced input.
bool parse_sexps(const std::string& text, std::vector<Sexp>& forms, std::string& error);

}  // namespace whistler::torture
