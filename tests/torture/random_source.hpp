// A deterministic random source: the same seed gives the same sequence on
// every machine and compiler (xoshiro256** seeded through splitmix64), so a
// seed printed by a failing run reproduces its program anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace whistler::torture {

class RandomSource {
 public:
  explicit RandomSource(uint64_t seed) {
    for (auto& s : state_) {
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      s = z ^ (z >> 31);
    }
  }

  uint64_t next() {
    uint64_t result = rotl(state_[1] * 5, 7) * 9;
    uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, n); 0 when n is 0.
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  // Uniform in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // True with probability percent / 100.
  bool chance(int percent) { return static_cast<int>(below(100)) < percent; }

  template <class T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }
  template <class T, size_t N>
  const T& pick(const T (&items)[N]) {
    return items[below(N)];
  }

  // An index drawn with the given weights (all zero: 0).
  size_t weighted(const std::vector<int>& weights) {
    uint64_t total = 0;
    for (int w : weights) total += static_cast<uint64_t>(w > 0 ? w : 0);
    if (total == 0) return 0;
    uint64_t r = below(total);
    for (size_t i = 0; i < weights.size(); ++i) {
      uint64_t w = static_cast<uint64_t>(weights[i] > 0 ? weights[i] : 0);
      if (r < w) return i;
      r -= w;
    }
    return weights.size() - 1;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace whistler::torture
