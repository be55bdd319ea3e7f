#include <fstream>
#include <iostream>
#include "compilation.hpp"
#include "emit_kind.hpp"
using namespace whistler;
int main(int argc, char** argv) {
  Compilation c;
  c.add_file(argv[1]);
  EmitKind k = argc > 3 && std::string(argv[3]) == "ll" ? EmitKind::LLVM : argc > 3 ? EmitKind::Assembly : EmitKind::Object;
  auto out = c.generate(k);
  std::cerr << c.diags().render_all();
  if (!out.ok) return 1;
  std::ofstream(argv[2], std::ios::binary) << out.bytes;
  for (auto& p : out.programs) std::cerr << p.name << " " << p.instructions << "\n";
  std::cerr << "bounds: acc " << out.bounds.accesses << " proven " << out.bounds.proven << " inserted " << out.bounds.inserted << " merged " << out.bounds.merged << "\n";
}
