#include "repl_session.hpp"

#include "large_stack.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <ostream>
#include <regex>

#include "error_report.hpp"
#include "interfaces.hpp"
#include "pins.hpp"
#include "program_build.hpp"
#include "reader.hpp"
#include "repl_values.hpp"
#include "test_run.hpp"
#include "verdict_counts.hpp"

namespace whistler {

namespace {

const char* const kRuntimeForms[] = {"load-program", "attach-xdp", "detach-xdp", "map-get", "map-put",
                                     "map-del",      "map-dump",   "pin",        "test-run"};

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return {};
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

std::string definition_kind(const std::string& head) {
  if (head == "defprog") return "program";
  if (head == "defmap") return "map";
  if (head == "defstruct") return "struct";
  if (head == "defheader") return "header";
  if (head == "defun") return "function";
  if (head == "defmacro") return "macro";
  if (head == "defconstant" || head == "defparameter" || head == "defvar") return "constant";
  return "form";
}

// Heads that start a definition (or a form the expander handles at top
// level); anything else headed by a symbol is an expression to evaluate.
bool is_expression_head(const std::string& head) {
  static const char* const kTopLevel[] = {"defprog", "defmap",  "defstruct", "defheader", "defun",
                                          "defmacro", "defconstant", "defparameter", "defvar", "include",
                                          "progn",   "in-package", "eval-when", "declaim"};
  for (const char* t : kTopLevel)
    if (head == t) return false;
  return true;
}

CompileOptions compile_options(const ReplOptions& o) {
  CompileOptions c;
  c.include_dirs = o.include_dirs;
  c.count_verdicts = true;  // (map-dump verdict-counts) and :status show what attached programs did
  return c;
}

bool truthy(Value* v) { return v && v->tag != Tag::Nil; }

// Maps indexed 0 .. max-entries - 1, where the kernel reports any other index
// as "full" (E2BIG) or missing.
bool array_like(const runtime::MapHandle& h) {
  switch (h.info().type_id) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_CPUMAP:
    case BPF_MAP_TYPE_XSKMAP:
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
      return true;
    default:
      return false;
  }
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}

// The runtime's advice names `whistler run`'s options; in the REPL they are
// keyword arguments of (attach-xdp ...).
std::string repl_spelling(std::string text) {
  static const std::regex mode(R"(--mode (xdpdrv|xdpgeneric|xdpoffload|xdp)\b)");
  text = std::regex_replace(text, mode, ":mode \"$1\"");
  replace_all(text, "--persist netlink", ":persist \"netlink\"");
  replace_all(text, "--persist link", ":persist \"link\"");
  replace_all(text, "--replace", ":replace t");
  replace_all(text, "(--verbose shows", "(`whistler repl --verbose` shows");
  return text;
}

// The form's text placed at its line and column, so that diagnostics (and the
// line information in the object) give positions in the input.
std::string positioned(const std::string& text, const FormOrigin& origin) {
  if (origin.relative()) return text;
  return std::string(static_cast<size_t>(std::max(origin.line - 1, 0)), '\n') +
         std::string(static_cast<size_t>(std::max(origin.column - 1, 0)), ' ') + text;
}

}  // namespace

const char* ReplSession::help_text() {
  return R"(Definitions (compiled as typed; typing one again replaces it):
  (defprog NAME (:type :xdp ...) BODY...)  (defmap NAME :type ...)  (defstruct ...)
  (defconstant ...)  (defun ...)  (defmacro ...)  (include "FILE")
Runtime forms:
  (load-program NAME)                      load the current definitions into the kernel
  (attach-xdp PROG "IFACE" [:mode "xdp"|"xdpdrv"|"xdpgeneric"|"xdpoffload"]
              [:replace t] [:persist "link"|"netlink"])
  (detach-xdp PROG "IFACE")                detach what this session attached
  (map-get MAP KEY)   (map-put MAP KEY VALUE)   (map-del MAP KEY)   (map-dump MAP)
      keys and values: 42, XDP_DROP, "10.0.0.1", (1 2 3), (:field value ...)
  (pin PROG-OR-MAP ["/sys/fs/bpf/PATH"])   without PATH: /sys/fs/bpf/whistler/NAME
  (test-run PROG BYTES [:repeat N])        BYTES: "hex..." or (byte byte ...)
Commands:
  :help  :list (definitions)  :status (attachments and verdict counts)  :quit
Quitting detaches what the session attached (unless attached with :persist).
)";
}

