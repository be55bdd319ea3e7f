#include "suggest.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace whistler {

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string suggestion(const std::string& name, const std::vector<std::string>& candidates) {
  size_t best = SIZE_MAX;
  const std::string* choice = nullptr;
  size_t limit = std::max<size_t>(1, name.size() / 3);
  for (const auto& c : candidates) {
    if (c == name || c.empty() || c[0] == '%') continue;
    size_t d = edit_distance(name, c);
    if (d <= limit && d < best) {
      best = d;
      choice = &c;
    }
  }
  return choice ? fmt::format("did you mean '{}'?", *choice) : std::string();
}

}  // namespace whistler
