#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "libbpf_log.hpp"

namespace whistler::runtime {

namespace {
thread_local LibbpfLogCapture* current = nullptr;
std::once_flag installed;
}  // namespace

int libbpf_print_hook(int level, const char* format, va_list args) {
  LibbpfLogCapture* capture = current;
  if (!capture) {
    if (level == LIBBPF_DEBUG) return 0;
    return std::vfprintf(stderr, format, args);
  }
  if (level == LIBBPF_DEBUG && !capture->debug_) return 0;
  char buffer[4096];
  int n = std::vsnprintf(buffer, sizeof buffer, format, args);
  if (n > 0) capture->text_.append(buffer, static_cast<size_t>(n) < sizeof buffer ? static_cast<size_t>(n) : sizeof buffer - 1);
  return n;
}

LibbpfLogCapture::LibbpfLogCapture(bool debug) : debug_(debug), outer_(current) {
  std::call_once(installed, [] {
    libbpf_set_print([](libbpf_print_level level, const char* format, va_list args) {
      return libbpf_print_hook(static_cast<int>(level), format, args);
    });
  });
  current = this;
}

LibbpfLogCapture::~LibbpfLogCapture() { current = outer_; }

}  // namespace whistler::runtime