ReplSession::ReplSession(ReplOptions options, std::ostream& out, std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err) {
  compilation_ = std::make_unique<Compilation>(compile_options(options_));
}

ReplSession::~ReplSession() { close(); }

bool ReplSession::fail(const std::string& message, const std::string& hint) {
  runtime::RuntimeError e;
  e.message = message;
  e.hint = hint;
  return fail(e);
}

bool ReplSession::fail(const runtime::RuntimeError& e) {
  err_ << repl_spelling(format_runtime_error(e, options_.verbose, ""));
  err_.flush();
  return false;
}

void ReplSession::print_new_diagnostics(size_t from, bool errors_only) {
  const auto& all = compilation_->diags().all();
  for (size_t i = from; i < all.size(); ++i) {
    if (errors_only && all[i].severity != Severity::Error) continue;
    err_ << compilation_->diags().render(all[i]);
  }
  err_.flush();
}

bool ReplSession::evaluate(const std::string& raw, const FormOrigin& origin) {
  std::string text = trim(raw);
  if (text.empty()) return true;
  if (text[0] == ':') return command(text);
  size_t before = compilation_->diags().all().size();
  uint32_t id = compilation_->sources().add(origin.name, positioned(text, origin));
  Reader reader(compilation_->heap(), compilation_->diags(), id);
  Value* form = nullptr;
  try {
    form = reader.read();
  } catch (const AbortForm&) {
    form = nullptr;
  }
  if (!form || compilation_->diags().all().size() > before) {
    print_new_diagnostics(before);
    return compilation_->diags().all().size() == before && form;
  }
  const Symbol* head = head_symbol(form);
  if (head)
    for (const char* r : kRuntimeForms)
      if (head->name == r) return runtime_form(head->name, form);
  // Compile-time evaluation recurses as deeply as a compilation: on the large
  // stack too (nested evaluations overflow the main thread's 8 MiB under ASan).
  std::optional<bool> done;
  run_with_large_stack([&] { done = evaluate_expression(form, before); });
  if (done) return *done;
  if (form->tag != Tag::Cons) {
    // A bare value: show what it evaluates to (constants, numbers).
    std::string error;
    auto v = to_decoded_value(form, *compilation_, error);
    if (!v) {
      // Located like any diagnostic: in a --load file or piped input, its line.
      compilation_->diags().error(form->loc, error).hint = "type a definition, a runtime form or :help";
      print_new_diagnostics(before);
      return false;
    }
    out_ << runtime::format_lisp(*v) << "\n";
    return true;
  }
  return define(text, origin, form);
}

// A compile-time expression, as at a Lisp prompt: (+ 1 2), 'foo, (ash 1 20),
// or a macro call that expands to one: (twice 4) with
// (defmacro twice (x) `(* 2 ,x)) prints 8. Returns whether it succeeded, or
// nothing when FORM is a definition (or unknown), for define() to handle.
std::optional<bool> ReplSession::evaluate_expression(Value* form, size_t before) {
  Value* expression = form;
  try {
    for (int depth = 0; depth < 64; ++depth) {
      const Symbol* h = head_symbol(expression);
      const MacroDef* macro = h ? compilation_->module().find_macro(h) : nullptr;
      if (!macro || !is_expression_head(h->name)) break;
      expression = compilation_->interpreter().expand(*macro, expression);
    }
  } catch (const AbortForm&) {
    print_new_diagnostics(before);
    return false;
  }
  const Symbol* head = head_symbol(expression);
  if (!head || !is_expression_head(head->name) || compilation_->module().find_macro(head)) return std::nullopt;
  Value* v = nullptr;
  try {
    v = compilation_->interpreter().eval_toplevel(expression);
  } catch (const AbortForm&) {
    v = nullptr;
  }
  const auto& all = compilation_->diags().all();
  if (v && all.size() == before) {
    out_ << print(v) << "\n";
    return true;
  }
  if (expression != form)  // e.g. (with-tcp ...): program code, not a compile-time value
    return fail(fmt::format("'{}' expands to program code, which runs only inside a program", head_symbol(form)->name),
                "put it in (defprog NAME (:type :xdp) ...), then (test-run NAME BYTES) or attach-xdp");
  // (frobnicate 1 2): unknown to the interpreter too; define() explains what
  // a top-level form may be.
  if (all.size() > before && all[before].message.rfind("unknown function '" + head->name + "'", 0) == 0) return std::nullopt;
  print_new_diagnostics(before);
  return false;
}

