// The summary of a run: programs by outcome, compile errors by message,
// verifier rejections by cause, crashes, timeouts and differential
// mismatches by kind (each with the seeds that show it), and the time taken.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "seed_runner.hpp"

namespace whistler::torture {

class Report {
 public:
  void add(const SeedResult& r);

  uint64_t programs() const { return programs_; }

  struct Example {
    OutcomeKind kind;
    std::string category;
    uint64_t seed;  // the smallest seed of the group
    size_t count;
  };
  // One example per failure group (compile errors included), largest groups first.
  std::vector<Example> examples() const;
  bool any_failure() const;
  // Text for a terminal, or one JSON document.
  std::string text(const RunOptions& options, double seconds) const;
  std::string json(const RunOptions& options, double seconds) const;

 private:
  struct Group {
    OutcomeKind kind;
    std::string category;
    std::vector<uint64_t> seeds;
    std::string example_detail;  // of the first seed
    std::map<int, int> by_opt_level;
  };
  std::vector<const Group*> groups_of(OutcomeKind kind) const;

  uint64_t programs_ = 0;
  uint64_t compared_ = 0;
  uint64_t not_compared_ = 0;
  uint64_t skipped_read_ = 0;  // compared up to a read only -O2 left out
  std::map<OutcomeKind, uint64_t> counts_;
  std::map<std::pair<OutcomeKind, std::string>, Group> groups_;
  double total_ms_ = 0;
};

}  // namespace whistler::torture
