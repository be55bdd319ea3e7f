// What the compiler emits: ELF layout libbpf expects, bounds-check placement,
// instruction counts that must not regress.
#include <doctest/doctest.h>

#include "elf_inspect.hpp"
#include "test_support.hpp"

using namespace whistler;

namespace {

CompileOutput must_compile(const std::string& text, EmitKind kind = EmitKind::Object, int opt = 2) {
  std::string diags;
  CompileOutput out = test::compile_text(text, diags, kind, opt);
  REQUIRE_MESSAGE(out.ok, diags);
  return out;
}

const char* kDrop9999 = R"((defprog drop-9999 (:type :xdp :section "xdp/drop_9999")
  (with-tcp (data data-end tcp)
    (when (= (tcp-dst-port tcp) 9999)
      (return XDP_DROP)))
  XDP_PASS))";

}  // namespace

TEST_CASE("the object has what libbpf needs: .maps, license, BTF, line info, program sections") {
  CompileOutput out = must_compile(std::string(R"(
(defmap hits :type :array :key-size 4 :value-size 8 :max-entries 4)
(defprog count-it (:type :xdp) (incf (getmap hits 0)) XDP_PASS)
)") + kDrop9999);
  test::ElfSummary elf = test::inspect_elf(out.bytes);
  CHECK(elf.has_section(".maps"));
  CHECK(elf.has_section("license"));
  CHECK(elf.has_section(".BTF"));
  CHECK(elf.has_section(".BTF.ext"));
  CHECK(elf.has_section("xdp"));
  CHECK(elf.has_section("xdp/drop_9999"));
  CHECK_FALSE(elf.has_section(".eh_frame"));
  const test::ElfSymbol* map = elf.symbol("hits");
  REQUIRE(map);
  CHECK(map->global);
  CHECK(map->section == ".maps");
  const test::ElfSymbol* prog = elf.symbol("drop_9999");
  REQUIRE(prog);
  CHECK(prog->global);
  CHECK(prog->function);
  CHECK(prog->section == "xdp/drop_9999");
  REQUIRE(elf.symbol("count_it"));
  CHECK(elf.symbol("count_it")->section == "xdp");
  REQUIRE(elf.symbol("_license"));
  for (const auto& s : elf.symbols) CHECK_MESSAGE(s.name.find("$local") == std::string::npos, s.name);
}

TEST_CASE("drop-9999 stays small") {
  CompileOutput out = must_compile(kDrop9999);
  REQUIRE(out.programs.size() == 1);
  // 45 today (clang: 51 for the C twin): VLAN/QinQ skipping, IP options, IHL and fragment
  // checks. Raise only with a reason.
  CHECK(out.programs[0].instructions <= 45);
}

TEST_CASE("the packet library's own checks prove its accesses: nothing is inserted") {
  CompileOutput out = must_compile(kDrop9999);
  // EtherType, two VLAN tags, version/IHL, protocol, fragment field, port.
  CHECK(out.bounds.accesses == 7);
  CHECK(out.bounds.proven == 7);
  CHECK(out.bounds.inserted == 0);
}

TEST_CASE("an unchecked packet read gets one check, merged with the reads after it") {
  CompileOutput out = must_compile(R"(
(defprog p (:type :xdp)
  (let ((data (xdp-data)))
    (+ (load u16 data 12) (load u32 data 26) (load u8 data 23))))
)");
  CHECK(out.bounds.accesses == 3);
  CHECK(out.bounds.inserted == 1);
  CHECK(out.bounds.merged == 2);
}

TEST_CASE("a check the program wrote is not duplicated, as a pointer or as a length") {
  CompileOutput pointer = must_compile(R"(
(defprog p (:type :xdp)
  (let ((data (xdp-data)) (data-end (xdp-data-end)))
    (when (> (+ data 34) data-end) (return XDP_PASS))
    (if (= (load u8 data 23) 6) XDP_DROP XDP_PASS)))
)");
  CHECK(pointer.bounds.proven == 1);
  CHECK(pointer.bounds.inserted == 0);
  CompileOutput length = must_compile(R"(
(defprog p (:type :xdp)
  (let ((data (xdp-data)) (data-end (xdp-data-end)))
    (if (< (- data-end data) 34)
        XDP_PASS
        (if (= (load u8 data 23) 6) XDP_DROP XDP_PASS))))
)");
  CHECK(length.bounds.proven == 1);
  CHECK(length.bounds.inserted == 0);
}

TEST_CASE("a check too short for the access does not count: one is inserted") {
  CompileOutput out = must_compile(R"(
(defprog p (:type :xdp)
  (let ((data (xdp-data)) (data-end (xdp-data-end)))
    (when (> (+ data 14) data-end) (return XDP_PASS))
    (load u32 data 30)))
)");
  CHECK(out.bounds.proven == 0);
  CHECK(out.bounds.inserted == 1);
}

TEST_CASE("a check needed while a ring buffer record is reserved stays at the access, and its exit discards the record") {
  CompileOutput out = must_compile(R"(
(defstruct rec (a u32) (b u32))
(defmap events :type :ringbuf :max-entries 4096 :value-type rec)
(defprog p (:type :xdp)
  (let ((data (xdp-data)))
    (with-ringbuf (r events (sizeof rec))
      (setf (rec-a r) (load u32 data 0)
            (rec-b r) (load u32 data 30))))
  XDP_PASS)
)", EmitKind::LLVM);
  // The check comes after bpf_ringbuf_reserve (helper 131), and the short
  // exit calls bpf_ringbuf_discard (helper 133) before returning.
  size_t reserve = out.bytes.find("inttoptr (i64 131 to ptr)");
  size_t check = out.bytes.find("icmp ugt ptr");
  REQUIRE(check != std::string::npos);
  REQUIRE(reserve != std::string::npos);
  CHECK(reserve < check);
  size_t exit = out.bytes.find("short_packet.discard:");
  REQUIRE(exit != std::string::npos);
  CHECK(out.bytes.find("inttoptr (i64 133 to ptr)", exit) != std::string::npos);
}

TEST_CASE("accesses separated by a helper call are checked separately") {
  CompileOutput out = must_compile(R"(
(defprog p (:type :xdp)
  (let ((data (xdp-data)))
    (+ (load u8 data 0) (get-prandom-u32) (load u8 data 40))))
)");
  CHECK(out.bounds.inserted == 2);
}

TEST_CASE("--emit asm and --emit llvm produce text") {
  CompileOutput asm_out = must_compile(kDrop9999, EmitKind::Assembly);
  CHECK(asm_out.bytes.find("drop_9999:") != std::string::npos);
  CHECK(asm_out.bytes.find("exit") != std::string::npos);
  CompileOutput ir = must_compile(kDrop9999, EmitKind::LLVM);
  CHECK(ir.bytes.find("@drop_9999(ptr") != std::string::npos);
  CHECK(ir.bytes.find("define dso_local") != std::string::npos);
  CHECK(ir.bytes.find("section \"xdp/drop_9999\"") != std::string::npos);
}

TEST_CASE("every optimisation level compiles") {
  for (int level = 0; level <= 3; ++level) {
    CAPTURE(level);
    CompileOutput out = must_compile(kDrop9999, EmitKind::Object, level);
    CHECK(out.programs[0].instructions > 0);
  }
}

TEST_CASE("a macro can define programs: one file, two programs") {
  CompileOutput out = must_compile(R"(
(defmacro def-port-filter (name port)
  `(defprog ,name (:type :xdp)
     (with-tcp (data data-end tcp)
       (when (= (tcp-dst-port tcp) ,port) (return XDP_DROP)))
     XDP_PASS))
(def-port-filter block-ssh 22)
(def-port-filter block-telnet 23)
)");
  REQUIRE(out.programs.size() == 2);
  CHECK(out.programs[0].elf_name == "block_ssh");
  CHECK(out.programs[1].elf_name == "block_telnet");
}

TEST_CASE("u32 masks stay 32-bit: no 64-bit immediates when one address is masked many times") {
  // A rule set testing one source address against several prefixes: each
  // rule is `w &= imm; if w == imm` (as clang emits), not a 2-slot ld_imm64.
  CompileOutput out = must_compile(R"(
(defprog rules (:type :xdp)
  (with-ipv4 (data data-end ip)
    (let ((src (ntohl (ipv4-src-addr ip))))
      (when (= (logand src #xFFFF0000) #x27650000) (return XDP_DROP))
      (when (= (logand src #xFF000000) #x13000000) (return XDP_DROP))
      (when (= (logand src #xFFFFFF00) #xC0A80100) (return XDP_DROP))
      (when (= (logand src #xFFFFF000) #x0A0B0000) (return XDP_DROP))
      (when (= (logand src #xFFFFFFF0) #xAC100010) (return XDP_DROP))))
  XDP_PASS)
)",
                                   EmitKind::Assembly);
  std::string text(out.bytes.begin(), out.bytes.end());
  CHECK_MESSAGE(text.find(" ll") == std::string::npos, text);
  CHECK(text.find("&= -65536") != std::string::npos);
}
