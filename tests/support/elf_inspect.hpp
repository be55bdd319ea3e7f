// Reads section and symbol tables of an ELF object (libelf), for tests of
// what the compiler emits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace whistler::test {

struct ElfSymbol {
  std::string name;
  std::string section;
  uint64_t size = 0;
  bool global = false;
  bool function = false;
  bool object = false;
};

struct ElfSummary {
  std::vector<std::string> sections;
  std::vector<ElfSymbol> symbols;
  bool has_section(const std::string& name) const;
  const ElfSymbol* symbol(const std::string& name) const;
};

// Throws std::runtime_error when the bytes are not an ELF object.
ElfSummary inspect_elf(const std::string& bytes);

}  // namespace whistler::test
