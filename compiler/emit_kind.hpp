// What the compiler writes: an ELF object, BPF assembly or LLVM IR text.
#pragma once

namespace whistler {

enum class EmitKind { Object, Assembly, LLVM };

}  // namespace whistler
