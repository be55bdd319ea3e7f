// Cuts REPL input into top-level forms, and tells when the input ends in
// the middle of one (an open parenthesis, string or block comment), so the
// REPL can ask for more lines.
#pragma once

#include <string>
#include <vector>

namespace whistler {

struct SplitResult {
  std::vector<std::string> forms;  // each complete top-level datum, as typed
  std::vector<size_t> offsets;     // where each form starts in the text
  bool incomplete = false;         // the text ends inside a datum
  std::string rest;                // the unfinished datum (when incomplete)
  size_t rest_offset = 0;          // where `rest` starts in the text
};

// Comments between forms are dropped; a stray ')' is returned as a form of
// its own so the reader reports it.
SplitResult split_forms(const std::string& text);

}  // namespace whistler