bool ReplSession::command(const std::string& text) {
  std::string cmd = text.substr(0, text.find_first_of(" \t"));
  if (cmd == ":quit" || cmd == ":q" || cmd == ":exit") {
    quit_ = true;
    return true;
  }
  if (cmd == ":help" || cmd == ":h" || cmd == ":?") {
    out_ << help_text();
    return true;
  }
  if (cmd == ":list") {
    if (defs_.empty()) out_ << "; no definitions yet\n";
    for (const auto& d : defs_) out_ << d.text << "\n";
    return true;
  }
  if (cmd == ":status") {
    size_t n = 0;
    for (const auto& a : attachments_) {
      if (!a.attachment || !a.attachment->active()) continue;
      ++n;
      out_ << fmt::format("; {} (id {}) on {} in {} mode via {}\n", a.program, a.attachment->prog_id(), a.attachment->ifname(),
                          runtime::xdp_mode_description(a.attachment->mode()),
                          a.attachment->via_link() ? fmt::format("BPF link {}", a.attachment->link_id()) : "netlink");
    }
    if (!n) out_ << "; nothing attached by this session\n";
    if (loaded_) {
      int fd = loaded_->map_fd(runtime::kVerdictCountsMap);
      runtime::VerdictCounts counts;
      runtime::RuntimeError e;
      if (fd >= 0 && runtime::read_verdict_counts(fd, counts, e)) {
        std::string line;
        for (uint32_t s = 0; s <= 4; ++s) line += fmt::format(" {} {}", runtime::xdp_action_key(s), counts.packets[s]);
        out_ << fmt::format("; verdicts of the loaded programs (test runs included):{}\n", line);
      }
    }
    return true;
  }
  return fail(fmt::format("unknown command '{}'", cmd), "the commands are :help, :list, :status and :quit");
}

bool ReplSession::define(const std::string& text, const FormOrigin& origin, Value* form) {
  const Symbol* head = head_symbol(form);
  std::string kind = head ? definition_kind(head->name) : "form";
  std::string name;
  if (kind != "form") {
    Value* n = nth(form, 1);
    if (n && n->tag == Tag::Cons) n = car(n);
    if (n && n->tag == Tag::Sym) name = n->sym->name;
  }
  Definition d;
  d.kind = name.empty() ? "form" : kind;
  d.name = name;
  d.key = name.empty() ? "form " + text : head->name + " " + name;
  d.text = text;
  d.origin = origin;
  std::vector<Definition> defs = defs_;
  size_t changed = defs.size();
  bool replaced = false;
  for (size_t i = 0; i < defs.size(); ++i)
    if (defs[i].key == d.key) {
      if (defs[i].text == text) {
        out_ << fmt::format("; {} {} unchanged\n", d.kind, d.name.empty() ? text : d.name);
        return true;
      }
      defs[i] = d;
      changed = i;
      replaced = true;
    }
  if (!replaced) defs.push_back(d);
  if (!rebuild(std::move(defs), changed)) return false;
  if (d.kind == "form") out_ << "; ok\n";
  else out_ << fmt::format("; {} {} {}\n", replaced ? "redefined" : "defined", d.kind, d.name);
  if (replaced)
    for (const auto& a : attachments_)
      if (a.attachment && a.attachment->active())
        out_ << fmt::format("; {} still runs the earlier {}; (attach-xdp {} \"{}\" :replace t) swaps in the new definitions\n",
                            a.attachment->ifname(), a.program, a.program, a.attachment->ifname());
  out_.flush();
  return true;
}

bool ReplSession::rebuild(std::vector<Definition> defs, size_t changed) {
  auto c = std::make_unique<Compilation>(compile_options(options_));
  uint32_t changed_file = 0;
  CompileOutput output;
  // One large-stack thread for the whole rebuild, not one per definition.
  run_with_large_stack([&] {
    for (size_t i = 0; i < defs.size(); ++i) {
      const Definition& d = defs[i];
      if (d.origin.relative()) {
        std::string name = i == changed ? "<repl>" : fmt::format("<repl: {}>", d.key.substr(0, 40));
        c->add_source(name, d.text);
      } else {
        c->add_source(d.origin.name, positioned(d.text, d.origin));
      }
      if (i == changed) changed_file = static_cast<uint32_t>(c->sources().size() - 1);
    }
    if (!c->diags().has_errors()) output = c->generate(EmitKind::Object);
  });
  if (c->diags().has_errors() || !output.ok) {
    err_ << c->diags().render_all();
    if (!c->diags().has_errors()) err_ << "error: code generation failed\n";
    err_.flush();
    return false;
  }
  // Warnings about the form just typed.
  for (const auto& d : c->diags().all())
    if (d.loc.file == changed_file) err_ << c->diags().render(d);
  compilation_ = std::move(c);
  object_ = std::move(output);
  defs_ = std::move(defs);
  ++generation_;
  return true;
}

