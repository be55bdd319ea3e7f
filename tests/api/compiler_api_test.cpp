// The public compile API (include/whistler/compiler.hpp), used as an
// embedding program uses it: through libwhistler.so only.
#include <doctest/doctest.h>

#include <string>
#include <whistler/whistler.hpp>

namespace {

const char* kDrop = R"(
(defprog drop-port (:type :xdp :section "xdp/drop_port")
  (with-tcp (data data-end tcp)
    (when (= (tcp-dst-port tcp) port) (return XDP_DROP)))
  XDP_PASS)
)";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("compile_source: an ELF object, program and map information, defines") {
  whistler::CompileOptions options;
  options.defines = {{"port", "9999"}};
  whistler::CompileResult r = whistler::compile_source(
      std::string("(defmap hits :type :percpu-array :key-type u32 :value-type u64 :max-entries 4)\n") + kDrop, "drop.lisp",
      options);
  REQUIRE_MESSAGE(r.ok(), r.error_text());
  REQUIRE(r.output.size() > 4);
  CHECK(std::string(r.output.begin(), r.output.begin() + 4) == "\x7f" "ELF");
  REQUIRE(r.programs.size() == 1);
  CHECK(r.programs[0].name == "drop-port");
  CHECK(r.programs[0].elf_name == "drop_port");
  CHECK(r.programs[0].section == "xdp/drop_port");
  CHECK(r.programs[0].instructions > 0);
  CHECK(r.programs[0].location.file == "drop.lisp");
  CHECK(r.programs[0].location.line == 3);
  REQUIRE(r.maps.size() == 1);
  CHECK(r.maps[0].name == "hits");
  CHECK(r.maps[0].type == "percpu-array");
  CHECK(r.maps[0].key_size == 4);
  CHECK(r.maps[0].value_size == 8);
  CHECK(r.maps[0].max_entries == 4);
  CHECK(r.files_read == std::vector<std::string>{"drop.lisp"});
}

TEST_CASE("compile_source: errors as data, with file, line, column and message") {
  whistler::CompileResult r = whistler::compile_source("(defprog p (:type :xdp) (frob))", "bad.lisp");
  CHECK_FALSE(r.ok());
  CHECK_FALSE(static_cast<bool>(r));
  CHECK(r.output.empty());
  REQUIRE(!r.diagnostics.empty());
  const whistler::Diagnostic& d = r.diagnostics.front();
  CHECK(d.severity == whistler::Severity::Error);
  CHECK(d.location.file == "bad.lisp");
  CHECK(d.location.line == 1);
  CHECK(d.location.column == 25);
  CHECK(d.message == "unknown form 'frob'");
  CHECK(starts_with(d.rendered, "bad.lisp:1:25: error: unknown form 'frob'\n"));
  CHECK(r.error_text().find("bad.lisp:1:25") != std::string::npos);
}

TEST_CASE("compile_source: an undefined constant is an error, and a define gives it a value") {
  CHECK_FALSE(whistler::compile_source(kDrop, "drop.lisp").ok());
  whistler::CompileOptions options;
  options.defines = {{"port", "80"}};
  CHECK(whistler::compile_source(kDrop, "drop.lisp", options).ok());
}

TEST_CASE("compile_file: a missing file is an error without a made-up location") {
  whistler::CompileResult r = whistler::compile_file("/nonexistent/whistler-api-test.lisp");
  REQUIRE_FALSE(r.ok());
  const whistler::Diagnostic& d = r.diagnostics.front();
  CHECK(d.location.file.empty());
  CHECK(d.location.line == 0);
  CHECK(d.message.find("cannot read '/nonexistent/whistler-api-test.lisp'") != std::string::npos);
  CHECK(starts_with(d.rendered, "error: cannot read '/nonexistent/whistler-api-test.lisp'"));
  CHECK(d.rendered.find("<unknown>") == std::string::npos);
}

TEST_CASE("compile_source: optimisation levels and assembly output") {
  whistler::CompileOptions options;
  options.defines = {{"port", "9999"}};
  options.output = whistler::OutputKind::Assembly;
  for (int level : {0, 1, 2, 3}) {
    options.optimization_level = level;
    whistler::CompileResult r = whistler::compile_source(kDrop, "drop.lisp", options);
    REQUIRE_MESSAGE(r.ok(), r.error_text());
    std::string text(r.output.begin(), r.output.end());
    CHECK(text.find("drop_port") != std::string::npos);
    CHECK(text.find("exit") != std::string::npos);
  }
}

TEST_CASE("version: the library's version is the headers' version") {
  CHECK(std::string(whistler::version()) == WHISTLER_VERSION_STRING);
}
