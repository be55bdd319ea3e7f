// Consuming BPF ring buffer maps: records arrive through a callback, from
// poll() (waits) or consume() (does not).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "runtime_error.hpp"

struct ring_buffer;

namespace whistler::runtime {

class RingBufferReader {
 public:
  using Callback = std::function<void(std::string_view record)>;

  // `map_fd` must be a BPF_MAP_TYPE_RINGBUF map; it stays owned by the caller.
  static std::unique_ptr<RingBufferReader> open(int map_fd, Callback callback, RuntimeError& error);
  ~RingBufferReader();
  RingBufferReader(const RingBufferReader&) = delete;
  RingBufferReader& operator=(const RingBufferReader&) = delete;

  // Waits up to `timeout_ms` for records and delivers them. Returns the number
  // delivered, or -1 on error (an interrupted wait returns 0).
  int poll(int timeout_ms, RuntimeError& error);
  // Delivers what is there without waiting.
  int consume(RuntimeError& error);
  // An epoll fd that becomes readable when records arrive.
  int epoll_fd() const;
  uint64_t delivered() const { return delivered_; }

 private:
  RingBufferReader() = default;
  static int on_record(void* ctx, void* data, size_t size);

  ring_buffer* rb_ = nullptr;
  Callback callback_;
  uint64_t delivered_ = 0;
};

}  // namespace whistler::runtime
