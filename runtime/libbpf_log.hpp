// Captures what libbpf prints (including the kernel's extack text for netlink
// attach failures) so errors can quote it instead of spilling it on stderr.
#pragma once

#include <cstdarg>
#include <string>

namespace whistler::runtime {

int libbpf_print_hook(int level, const char* format, va_list args);

// While alive, libbpf's warnings and info lines on this thread go to text();
// debug lines are kept only when `debug` is set. Nested captures restore the
// outer one when they end.
class LibbpfLogCapture {
 public:
  explicit LibbpfLogCapture(bool debug = false);
  ~LibbpfLogCapture();
  LibbpfLogCapture(const LibbpfLogCapture&) = delete;
  LibbpfLogCapture& operator=(const LibbpfLogCapture&) = delete;

  const std::string& text() const { return text_; }
  void clear() { text_.clear(); }

 private:
  friend int libbpf_print_hook(int level, const char* format, va_list args);
  std::string text_;
  bool debug_;
  LibbpfLogCapture* outer_;
};

}  // namespace whistler::runtime
