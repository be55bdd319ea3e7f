// The standard library (stdlib/*.lisp), embedded in the binary at build time.
#pragma once

#include <vector>

namespace whistler {

struct StdlibFile {
  const char* name;
  const char* text;
};

// In load order: the prelude first, then the packet library.
const std::vector<StdlibFile>& stdlib_files();

}  // namespace whistler
