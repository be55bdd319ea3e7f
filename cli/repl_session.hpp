// The state of a `whistler repl` session: the definitions typed so far (a
// redefinition replaces the earlier form and everything is recompiled from a
// fresh Compilation), the loaded object (maps keep their contents across
// reloads), and the programs the session attached (detached when it ends).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf_object.hpp"
#include "compilation.hpp"
#include "map_view.hpp"
#include "runtime_error.hpp"
#include "xdp_attach.hpp"

namespace whistler {

struct ReplOptions {
  std::vector<std::string> include_dirs;
  bool verbose = false;
};

// Where a form was typed, for the locations of its diagnostics. The default
// ("<repl>", line 1) numbers lines within the form, as a terminal session
// shows them; input read from a pipe or a file (`<stdin>`, --load FILE)
// gives the form's line and column there, so errors point into the file.
struct FormOrigin {
  std::string name = "<repl>";
  int line = 1;
  int column = 1;
  bool relative() const { return name == "<repl>"; }
};

class ReplSession {
 public:
  ReplSession(ReplOptions options, std::ostream& out, std::ostream& err);
  ~ReplSession();
  ReplSession(const ReplSession&) = delete;
  ReplSession& operator=(const ReplSession&) = delete;

  // Evaluates one top-level datum (a definition, a runtime form or a
  // :command). Results go to `out`, errors to `err`; false on an error.
  bool evaluate(const std::string& text, const FormOrigin& origin = {});
  bool quit_requested() const { return quit_; }
  // Detaches what the session attached (persistent attachments stay).
  // Idempotent; false when something could not be detached (and said so).
  bool close();

  static const char* help_text();

 private:
  struct Definition {
    std::string key;   // "defprog drop-9999", or "form TEXT" for other top-level forms
    std::string kind;  // "program", "map", "struct", "function", "macro", "constant", "form"
    std::string name;
    std::string text;
    FormOrigin origin;
  };
  struct SessionAttachment {
    std::string program;                          // Whistler name
    std::unique_ptr<runtime::BpfObject> object;   // only for offload (bound to the device)
    std::unique_ptr<runtime::XdpAttachment> attachment;
  };

  bool command(const std::string& text);
  std::optional<bool> evaluate_expression(Value* form, size_t before);
  bool define(const std::string& text, const FormOrigin& origin, Value* form);
  bool rebuild(std::vector<Definition> defs, size_t changed);
  bool runtime_form(const std::string& head, Value* form);
  runtime::BpfObject* ensure_loaded();

  bool do_load_program(const std::vector<Value*>& args);
  bool do_attach(const std::vector<Value*>& args);
  bool do_detach(const std::vector<Value*>& args);
  bool do_map_get(const std::vector<Value*>& args);
  bool do_map_put(const std::vector<Value*>& args);
  bool do_map_del(const std::vector<Value*>& args);
  bool do_map_dump(const std::vector<Value*>& args);
  bool do_pin(const std::vector<Value*>& args);
  bool do_test_run(const std::vector<Value*>& args);

  bool fail(const std::string& message, const std::string& hint = {});
  bool fail(const runtime::RuntimeError& e);
  void print_new_diagnostics(size_t from, bool errors_only = false);
  const ProgramDef* program_arg(Value* v);
  const MapDef* map_arg(Value* v);
  struct MapArgument {
    const MapDef* def = nullptr;
    std::optional<MapView> view;
  };
  // The map named by `v`, loaded, with its key and value layouts.
  bool map_view_arg(Value* v, MapArgument& out);
  // Array-like maps: the index must be below max-entries.
  bool check_index(const MapArgument& ctx, const std::string& key, const char* form);
  // Keyword arguments after `positional` positional ones; false on a stray argument.
  bool keywords(const std::vector<Value*>& args, size_t positional, const std::vector<std::string>& allowed,
                std::vector<std::pair<std::string, Value*>>& out, const char* form);

  ReplOptions options_;
  std::ostream& out_;
  std::ostream& err_;
  std::vector<Definition> defs_;
  std::unique_ptr<Compilation> compilation_;
  CompileOutput object_;
  uint64_t generation_ = 0;
  std::unique_ptr<runtime::BpfObject> loaded_;
  uint64_t loaded_generation_ = UINT64_MAX;
  std::vector<SessionAttachment> attachments_;
  bool quit_ = false;
  bool closed_ = false;
};

}  // namespace whistler
