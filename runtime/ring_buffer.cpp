#include "ring_buffer.hpp"

#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>

#include "libbpf_log.hpp"

namespace whistler::runtime {

int RingBufferReader::on_record(void* ctx, void* data, size_t size) {
  auto* self = static_cast<RingBufferReader*>(ctx);
  ++self->delivered_;
  if (self->callback_) self->callback_(std::string_view(static_cast<const char*>(data), size));
  return 0;
}

std::unique_ptr<RingBufferReader> RingBufferReader::open(int map_fd, Callback callback, RuntimeError& error) {
  std::unique_ptr<RingBufferReader> r(new RingBufferReader());
  r->callback_ = std::move(callback);
  LibbpfLogCapture capture;
  r->rb_ = ring_buffer__new(map_fd, &RingBufferReader::on_record, r.get(), nullptr);
  if (!r->rb_) {
    int err = errno;
    error = {fmt::format("cannot read the ring buffer: {}", std::strerror(err)), "", err, capture.text(), ErrorKind::Kernel};
    return nullptr;
  }
  return r;
}

RingBufferReader::~RingBufferReader() {
  if (rb_) ring_buffer__free(rb_);
}

int RingBufferReader::poll(int timeout_ms, RuntimeError& error) {
  int n = ring_buffer__poll(rb_, timeout_ms);
  if (n == -EINTR) return 0;
  if (n < 0) {
    error = {fmt::format("reading the ring buffer failed: {}", std::strerror(-n)), "", -n, {}, ErrorKind::Kernel};
    return -1;
  }
  return n;
}

int RingBufferReader::consume(RuntimeError& error) {
  int n = ring_buffer__consume(rb_);
  if (n < 0) {
    error = {fmt::format("reading the ring buffer failed: {}", std::strerror(-n)), "", -n, {}, ErrorKind::Kernel};
    return -1;
  }
  return n;
}

int RingBufferReader::epoll_fd() const { return ring_buffer__epoll_fd(rb_); }

}  // namespace whistler::runtime