runtime::BpfObject* ReplSession::ensure_loaded() {
  if (loaded_ && loaded_generation_ == generation_) return loaded_.get();
  if (defs_.empty()) {
    fail("nothing is defined yet", "define a program first: (defprog NAME (:type :xdp) ...)");
    return nullptr;
  }
  runtime::OpenOptions open;
  open.name = "whistler_repl";
  open.verbose_log = options_.verbose;
  if (loaded_)
    for (bpf_map* m : loaded_->maps()) open.reuse_maps[bpf_map__name(m)] = bpf_map__fd(m);
  runtime::RuntimeError error;
  size_t before = compilation_->diags().all().size();
  auto obj = load_compiled(*compilation_, object_, open, error);
  if (!obj) {
    if (error.kind == runtime::ErrorKind::VerifierRejected && compilation_->diags().all().size() > before) {
      print_new_diagnostics(before);
      if (options_.verbose) err_ << "---- verifier log ----\n" << error.detail << "----\n";
      err_.flush();
    } else {
      fail(error);
    }
    return nullptr;
  }
  loaded_ = std::move(obj);
  loaded_generation_ = generation_;
  return loaded_.get();
}

const ProgramDef* ReplSession::program_arg(Value* v) {
  auto name = name_argument(v);
  const ProgramDef* p = name ? find_program_named(compilation_->module(), *name) : nullptr;
  if (!p) {
    std::string defined = program_names(compilation_->module());
    std::string what = name ? fmt::format("no program named '{}'", *name) : fmt::format("expected a program name, got {}", print(v));
    if (name && find_map_named(compilation_->module(), *name)) what = fmt::format("'{}' is a map, not a program", *name);
    fail(what, defined.empty() ? "define one with (defprog NAME (:type :xdp) ...)" : "programs: " + defined);
  }
  return p;
}

bool ReplSession::map_view_arg(Value* v, MapArgument& out) {
  out.def = map_arg(v);
  if (!out.def) return false;
  runtime::BpfObject* obj = ensure_loaded();
  if (!obj) return false;
  runtime::RuntimeError e;
  out.view = make_map_view(out.def->name->name, obj->map_fd(out.def->elf_name), out.def, e);
  if (!out.view) return fail(e);
  return true;
}

bool ReplSession::check_index(const MapArgument& ctx, const std::string& key, const char* form) {
  const auto& h = ctx.view->handle;
  if (!array_like(h) || key.size() != 4) return true;
  uint32_t index = 0;
  std::memcpy(&index, key.data(), 4);
  if (index < h.info().max_entries) return true;
  return fail(fmt::format("{} {}: index {} is outside the array (its indexes are 0 to {})", form, ctx.def->name->name, index,
                          h.info().max_entries - 1),
              "give the map a larger :max-entries to have more slots");
}

const MapDef* ReplSession::map_arg(Value* v) {
  auto name = name_argument(v);
  const MapDef* m = name ? find_map_named(compilation_->module(), *name) : nullptr;
  if (!m) {
    std::string defined = map_names(compilation_->module());
    std::string what = name ? fmt::format("no map named '{}'", *name) : fmt::format("expected a map name, got {}", print(v));
    if (name && find_program_named(compilation_->module(), *name)) what = fmt::format("'{}' is a program, not a map", *name);
    fail(what, defined.empty() ? "define one with (defmap NAME :type ...)" : "maps: " + defined);
  }
  return m;
}

