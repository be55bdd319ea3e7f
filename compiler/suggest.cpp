#include "suggest.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace whistler {

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and
// transpositions of neighbours ("cuont" is one step from "count") cost 1.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
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
