#include "form_splitter.hpp"

#include <cctype>

namespace whistler {

namespace {

bool is_delimiter(char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '(' || c == ')' || c == '"' || c == ';'; }

}  // namespace

SplitResult split_forms(const std::string& text) {
  SplitResult r;
  size_t i = 0, n = text.size();
  size_t start = std::string::npos;  // start of the current datum
  int depth = 0;
  auto finish = [&](size_t end) {
    r.forms.push_back(text.substr(start, end - start));
    r.offsets.push_back(start);
    start = std::string::npos;
  };
  while (i < n) {
    char c = text[i];
    if (c == ';') {
      while (i < n && text[i] != '\n') ++i;
      continue;
    }
    if (c == '#' && i + 1 < n && text[i + 1] == '|') {
      size_t comment_start = i;
      int nest = 1;
      i += 2;
      while (i < n && nest > 0) {
        if (text[i] == '|' && i + 1 < n && text[i + 1] == '#') {
          --nest;
          i += 2;
        } else if (text[i] == '#' && i + 1 < n && text[i + 1] == '|') {
          ++nest;
          i += 2;
        } else {
          ++i;
        }
      }
      if (nest > 0) {
        r.incomplete = true;
        // From the open datum, or from the comment (forms before it are complete).
        r.rest_offset = start == std::string::npos ? comment_start : start;
        r.rest = text.substr(r.rest_offset);
        return r;
      }
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (start == std::string::npos) start = i;
    if (c == '"') {
      ++i;
      while (i < n && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      if (i >= n) {
        r.incomplete = true;
        r.rest = text.substr(start);
        r.rest_offset = start;
        return r;
      }
      ++i;
      if (depth == 0) finish(i);
      continue;
    }
    if (c == '(') {
      ++depth;
      ++i;
      continue;
    }
    if (c == ')') {
      ++i;
      if (depth == 0) {
        finish(i);  // stray: let the reader complain
        continue;
      }
      if (--depth == 0) finish(i);
      continue;
    }
    // Prefixes that belong to the next datum.
    if (c == '\'' || c == '`') {
      ++i;
      continue;
    }
    if (c == ',') {
      i += (i + 1 < n && text[i + 1] == '@') ? 2 : 1;
      continue;
    }
    if (c == '#' && i + 1 < n && (text[i + 1] == '\'' || text[i + 1] == ';')) {
      i += 2;
      continue;
    }
    // An atom.
    while (i < n && !is_delimiter(text[i])) {
      if (text[i] == '\\') ++i;
      ++i;
    }
    if (depth == 0) finish(std::min(i, n));
  }
  if (start != std::string::npos) {
    r.incomplete = true;
    r.rest = text.substr(start);
    r.rest_offset = start;
  }
  return r;
}

}  // namespace whistler