bool ReplSession::keywords(const std::vector<Value*>& args, size_t positional, const std::vector<std::string>& allowed,
                           std::vector<std::pair<std::string, Value*>>& out, const char* form) {
  for (size_t i = positional; i < args.size(); i += 2) {
    if (!is_keyword(args[i]) || i + 1 >= args.size()) {
      std::string names;
      for (const auto& a : allowed) names += (names.empty() ? "" : " ") + a + " VALUE";
      return fail(fmt::format("({} ...): unexpected argument {}", form, print(args[i])), "options: " + names);
    }
    std::string key = args[i]->sym->name;
    bool ok = false;
    for (const auto& a : allowed) ok |= a == key;
    if (!ok) {
      std::string names;
      for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
      return fail(fmt::format("({} ...) has no option {}", form, key), "options: " + names);
    }
    out.emplace_back(key, args[i + 1]);
  }
  return true;
}

bool ReplSession::runtime_form(const std::string& head, Value* form) {
  std::vector<Value*> args = list_items(cdr(form));
  if (head == "load-program") return do_load_program(args);
  if (head == "attach-xdp") return do_attach(args);
  if (head == "detach-xdp") return do_detach(args);
  if (head == "map-get") return do_map_get(args);
  if (head == "map-put") return do_map_put(args);
  if (head == "map-del") return do_map_del(args);
  if (head == "map-dump") return do_map_dump(args);
  if (head == "pin") return do_pin(args);
  if (head == "test-run") return do_test_run(args);
  return fail("unknown runtime form " + head);
}

bool ReplSession::do_load_program(const std::vector<Value*>& args) {
  if (args.size() != 1) return fail("(load-program NAME) takes one program name");
  const ProgramDef* p = program_arg(args[0]);
  if (!p) return false;
  runtime::BpfObject* obj = ensure_loaded();
  if (!obj) return false;
  int fd = obj->program_fd(p->elf_name);
  auto info = runtime::program_info_by_fd(fd);
  out_ << fmt::format("; loaded {} (id {})\n", p->name->name, info ? info->id : 0);
  return true;
}

bool ReplSession::do_attach(const std::vector<Value*>& args) {
  if (args.size() < 2) return fail("(attach-xdp PROG \"IFACE\" [:mode MODE] [:replace t] [:persist \"link\"|\"netlink\"])");
  const ProgramDef* p = program_arg(args[0]);
  if (!p) return false;
  auto iface_name = name_argument(args[1]);
  if (!iface_name) return fail(fmt::format("expected an interface name, got {}", print(args[1])));
  if (!is_attachable_section(p->section))
    return fail(fmt::format("program {} (section {}) runs from a devmap or cpumap, not on an interface", p->name->name, p->section));
  std::vector<std::pair<std::string, Value*>> opts;
  if (!keywords(args, 2, {":mode", ":replace", ":persist"}, opts, "attach-xdp")) return false;
  runtime::AttachOptions attach;
  attach.program_name = p->elf_name;
  attach.frags = p->section.rfind("xdp.frags", 0) == 0;
  for (const auto& [key, v] : opts) {
    if (key == ":mode") {
      auto s = name_argument(v);
      auto mode = s ? runtime::parse_xdp_mode(*s) : std::nullopt;
      if (!mode) return fail(fmt::format("unknown XDP mode {}", print(v)), fmt::format("the modes are {}", runtime::xdp_mode_choices()));
      attach.mode = *mode;
    } else if (key == ":replace") {
      attach.replace = truthy(v);
    } else if (key == ":persist") {
      auto s = name_argument(v);
      if (s && *s == "link") attach.persistence = runtime::Persistence::PinnedLink;
      else if (s && *s == "netlink") attach.persistence = runtime::Persistence::Netlink;
      else return fail(fmt::format(":persist takes \"link\" or \"netlink\", got {}", print(v)));
    }
  }
  auto iface = runtime::find_interface(*iface_name);
  if (!iface) return fail(runtime::missing_interface_error(*iface_name));

  // Already attached by this session: replace on request, else refuse.
  for (auto& a : attachments_) {
    if (!a.attachment || !a.attachment->active() || a.attachment->ifname() != *iface_name) continue;
    if (a.attachment->status() != runtime::AttachmentStatus::Attached) continue;
    // Replacing keeps the mode: a program cannot move between native and generic atomically.
    bool same_mode = attach.mode == runtime::XdpMode::Auto || attach.mode == a.attachment->mode();
    std::string running = fmt::format("{} already runs {} (id {}) in {} mode, attached by this session", *iface_name,
                                      a.program, a.attachment->prog_id(), runtime::xdp_mode_description(a.attachment->mode()));
    if (!same_mode)
      return fail(running + fmt::format("; it cannot be replaced by a program in {} mode", runtime::xdp_mode_description(attach.mode)),
                  fmt::format("(detach-xdp {} \"{}\") first, or replace it in {} mode (:mode \"{}\" :replace t)", a.program,
                              *iface_name, runtime::xdp_mode_description(a.attachment->mode()),
                              runtime::xdp_mode_spelling(a.attachment->mode())));
    if (!attach.replace)
      return fail(running, fmt::format("(detach-xdp {} \"{}\") first, or replace it atomically with :replace t", a.program, *iface_name));
    runtime::BpfObject* obj = ensure_loaded();
    if (!obj) return false;
    runtime::RuntimeError e;
    std::string old = a.program;
    if (!a.attachment->replace_program(obj->program_fd(p->elf_name), p->elf_name, e)) return fail(e);
    a.program = p->name->name;
    out_ << fmt::format("; replaced {} with {} (id {}) on {} atomically\n", old, p->name->name, a.attachment->prog_id(),
                        *iface_name);
    return true;
  }

  SessionAttachment sa;
  sa.program = p->name->name;
  runtime::BpfObject* obj = nullptr;
  runtime::RuntimeError error;
  if (attach.mode == runtime::XdpMode::Offload) {
    // Offload: a copy of the object loaded bound to the device.
    runtime::OpenOptions open;
    open.name = "whistler_repl";
    open.offload_ifindex = iface->ifindex;
    sa.object = load_compiled(*compilation_, object_, open, error);
    if (!sa.object) {
      if (error.kind == runtime::ErrorKind::OffloadUnsupported || error.error == EINVAL || error.error == EOPNOTSUPP)
        error = runtime::offload_unsupported_error(*iface, error.detail);
      return fail(error);
    }
    obj = sa.object.get();
  } else {
    obj = ensure_loaded();
    if (!obj) return false;
  }
  sa.attachment = runtime::XdpAttachment::attach(obj->program_fd(p->elf_name), *iface_name, attach, error);
  if (!sa.attachment) return fail(error);
  const auto& at = *sa.attachment;
  std::string via = at.via_link() ? fmt::format("BPF link {}", at.link_id()) : "netlink";
  if (!at.link_pin_path().empty()) via += ", pinned at " + at.link_pin_path();
  out_ << fmt::format("; attached {} (id {}) to {} in {} mode via {}{}\n", p->name->name, at.prog_id(), *iface_name,
                      runtime::xdp_mode_description(at.mode()), via,
                      at.replaced().empty() ? "" : ", atomically replacing " + at.replaced());
  attachments_.push_back(std::move(sa));
  return true;
}

