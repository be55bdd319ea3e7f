// A failing program as --save writes it (DIR/SEED.lisp): the program text
// after a comment header that says how it failed and how to reproduce it,
// with the frames of a differential mismatch. --reduce reads it back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frame_generator.hpp"
#include "outcome.hpp"

namespace whistler::torture {

struct SavedProgram {
  uint64_t seed = 0;
  bool has_seed = false;
  bool has_outcome = false;
  Outcome outcome;                  // kind, opt_level, category, detail (from the header)
  bool differential = false;        // a mismatch: rerun with the frames below
  std::vector<std::vector<uint8_t>> frames;
  std::string program;              // the Whistler source
};

// The file's text: header (outcome, category, detail, frames, how to
// reproduce, the log's tail) and the program.
std::string format_saved_program(const SavedProgram& saved, const std::string& file_name);
bool read_saved_program(const std::string& path, SavedProgram& out, std::string& error);

// The last `max_lines` lines of `log`.
std::string log_tail(const std::string& log, size_t max_lines);

}  // namespace whistler::torture
