// "Did you mean ...?" hints for misspelled names.
#pragma once

#include <string>
#include <vector>

namespace whistler {

// Returns "did you mean 'x'?" for the closest candidate within a small edit
// distance of `name`, or an empty string.
std::string suggestion(const std::string& name, const std::vector<std::string>& candidates);

}  // namespace whistler
