// Reading REPL input: libedit line editing and history on a terminal, plain
// lines from a pipe or file (scripts, tests).
#pragma once

#include <string>

namespace whistler {

class LineEditor {
 public:
  // `history_file` is read now and written back by the destructor
  // (interactive sessions only; "" for none).
  explicit LineEditor(std::string history_file);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  bool interactive() const { return interactive_; }
  // False at the end of input.
  bool read_line(const std::string& prompt, std::string& line);
  void add_history(const std::string& entry);

 private:
  std::string history_file_;
  bool interactive_;
};

}  // namespace whistler
