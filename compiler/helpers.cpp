#include "helpers.hpp"

#include <unordered_map>

namespace whistler {

namespace {

using A = HelperArg;
using R = HelperResult;

std::vector<HelperInfo> make_table() {
  return {
      {"ktime-get-ns", 5, R::Int, {}, false, {}, ""},
      {"ktime-get-boot-ns", 125, R::Int, {}, false, {}, ""},
      {"ktime-get-coarse-ns", 160, R::Int, {}, false, {}, ""},
      {"ktime-get-tai-ns", 208, R::Int, {}, false, {}, ""},
      {"jiffies64", 118, R::Int, {}, false, {}, ""},
      {"get-prandom-u32", 7, R::Int, {}, false, {}, ""},
      {"get-smp-processor-id", 8, R::Int, {}, false, {}, ""},
      {"get-numa-node-id", 42, R::Int, {}, false, {}, ""},
      {"redirect", 23, R::Int, {A::Int, A::Int}, false, {}, "IFINDEX FLAGS"},
      {"redirect-map", 51, R::Int, {A::Map, A::Int, A::Int}, false, {}, "MAP KEY FLAGS"},
      // Kernels since 6.13 treat a tail call (which may fail and return) as moving the packet.
      {"tail-call", 12, R::Int, {A::Ctx, A::Map, A::Int}, true, {}, "PROG-ARRAY INDEX"},
      {"xdp-adjust-head", 44, R::Int, {A::Ctx, A::Int}, true, {}, "DELTA"},
      {"xdp-adjust-tail", 65, R::Int, {A::Ctx, A::Int}, true, {}, "DELTA"},
      {"xdp-adjust-meta", 54, R::Int, {A::Ctx, A::Int}, true, {}, "DELTA"},
      {"csum-diff", 28, R::Int, {A::PtrOrNull, A::Int, A::PtrOrNull, A::Int, A::Int}, false, {{0, 1}, {2, 3}}, "FROM FROM-SIZE TO TO-SIZE SEED", BufferUse::PacketOk},
      {"fib-lookup", 69, R::Int, {A::Ctx, A::Ptr, A::Int, A::Int}, false, {{1, 2}}, "PARAMS PARAMS-SIZE FLAGS", BufferUse::ReadsWrites},
      {"check-mtu", 163, R::Int, {A::Ctx, A::Int, A::Ptr, A::Int, A::Int}, false, {}, "IFINDEX MTU-PTR LEN-DIFF FLAGS"},
      {"perf-event-output", 25, R::Int, {A::Ctx, A::Map, A::Int, A::Ptr, A::Int}, false, {{3, 4}}, "MAP FLAGS DATA SIZE"},
      {"ringbuf-output", 130, R::Int, {A::Map, A::Ptr, A::Int, A::Int}, false, {{1, 2}}, "RINGBUF DATA SIZE FLAGS"},
      {"ringbuf-reserve", 131, R::Ptr, {A::Map, A::Int, A::Int}, false, {}, "RINGBUF SIZE FLAGS"},
      {"ringbuf-submit", 132, R::Void, {A::Ptr, A::Int}, false, {}, "RECORD FLAGS"},
      {"ringbuf-discard", 133, R::Void, {A::Ptr, A::Int}, false, {}, "RECORD FLAGS"},
      {"ringbuf-query", 134, R::Int, {A::Map, A::Int}, false, {}, "RINGBUF FLAGS"},
      {"xdp-get-buff-len", 188, R::Int, {A::Ctx}, false, {}, ""},
      {"xdp-load-bytes", 189, R::Int, {A::Ctx, A::Int, A::Ptr, A::Int}, false, {{2, 3}}, "OFFSET BUF LEN", BufferUse::Writes},
      {"xdp-store-bytes", 190, R::Int, {A::Ctx, A::Int, A::Ptr, A::Int}, false, {{2, 3}}, "OFFSET BUF LEN"},
      {"map-push-elem", 87, R::Int, {A::Map, A::Ptr, A::Int}, false, {}, "MAP VALUE-PTR FLAGS"},
      {"map-pop-elem", 88, R::Int, {A::Map, A::Ptr}, false, {}, "MAP VALUE-PTR", BufferUse::Writes},
      {"map-peek-elem", 89, R::Int, {A::Map, A::Ptr}, false, {}, "MAP VALUE-PTR", BufferUse::Writes},
  };
}

}  // namespace

const std::vector<HelperInfo>& all_helpers() {
  static const std::vector<HelperInfo> table = make_table();
  return table;
}

const HelperInfo* find_helper_by_id(int id) {
  for (const auto& h : all_helpers())
    if (h.id == id) return &h;
  return nullptr;
}

const HelperInfo* find_helper(const Symbol* name) {
  static const auto* index = [] {
    auto* m = new std::unordered_map<const Symbol*, const HelperInfo*>();
    for (const auto& h : all_helpers()) (*m)[intern(h.name)] = &h;
    return m;
  }();
  auto it = index->find(name);
  return it == index->end() ? nullptr : it->second;
}

}  // namespace whistler
