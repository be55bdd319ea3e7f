#include "sexp.hpp"

#include <cctype>
#include <cstdio>

namespace whistler::torture {

Sexp Sexp::list(std::vector<Sexp> elements) {
  Sexp s;
  s.kind = Kind::List;
  s.items = std::move(elements);
  return s;
}

Sexp Sexp::string(std::string contents) {
  Sexp s;
  s.kind = Kind::String;
  s.text = std::move(contents);
  return s;
}

Sexp Sexp::number(int64_t value) { return Sexp(std::to_string(value)); }

Sexp Sexp::hex(uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "#x%llx", static_cast<unsigned long long>(value));
  return Sexp(std::string(buf));
}

bool Sexp::head_is(const char* name) const {
  return kind == Kind::List && !items.empty() && items[0].kind == Kind::Atom && items[0].text == name;
}

const std::string& Sexp::head() const {
  static const std::string none;
  return kind == Kind::List && !items.empty() && items[0].kind == Kind::Atom ? items[0].text : none;
}

size_t Sexp::node_count() const {
  size_t n = 1;
  for (const auto& i : items) n += i.node_count();
  return n;
}

bool Sexp::operator==(const Sexp& other) const {
  return kind == other.kind && text == other.text && items == other.items;
}

Sexp splice(Sexp list, const std::vector<Sexp>& rest) {
  list.items.insert(list.items.end(), rest.begin(), rest.end());
  return list;
}

namespace {

const char* shorthand(const Sexp& s) {
  if (!s.is_list() || s.items.size() != 2) return nullptr;
  const std::string& h = s.head();
  if (h == "quote") return "'";
  if (h == "quasiquote") return "`";
  if (h == "unquote") return ",";
  if (h == "unquote-splicing") return ",@";
  if (h == "function") return "#'";
  return nullptr;
}

void escape_string(const std::string& text, std::string& out) {
  out += '"';
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '\0': out += "\\0"; break;
      default: out += c;
    }
  }
  out += '"';
}

void compact(const Sexp& s, std::string& out) {
  switch (s.kind) {
    case Sexp::Kind::Atom: out += s.text; return;
    case Sexp::Kind::String: escape_string(s.text, out); return;
    case Sexp::Kind::List: break;
  }
  if (const char* prefix = shorthand(s)) {
    out += prefix;
    compact(s.items[1], out);
    return;
  }
  out += '(';
  for (size_t i = 0; i < s.items.size(); ++i) {
    if (i) out += ' ';
    compact(s.items[i], out);
  }
  out += ')';
}

void pretty(const Sexp& s, size_t indent, size_t width, std::string& out) {
  std::string flat = print_compact(s);
  if (!s.is_list() || s.items.empty() || indent + flat.size() <= width) {
    out += flat;
    return;
  }
  if (const char* prefix = shorthand(s)) {
    out += prefix;
    pretty(s.items[1], indent + std::string(prefix).size(), width, out);
    return;
  }
  out += '(';
  size_t i = 0;
  size_t child_indent = indent + 1;
  if (s.items[0].is_atom()) {
    // (head atoms... first
    //   rest...)
    out += s.items[0].text;
    child_indent = indent + 2;
    size_t column = indent + 1 + s.items[0].text.size();
    i = 1;
    while (i < s.items.size() && !s.items[i].is_list()) {
      std::string word = print_compact(s.items[i]);
      if (column + 1 + word.size() > width) break;
      out += ' ' + word;
      column += 1 + word.size();
      ++i;
    }
    if (i < s.items.size() && (i == 1 || column + 1 + print_compact(s.items[i]).size() <= width)) {
      out += ' ';
      pretty(s.items[i], column + 1, width, out);
      ++i;
    }
  } else {
    // ((a 1)
    //  (b 2))
    pretty(s.items[0], indent + 1, width, out);
    i = 1;
  }
  for (; i < s.items.size(); ++i) {
    out += '\n';
    out.append(child_indent, ' ');
    pretty(s.items[i], child_indent, width, out);
  }
  out += ')';
}

class Parser {
 public:
  explicit Parser(const std::string& text) : text_(text) {}

  bool parse_all(std::vector<Sexp>& forms, std::string& error) {
    while (true) {
      if (!skip_space(error)) return false;
      if (pos_ >= text_.size()) return true;
      if (text_[pos_] == ')') {
        error = where() + "unexpected ')'";
        return false;
      }
      Sexp s;
      if (!parse(s, error)) return false;
      forms.push_back(std::move(s));
    }
  }

