#include "reader.hpp"

#include "large_stack.hpp"

#include <fmt/format.h>

#include <cctype>
#include <limits>

namespace whistler {

namespace {

// Thrown inside the reader after a syntax error has been reported.
struct ReadFailure {
  ReadFailure() noexcept { prepare_to_unwind(); }  // may unwind deep nesting (large_stack.hpp)
};

constexpr int kMaxNesting = 10000;

bool is_delimiter(char c) {
  return c == '\0' || std::isspace(static_cast<unsigned char>(c)) || c == '(' || c == ')' || c == '"' ||
         c == ';' || c == '\'' || c == '`' || c == ',';
}

// Common Lisp float or ratio syntax (after an optional sign): 1.5 .5 1e5 1.5d0 3/4.
// "10." is not one: it is the integer ten.
bool is_float_or_ratio(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  auto digits = [&]() {
    size_t start = i;
    while (i < n && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    return i - start;
  };
  size_t whole = digits();
  if (i < n && s[i] == '/') {
    ++i;
    size_t denominator = digits();
    return whole > 0 && denominator > 0 && i == n;
  }
  size_t fraction = 0;
  bool dot = false;
  if (i < n && s[i] == '.') {
    dot = true;
    ++i;
    fraction = digits();
  }
  if (whole == 0 && fraction == 0) return false;
  bool exponent = false;
  if (i < n && std::string_view("esfdlESFDL").find(s[i]) != std::string_view::npos) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
    exponent = true;
  }
  return i == n && (exponent || (dot && fraction > 0));
}

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Reader::Reader(Heap& heap, Diagnostics& diags, uint32_t file)
    : heap_(heap), diags_(diags), file_(file), text_(diags.sources().file(file).text()) {}

char Reader::advance() {
  char c = text_[pos_.offset++];
  if (c == '\n') {
    ++pos_.line;
    pos_.col = 1;
  } else {
    ++pos_.col;
  }
  return c;
}

void Reader::fail(SourceLoc loc, std::string message, std::string hint) {
  diags_.error(loc, std::move(message)).hint = std::move(hint);
  throw ReadFailure{};
}

bool Reader::skip_atmosphere() {
  for (;;) {
    while (!at_end() && std::isspace(static_cast<unsigned char>(peek()))) advance();
    if (at_end()) return true;
    if (peek() == ';') {
      while (!at_end() && peek() != '\n') advance();
      continue;
    }
    if (peek() == '#' && peek(1) == '|') {
      Pos open = pos_;
      advance();
      advance();
      int depth = 1;
      while (depth > 0) {
        if (at_end()) fail(loc_at(open), "unterminated block comment '#|'", "close it with '|#'");
        if (peek() == '|' && peek(1) == '#') {
          advance();
          advance();
          --depth;
        } else if (peek() == '#' && peek(1) == '|') {
          advance();
          advance();
          ++depth;
        } else {
          advance();
        }
      }
      continue;
    }
    if (peek() == '#' && peek(1) == ';') {
      Pos start = pos_;
      advance();
      advance();
      enter(start);
      skip_atmosphere();
      if (at_end()) fail(loc_at(start), "'#;' at end of input has no datum to comment out");
      read_datum();  // discarded
      --depth_;
      continue;
    }
    return true;
  }
}

// The reader recurses once per nesting level, up to kMaxNesting levels, and
// is called outside the compiler's large-stack thread too (the REPL, -D
// values, tests). 10,000 levels take 3.4 MiB of stack in a release build
// (353 bytes a level) but 26 MiB under ASan (2,737 bytes a level, gcc 12),
// more than a main thread's 8 MiB. So it moves to the large stack itself (in
// place when already there, as in a compilation; otherwise one thread per
// call, about 0.1 ms).
Value* Reader::read() {
  Value* form = nullptr;
  run_with_large_stack([&] { form = read_here(); });
  return form;
}

Value* Reader::read_here() {
  if (stopped_) return nullptr;
  try {
    for (;;) {
      skip_atmosphere();
      if (at_end()) return nullptr;
      if (peek() == ')') {
        diags_.error(here(), "unexpected ')'").hint = "remove it, or add the '(' it was meant to close";
        advance();
        continue;
      }
      return read_datum();
    }
  } catch (const ReadFailure&) {
    stopped_ = true;
    return nullptr;
  }
}

std::vector<Value*> Reader::read_all() {
  std::vector<Value*> forms;
  run_with_large_stack([&] {
    while (Value* v = read_here()) forms.push_back(v);
  });
  return forms;
}

void Reader::enter(const Pos& start) {
  if (++depth_ > kMaxNesting)
    fail(loc_at(start), fmt::format("forms nested more than {} deep", kMaxNesting), "is a ')' missing somewhere above?");
}

Value* Reader::read_wrapped(const char* head, const Pos& start) {
  enter(start);
  Value* datum = read_datum();
  --depth_;
  return wrap(head, datum, start);
}

Value* Reader::wrap(const char* head, Value* datum, const Pos& start) {
  SourceLoc loc = loc_at(start);
  return heap_.cons(heap_.symbol(intern(head), loc), heap_.cons(datum, heap_.nil(), loc), loc);
}

Value* Reader::read_datum() {
  skip_atmosphere();
  Pos start = pos_;
  if (at_end()) fail(here(), "unexpected end of input");
  char c = peek();
  switch (c) {
    case '(': {
      advance();
      if (++depth_ > kMaxNesting)
        fail(loc_at(start), fmt::format("lists nested more than {} deep", kMaxNesting), "is a ')' missing somewhere above?");
      Value* list = read_list(start);
      --depth_;
      return list;
    }
    case ')':
      fail(here(), "unexpected ')'");
    case '"':
      advance();
      return read_string(start);
    case '\'':
      advance();
      return read_wrapped("quote", start);
    case '`':
      advance();
      return read_wrapped("quasiquote", start);
    case ',':
      advance();
      if (peek() == '@') {
        advance();
        return read_wrapped("unquote-splicing", start);
      }
      return read_wrapped("unquote", start);
    case '#':
      return read_dispatch(start);
    default:
      return read_atom(start);
  }
}

Value* Reader::read_list(const Pos& open) {
  std::vector<Value*> elements;
  Value* tail = nullptr;
  for (;;) {
    skip_atmosphere();
    if (at_end())
      fail(loc_at(open), "unterminated list: missing ')'", "this '(' is never closed");
    if (peek() == ')') {
      advance();
      break;
    }
    if (peek() == '.' && is_delimiter(peek(1))) {
      Pos dot = pos_;
      advance();
      if (elements.empty()) fail(loc_at(dot), "'.' with nothing before it in a list");
      tail = read_datum();
      skip_atmosphere();
      if (peek() != ')') fail(here(), "expected ')' after the datum following '.'");
      advance();
      break;
    }
    elements.push_back(read_datum());
  }
  if (elements.empty()) return heap_.nil_at(loc_at(open));
  SourceLoc loc = loc_at(open);
  Value* result = tail ? tail : heap_.nil();
  for (auto it = elements.rbegin(); it != elements.rend(); ++it) result = heap_.cons(*it, result, loc);
  return result;
}

Value* Reader::read_string(const Pos& open) {
  std::string s;
  for (;;) {
    if (at_end()) fail(loc_at(open), "unterminated string", "add the closing '\"'");
    char c = advance();
    if (c == '"') break;
    if (c == '\\') {
      if (at_end()) fail(loc_at(open), "unterminated string", "add the closing '\"'");
      char e = advance();
      switch (e) {
        case 'n': s += '\n'; break;
        case 't': s += '\t'; break;
        case 'r': s += '\r'; break;
        case '0': s += '\0'; break;
        default: s += e; break;  // \" \\ and, as in Common Lisp, any other escaped character
      }
      continue;
    }
    s += c;
  }
  return heap_.string(std::move(s), loc_at(open));
}

Value* Reader::read_dispatch(const Pos& start) {
  advance();  // '#'
  char c = peek();
  switch (std::tolower(static_cast<unsigned char>(c))) {
    case '\'':
      advance();
      return read_wrapped("function", start);
    case ':': {  // uninterned symbol: read as an ordinary symbol
      advance();
      std::string token = read_token();
      if (token.empty()) fail(loc_at(start), "'#:' must be followed by a symbol name");
      return heap_.symbol(intern(lowercase(token)), loc_at(start));
    }
    case 'x':
    case 'b':
    case 'o': {
      advance();
      int base = std::tolower(static_cast<unsigned char>(c)) == 'x' ? 16 : std::tolower(static_cast<unsigned char>(c)) == 'b' ? 2 : 8;
      std::string token = read_token();
      bool negative = false;
      std::string_view digits = token;
      if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
        negative = digits[0] == '-';
        digits.remove_prefix(1);
      }
      bool overflow = false;
      auto value = parse_digits(digits, base, overflow);
      if (overflow) fail(loc_at(start), fmt::format("integer #{}{} does not fit in 64 bits", c, token));
      if (!value)
        fail(loc_at(start), fmt::format("malformed integer '#{}{}'", c, token),
             base == 16 ? "hexadecimal digits are 0-9 and a-f" : base == 2 ? "binary digits are 0 and 1" : "octal digits are 0-7");
      uint64_t v = *value;
      if (negative && v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1)
        fail(loc_at(start), fmt::format("integer #{}{} does not fit in 64 bits", c, token));
      return heap_.integer(negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v), loc_at(start));
    }
    case '\\': {  // character: its code as an integer
      advance();
      if (at_end()) fail(loc_at(start), "'#\\' at end of input");
      std::string token(1, advance());
      while (!is_delimiter(peek())) token += advance();
      if (token.size() == 1) return heap_.integer(static_cast<unsigned char>(token[0]), loc_at(start));
      std::string name = lowercase(token);
      if (name == "space") return heap_.integer(' ', loc_at(start));
      if (name == "newline") return heap_.integer('\n', loc_at(start));
      if (name == "tab") return heap_.integer('\t', loc_at(start));
      if (name == "nul" || name == "null") return heap_.integer(0, loc_at(start));
      fail(loc_at(start), fmt::format("unknown character name '#\\{}'", token));
    }
    default:
      fail(loc_at(start), fmt::format("unknown reader syntax '#{}'", c == '\0' ? std::string() : std::string(1, c)),
           "Whistler reads #x #b #o integers, #'function, #:symbol, #\\char, #| |# and #; comments");
  }
}

