// Debug-info types shaped the way the BPF backend turns them into BTF that
// libbpf and the kernel accept: integer and struct types, struct xdp_md, and
// the anonymous structs that describe BTF-defined maps.
#pragma once

#include <llvm/IR/DIBuilder.h>
#include <llvm/IR/DebugInfoMetadata.h>
#include <llvm/IR/GlobalVariable.h>

#include <map>

#include "module.hpp"

namespace whistler {

class DebugTypes {
 public:
  DebugTypes(llvm::DIBuilder& dib, llvm::DICompileUnit* cu, llvm::DIFile* file)
      : dib_(dib), cu_(cu), file_(file) {}

  llvm::DIType* integer(unsigned bits, bool is_signed);
  llvm::DIType* type(const Type& t);
  llvm::DIType* xdp_md_pointer();
  llvm::DISubroutineType* program_signature();
  // Describes a map's BTF definition and attaches it to its `.maps` global.
  void describe_map(const MapDef& map, llvm::GlobalVariable* global, llvm::DIFile* file, unsigned line);
  // Number of pointer-sized members the map's definition struct has.
  static unsigned map_member_count(const MapDef& map);
  void describe_license(llvm::GlobalVariable* global, size_t length);

 private:
  llvm::DIDerivedType* int_member(const char* name, uint64_t value, uint64_t offset_bits, llvm::DIFile* file);
  llvm::DIDerivedType* pointer_member(const char* name, llvm::DIType* pointee, uint64_t offset_bits, llvm::DIFile* file);
  llvm::DIType* lpm_key(uint32_t key_size);

  llvm::DIBuilder& dib_;
  llvm::DICompileUnit* cu_;
  llvm::DIFile* file_;
  std::map<std::pair<unsigned, bool>, llvm::DIType*> ints_;
  std::map<const StructDef*, llvm::DIType*> structs_;
  std::map<uint32_t, llvm::DIType*> lpm_keys_;
  llvm::DIType* xdp_md_ptr_ = nullptr;
  llvm::DISubroutineType* program_sig_ = nullptr;
};

}  // namespace whistler
