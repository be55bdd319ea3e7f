// Source files and locations: every form the reader produces points back here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace whistler {

// A position in a source file. file == 0 means "no location"; line == 0
// with a file means the whole file (it could not be read, for instance).
struct SourceLoc {
  uint32_t file = 0;
  uint32_t line = 0;
  uint32_t col = 0;
  bool valid() const { return file != 0 && line != 0; }
  friend bool operator==(const SourceLoc&, const SourceLoc&) = default;
};

class SourceFile {
 public:
  SourceFile(std::string path, std::string text, bool system);
  const std::string& path() const { return path_; }
  const std::string& text() const { return text_; }
  // True for the embedded standard library: its locations are replaced by the
  // call site when its macros expand, so diagnostics speak of the user's file.
  bool system() const { return system_; }
  uint32_t line_count() const { return static_cast<uint32_t>(line_starts_.size()); }
  // Text of line n (1-based), without the newline.
  std::string_view line(uint32_t n) const;

 private:
  std::string path_;
  std::string text_;
  bool system_;
  std::vector<size_t> line_starts_;
};

class SourceManager {
 public:
  SourceManager();
  // Returns the id of the new file (ids start at 1).
  uint32_t add(std::string path, std::string text, bool system = false);
  const SourceFile& file(uint32_t id) const { return *files_.at(id); }
  bool is_system(SourceLoc loc) const { return loc.file != 0 && files_.at(loc.file)->system(); }
  size_t size() const { return files_.size(); }

 private:
  std::vector<std::unique_ptr<SourceFile>> files_;
};

}  // namespace whistler