std::string Reader::read_token() {
  std::string token;
  while (!at_end() && !is_delimiter(peek())) {
    char c = advance();
    if (c == '|') {  // |Escaped Symbol| keeps its case
      SourceLoc bar{file_, pos_.line, pos_.col - 1};
      while (!at_end() && peek() != '|') token += advance();
      if (at_end()) fail(bar, "unterminated '|' in symbol", "close it with '|'");
      advance();
      continue;
    }
    token += c;
  }
  return token;
}

std::optional<uint64_t> Reader::parse_digits(std::string_view digits, int base, bool& overflow) const {
  if (digits.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char ch : digits) {
    if (ch == '_') continue;
    int d;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    else return std::nullopt;
    if (d >= base) return std::nullopt;
    if (v > (std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      overflow = true;
      return std::nullopt;
    }
    v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  return v;
}

Value* Reader::read_atom(const Pos& start) {
  bool escaped = peek() == '|';
  std::string token = read_token();
  if (token.empty()) {  // only a NUL byte gets here: every other delimiter is handled by the caller
    unsigned char c = static_cast<unsigned char>(peek());
    fail(loc_at(start), std::isprint(c) ? fmt::format("unexpected character '{}'", static_cast<char>(c))
                                        : fmt::format("unexpected byte 0x{:02x}", c));
  }
  if (escaped) return heap_.symbol(intern(token), loc_at(start));
  return parse_token(token, start);
}

Value* Reader::parse_token(const std::string& token, const Pos& start) {
  SourceLoc loc = loc_at(start);
  std::string_view body = token;
  bool negative = false;
  if (body.size() > 1 && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (is_float_or_ratio(body)) fail(loc, fmt::format("'{}' is not an integer: BPF programs have integers only", token));
  bool starts_numeric = !body.empty() && std::isdigit(static_cast<unsigned char>(body[0]));
  if (starts_numeric) {
    int base = 10;
    std::string_view digits = body;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) {
      base = 16;
      digits.remove_prefix(2);
    } else if (digits.size() > 1 && digits.back() == '.') {
      digits.remove_suffix(1);  // CL: "10." is decimal ten
    }
    bool overflow = false;
    auto value = parse_digits(digits, base, overflow);
    if (overflow) fail(loc, fmt::format("integer {} does not fit in 64 bits", token));
    if (value) {
      uint64_t v = *value;
      if (negative && v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1)
        fail(loc, fmt::format("integer {} does not fit in 64 bits", token));
      return heap_.integer(negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v), loc);
    }
    if (body.find('.') != std::string_view::npos || body.find('/') != std::string_view::npos) {
      bool all_numeric = true;
      for (char ch : body)
        if (!std::isdigit(static_cast<unsigned char>(ch)) && ch != '.' && ch != '/' && ch != 'e' && ch != 'E') all_numeric = false;
      if (all_numeric) fail(loc, fmt::format("'{}' is not an integer: BPF programs have integers only", token));
    }
  }
  return heap_.symbol(intern(lowercase(token)), loc);
}

std::vector<Value*> read_source(Heap& heap, Diagnostics& diags, uint32_t file) {
  Reader reader(heap, diags, file);
  return reader.read_all();
}

}  // namespace whistler
