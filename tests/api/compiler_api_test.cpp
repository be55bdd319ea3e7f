// The public compile API (include/whistler/compiler.hpp), used as an
// embedding program uses it: through libwhistler.so only.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
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

TEST_CASE("compile_file: a missing file is an error at the file (line 0), without a made-up line") {
  whistler::CompileResult r = whistler::compile_file("/nonexistent/whistler-api-test.lisp");
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.diagnostics.size() == 1);
  const whistler::Diagnostic& d = r.diagnostics.front();
  CHECK(d.location.file == "/nonexistent/whistler-api-test.lisp");
  CHECK(d.location.line == 0);
  CHECK(d.message == "cannot read: No such file or directory");
  CHECK(d.rendered == "/nonexistent/whistler-api-test.lisp: error: cannot read: No such file or directory\n");
  CHECK(d.rendered.find("<unknown>") == std::string::npos);
  CHECK(r.output.empty());
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

// ---------------------------------------------------------------------------
// Bad input: every case is an error diagnostic naming the file, never an
// exception, an abort or a crash.

namespace {

// A fresh directory, removed afterwards.
struct ApiTempDir {
  std::filesystem::path path;
  ApiTempDir() {
    static int n = 0;
    path = std::filesystem::temp_directory_path() / ("whistler-api-test-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    std::filesystem::create_directories(path);
  }
  ~ApiTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name, const std::string& bytes) const {
    std::ofstream((path / name).string(), std::ios::binary) << bytes;
    return (path / name).string();
  }
};

const whistler::Diagnostic& first_error(const whistler::CompileResult& r) {
  for (const auto& d : r.diagnostics)
    if (d.severity == whistler::Severity::Error) return d;
  FAIL("no error diagnostic");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("compile_file: a directory, an I/O error and a file over 16 MiB are errors at the file") {
  ApiTempDir dir;
  whistler::CompileResult d = whistler::compile_file(dir.path.string());
  REQUIRE_FALSE(d.ok());
  CHECK(first_error(d).location.file == dir.path.string());
  CHECK(first_error(d).location.line == 0);
  CHECK(first_error(d).message == "cannot read: Is a directory");
  CHECK(first_error(d).rendered == dir.path.string() + ": error: cannot read: Is a directory\n");
  CHECK(d.output.empty());

  whistler::CompileResult io = whistler::compile_file("/proc/self/mem");
  REQUIRE_FALSE(io.ok());
  CHECK(first_error(io).message == "cannot read: Input/output error");

  // A sparse file: its size is refused before anything is read.
  std::string big = dir.file("big.lisp", "");
  std::filesystem::resize_file(big, 200'000'000);
  whistler::CompileResult b = whistler::compile_file(big);
  REQUIRE_FALSE(b.ok());
  CHECK(first_error(b).location.file == big);
  CHECK(first_error(b).message ==
        "cannot read: the file is larger than 16 MiB, the limit for a source file (it has 200000000 bytes)");

  // Loading a failed compilation names the file in the exception.
  whistler::Error e = [&] {
    try {
      whistler::Object::load(d);
    } catch (const whistler::Error& err) {
      return err;
    }
    FAIL("no whistler::Error was thrown");
    throw std::logic_error("unreachable");
  }();
  CHECK(e.kind() == whistler::ErrorKind::CompileFailed);
  CHECK(std::string(e.message()) == "the program did not compile: " + dir.path.string() + ": cannot read: Is a directory");
}

TEST_CASE("compile_file and compile_source: binary garbage and deep nesting are located errors") {
  ApiTempDir dir;
  std::mt19937 gen(11);
  std::string random(64 * 1024, '\0');
  for (char& c : random) c = static_cast<char>(gen() & 0xff);
  std::vector<std::pair<std::string, std::string>> inputs = {
      {"random.lisp", random},
      {"nuls.lisp", std::string(4096, '\0')},
      {"utf8.lisp", "(defprog p (:type :xdp)\n  (\xff\xfe 1)\n  XDP_PASS)\n"},
      {"open.lisp", std::string(100'000, '(')},
      {"closed.lisp", std::string(100'000, '(') + std::string(100'000, ')')},
  };
  for (const auto& [name, bytes] : inputs) {
    CAPTURE(name);
    whistler::CompileResult s = whistler::compile_source(bytes, name);
    REQUIRE_FALSE(s.ok());
    CHECK(first_error(s).location.file == name);
    CHECK(first_error(s).location.line >= 1);
    CHECK(s.output.empty());
    std::string path = dir.file(name, bytes);
    whistler::CompileResult f = whistler::compile_file(path);
    REQUIRE_FALSE(f.ok());
    CHECK(first_error(f).location.file == path);
    CHECK(first_error(f).location.line >= 1);
  }
}
