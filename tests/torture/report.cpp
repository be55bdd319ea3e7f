#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace whistler::torture {

namespace {

constexpr OutcomeKind kOrder[] = {OutcomeKind::Accepted,         OutcomeKind::CompileError, OutcomeKind::InternalError,
                                  OutcomeKind::VerifierRejected, OutcomeKind::LoadError,    OutcomeKind::Crash,
                                  OutcomeKind::Timeout,          OutcomeKind::Mismatch};

const char* group_title(OutcomeKind k) {
  switch (k) {
    case OutcomeKind::CompileError: return "compile errors by message (whistlerc refused the program)";
    case OutcomeKind::InternalError: return "internal compiler errors";
    case OutcomeKind::VerifierRejected: return "verifier rejections by cause";
    case OutcomeKind::LoadError: return "load errors (not the verifier)";
    case OutcomeKind::Crash: return "crashes";
    case OutcomeKind::Timeout: return "timeouts";
    case OutcomeKind::Mismatch: return "differential mismatches (-O0 vs -O2)";
    default: return "";
  }
}

std::string seed_list(const std::vector<uint64_t>& seeds, size_t max) {
  std::vector<uint64_t> sorted = seeds;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (size_t i = 0; i < sorted.size() && i < max; ++i) out += (i ? ", " : "") + std::to_string(sorted[i]);
  if (sorted.size() > max) out += ", ...";
  return out;
}

}  // namespace

void Report::add(const SeedResult& r) {
  ++programs_;
  total_ms_ += r.milliseconds;
  ++counts_[r.outcome.kind];
  if (r.outcome.kind == OutcomeKind::Accepted) {
    if (r.outcome.compared) ++compared_;
    else ++not_compared_;
    if (r.outcome.skipped_read) ++skipped_read_;
    return;
  }
  auto key = std::make_pair(r.outcome.kind, r.outcome.category);
  auto it = groups_.find(key);
  if (it == groups_.end()) {
    it = groups_.emplace(key, Group{r.outcome.kind, r.outcome.category, {}, r.outcome.detail, {}}).first;
  }
  it->second.seeds.push_back(r.seed);
  ++it->second.by_opt_level[r.outcome.opt_level];
}

std::vector<Report::Example> Report::examples() const {
  std::vector<Example> out;
  for (OutcomeKind k : kOrder)
    for (const Group* g : groups_of(k))
      out.push_back({k, g->category, *std::min_element(g->seeds.begin(), g->seeds.end()), g->seeds.size()});
  return out;
}

bool Report::any_failure() const {
  for (const auto& [kind, n] : counts_)
    if (n && outcome_is_failure(kind)) return true;
  return false;
}

std::vector<const Report::Group*> Report::groups_of(OutcomeKind kind) const {
  std::vector<const Group*> out;
  for (const auto& [key, g] : groups_)
    if (g.kind == kind) out.push_back(&g);
  std::sort(out.begin(), out.end(), [](const Group* a, const Group* b) {
    return a->seeds.size() != b->seeds.size() ? a->seeds.size() > b->seeds.size() : a->category < b->category;
  });
  return out;
}

std::string Report::text(const RunOptions& options, double seconds) const {
  std::string out;
  out += fmt::format("whistler-torture: seeds {}..{} ({} programs){}\n", options.first_seed,
                     options.first_seed + options.count - 1, programs_,
                     options.differential ? fmt::format(", -O0 and -O2 differential on {} frames", options.frames)
                                          : fmt::format(", -O{}", options.opt_level));
  for (OutcomeKind k : kOrder) {
    auto it = counts_.find(k);
    uint64_t n = it == counts_.end() ? 0 : it->second;
    out += fmt::format("  {:<18} {:>6}", outcome_name(k), n);
    if (k == OutcomeKind::Accepted && options.differential)
      out += fmt::format("   ({} compared, {} of them up to a read only -O2 left out; {} not compared: nondeterministic helpers)",
                         compared_, skipped_read_, not_compared_);
    out += "\n";
  }
  for (OutcomeKind k : kOrder) {
    auto groups = groups_of(k);
    if (groups.empty()) continue;
    out += fmt::format("\n{}:\n", group_title(k));
    for (const Group* g : groups) {
      std::string levels;
      if (options.differential)
        for (const auto& [level, n] : g->by_opt_level) levels += fmt::format(" -O{}:{}", level, n);
      out += fmt::format("  {:>5}  {}{}\n", g->seeds.size(), g->category, levels.empty() ? "" : "  [" + levels.substr(1) + "]");
      out += fmt::format("         seeds {}\n", seed_list(g->seeds, 8));
      if (!g->example_detail.empty() && g->example_detail != g->category)
        out += fmt::format("         e.g. {}\n", g->example_detail.substr(0, 300));
    }
  }
  out += fmt::format("\ntime: {:.1f} s ({:.0f} ms of work per program)\n", seconds,
                     programs_ ? total_ms_ / static_cast<double>(programs_) : 0.0);
  out += any_failure() ? "result: FAILED (the compiler accepted programs the kernel refused, crashed, or miscompiled)\n"
                       : "result: ok\n";
  return out;
}

std::string Report::json(const RunOptions& options, double seconds) const {
  nlohmann::json j;
  j["first_seed"] = options.first_seed;
  j["count"] = options.count;
  j["differential"] = options.differential;
  j["programs"] = programs_;
  j["seconds"] = seconds;
  nlohmann::json counts = nlohmann::json::object();
  for (OutcomeKind k : kOrder) {
    auto it = counts_.find(k);
    counts[outcome_name(k)] = it == counts_.end() ? 0 : it->second;
  }
  j["outcomes"] = counts;
  j["compared"] = compared_;
  j["compared_until_skipped_read"] = skipped_read_;
  nlohmann::json groups = nlohmann::json::array();
  for (OutcomeKind k : kOrder)
    for (const Group* g : groups_of(k)) {
      std::vector<uint64_t> seeds = g->seeds;
      std::sort(seeds.begin(), seeds.end());
      groups.push_back({{"kind", outcome_name(k)}, {"category", g->category}, {"count", g->seeds.size()},
                        {"seeds", seeds}, {"example", g->example_detail}});
    }
  j["groups"] = groups;
  j["failed"] = any_failure();
  return j.dump(2);
}

}  // namespace whistler::torture
