#include "saved_program.hpp"

#include <fstream>
#include <sstream>

namespace whistler::torture {

namespace {

void comment_block(std::string& out, const std::string& text) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out += ";;   " + line + "\n";
}

bool starts_with(const std::string& s, const char* prefix, std::string& rest) {
  size_t n = std::char_traits<char>::length(prefix);
  if (s.compare(0, n, prefix) != 0) return false;
  rest = s.substr(n);
  return true;
}

}  // namespace

std::string log_tail(const std::string& log, size_t max_lines) {
  size_t pos = log.size();
  size_t lines = 0;
  while (pos > 0) {
    size_t nl = log.rfind('\n', pos - 1);
    if (nl == std::string::npos) return log;
    if (nl + 1 < log.size() && ++lines > max_lines) return "...\n" + log.substr(nl + 1);
    pos = nl;
  }
  return log;
}

std::string format_saved_program(const SavedProgram& saved, const std::string& file_name) {
  const Outcome& o = saved.outcome;
  std::string out;
  out += ";; whistler-torture";
  if (saved.has_seed) out += ": seed " + std::to_string(saved.seed);
  out += "\n";
  out += ";; outcome: " + std::string(outcome_name(o.kind)) + "\n";
  out += ";; opt-level: " + std::to_string(o.opt_level) + "\n";
  if (!o.category.empty()) out += ";; category: " + o.category + "\n";
  if (!o.detail.empty()) out += ";; detail: " + o.detail + "\n";
  if (!o.program.empty()) out += ";; program: " + o.program + "\n";
  if (saved.differential) out += ";; differential: yes\n";
  for (const auto& f : saved.frames) out += ";; frame: " + frame_hex(f) + "\n";
  if (saved.has_seed) {
    out += ";; reproduce: whistler-torture --seed " + std::to_string(saved.seed) + " --count 1" +
           (saved.differential ? " --differential" : "") + "\n";
  }
  if (saved.differential) out += ";; check:     whistler-torture --check " + file_name + "\n";  // runs the frames
  else out += ";; check:     whistlerc " + file_name + " -O" + std::to_string(o.opt_level) + " --check\n";
  out += ";; reduce:    whistler-torture --reduce " + file_name + "\n";
  if (!o.log.empty()) {
    out += ";; log (tail):\n";
    comment_block(out, log_tail(o.log, 40));
  }
  out += "\n";
  out += saved.program;
  return out;
}

bool read_saved_program(const std::string& path, SavedProgram& out, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  out.program = buffer.str();
  std::istringstream lines(out.program);
  for (std::string line; std::getline(lines, line);) {
    std::string rest;
    if (line.rfind(";;", 0) != 0) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      break;  // the header ends at the first line of code
    }
    if (starts_with(line, ";; whistler-torture: seed ", rest)) {
      out.seed = std::stoull(rest);
      out.has_seed = true;
    } else if (starts_with(line, ";; outcome: ", rest)) {
      out.has_outcome = outcome_from_name(rest, out.outcome.kind);
    } else if (starts_with(line, ";; opt-level: ", rest)) {
      out.outcome.opt_level = std::stoi(rest);
    } else if (starts_with(line, ";; category: ", rest)) {
      out.outcome.category = rest;
    } else if (starts_with(line, ";; detail: ", rest)) {
      out.outcome.detail = rest;
    } else if (starts_with(line, ";; differential: ", rest)) {
      out.differential = rest == "yes";
    } else if (starts_with(line, ";; frame: ", rest)) {
      std::vector<uint8_t> bytes;
      if (parse_frame_hex(rest, bytes)) out.frames.push_back(bytes);
    }
  }
  return true;
}

}  // namespace whistler::torture
