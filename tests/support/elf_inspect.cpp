#include "elf_inspect.hpp"

#include <gelf.h>
#include <libelf.h>

#include <stdexcept>

namespace whistler::test {

bool ElfSummary::has_section(const std::string& name) const {
  for (const auto& s : sections)
    if (s == name) return true;
  return false;
}

const ElfSymbol* ElfSummary::symbol(const std::string& name) const {
  for (const auto& s : symbols)
    if (s.name == name) return &s;
  return nullptr;
}

ElfSummary inspect_elf(const std::string& bytes) {
  elf_version(EV_CURRENT);
  std::string copy = bytes;
  Elf* elf = elf_memory(copy.data(), copy.size());
  if (!elf || elf_kind(elf) != ELF_K_ELF) throw std::runtime_error("not an ELF object");
  size_t shstrndx = 0;
  elf_getshdrstrndx(elf, &shstrndx);
  ElfSummary summary;
  std::vector<std::string> names;
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr shdr;
    gelf_getshdr(scn, &shdr);
    const char* name = elf_strptr(elf, shstrndx, shdr.sh_name);
    summary.sections.push_back(name ? name : "");
  }
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
    GElf_Shdr shdr;
    gelf_getshdr(scn, &shdr);
    if (shdr.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    size_t count = shdr.sh_size / shdr.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      gelf_getsym(data, static_cast<int>(i), &sym);
      const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
      if (!name || !*name) continue;
      ElfSymbol s;
      s.name = name;
      s.size = sym.st_size;
      s.global = GELF_ST_BIND(sym.st_info) == STB_GLOBAL;
      s.function = GELF_ST_TYPE(sym.st_info) == STT_FUNC;
      s.object = GELF_ST_TYPE(sym.st_info) == STT_OBJECT;
      if (sym.st_shndx > 0 && sym.st_shndx < summary.sections.size() + 1)
        s.section = summary.sections[sym.st_shndx - 1];
      summary.symbols.push_back(s);
    }
  }
  elf_end(elf);
  return summary;
}

}  // namespace whistler::test
