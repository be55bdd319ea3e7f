#include "source.hpp"

namespace whistler {

SourceFile::SourceFile(std::string path, std::string text, bool system)
    : path_(std::move(path)), text_(std::move(text)), system_(system) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
}

std::string_view SourceFile::line(uint32_t n) const {
  if (n == 0 || n > line_starts_.size()) return {};
  size_t begin = line_starts_[n - 1];
  size_t end = n < line_starts_.size() ? line_starts_[n] - 1 : text_.size();
  if (end > begin && text_[end - 1] == '\r') --end;
  return std::string_view(text_).substr(begin, end - begin);
}

SourceManager::SourceManager() { files_.push_back(std::make_unique<SourceFile>("<unknown>", "", true)); }

uint32_t SourceManager::add(std::string path, std::string text, bool system) {
  files_.push_back(std::make_unique<SourceFile>(std::move(path), std::move(text), system));
  return static_cast<uint32_t>(files_.size() - 1);
}

}  // namespace whistler