 private:
  std::string where() const {
    size_t line = 1;
    for (size_t i = 0; i < pos_ && i < text_.size(); ++i) line += text_[i] == '\n';
    return "line " + std::to_string(line) + ": ";
  }

  static bool delimiter(char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '(' || c == ')' || c == '"' || c == ';';
  }

  // Whitespace and comments, including #; datum comments.
  bool skip_space(std::string& error) {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == ';') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (c == '#' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '|') {
        int depth = 0;
        while (pos_ < text_.size()) {
          if (text_.compare(pos_, 2, "#|") == 0) {
            ++depth;
            pos_ += 2;
          } else if (text_.compare(pos_, 2, "|#") == 0) {
            pos_ += 2;
            if (--depth == 0) break;
          } else {
            ++pos_;
          }
        }
        if (depth != 0) {
          error = where() + "unterminated #| comment";
          return false;
        }
      } else if (c == '#' && pos_ + 1 < text_.size() && text_[pos_ + 1] == ';') {
        pos_ += 2;
        Sexp ignored;
        if (!skip_space(error) || !parse(ignored, error)) return false;
      } else {
        return true;
      }
    }
    return true;
  }

  bool parse(Sexp& out, std::string& error) {
    if (!skip_space(error)) return false;
    if (pos_ >= text_.size()) {
      error = where() + "unexpected end of input";
      return false;
    }
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      out = Sexp::list({});
      while (true) {
        if (!skip_space(error)) return false;
        if (pos_ >= text_.size()) {
          error = where() + "missing ')'";
          return false;
        }
        if (text_[pos_] == ')') {
          ++pos_;
          return true;
        }
        Sexp item;
        if (!parse(item, error)) return false;
        out.items.push_back(std::move(item));
      }
    }
    if (c == '"') return parse_string(out, error);
    const char* wrapper = nullptr;
    if (c == '\'') wrapper = "quote", pos_ += 1;
    else if (c == '`') wrapper = "quasiquote", pos_ += 1;
    else if (c == ',' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '@') wrapper = "unquote-splicing", pos_ += 2;
    else if (c == ',') wrapper = "unquote", pos_ += 1;
    else if (c == '#' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\'') wrapper = "function", pos_ += 2;
    if (wrapper) {
      Sexp inner;
      if (!parse(inner, error)) return false;
      out = Sexp{Sexp(wrapper), std::move(inner)};
      return true;
    }
    return parse_atom(out, error);
  }

  bool parse_string(Sexp& out, std::string& error) {
    ++pos_;
    std::string s;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        char e = text_[pos_++];
        switch (e) {
          case 'n': s += '\n'; break;
          case 't': s += '\t'; break;
          case 'r': s += '\r'; break;
          case '0': s += '\0'; break;
          default: s += e;
        }
      } else {
        s += c;
      }
    }
    if (pos_ >= text_.size()) {
      error = where() + "unterminated string";
      return false;
    }
    ++pos_;
    out = Sexp::string(std::move(s));
    return true;
  }

  bool parse_atom(Sexp& out, std::string& error) {
    size_t start = pos_;
    if (text_.compare(pos_, 2, "#\\") == 0) pos_ += 3;  // #\( is a character, not a paren
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '|') {  // |Mixed Case| symbols keep spaces and case
        ++pos_;
        while (pos_ < text_.size() && text_[pos_] != '|') ++pos_;
        if (pos_ < text_.size()) ++pos_;
        continue;
      }
      if (delimiter(c)) break;
      ++pos_;
    }
    if (pos_ == start) {
      error = where() + "unexpected character";
      return false;
    }
    out = Sexp(text_.substr(start, pos_ - start));
    return true;
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

std::string print_compact(const Sexp& s) {
  std::string out;
  compact(s, out);
  return out;
}

std::string print_pretty(const Sexp& s, size_t width) {
  std::string out;
  pretty(s, 0, width, out);
  return out;
}

std::string print_program(const std::vector<Sexp>& forms) {
  std::string out;
  for (size_t i = 0; i < forms.size(); ++i) {
    if (i) out += '\n';
    out += print_pretty(forms[i]);
    out += '\n';
  }
  return out;
}

bool parse_sexps(const std::string& text, std::vector<Sexp>& forms, std::string& error) {
  Parser parser(text);
  return parser.parse_all(forms, error);
}

}  // namespace whistler::torture
