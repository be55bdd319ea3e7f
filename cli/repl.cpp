#include "repl.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "exit_codes.hpp"
#include "file_io.hpp"
#include "form_splitter.hpp"
#include "line_editor.hpp"
#include "repl_session.hpp"
#include "termination_signals.hpp"

#ifndef WHISTLER_VERSION
#define WHISTLER_VERSION "0.0.0"
#endif

namespace whistler {

namespace {

std::string default_history_file() {
  const char* home = std::getenv("HOME");
  return home && *home ? std::string(home) + "/.whistler_history" : std::string();
}

// The position of `offset` in `text`, whose first character is at `start`.
FormOrigin origin_at(const std::string& text, size_t offset, const FormOrigin& start) {
  FormOrigin o = start;
  size_t line_start = std::string::npos;
  for (size_t i = 0; i < offset && i < text.size(); ++i)
    if (text[i] == '\n') {
      ++o.line;
      line_start = i + 1;
    }
  o.column = line_start == std::string::npos ? start.column + static_cast<int>(offset)
                                             : static_cast<int>(offset - line_start) + 1;
  return o;
}

}  // namespace

int repl_command(const ReplArgs& args) {
  LineEditor editor(args.history_file.empty() ? default_history_file() : args.history_file);
  ReplOptions options;
  options.include_dirs = args.include_dirs;
  options.verbose = args.verbose;
  ReplSession session(options, std::cout, std::cerr);
  install_termination_handlers();
  bool any_error = false;
  // Errors never end the session: not even an unexpected exception.
  auto evaluate = [&](const std::string& form, const FormOrigin& origin) {
    bool ok = false;
    try {
      ok = session.evaluate(form, origin);
    } catch (const std::exception& e) {
      std::cerr << "error: internal error: " << e.what() << "\n";
    } catch (const AbortForm&) {
      std::cerr << "error: the form was abandoned\n";
    }
    any_error |= !ok;
    std::cout.flush();
    std::cerr.flush();
  };

  for (const auto& file : args.load_files) {
    FileContents contents = read_file(file, kMaxSourceBytes);
    if (!contents.ok()) {
      std::cerr << fmt::format("{}: error: cannot read: {}\n", file, contents.reason);
      any_error = true;
      continue;
    }
    const std::string& text = contents.bytes;
    SplitResult split = split_forms(text);
    FormOrigin start;
    start.name = file;
    for (size_t i = 0; i < split.forms.size(); ++i)
      evaluate(split.forms[i], origin_at(text, split.offsets[i], start));
    if (split.incomplete) {
      FormOrigin at = origin_at(text, split.rest_offset, start);
      std::string excerpt = split.rest.substr(0, std::min<size_t>(split.rest.find('\n'), 60));
      std::cerr << fmt::format("{}:{}:{}: error: the file ends inside this form: {}\n", file, at.line, at.column, excerpt);
      any_error = true;
    }
  }

  if (editor.interactive())
    std::cout << fmt::format("Whistler {} REPL. :help lists the forms, :quit (or Ctrl-D) ends the session.\n", WHISTLER_VERSION);
  std::string buffer;
  std::string line;
  // Piped input: diagnostics give the line and column in it.
  FormOrigin buffer_start;
  if (!editor.interactive()) buffer_start.name = "<stdin>";
  int lines_read = 0;
  // Ctrl-C at a terminal drops the unfinished form (or interrupts the form
  // running) and the session goes on; SIGTERM, SIGHUP, and any of them on
  // piped input, end it (detaching what it attached).
  auto interrupted_at_terminal = [&] {
    if (!termination_requested() || termination_signal() != SIGINT || !editor.interactive()) return false;
    install_termination_handlers();  // clears the request
    return true;
  };
  // Standard input redirected from a directory reads as an empty file
  // through std::cin: say so instead of ending quietly.
  struct stat in_stat;
  bool stdin_is_directory = !editor.interactive() && fstat(STDIN_FILENO, &in_stat) == 0 && S_ISDIR(in_stat.st_mode);
  if (stdin_is_directory) {
    std::cerr << "<stdin>: error: cannot read: Is a directory\n";
    any_error = true;
  }
  while (!stdin_is_directory && !session.quit_requested()) {
    if (termination_requested() && !interrupted_at_terminal()) break;
    const char* prompt = buffer.empty() ? "whistler> " : "     ...> ";
    bool got = editor.read_line(prompt, line);
    if (interrupted_at_terminal()) {
      if (!buffer.empty()) std::cout << "; input discarded\n";
      std::cout.flush();
      buffer.clear();
      continue;
    }
    if (termination_requested() || !got) break;  // a signal, or the end of input
    if (buffer.empty() && !editor.interactive()) {
      buffer_start.line = lines_read + 1;
      buffer_start.column = 1;
    }
    ++lines_read;
    buffer += line;
    buffer += '\n';
    SplitResult split = split_forms(buffer);
    if (split.incomplete && split.forms.empty()) continue;
    editor.add_history(buffer.substr(0, buffer.size() - 1));
    for (size_t i = 0; i < split.forms.size(); ++i) {
      evaluate(split.forms[i], editor.interactive() ? FormOrigin{} : origin_at(buffer, split.offsets[i], buffer_start));
      if (session.quit_requested() || termination_requested()) break;
    }
    if (interrupted_at_terminal()) {
      std::cout << "; interrupted\n";
      std::cout.flush();
      buffer.clear();
      continue;
    }
    if (split.incomplete) {
      if (!editor.interactive()) buffer_start = origin_at(buffer, split.rest_offset, buffer_start);
      buffer = buffer.substr(split.rest_offset);
    } else {
      buffer.clear();
    }
  }
  if (!buffer.empty() && !session.quit_requested() && !termination_requested()) {
    std::cerr << fmt::format("error: the input ended inside a form: {}\n", buffer.substr(0, 60));
    any_error = true;
  }
  // Something the session attached that stays attached is worth an exit status of its own.
  bool detached = session.close();
  restore_termination_handlers();
  if (!detached) return kExitRefused;
  if (editor.interactive()) return kExitOk;
  return any_error ? kExitProgramErrors : kExitOk;
}

}  // namespace whistler
