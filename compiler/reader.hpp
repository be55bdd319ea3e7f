// The reader: Whistler source text to located S-expressions.
#pragma once

#include <optional>
#include <vector>

#include "diagnostics.hpp"
#include "value.hpp"

namespace whistler {

class Reader {
 public:
  Reader(Heap& heap, Diagnostics& diags, uint32_t file);

  // The next datum, or nullptr at end of input or after a syntax error that
  // ends reading (the error is reported). Runs on the large stack
  // (large_stack.hpp), whatever thread calls it.
  Value* read();
  // Every top-level datum of the file. Syntax errors are reported; reading
  // stops at the first one that cannot be recovered from.
  std::vector<Value*> read_all();

 private:
  struct Pos {
    size_t offset;
    uint32_t line;
    uint32_t col;
  };
  Value* read_here();
  SourceLoc loc_at(const Pos& p) const { return SourceLoc{file_, p.line, p.col}; }
  SourceLoc here() const { return loc_at(pos_); }
  bool at_end() const { return pos_.offset >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_.offset + ahead < text_.size() ? text_[pos_.offset + ahead] : '\0';
  }
  char advance();
  // Skips whitespace and comments; false if a block comment is unterminated.
  bool skip_atmosphere();
  Value* read_datum();
  Value* read_list(const Pos& open);
  Value* read_string(const Pos& open);
  Value* read_dispatch(const Pos& start);
  Value* read_atom(const Pos& start);
  std::string read_token();
  Value* parse_token(const std::string& token, const Pos& start);
  std::optional<uint64_t> parse_digits(std::string_view digits, int base, bool& overflow) const;
  Value* wrap(const char* head, Value* datum, const Pos& start);
  // Reads the datum after a prefix (' ` , ,@ #') and wraps it as (HEAD datum).
  Value* read_wrapped(const char* head, const Pos& start);
  // One more level of nesting (prefixes, #;), limited like lists.
  void enter(const Pos& start);
  [[noreturn]] void fail(SourceLoc loc, std::string message, std::string hint = {});

  Heap& heap_;
  Diagnostics& diags_;
  uint32_t file_;
  const std::string& text_;
  Pos pos_{0, 1, 1};
  bool stopped_ = false;
  int depth_ = 0;  // list nesting, limited so hostile input cannot exhaust the stack
};

// Convenience: read every form of a registered source file.
std::vector<Value*> read_source(Heap& heap, Diagnostics& diags, uint32_t file);

}  // namespace whistler
