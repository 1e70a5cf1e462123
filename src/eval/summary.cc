// Summaries of results: per task x mode x length bin, and the mean over tasks per mode (the
// number the papers report), as Markdown and JSON.
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "eval/eval.h"

namespace glyph::eval {
namespace {

using nlohmann::json;

// Sorts "4096" < "8192" < "16384" and "0-4k" < "4-8k" < "8k+" by their leading number.
bool bin_less(const std::string& a, const std::string& b) {
  auto number = [](const std::string& s) {
    double value = 0;
    size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      value = value * 10 + (s[i++] - '0');
    if (i < s.size() && (s[i] == 'k' || s[i] == 'K')) value *= 1024;
    return value;
  };
  const double na = number(a), nb = number(b);
  if (na != nb) return na < nb;
  return a < b;
}

bool mode_less(const std::string& a, const std::string& b) {
  // Text first, then by dpi.
  if (a == "text" || b == "text") return a == "text" && b != "text";
  return std::atof(a.c_str()) < std::atof(b.c_str());
}

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

double round_to(double value, int decimals) {
  const double scale = std::pow(10.0, decimals);
  return std::round(value * scale) / scale;
}

}  // namespace

Summary summarize(const std::vector<ItemResult>& results) {
  struct Accumulator {
    SummaryRow row;
    double score = 0, compression = 0, text = 0, visual = 0, reader = 0, total = 0;
    size_t scored = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string, std::string>, Accumulator> rows;
  for (const auto& r : results) {
    auto& a = rows[{r.suite, r.task, r.mode, r.length_bin}];
    a.row.suite = r.suite;
    a.row.task = r.task;
    a.row.mode = r.mode;
    a.row.length_bin = r.length_bin;
    a.row.uuid_task = r.uuid_task;
    ++a.row.items;
    if (!r.error.empty()) {
      ++a.row.errors;
      continue;
    }
    ++a.scored;
    a.score += r.score;
    a.compression += r.compression;
    a.row.max_compression = std::max(a.row.max_compression, r.compression);
    a.text += static_cast<double>(r.text_tokens);
    a.visual += static_cast<double>(r.visual_tokens);
    a.reader += r.reader_seconds;
    a.total += r.total_seconds;
  }
  Summary summary;
  for (auto& [key, a] : rows) {
    if (a.scored) {
      const double n = static_cast<double>(a.scored);
      a.row.score = 100 * a.score / n;
      a.row.compression = a.compression / n;
      a.row.text_tokens = a.text / n;
      a.row.visual_tokens = a.visual / n;
      a.row.reader_seconds = a.reader / n;
      a.row.total_seconds = a.total / n;
    }
    summary.rows.push_back(a.row);
  }
  std::sort(summary.rows.begin(), summary.rows.end(), [](const SummaryRow& a, const SummaryRow& b) {
    if (a.suite != b.suite) return a.suite < b.suite;
    if (a.task != b.task) return a.task < b.task;
    if (a.mode != b.mode) return mode_less(a.mode, b.mode);
    return bin_less(a.length_bin, b.length_bin);
  });

  // Per mode: each task's mean over its scored items, then the mean over tasks.
  std::map<std::string, std::map<std::string, std::pair<double, size_t>>> task_scores;
  std::map<std::string, ModeSummary> modes;
  std::map<std::string, std::pair<double, size_t>> compression;
  for (const auto& r : results) {
    auto& m = modes[r.mode];
    m.mode = r.mode;
    m.dpi = r.dpi;
    ++m.items;
    if (!r.error.empty()) {
      ++m.errors;
      continue;
    }
    auto& t = task_scores[r.mode][r.task];
    t.first += r.score;
    ++t.second;
    compression[r.mode].first += r.compression;
    ++compression[r.mode].second;
    m.max_compression = std::max(m.max_compression, r.compression);
    m.reader_seconds += r.reader_seconds;
    m.total_seconds += r.total_seconds;
  }
  std::set<std::string> uuid_tasks;
  for (const auto& r : results)
    if (r.uuid_task) uuid_tasks.insert(r.task);
  for (auto& [name, m] : modes) {
    double sum = 0, uuid_sum = 0;
    size_t tasks = 0, uuid_count = 0;
    for (const auto& [task, s] : task_scores[name]) {
      const double mean = 100 * s.first / static_cast<double>(s.second);
      if (uuid_tasks.count(task)) {
        uuid_sum += mean;
        ++uuid_count;
      } else {
        sum += mean;
        ++tasks;
      }
    }
    m.score = tasks ? sum / static_cast<double>(tasks) : 0;
    m.uuid_score = uuid_count ? uuid_sum / static_cast<double>(uuid_count) : -1;
    const auto& c = compression[name];
    m.compression = c.second ? c.first / static_cast<double>(c.second) : 0;
    const size_t scored = m.items - m.errors;
    if (scored) {
      m.reader_seconds /= static_cast<double>(scored);
      m.total_seconds /= static_cast<double>(scored);
    }
    summary.modes.push_back(m);
  }
  std::sort(summary.modes.begin(), summary.modes.end(),
            [](const ModeSummary& a, const ModeSummary& b) { return mode_less(a.mode, b.mode); });
  return summary;
}

std::string summary_markdown(const Summary& summary) {
  std::string out;
  bool any_uuid = false;
  for (const auto& m : summary.modes) any_uuid |= m.uuid_score >= 0;
  out += "| mode | items | errors | score (mean over tasks) |";
  if (any_uuid) out += " UUID tasks |";
  out += " compression (avg) | compression (max) | reader s/item | total s/item |\n";
  out += "| --- | ---: | ---: | ---: |";
  if (any_uuid) out += " ---: |";
  out += " ---: | ---: | ---: | ---: |\n";
  for (const auto& m : summary.modes) {
    out += "| " + m.mode + " | " + std::to_string(m.items) + " | " + std::to_string(m.errors) +
           " | " + fixed(m.score, 2) + " |";
    if (any_uuid) out += " " + (m.uuid_score >= 0 ? fixed(m.uuid_score, 2) : "-") + " |";
    out += " " + fixed(m.compression, 2) + "x | " + fixed(m.max_compression, 2) + "x | " +
           fixed(m.reader_seconds, 3) + " | " + fixed(m.total_seconds, 3) + " |\n";
  }
  out +=
      "\n| task | mode | length | items | errors | score | compression | text tokens | "
      "visual tokens | reader s | total s |\n";
  out += "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& r : summary.rows) {
    out += "| " + r.task + (r.uuid_task ? " (UUID)" : "") + " | " + r.mode + " | " + r.length_bin +
           " | " + std::to_string(r.items) + " | " + std::to_string(r.errors) + " | " +
           fixed(r.score, 2) + " | " + fixed(r.compression, 2) + "x | " + fixed(r.text_tokens, 0) +
           " | " + fixed(r.visual_tokens, 0) + " | " + fixed(r.reader_seconds, 3) + " | " +
           fixed(r.total_seconds, 3) + " |\n";
  }
  return out;
}

std::string summary_json(const Summary& summary) {
  json modes = json::array();
  for (const auto& m : summary.modes) {
    json j = {{"mode", m.mode},
              {"dpi", m.dpi},
              {"items", m.items},
              {"errors", m.errors},
              {"score", round_to(m.score, 4)},
              {"compression", round_to(m.compression, 4)},
              {"max_compression", round_to(m.max_compression, 4)},
              {"reader_seconds", round_to(m.reader_seconds, 4)},
              {"total_seconds", round_to(m.total_seconds, 4)}};
    j["uuid_score"] = m.uuid_score >= 0 ? json(round_to(m.uuid_score, 4)) : json(nullptr);
    modes.push_back(std::move(j));
  }
  json rows = json::array();
  for (const auto& r : summary.rows) {
    rows.push_back({{"suite", r.suite},
                    {"task", r.task},
                    {"mode", r.mode},
                    {"length", r.length_bin},
                    {"uuid_task", r.uuid_task},
                    {"items", r.items},
                    {"errors", r.errors},
                    {"score", round_to(r.score, 4)},
                    {"compression", round_to(r.compression, 4)},
                    {"max_compression", round_to(r.max_compression, 4)},
                    {"text_tokens", round_to(r.text_tokens, 1)},
                    {"visual_tokens", round_to(r.visual_tokens, 1)},
                    {"reader_seconds", round_to(r.reader_seconds, 4)},
                    {"total_seconds", round_to(r.total_seconds, 4)}});
  }
  return json{{"modes", modes}, {"rows", rows}}.dump(2) + "\n";
}

}  // namespace glyph::eval