bool ReplSession::do_detach(const std::vector<Value*>& args) {
  if (args.empty() || args.size() > 2) return fail("(detach-xdp PROG \"IFACE\") or (detach-xdp \"IFACE\")");
  auto iface = name_argument(args.back());
  if (!iface) return fail(fmt::format("expected an interface name, got {}", print(args.back())));
  std::string prog;
  if (args.size() == 2) {
    const ProgramDef* p = program_arg(args[0]);
    if (!p) return false;
    prog = p->name->name;
  }
  for (auto it = attachments_.begin(); it != attachments_.end(); ++it) {
    if (!it->attachment || !it->attachment->active() || it->attachment->ifname() != *iface) continue;
    if (!prog.empty() && it->program != prog) continue;
    runtime::RuntimeError e;
    runtime::AttachmentStatus before;
    if (!it->attachment->detach(e, &before)) return fail(e);
    if (before == runtime::AttachmentStatus::Replaced)
      out_ << fmt::format("; {} on {} had been replaced by another program; that one stays\n", it->program, *iface);
    else if (before == runtime::AttachmentStatus::Detached)
      out_ << fmt::format("; {} was already detached from {}\n", it->program, *iface);
    else
      out_ << fmt::format("; detached {} from {}\n", it->program, *iface);
    attachments_.erase(it);
    return true;
  }
  return fail(prog.empty() ? fmt::format("this session attached nothing to {}", *iface)
                           : fmt::format("this session did not attach {} to {}", prog, *iface),
              fmt::format("`whistler detach --iface {}` removes any program there", *iface));
}

