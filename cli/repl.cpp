#include "repl.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include "exit_codes.hpp"
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

}  // namespace

int repl_command(const ReplArgs& args) {
  LineEditor editor(args.history_file.empty() ? default_history_file() : args.history_file);
  ReplOptions options;
  options.include_dirs = args.include_dirs;
  options.verbose = args.verbose;
  ReplSession session(options, std::cout, std::cerr);
  install_termination_handlers();
  bool any_error = false;

  for (const auto& file : args.load_files) {
    std::ifstream in(file);
    if (!in) {
      std::cerr << fmt::format("error: cannot read '{}': {}\n", file, std::strerror(errno));
      any_error = true;
      continue;
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SplitResult split = split_forms(text);
    for (const auto& f : split.forms) any_error |= !session.evaluate(f);
    if (split.incomplete) {
      std::cerr << fmt::format("error: {} ends inside a form: {}\n", file, split.rest.substr(0, 60));
      any_error = true;
    }
  }

  if (editor.interactive())
    std::cout << fmt::format("Whistler {} REPL. :help lists the forms, :quit (or Ctrl-D) ends the session.\n", WHISTLER_VERSION);
  std::string buffer;
  std::string line;
  while (!session.quit_requested()) {
    const char* prompt = buffer.empty() ? "whistler> " : "     ...> ";
    if (!editor.read_line(prompt, line)) {
      if (termination_requested() && termination_signal() == SIGINT && editor.interactive()) break;
      break;  // end of input
    }
    if (termination_requested()) {
      if (termination_signal() != SIGINT || !editor.interactive()) break;
      // Ctrl-C at the prompt drops the unfinished form.
      install_termination_handlers();
      buffer.clear();
      std::cout << "; input discarded\n";
      continue;
    }
    buffer += line;
    buffer += '\n';
    SplitResult split = split_forms(buffer);
    if (split.incomplete && split.forms.empty()) continue;
    editor.add_history(buffer.substr(0, buffer.size() - 1));
    for (const auto& form : split.forms) {
      bool ok = false;
      try {
        ok = session.evaluate(form);
      } catch (const std::exception& e) {
        std::cerr << "error: internal error: " << e.what() << "\n";
      } catch (const AbortForm&) {
        std::cerr << "error: the form was abandoned\n";
      }
      any_error |= !ok;
      std::cout.flush();
      if (session.quit_requested()) break;
    }
    buffer = split.incomplete ? split.rest + "\n" : std::string();
  }
  if (!buffer.empty() && !session.quit_requested()) {
    std::cerr << fmt::format("error: the input ended inside a form: {}\n", buffer.substr(0, 60));
    any_error = true;
  }
  session.close();
  restore_termination_handlers();
  if (editor.interactive()) return kExitOk;
  return any_error ? kExitProgramErrors : kExitOk;
}

}  // namespace whistler
