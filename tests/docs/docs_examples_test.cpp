// Every example in the documentation compiles.
//
// The test reads README.md and every docs/*.md file and compiles each fenced
// code block whose info string is exactly `lisp`:
//
//   ```lisp
//   (defprog pass-all (:type :xdp) XDP_PASS)
//   ```
//
// Convention for documentation writers:
//   ```lisp           a complete Whistler source file: it must compile on its
//                     own (the standard library is loaded, as for whistlerc).
//   ```lisp-fragment  Whistler code that is not a complete file (a form out of
//                     context, a piece of a larger example): not compiled.
//   ```text / ```sh   REPL sessions, shell commands, compiler output: not compiled.
// Prefer complete examples: a fragment can go stale without anyone noticing.
//
// A failure names the document and the line of the example, and the
// compiler's diagnostics point at lines of the document itself (the block is
// compiled under the document's name with its own line numbers).
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "compilation.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

struct Example {
  std::string document;  // relative to the source tree: "docs/language.md"
  int line = 0;          // line of the opening fence
  std::string text;      // the block, preceded by blank lines so line numbers match the document
};

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The info string of a fence line ("```lisp" -> "lisp"), or nullopt when the
// line is not a fence. Fences may be indented by up to three spaces.
std::optional<std::string> fence(const std::string& line, std::string& marker) {
  size_t i = 0;
  while (i < line.size() && i < 3 && line[i] == ' ') ++i;
  if (line.compare(i, 3, "```") != 0 && line.compare(i, 3, "~~~") != 0) return std::nullopt;
  char c = line[i];
  size_t n = i;
  while (n < line.size() && line[n] == c) ++n;
  marker = line.substr(i, n - i);
  std::string info = line.substr(n);
  info.erase(0, info.find_first_not_of(" \t"));
  info.erase(info.find_last_not_of(" \t\r") + 1);
  return info;
}

// Every ```lisp block of a Markdown document.
std::vector<Example> lisp_examples(const std::string& document) {
  std::vector<Example> out;
  std::istringstream in(read_file(whistler::test::source_path(document)));
  std::string line;
  int number = 0;
  bool inside = false, collect = false;
  std::string open_marker;
  Example current;
  while (std::getline(in, line)) {
    ++number;
    std::string marker;
    auto info = fence(line, marker);
    if (!inside) {
      if (!info) continue;
      inside = true;
      open_marker = marker;
      // Only the first word of the info string counts: ```lisp title="x" is lisp.
      std::string language = info->substr(0, info->find_first_of(" \t{"));
      collect = language == "lisp";
      current = Example{document, number, std::string(static_cast<size_t>(number), '\n')};
      continue;
    }
    // A closing fence: the same character, at least as long, no info string.
    if (info && info->empty() && marker[0] == open_marker[0] && marker.size() >= open_marker.size()) {
      inside = false;
      if (collect) out.push_back(current);
      continue;
    }
    if (collect) current.text += line + "\n";
  }
  // An unclosed fence runs to the end of the document (as Markdown renders it).
  if (inside && collect) out.push_back(current);
  return out;
}

std::vector<std::string> documents() {
  std::vector<std::string> docs{"README.md"};
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(whistler::test::source_path("docs")))
    if (entry.is_regular_file() && entry.path().extension() == ".md")
      found.push_back("docs/" + entry.path().filename().string());
  std::sort(found.begin(), found.end());
  docs.insert(docs.end(), found.begin(), found.end());
  return docs;
}

// Compiles one example; returns the rendered diagnostics ("" when it compiled).
std::string compile_example(const Example& example) {
  whistler::Compilation c;
  c.add_source(example.document, example.text);
  whistler::CompileOutput out = c.generate(whistler::EmitKind::Object);
  if (out.ok) return "";
  std::string text = c.diags().render_all();
  return text.empty() ? "compilation failed without a diagnostic\n" : text;
}

// Compiles every ```lisp block of the documents selected; one failure per block.
size_t check_documents(const std::vector<std::string>& selected) {
  size_t compiled = 0;
  for (const auto& document : selected) {
    for (const auto& example : lisp_examples(document)) {
      std::string errors = compile_example(example);
      if (!errors.empty()) {
        // Reported at the document's line: "docs/language.md(123): ERROR: ...".
        std::string message =
            "this ```lisp example does not compile (mark pieces that are not complete files ```lisp-fragment):\n" +
            errors;
        ADD_FAIL_CHECK_AT(example.document.c_str(), example.line, message);
      } else {
        ++compiled;
      }
    }
  }
  return compiled;
}

}  // namespace

TEST_CASE("the fence reader finds lisp blocks and skips fragments, text and other fences") {
  // A sanity check of the extraction itself, on the documents we know.
  auto language = lisp_examples("docs/language.md");
  CHECK(language.size() >= 30);
  for (const auto& e : language) {
    CHECK(e.line > 0);
    CHECK(e.text.find("```") == std::string::npos);
  }
}

TEST_CASE("README.md examples compile") { check_documents({"README.md"}); }

TEST_CASE("docs/getting-started.md examples compile") { CHECK(check_documents({"docs/getting-started.md"}) >= 1); }

TEST_CASE("docs/language.md examples compile") { CHECK(check_documents({"docs/language.md"}) >= 30); }

TEST_CASE("docs/packet-library.md examples compile") { CHECK(check_documents({"docs/packet-library.md"}) >= 10); }

TEST_CASE("docs/compiler.md examples compile") { check_documents({"docs/compiler.md"}); }

TEST_CASE("docs/cli.md examples compile") { check_documents({"docs/cli.md"}); }

TEST_CASE("every other document's lisp examples compile") {
  // Documents added later (docs/runtime.md, docs/performance.md, ...) are covered here.
  const std::vector<std::string> named{"README.md", "docs/getting-started.md", "docs/language.md",
                                       "docs/packet-library.md", "docs/compiler.md", "docs/cli.md"};
  std::vector<std::string> others;
  for (const auto& d : documents())
    if (std::find(named.begin(), named.end(), d) == named.end()) others.push_back(d);
  check_documents(others);
}
