#include "reducer.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <ostream>
#include <set>

#include "differential.hpp"
#include "program_check.hpp"
#include "seed_runner.hpp"

namespace whistler::torture {

Outcome evaluate_isolated(const std::vector<Sexp>& forms, const ReduceTarget& target) {
  std::string source = print_program(forms);
  int fds[2];
  if (pipe(fds) != 0) return Outcome{OutcomeKind::Crash, target.opt_level, "pipe failed", "", "", "", false};
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    Outcome o;
    if (target.differential) {
      pin_to_one_cpu(0);
      o = run_differential(source, target.frames);
    } else {
      o = check_program(source, target.opt_level);
    }
    std::string line = nlohmann::json{{"kind", outcome_name(o.kind)}, {"category", o.category}, {"detail", o.detail},
                                      {"opt", o.opt_level}, {"other_errors", o.other_errors}}
                           .dump() +
                       "\n";
    if (write(fds[1], line.data(), line.size()) < 0) _exit(3);
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(target.timeout_seconds);
  bool timed_out = false;
  while (true) {
    pollfd p{fds[0], POLLIN, 0};
    poll(&p, 1, 500);
    if (p.revents) {
      char buf[4096];
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    } else if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      timed_out = true;
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Outcome o;
  o.opt_level = target.opt_level;
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (timed_out) {
    o.kind = OutcomeKind::Timeout;
    o.category = "no result within " + std::to_string(target.timeout_seconds) + " s";
  } else if (j.is_discarded() || !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    o.kind = OutcomeKind::Crash;
    o.category = describe_exit(status);
  } else {
    outcome_from_name(j["kind"].get<std::string>(), o.kind);
    o.category = j["category"].get<std::string>();
    o.detail = j["detail"].get<std::string>();
    o.opt_level = j["opt"].get<int>();
    o.other_errors = j["other_errors"].get<int>();
  }
  return o;
}

namespace {

// ---- What the reducer knows of the grammar ----

bool is_number(const Sexp& s) {
  if (!s.is_atom() || s.text.empty()) return false;
  char c = s.text[0];
  return std::isdigit(static_cast<unsigned char>(c)) || (c == '-' && s.text.size() > 1 && std::isdigit(static_cast<unsigned char>(s.text[1]))) ||
         (c == '#' && s.text.size() > 1 && (s.text[1] == 'x' || s.text[1] == 'b' || s.text[1] == 'o'));
}

bool is_symbol(const Sexp& s) { return s.is_atom() && !is_number(s); }

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Heads of forms whose value is an integer (+ and - are not: they make pointers too).
bool integer_head(const std::string& h, const std::set<std::string>& user_functions) {
  static const std::set<std::string> heads = {
      "*", "/", "mod", "rem", "logand", "logior", "logxor", "lognot", "ash", "<<", ">>", "=", "/=", "!=", "<",
      ">", "<=", ">=", "s<", "s>", "s<=", "s>=", "min", "max", "ntohs", "htons", "ntohl", "htonl", "ntohll", "htonll",
      "zerop", "not", "1+", "1-", "csum-replace2", "csum-replace4", "csum-diff", "xdp-get-buff-len", "get-numa-node-id",
      "ktime-get-ns", "ktime-get-boot-ns", "ktime-get-coarse-ns", "ktime-get-tai-ns", "jiffies64", "get-prandom-u32",
      "get-smp-processor-id", "ringbuf-query", "sizeof", "load", "remmap", "map-update", "map-update-ptr",
      "map-delete", "map-delete-ptr", "ringbuf-output", "xdp-load-bytes", "xdp-store-bytes", "ipv4-ihl"};
  if (heads.count(h) || user_functions.count(h)) return true;
  // The packet library's accessors: all integers but ipv4-payload.
  for (const char* prefix : {"eth-", "ipv4-", "ipv6-", "tcp-", "udp-", "icmp-"})
    if (starts_with(h, prefix)) return h != "ipv4-payload";
  return false;
}

// (= X 0), (/= X 0), (!= X 0) and (not X) of a variable: a null test, which
// the code it guards relies on.
bool null_test(const Sexp& s) {
  if (is_symbol(s)) return true;
  if (s.head_is("not") && s.size() == 2 && is_symbol(s.items[1])) return true;
  if ((s.head_is("=") || s.head_is("/=") || s.head_is("!=")) && s.size() == 3)
    return (is_symbol(s.items[1]) && s.items[2].is_atom() && s.items[2].text == "0") ||
           (is_symbol(s.items[2]) && s.items[1].is_atom() && s.items[1].text == "0");
  return false;
}

bool contains_head(const Sexp& s, const char* head) {
  if (s.head_is(head)) return true;
  for (const auto& i : s.items)
    if (contains_head(i, head)) return true;
  return false;
}

// Statements validity rests on.
bool protected_statement(const Sexp& s) {
  const std::string& h = s.head();
  if (h == "declare") return true;
  // A reserved record must still be submitted or discarded.
  if (contains_head(s, "ringbuf-submit") || contains_head(s, "ringbuf-discard")) return true;
  // (unless h (return ...)) and (when (= h 0) (return ...)): the rest of the body uses h.
  if ((h == "unless" || h == "when") && s.size() >= 2) {
    const Sexp& test = s.items[1];
    bool guards = h == "unless" ? is_symbol(test) : (null_test(test) && !is_symbol(test) && !test.head_is("/=") && !test.head_is("!="));
    if (guards) return true;
  }
  return false;
}

// The variable a null test tests.
std::string tested_variable(const Sexp& test) {
  if (is_symbol(test)) return test.text;
  for (const auto& i : test.items)
    if (is_symbol(i) && i.text != "0" && &i != &test.items[0]) return i.text;
  return "";
}

// True when `test` is a null test of a variable the forms of `form` from `from` on use.
bool guards_use(const Sexp& test, const Sexp& form, size_t from);

const std::set<std::string>& with_forms() {
  static const std::set<std::string> forms = {"with-packet", "with-eth", "with-ipv4", "with-ipv6", "with-tcp",
                                              "with-udp", "with-icmp", "with-ringbuf"};
  return forms;
}

// Where the statements of a body-bearing form start (0: not one).
size_t body_start(const Sexp& s) {
  const std::string& h = s.head();
  if (h == "progn") return 1;
  if (h == "let" || h == "let*" || h == "when" || h == "unless" || h == "dotimes" || h == "when-let" ||
      with_forms().count(h))
    return 2;
  if (h == "defprog") return 3;
  if (h == "defun") return s.size() > 3 && s.items[3].is_string() ? 4 : 3;
  if (h == "loop")
    for (size_t i = 1; i < s.size(); ++i)
      if (s.items[i].is_atom() && s.items[i].text == "do") return i + 1;
  return 0;
}

bool mentions(const Sexp& s, const std::string& name) {
  if (s.is_atom()) return s.text == name;
  for (const auto& i : s.items)
    if (mentions(i, name)) return true;
  return false;
}

bool mentions_any(const Sexp& form, size_t from, const std::vector<std::string>& names) {
  for (size_t i = from; i < form.size(); ++i)
    for (const auto& n : names)
      if (mentions(form.items[i], n)) return true;
  return false;
}

bool guards_use(const Sexp& test, const Sexp& form, size_t from) {
  if (!null_test(test)) return false;
  std::string v = tested_variable(test);
  return v.empty() || mentions_any(form, from, {v});
}

// Names a binding form introduces.
std::vector<std::string> bound_names(const Sexp& s) {
  std::vector<std::string> names;
  const std::string& h = s.head();
  if (s.size() < 2) return names;
  const Sexp& spec = s.items[1];
  if (h == "let" || h == "let*" || h == "when-let") {
    for (const auto& b : spec.items) {
      if (b.is_atom()) names.push_back(b.text);
      else if (!b.items.empty() && b.items[0].is_atom()) names.push_back(b.items[0].text);
    }
  } else if (with_forms().count(h) || h == "dotimes") {
    for (const auto& n : spec.items)
      if (is_symbol(n) && n.text[0] != ':') names.push_back(n.text);
  } else if (h == "loop" && s.size() > 2 && s.items[1].is_atom() && (s.items[1].text == "for" || s.items[1].text == "as")) {
    names.push_back(s.items[2].text);
  }
  return names;
}

// The node at pre-order position `index` below the root (the root is 0),
// with its ancestors (the parent last).
struct Located {
  Sexp* node = nullptr;
  std::vector<Sexp*> ancestors;
  size_t position = 0;  // in the parent
};

bool locate(Sexp& node, std::vector<Sexp*>& ancestors, size_t position, size_t& index, Located& out) {
  if (index == 0) {
    out.node = &node;
    out.ancestors = ancestors;
    out.position = position;
    return true;
  }
  --index;
  if (!node.is_list()) return false;
  ancestors.push_back(&node);
  for (size_t i = 0; i < node.items.size(); ++i)
    if (locate(node.items[i], ancestors, i, index, out)) return true;
  ancestors.pop_back();
  return false;
}

bool locate_index(Sexp& root, size_t index, Located& out) {
  std::vector<Sexp*> ancestors;
  return locate(root, ancestors, 0, index, out);
}

enum class Role { TopLevel, Statement, Integer, Place, Size, Other };

Role role_of(const Located& at, const Sexp& root) {
  if (at.ancestors.empty()) return Role::Other;
  const Sexp& parent = *at.ancestors.back();
  if (&parent == &root) return Role::TopLevel;
  size_t pos = at.position;
  const std::string& h = parent.head();
  size_t body = body_start(parent);
  if (body && pos >= body) return Role::Statement;
  if (at.ancestors.size() >= 2) {  // a clause of cond or case
    const Sexp& grand = *at.ancestors[at.ancestors.size() - 2];
    if ((grand.head_is("cond") || grand.head_is("case")) && &parent != &grand.items[0]) {
      if (pos >= 1) return Role::Statement;
      return grand.head_is("cond") ? Role::Integer : Role::Other;
    }
  }
  // Sizes of reservations, copies and helper buffers: shrinking them makes other programs.
  if ((h == "memset" && pos == 4) || (h == "memcpy" && pos == 3) || (h == "ringbuf-reserve" && pos == 2) ||
      (h == "ringbuf-output" && pos == 3) || ((h == "xdp-load-bytes" || h == "xdp-store-bytes") && pos == 3) ||
      (h == "csum-diff" && (pos == 2 || pos == 4)))
    return Role::Size;
  if (at.ancestors.size() >= 2 && at.ancestors[at.ancestors.size() - 2]->head_is("with-ringbuf") && pos == 2)
    return Role::Size;
  if (h == "setf" || h == "setq") return pos % 2 == 1 ? Role::Place : Role::Integer;
  if (h == "incf" || h == "decf") return pos == 1 ? Role::Place : Role::Integer;
  if ((h == "when" || h == "unless" || h == "if") && pos == 1) return Role::Integer;
  if (h == "if" && pos >= 2) return Role::Statement;
  if (h == "return" && pos == 1) return Role::Integer;
  if (h == "load") return pos == 3 ? Role::Integer : Role::Other;
  if (h == "store") return pos >= 3 ? Role::Integer : Role::Other;
  if (h == "cast") return pos == 2 ? Role::Integer : Role::Other;
  if (h == "+") return Role::Other;  // pointer or integer
  return Role::Other;
}

}  // namespace

// ---- The reducer ----

bool Reducer::still_fails(const Sexp& root) {
  ++checks_;
  Outcome o = evaluate_isolated(root.items, target_);
  bool same = o.kind == target_.kind && o.category == target_.category && o.other_errors <= target_.other_errors;
  if (target_.differential && o.kind != OutcomeKind::Mismatch) same = same && o.opt_level == target_.opt_level;
  return same;
}

void Reducer::accepted(const Sexp& root) { progress_ << "  " << root.node_count() << " nodes\n" << std::flush; }

void Reducer::learn_definitions(const Sexp& root) {
  for (const auto& form : root.items) {
    if ((form.head_is("defun") || form.head_is("defmacro")) && form.size() > 1 && form.items[1].is_atom()) {
      // Generated macros with &body are statements; the others compute integers.
      bool statement_macro = form.head_is("defmacro") && mentions(form.items[2], "&body");
      if (!statement_macro) int_functions_.insert(form.items[1].text);
    }
    if (form.head_is("defstruct") && form.size() > 1) {
      const Sexp& spec = form.items[1];
      std::string name = spec.is_atom() ? spec.text : spec.items.empty() ? "" : spec.items[0].text;
      std::string prefix = name + "-";
      if (spec.is_list())
        for (const auto& option : spec.items)
          if (option.head_is(":conc-name") && option.size() == 2) prefix = option.items[1].text == "nil" ? "" : option.items[1].text;
      for (size_t i = 2; i < form.size(); ++i) {
        const Sexp& field = form.items[i];
        if (!field.is_list() || field.size() != 2 || !field.items[1].is_atom()) continue;
        static const std::set<std::string> scalars = {"u8", "u16", "u32", "u64", "i8", "i16", "i32", "i64"};
        if (scalars.count(field.items[1].text)) int_functions_.insert(prefix + field.items[0].text);
      }
    }
  }
}

bool Reducer::delete_top_level(Sexp& root) {
  bool changed = false;
  for (size_t i = root.size(); i-- > 0;) {
    Sexp saved = root;
    root.items.erase(root.items.begin() + static_cast<long>(i));
    if (still_fails(root)) {
      changed = true;
      accepted(root);
    } else {
      root = std::move(saved);
    }
  }
  return changed;
}

namespace {

// Which elements of a form may go: from `first`, `step` at a time (setf
// pairs), keeping the last one when it is the form's value, and never the
// elements `keep` says validity rests on.
struct DeletableElements {
  size_t first = 0;
  size_t step = 1;
  bool keep_last = false;
  size_t min_left = 0;  // elements that must remain after `first`
};

std::optional<DeletableElements> deletable_elements(const Located& at, const Sexp& root) {
  const Sexp& node = *at.node;
  if (!node.is_list() || node.items.empty()) return std::nullopt;
  if (protected_statement(node)) return std::nullopt;  // a guard keeps its (return ...)
  DeletableElements d;
  if (size_t body = body_start(node)) {
    d.first = body;
    // Where the form's value is used (defprog, defun, an expression), its last
    // form is the value and stays: another form there could be a pointer.
    d.keep_last = node.head_is("defprog") || node.head_is("defun") || role_of(at, root) != Role::Statement;
    return d;
  }
  if (!at.ancestors.empty()) {
    const Sexp& parent = *at.ancestors.back();
    if ((parent.head_is("cond") || parent.head_is("case")) && at.position >= (parent.head_is("case") ? 2u : 1u)) {
      d.first = 1;  // a clause's forms; the last is the clause's value
      d.keep_last = true;
      return d;
    }
  }
  const std::string& h = node.head();
  if (h == "cond") d.first = 1;
  else if (h == "case") d.first = 2;
  else if ((h == "setf" || h == "setq") && node.size() >= 5) d.first = 1, d.step = 2, d.min_left = 2;
  else if (h == "and" || h == "or") d.first = 1, d.min_left = 1;
  else return std::nullopt;
  return d;
}

// (and h (load ... h)): h guards what follows it.
bool guards_later(const Sexp& form, size_t k) {
  if (!(form.head_is("and") || form.head_is("or")) || !null_test(form.items[k])) return false;
  std::string v = tested_variable(form.items[k]);
  return v.empty() || mentions_any(form, k + 1, {v});
}

}  // namespace

// In every body, cond, case, setf and and/or: runs of elements (halves,
// quarters, ...), then single ones.
bool Reducer::delete_statements(Sexp& root) {
  bool changed = false;
  for (size_t index = 0;; ++index) {
    Located at;
    if (!locate_index(root, index, at)) break;
    auto d = deletable_elements(at, root);
    Sexp* node = at.node;
    if (!d || node->size() <= d->first) continue;
    for (size_t chunk = std::max<size_t>(1, (node->size() - d->first) / (2 * d->step)) * d->step;; chunk /= 2) {
      chunk = std::max(chunk, d->step) / d->step * d->step;
      size_t start = d->first;
      while (start < node->size()) {
        size_t end = std::min(node->size(), start + chunk);
        bool deletable = node->size() - (end - start) >= d->first + d->min_left;
        for (size_t k = start; k < end; ++k)
          if (protected_statement(node->items[k]) || guards_later(*node, k)) deletable = false;
        if (d->keep_last && end >= node->size()) deletable = false;
        if (!deletable) {
          start = end;
          continue;
        }
        Sexp saved = *node;
        node->items.erase(node->items.begin() + static_cast<long>(start), node->items.begin() + static_cast<long>(end));
        if (still_fails(root)) {
          changed = true;
          accepted(root);
        } else {
          *node = std::move(saved);
          start = end;
        }
      }
      if (chunk <= d->step) break;
    }
  }
  return changed;
}

// A statement replaced by (some of) its body.
bool Reducer::unwrap_statements(Sexp& root) {
  bool changed = false;
  for (size_t index = 1;; ++index) {
    Located at;
    if (!locate_index(root, index, at)) break;
    if (role_of(at, root) != Role::Statement || !at.node->is_list() || at.node->items.empty()) continue;
    if (protected_statement(*at.node)) continue;  // a null guard protects what follows it
    const Sexp original = *at.node;
    const std::string& h = original.head();
    std::vector<std::vector<Sexp>> candidates;
    auto splice_of = [](const Sexp& s) {
      if (s.head_is("progn")) return std::vector<Sexp>(s.items.begin() + 1, s.items.end());
      return std::vector<Sexp>{s};
    };
    size_t body = body_start(original);
    if (h == "progn") {
      candidates.push_back(splice_of(original));
    } else if (h == "when" || h == "unless") {
      if (original.size() > 1 && !guards_use(original.items[1], original, 2))
        candidates.push_back(std::vector<Sexp>(original.items.begin() + 2, original.items.end()));
    } else if (h == "if" && original.size() >= 3) {
      if (original.size() == 4) candidates.push_back(splice_of(original.items[3]));
      if (!guards_use(original.items[1], original, 2)) candidates.push_back(splice_of(original.items[2]));
    } else if (h == "if-let" && original.size() == 4) {
      candidates.push_back(splice_of(original.items[3]));
    } else if (h == "cond" || h == "case") {
      for (size_t c = h == "case" ? 2 : 1; c < original.size(); ++c) {
        const Sexp& clause = original.items[c];
        if (clause.is_list() && clause.size() > 1 && !(h == "cond" && guards_use(clause.items[0], clause, 1)))
          candidates.push_back(std::vector<Sexp>(clause.items.begin() + 1, clause.items.end()));
      }
    } else if (body && h != "defprog" && h != "defun") {
      auto names = bound_names(original);
      if (!mentions_any(original, body, names)) candidates.push_back(std::vector<Sexp>(original.items.begin() + static_cast<long>(body), original.items.end()));
    }
    Sexp& parent = *at.ancestors.back();
    size_t pos = at.position;
    for (auto& replacement : candidates) {
      // A branch of if is one form.
      if (parent.head_is("if") && replacement.size() != 1) {
        if (replacement.empty()) continue;
        replacement = {splice(Sexp{"progn"}, replacement)};
      }
      Sexp saved = parent;
      parent.items.erase(parent.items.begin() + static_cast<long>(pos));
      parent.items.insert(parent.items.begin() + static_cast<long>(pos), replacement.begin(), replacement.end());
      if (still_fails(root)) {
        changed = true;
        accepted(root);
        break;
      }
      parent = std::move(saved);
    }
  }
  return changed;
}

bool Reducer::delete_bindings(Sexp& root) {
  bool changed = false;
  for (size_t index = 1;; ++index) {
    Located at;
    if (!locate_index(root, index, at)) break;
    Sexp& form = *at.node;
    if (!(form.head_is("let") || form.head_is("let*") || form.head_is("when-let")) || form.size() < 2 || !form.items[1].is_list())
      continue;
    for (size_t b = form.items[1].size(); b-- > 0;) {
      if (form.items[1].size() <= 1 && form.head_is("when-let")) break;  // when-let needs a binding
      const Sexp& binding = form.items[1].items[b];
      std::string name = binding.is_atom() ? binding.text : binding.items.empty() ? "" : binding.items[0].text;
      if (name.empty()) continue;
      // Unused by the body and by the bindings after it.
      bool used = mentions_any(form, 2, {name});
      for (size_t later = b + 1; later < form.items[1].size(); ++later)
        if (mentions(form.items[1].items[later], name)) used = true;
      if (used) continue;
      Sexp saved = form;
      form.items[1].items.erase(form.items[1].items.begin() + static_cast<long>(b));
      if (still_fails(root)) {
        changed = true;
        accepted(root);
      } else {
        form = std::move(saved);
      }
    }
  }
  return changed;
}

// Integer expressions to 0, 1 or an integer operand; numbers to 0 or 1.
bool Reducer::simplify_expressions(Sexp& root) {
  bool changed = false;
  for (size_t index = 1;; ++index) {
    Located at;
    if (!locate_index(root, index, at)) break;
    Role role = role_of(at, root);
    if (role == Role::TopLevel || role == Role::Place || role == Role::Size) continue;
    // (setf VAR X): VAR may hold a packet pointer, and X then is one; 0 or
    // an integer operand there would make a program of another kind.
    if (role == Role::Integer) {
      const Sexp& parent = *at.ancestors.back();
      if ((parent.head_is("setf") || parent.head_is("setq")) && at.position >= 2 && at.position % 2 == 0 &&
          is_symbol(parent.items[at.position - 1]))
        role = Role::Other;
    }
    bool frozen = false;
    for (Sexp* a : at.ancestors) {
      if (a->head_is("defstruct") || a->head_is("defmacro")) frozen = true;  // layouts, templates
      // (- (+ p 20) 6): the generator keeps such offsets from going below p;
      // shrinking the 20 could make an access before the packet start.
      if (a->head_is("-") && a->size() == 3 && a->items[1].head_is("+")) frozen = true;
    }
    if (frozen) continue;
    const Sexp original = *at.node;
    std::vector<Sexp> candidates;
    bool integer = original.is_list() && integer_head(original.head(), int_functions_);
    // + and - make pointers too: where an integer is wanted they are integers.
    if (role == Role::Integer && (original.head_is("+") || original.head_is("-"))) integer = true;
    static const std::set<std::string> control = {"if", "when", "unless", "cond", "case", "let", "let*", "progn", "and", "or"};
    if (role == Role::Integer && original.is_list() && control.count(original.head())) {
      candidates.push_back(Sexp("0"));
      candidates.push_back(Sexp("1"));
      if (original.head_is("if"))
        for (size_t c = 2; c < original.size(); ++c) candidates.push_back(original.items[c]);
      if ((original.head_is("let") || original.head_is("let*")) && original.size() == 3 &&
          !mentions_any(original, 2, bound_names(original)))
        candidates.push_back(original.items[2]);
    } else if (integer && !null_test(original)) {
      candidates.push_back(Sexp("0"));
      candidates.push_back(Sexp("1"));
      for (size_t c = 1; c < original.size(); ++c) {
        const Sexp& child = original.items[c];
        if ((child.is_list() && integer_head(child.head(), int_functions_)) || is_number(child)) candidates.push_back(child);
      }
    } else if (original.head_is("-") && original.size() == 3 && original.items[1].head_is("+")) {
      // (- (+ p 20) 6) -> p
      if (original.items[1].size() > 1 && original.items[1].items[1].is_list()) candidates.push_back(original.items[1].items[1]);
    } else if (original.head_is("if") && original.size() == 4 && role == Role::Other) {
      // A pointer chosen by a test: either pointer.
      candidates.push_back(original.items[2]);
      candidates.push_back(original.items[3]);
    } else if (original.head_is("+") || original.head_is("cast")) {
      // Possibly a pointer: (+ p 4) -> p. Only forms replace it, never a
      // number nor an integer operand (the pointer is the other one).
      for (size_t c = 1; c < original.size(); ++c)
        if (original.items[c].is_list() && !integer_head(original.items[c].head(), int_functions_))
          candidates.push_back(original.items[c]);
    } else if (original.head_is("-") && original.size() == 3) {
      // (- p 4) -> p; but (- end start) is a length, an integer, whose
      // operands are pointers: only when the subtrahend is an integer.
      const Sexp& b = original.items[2];
      bool integer_b = is_number(b) || (b.is_list() && integer_head(b.head(), int_functions_));
      if (integer_b && original.items[1].is_list()) candidates.push_back(original.items[1]);
    } else if (is_number(original) && original.text != "0" && original.text != "1" && at.position != 0) {
      candidates.push_back(Sexp("0"));
      candidates.push_back(Sexp("1"));
    }
    for (auto& replacement : candidates) {
      if (replacement == original) continue;
      *at.node = replacement;
      if (still_fails(root)) {
        changed = true;
        accepted(root);
        break;
      }
      *at.node = original;
    }
  }
  return changed;
}

std::vector<Sexp> Reducer::reduce(std::vector<Sexp> forms) {
  Sexp root = Sexp::list(std::move(forms));
  learn_definitions(root);
  progress_ << "reducing " << root.node_count() << " nodes (" << outcome_name(target_.kind) << ": " << target_.category
            << ")\n"
            << std::flush;
  for (int round = 0; round < 20; ++round) {
    bool changed = delete_top_level(root);
    changed = delete_statements(root) || changed;
    changed = unwrap_statements(root) || changed;
    changed = delete_bindings(root) || changed;
    changed = simplify_expressions(root) || changed;
    if (!changed) break;
  }
  progress_ << "reduced to " << root.node_count() << " nodes after " << checks_ << " checks\n" << std::flush;
  return root.items;
}

}  // namespace whistler::torture
