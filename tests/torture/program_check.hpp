// Compiling a program in-process (as whistlerc does, on the large stack) and
// loading it with the kernel verifier, classified as an Outcome.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "outcome.hpp"

namespace whistler::runtime {
class BpfObject;
}

namespace whistler::torture {

struct CompileResult {
  bool ok = false;
  std::string object;                 // the ELF image
  std::vector<std::string> programs;  // ELF names of the programs, in source order
  Outcome failure;                    // when !ok
};

// `short_packet`: when >= 0, every program's short-packet action (the
// differential uses a value no program returns, to see where a check failed).
CompileResult compile_program(const std::string& source, int opt_level, int64_t short_packet = -1);

struct LoadResult {
  std::unique_ptr<runtime::BpfObject> object;  // loaded, when the outcome is Accepted
  Outcome outcome;
};

LoadResult load_program(const std::string& elf, int opt_level);

// Compile, then load. The loaded object is kept in `loaded` when asked for.
Outcome check_program(const std::string& source, int opt_level,
                      std::unique_ptr<runtime::BpfObject>* loaded = nullptr);

// "invalid access to packet, off=26 size=4, R3(id=0,off=26,r=0)" ->
// "invalid access to packet, off=N size=N, R": numbers, registers and
// register states removed, so that one cause is one category. Offsets of
// 0xffff and more read "off=LARGE": the verifier tracks no packet range there.
std::string verifier_cause(const std::string& reason);
// A compiler message with the generated names and numbers taken out.
std::string normalize_message(const std::string& message);

}  // namespace whistler::torture
