#include "line_editor.hpp"

#include <editline/readline.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

namespace whistler {

LineEditor::LineEditor(std::string history_file)
    : history_file_(std::move(history_file)), interactive_(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
  if (!interactive_) return;
  using_history();
  stifle_history(2000);
  if (!history_file_.empty()) read_history(history_file_.c_str());
}

LineEditor::~LineEditor() {
  if (interactive_ && !history_file_.empty()) write_history(history_file_.c_str());
}

bool LineEditor::read_line(const std::string& prompt, std::string& line) {
  if (!interactive_) {
    if (!std::getline(std::cin, line)) return false;
    return true;
  }
  char* raw = readline(prompt.c_str());
  if (!raw) return false;
  line = raw;
  std::free(raw);
  return true;
}

void LineEditor::add_history(const std::string& entry) {
  if (interactive_ && !entry.empty()) ::add_history(entry.c_str());
}

}  // namespace whistler