bool ReplSession::do_map_get(const std::vector<Value*>& args) {
  if (args.size() != 2) return fail("(map-get MAP KEY)");
  MapArgument ctx;
  if (!map_view_arg(args[0], ctx)) return false;
  std::string error, key;
  auto k = to_decoded_value(args[1], *compilation_, error);
  if (!k || !runtime::encode(ctx.view->layouts.key, *k, key, error)) return fail(fmt::format("map-get {}: key: {}", ctx.def->name->name, error));
  if (!check_index(ctx, key, "map-get")) return false;
  runtime::RuntimeError e;
  auto value = ctx.view->handle.get(key, e);
  if (!value) {
    if (e) return fail(e);
    out_ << "nil\n";
    return true;
  }
  DecodedEntry entry = decode_entry(*ctx.view, key, *value);
  out_ << runtime::format_lisp(entry.value);
  if (!entry.per_cpu.empty() && entry.value.kind == runtime::DecodedValue::Kind::Int) {
    std::string cpus;
    for (const auto& v : entry.per_cpu) cpus += (cpus.empty() ? "" : " ") + runtime::format_lisp(v);
    out_ << fmt::format("  ; per CPU: ({})", cpus);
  }
  out_ << "\n";
  return true;
}

bool ReplSession::do_map_put(const std::vector<Value*>& args) {
  if (args.size() != 2 && args.size() != 3 && args.size() != 4) return fail("(map-put MAP KEY VALUE)");
  if (args.size() == 2) return fail("(map-put MAP KEY VALUE) needs a value");
  MapArgument ctx;
  if (!map_view_arg(args[0], ctx)) return false;
  std::string error, key, value;
  auto k = to_decoded_value(args[1], *compilation_, error);
  if (!k || !runtime::encode(ctx.view->layouts.key, *k, key, error)) return fail(fmt::format("map-put {}: key: {}", ctx.def->name->name, error));
  if (!check_index(ctx, key, "map-put")) return false;
  // Program arrays take programs, device maps interfaces.
  std::optional<runtime::DecodedValue> v;
  auto name = args[2]->tag == Tag::Sym || args[2]->tag == Tag::Str ? name_argument(args[2]) : std::nullopt;
  if (ctx.def->kind == MapKind::ProgArray && name) {
    const ProgramDef* p = program_arg(args[2]);
    if (!p) return false;
    runtime::BpfObject* obj = ensure_loaded();
    if (!obj) return false;
    v = runtime::DecodedValue::integer(static_cast<uint64_t>(obj->program_fd(p->elf_name)));
  } else if ((ctx.def->kind == MapKind::Devmap || ctx.def->kind == MapKind::DevmapHash) && args[2]->tag == Tag::Str) {
    auto iface = runtime::find_interface(*args[2]->str);
    if (!iface) return fail(runtime::missing_interface_error(*args[2]->str));
    v = runtime::DecodedValue::integer(static_cast<uint64_t>(iface->ifindex));
  } else {
    v = to_decoded_value(args[2], *compilation_, error);
  }
  if (!v || !runtime::encode(ctx.view->layouts.value, *v, value, error))
    return fail(fmt::format("map-put {}: value: {}", ctx.def->name->name, error));
  runtime::RuntimeError e;
  if (!ctx.view->handle.put(key, value, e)) return fail(e);
  out_ << "t\n";
  return true;
}

bool ReplSession::do_map_del(const std::vector<Value*>& args) {
  if (args.size() != 2) return fail("(map-del MAP KEY)");
  MapArgument ctx;
  if (!map_view_arg(args[0], ctx)) return false;
  std::string error, key;
  auto k = to_decoded_value(args[1], *compilation_, error);
  if (!k || !runtime::encode(ctx.view->layouts.key, *k, key, error)) return fail(fmt::format("map-del {}: key: {}", ctx.def->name->name, error));
  runtime::RuntimeError e;
  bool existed = false;
  if (!ctx.view->handle.erase(key, e, &existed)) return fail(e);
  out_ << (existed ? "t\n" : "nil\n");
  return true;
}

bool ReplSession::do_map_dump(const std::vector<Value*>& args) {
  if (args.size() != 1) return fail("(map-dump MAP)");
  MapArgument ctx;
  if (!map_view_arg(args[0], ctx)) return false;
  constexpr size_t kLimit = 1000;
  runtime::RuntimeError e;
  if (!ctx.view->handle.has_entries()) return fail(fmt::format("map {} is a ring buffer: it has records, not entries", ctx.def->name->name),
                                                   "`whistler run` prints its records as they arrive");
  auto entries = ctx.view->handle.entries(e, kLimit + 1);
  if (e) return fail(e);
  size_t shown = 0;
  for (const auto& [k, v] : entries) {
    if (shown == kLimit) break;
    out_ << format_entry(decode_entry(*ctx.view, k, v)) << "\n";
    ++shown;
  }
  if (entries.size() > kLimit) out_ << fmt::format("; first {} entries shown\n", kLimit);
  else out_ << fmt::format("; {} {}\n", entries.size(), entries.size() == 1 ? "entry" : "entries");
  return true;
}

bool ReplSession::do_pin(const std::vector<Value*>& args) {
  if (args.empty() || args.size() > 2) return fail("(pin PROG-OR-MAP [\"/sys/fs/bpf/PATH\"])");
  auto name = name_argument(args[0]);
  if (!name) return fail(fmt::format("expected a program or map name, got {}", print(args[0])));
  std::string path;
  if (args.size() == 2) {
    auto p = name_argument(args[1]);
    if (!p || args[1]->tag != Tag::Str) return fail(fmt::format("expected a path string, got {}", print(args[1])));
    path = *p;
  } else {
    path = runtime::whistler_pin_dir() + "/" + elf_name(*name);
  }
  const ProgramDef* prog = find_program_named(compilation_->module(), *name);
  const MapDef* map = prog ? nullptr : find_map_named(compilation_->module(), *name);
  if (!prog && !map)
    return fail(fmt::format("nothing named '{}' to pin", *name),
                fmt::format("programs: {}; maps: {}", program_names(compilation_->module()), map_names(compilation_->module())));
  runtime::BpfObject* obj = ensure_loaded();
  if (!obj) return false;
  runtime::RuntimeError e;
  bool ok = prog ? obj->pin_program(prog->elf_name, path, e) : obj->pin_map(map->elf_name, path, e);
  if (!ok) return fail(e);
  out_ << fmt::format("; pinned {} {} at {}\n", prog ? "program" : "map", *name, path);
  return true;
}

bool ReplSession::do_test_run(const std::vector<Value*>& args) {
  if (args.size() < 2) return fail("(test-run PROG BYTES [:repeat N]): BYTES is a hex string or a list of byte values");
  const ProgramDef* p = program_arg(args[0]);
  if (!p) return false;
  std::string error;
  auto packet = to_packet_bytes(args[1], *compilation_, error);
  if (!packet) return fail("test-run: " + error);
  std::vector<std::pair<std::string, Value*>> opts;
  if (!keywords(args, 2, {":repeat"}, opts, "test-run")) return false;
  uint32_t repeat = 1;
  for (const auto& [k, v] : opts) {
    if (v->tag != Tag::Int || v->i < 1 || v->i > 100000000) return fail(":repeat takes a count from 1 to 100000000");
    repeat = static_cast<uint32_t>(v->i);
  }
  runtime::BpfObject* obj = ensure_loaded();
  if (!obj) return false;
  runtime::TestRunResult result;
  runtime::RuntimeError e;
  std::vector<uint8_t> bytes(packet->begin(), packet->end());
  if (!runtime::test_run(obj->program_fd(p->elf_name), bytes, result, e, repeat)) return fail(e);
  out_ << runtime::xdp_action_name(result.action);
  if (result.action > 4) out_ << fmt::format(" ({})", result.action);
  std::string after(result.packet.begin(), result.packet.end());
  if (after != *packet) out_ << fmt::format("  ; packet now {} bytes: {}", after.size(), runtime::to_hex(after));
  if (repeat > 1) out_ << fmt::format("  ; {} ns per run", result.duration_ns);
  out_ << "\n";
  return true;
}

bool ReplSession::close() {
  if (closed_) return true;
  closed_ = true;
  bool ok = true;
  for (auto& a : attachments_) {
    if (!a.attachment || !a.attachment->active()) continue;
    if (a.attachment->persistence() != runtime::Persistence::None) {
      out_ << fmt::format("; {} stays attached to {} ({}); remove it with: whistler detach --iface {}\n", a.program,
                          a.attachment->ifname(), runtime::persistence_name(a.attachment->persistence()), a.attachment->ifname());
      a.attachment->release();
      continue;
    }
    runtime::RuntimeError e;
    runtime::AttachmentStatus before;
    if (!a.attachment->detach(e, &before)) {
      ok = fail(e);
      continue;
    }
    if (before == runtime::AttachmentStatus::Attached)
      out_ << fmt::format("; detached {} from {}\n", a.program, a.attachment->ifname());
  }
  attachments_.clear();
  out_.flush();
  return ok;
}

}  // namespace whistler
