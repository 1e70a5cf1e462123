// run_search: the generations, the history file (cache and resume), the proposer, the front.
#include "search/search.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <tuple>

#include "core/clock.h"
#include "core/error.h"
#include "core/file.h"
#include "core/sha256.h"
#include "core/utf8.h"
#include "image/image.h"
#include "read/ocr_reader.h"
#include "read/vlm_reader.h"
#include "tasks/tasks.h"
#include "tokens/tokenizer.h"
#include "tokens/visual_tokens.h"

namespace glyph::search {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// The history: one JSON object a line, appended whole (AppendFile), as eval's results are: a
// killed process leaves at most one torn last line, which resume ignores.
class HistoryFile {
 public:
  explicit HistoryFile(const std::string& path) : file_(path, "search") {}
  void append(const json& line) {
    file_.append(line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
  }

 private:
  AppendFile file_;
};

// What identifies a search: a history made with other settings cannot be resumed by this one.
json search_header(const std::vector<Input>& inputs, const SearchSpace& space,
                   const SearchOptions& o) {
  json ids = json::array();
  for (const auto& input : inputs) ids.push_back(input.id);
  json fonts = json::array();
  for (const auto& font : space.fonts) fonts.push_back(font.path);
  return {{"type", "search"},
          {"seed", o.seed},
          {"floor", o.floor},
          {"generations", o.generations},
          {"population", o.population},
          {"elite", o.elite},
          {"tournament", o.tournament},
          {"crossover_rate", o.crossover_rate},
          {"mutation_rate", o.mutation_rate},
          {"strategy", o.strategy == Strategy::genetic ? "genetic" : "random"},
          {"proposals", o.proposals},
          {"polish", o.polish},
          {"inputs", ids},
          {"fonts", fonts},
          {"base", json::parse(config_to_json(space.base))}};
}

struct History {
  std::optional<json> header;
  std::map<std::pair<std::string, std::string>, Measurement> measurements;  // (key, input)
  std::map<int, json> proposer;  // generation → {"response": ...} or {"error": ...}
};

History read_history(const std::string& path) {
  History history;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) continue;  // a torn last line
    const std::string type = j.value("type", "");
    if (type == "search" && !history.header) {
      history.header = j;
    } else if (type == "measurement") {
      Measurement m;
      m.text_tokens = j.value("text_tokens", int64_t{0});
      m.visual_tokens = j.value("visual_tokens", int64_t{0});
      m.errors = j.value("errors", 0.0);
      m.weight = j.value("weight", 0.0);
      m.seconds = j.value("seconds", 0.0);
      history.measurements[{j.value("config", ""), j.value("input", "")}] = m;
    } else if (type == "proposer") {
      history.proposer[j.value("generation", -1)] = j;
    }
  }
  return history;
}

// Cuts a torn last line (no final newline) so that the next append starts a line.
void repair_tail(const std::string& path) {
  std::string text = read_file(path);
  const size_t end = text.rfind('\n');
  const size_t keep = end == std::string::npos ? 0 : end + 1;
  if (keep != text.size()) std::filesystem::resize_file(path, keep);
}

// a before b: within the floor first, then higher compression (lower error on a tie); outside
// it, lower error first (higher compression on a tie).
bool fitter(const Individual& a, const Individual& b) {
  if (a.feasible != b.feasible) return a.feasible;
  if (a.feasible) {
    if (a.compression != b.compression) return a.compression > b.compression;
    return a.error_rate < b.error_rate;
  }
  if (a.error_rate != b.error_rate) return a.error_rate < b.error_rate;
  return a.compression > b.compression;
}

// The same order with the floor at `tolerance` instead (the epsilon-constrained method): configs
// with error up to the tolerance count as within it, and the more compressed of them comes first.
bool fitter_within(const Individual& a, const Individual& b, double tolerance) {
  const bool a_in = a.error_rate <= tolerance, b_in = b.error_rate <= tolerance;
  if (a_in != b_in) return a_in;
  if (a_in) {
    if (a.compression != b.compression) return a.compression > b.compression;
    return a.error_rate < b.error_rate;
  }
  if (a.error_rate != b.error_rate) return a.error_rate < b.error_rate;
  return a.compression > b.compression;
}

std::string proposer_prompt(const SearchResult& result, const SearchSpace& space,
                            const SearchOptions& options, int count) {
  std::vector<const Individual*> ranked;
  for (const auto& individual : result.evaluated) ranked.push_back(&individual);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Individual* a, const Individual* b) { return fitter(*a, *b); });
  if (ranked.size() > 20) ranked.resize(20);
  json history = json::array();
  for (const Individual* i : ranked) {
    history.push_back({{"config", json::parse(i->key)},
                       {"compression", std::round(i->compression * 1000) / 1000},
                       {"error_rate", std::round(i->error_rate * 100000) / 100000}});
  }
  json fonts = json::array();
  for (const auto& font : space.fonts)
    fonts.push_back({{"font-path", font.path}, {"style", font.style}});
  json sizes = json::array();
  for (size_t i = 0; i < page_sizes().size(); ++i) {
    Genome g;
    g.page_size = static_cast<int>(i);
    sizes.push_back(json::parse(genome_key(g, space))["page-size"]);
  }
  json colors = json::array();
  for (const auto& p : palettes())
    colors.push_back({{"font-color", to_hex(p.font)}, {"page-bg-color", to_hex(p.background)}});
  char floor[32];
  std::snprintf(floor, sizeof floor, "%g", options.floor);
  return std::string(
             "We search for the text rendering config that gives the highest compression (text "
             "tokens / visual tokens of the page images) while the reader's character error "
             "rate stays at most ") +
         floor + ". Configs tried so far, best first:\n" + history.dump() +
         "\nBounds: dpi 45..300 (whole); font-size 7..14 and line-height font-size+0..3 (steps of "
         "0.5); margin-x, margin-y 10..40; first-line-indent 0..24; left-indent, right-indent "
         "0..12; space-before, space-after 0..6 (whole points); horizontal-scale 0.75..1.0 "
         "(steps of 0.05); alignment LEFT, CENTER, RIGHT or JUSTIFY; newline-markup \"<br/>\" "
         "or " +
         json::parse(genome_key(Genome{.newline_marker = true}, space))["newline-markup"].dump() +
         "; auto-crop-width, auto-crop-last-page, auto-crop-height true or false.\nfont-path "
         "one of " +
         fonts.dump() + "\npage-size one of " + sizes.dump() + "\ncolours one of " + colors.dump() +
         "\nPropose " + std::to_string(count) +
         " new configs likely to do better, as a JSON array of objects with the keys above, "
         "and nothing else.";
}

// The configs in a proposer's answer: the first JSON array in the text (code fences and prose
// around it are allowed), else every top-level JSON object.
std::vector<std::string> proposal_objects(const std::string& text) {
  std::vector<std::string> objects;
  for (size_t start = text.find('['); start != std::string::npos;
       start = text.find('[', start + 1)) {
    for (size_t end = text.rfind(']'); end != std::string::npos && end > start;
         end = end == 0 ? std::string::npos : text.rfind(']', end - 1)) {
      const json j = json::parse(text.substr(start, end - start + 1), nullptr, false);
      if (!j.is_discarded() && j.is_array()) {
        for (const auto& item : j) objects.push_back(item.dump());
        return objects;
      }
    }
  }
  size_t depth = 0, begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') {
      if (depth++ == 0) begin = i;
    } else if (text[i] == '}' && depth > 0) {
      if (--depth == 0) objects.push_back(text.substr(begin, i - begin + 1));
    }
  }
  return objects;
}

std::vector<size_t> pareto_front(const std::vector<Individual>& all) {
  std::vector<size_t> front;
  for (size_t i = 0; i < all.size(); ++i) {
    bool dominated = false;
    for (size_t j = 0; j < all.size() && !dominated; ++j) {
      if (i == j) continue;
      const auto &a = all[j], &b = all[i];
      dominated = a.compression >= b.compression && a.error_rate <= b.error_rate &&
                  (a.compression > b.compression || a.error_rate < b.error_rate);
    }
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end(),
            [&](size_t a, size_t b) { return all[a].compression < all[b].compression; });
  return front;
}

int64_t page_visual_tokens(const RenderedDocument& document, const std::string& model) {
  int64_t tokens = 0;
  for (size_t p = 0; p < document.page_count(); ++p) {
    const auto image = document.page_image(p);
    tokens += count_visual_tokens(model, image->width_px, image->height_px).tokens;
  }
  return tokens;
}

// One step of each continuous gene the polish stage walks (towards fewer pixels, mostly), and the
// other page sizes and alignments; the font, colours and newline markup stay (the family).
std::vector<Genome> polish_steps(const Genome& g) {
  std::vector<Genome> steps;
  auto add = [&](auto change) {
    Genome next = g;
    change(next);
    if (!(next == g)) steps.push_back(next);
  };
  add([](Genome& n) { n.font_size_pt = std::max(7.0, n.font_size_pt - 0.5); });
  add([](Genome& n) { n.line_gap_pt = std::max(0.0, n.line_gap_pt - 0.5); });
  add([](Genome& n) { n.margin_x_pt = std::max(10, n.margin_x_pt - 5); });
  add([](Genome& n) { n.margin_y_pt = std::max(10, n.margin_y_pt - 5); });
  add([](Genome& n) { n.margin_x_pt = 10; });
  add([](Genome& n) { n.margin_y_pt = 10; });
  add([](Genome& n) { n.horizontal_scale = std::max(0.75, n.horizontal_scale - 0.05); });
  add([](Genome& n) { n.first_line_indent_pt = 0; });
  add([](Genome& n) { n.left_indent_pt = 0; });
  add([](Genome& n) { n.right_indent_pt = 0; });
  add([](Genome& n) { n.space_before_pt = 0; });
  add([](Genome& n) { n.space_after_pt = 0; });
  add([](Genome& n) { n.auto_crop_width = true; });
  add([](Genome& n) { n.auto_crop_last_page = true; });
  add([](Genome& n) { n.auto_crop_height = true; });
  for (int size = 0; size < static_cast<int>(page_sizes().size()); ++size)
    add([size](Genome& n) { n.page_size = size; });
  for (const Alignment a :
       {Alignment::left, Alignment::justify, Alignment::center, Alignment::right})
    add([a](Genome& n) { n.alignment = a; });
  return steps;
}

}  // namespace

VisualCounter render_visual_counter(const std::string& visual_token_model) {
  return [visual_token_model](const RenderConfig& config, const Input& input) {
    return page_visual_tokens(RenderedDocument(input.document, config), visual_token_model);
  };
}

std::vector<size_t> select_elites(const std::vector<Individual>& ranked, int count) {
  std::vector<size_t> chosen;
  std::set<std::string> keys;
  auto far_from_chosen = [&](const Individual& candidate) {
    return std::all_of(chosen.begin(), chosen.end(), [&](size_t c) {
      const double ratio = static_cast<double>(candidate.genome.dpi) / ranked[c].genome.dpi;
      return ratio > 1.25 || ratio < 1 / 1.25;
    });
  };
  for (const bool niche : {true, false}) {
    for (size_t i = 0; i < ranked.size(); ++i) {
      if (static_cast<int>(chosen.size()) >= count) return chosen;
      if (keys.count(ranked[i].key) || (niche && !far_from_chosen(ranked[i]))) continue;
      keys.insert(ranked[i].key);
      chosen.push_back(i);
    }
  }
  return chosen;
}

Evaluator ocr_evaluator(const OcrEvaluatorOptions& options) {
  return [options](const RenderConfig& config, const Input& input) {
    const auto start = Clock::now();
    Measurement m;
    const RenderedDocument document(input.document, config);
    m.text_tokens =
        static_cast<int64_t>(shared_tokenizer(options.tokenizer_path).count(input.document.text));
    OcrOptions ocr;
    const std::u32string& text = document.text();
    const bool han = std::any_of(text.begin(), text.end(),
                                 [](char32_t c) { return c >= 0x4E00 && c <= 0x9FFF; });
    ocr.language = !options.ocr_language.empty() ? options.ocr_language
                   : han                         ? "chi_sim+eng"
                                                 : "eng";
    ocr.threads = 1;
    ocr.use_cache = options.use_ocr_cache;
    const FidelityReport report = verify_round_trip(document, ocr);
    m.visual_tokens = page_visual_tokens(document, options.visual_token_model);
    m.weight = static_cast<double>(report.reference_chars);
    m.errors = static_cast<double>(report.errors);
    m.seconds = seconds_since(start);
    return m;
  };
}

std::vector<Input> inputs_from_items(const std::vector<eval::EvalItem>& items) {
  std::vector<Input> inputs;
  for (const auto& item : items) {
    Document document;
    document.text = item.context;
    document.format = "txt";
    Input input = make_input(item.id, std::move(document));
    input.id = sha256_hex(item.id + "\n" + item.question + "\n" + item.context).substr(0, 16);
    inputs.push_back(std::move(input));
  }
  return inputs;
}

Evaluator eval_evaluator(const std::vector<eval::EvalItem>& items, eval::ReaderFactory reader,
                         eval::RunOptions options) {
  auto by_id = std::make_shared<std::map<std::string, eval::EvalItem>>();
  const std::vector<Input> inputs = inputs_from_items(items);
  for (size_t i = 0; i < items.size(); ++i) (*by_id)[inputs[i].id] = items[i];
  return [by_id, reader, options](const RenderConfig& config, const Input& input) {
    const auto start = Clock::now();
    auto found = by_id->find(input.id);
    if (found == by_id->end())
      throw Error(ErrorCode::internal, "search: no eval item for input " + input.name);
    // A reader serves one thread at a time: one per evaluation.
    const std::unique_ptr<Reader> instance = reader();
    const eval::ItemResult r = eval::evaluate_item(found->second, config, *instance, options);
    Measurement m;
    m.text_tokens = r.text_tokens;
    m.visual_tokens = r.visual_tokens;
    m.errors = r.error.empty() ? 1 - r.score : 1;
    m.weight = 1;
    m.seconds = seconds_since(start);
    return m;
  };
}

Proposer openai_proposer(const std::string& url, const std::string& model,
                         const std::string& api_key) {
  VlmReaderOptions options;
  options.base_url = url;
  options.model = model;
  options.api_key = api_key;
  options.max_retries = 2;
  auto reader = std::make_shared<VlmReader>(options);
  auto mutex = std::make_shared<std::mutex>();
  return [reader, mutex](const std::string& prompt) {
    ReadRequest request;
    request.prompt = prompt;
    request.sampling.max_tokens = 4096;
    std::lock_guard lock(*mutex);
    return reader->read(request, {}).content;
  };
}

SearchResult run_search(const std::vector<Input>& inputs, const SearchSpace& space,
                        const Evaluator& evaluator, const SearchOptions& options,
                        const Proposer& proposer, const SearchCallbacks& callbacks,
                        const VisualCounter& visual) {
  const auto start = Clock::now();
  if (inputs.empty()) throw Error(ErrorCode::invalid_argument, "search: no input");
  if (options.out_dir.empty())
    throw Error(ErrorCode::invalid_argument, "search: no output folder given (--out DIR)");
  if (options.population < 2 || options.generations < 1 || options.elite < 0 ||
      options.elite >= options.population || options.tournament < 1 || options.concurrency < 1 ||
      options.polish < 0)
    throw Error(ErrorCode::invalid_argument,
                "search: needs population >= 2, generations >= 1, 0 <= elite < population, "
                "tournament >= 1, concurrency >= 1, polish >= 0");
  if (!(options.floor >= 0 && options.floor <= 1))
    throw Error(ErrorCode::invalid_argument, "search: the floor must be within 0..1");
  if (options.proposals > 0 && !proposer)
    throw Error(ErrorCode::invalid_argument, "search: proposals asked for without a proposer");
  std::error_code error;
  std::filesystem::create_directories(options.out_dir, error);
  if (error)
    throw Error(ErrorCode::io, "search: cannot create " + options.out_dir + ": " + error.message());

  SearchResult result;
  result.history_path = options.out_dir + "/history.jsonl";
  const json header = search_header(inputs, space, options);
  History history;
  if (std::filesystem::exists(result.history_path)) {
    if (!options.resume)
      throw Error(ErrorCode::invalid_argument,
                  "search: " + result.history_path +
                      " exists; add --resume to continue that search, or choose another --out");
    repair_tail(result.history_path);
    history = read_history(result.history_path);
    if (history.header && *history.header != header)
      throw Error(ErrorCode::invalid_argument,
                  "search: " + result.history_path +
                      " belongs to another search (seed, floor, sizes, inputs, fonts or base "
                      "config differ); choose another --out");
  }
  HistoryFile file(result.history_path);
  if (!history.header) file.append(header);

  std::map<std::string, size_t> index_of;  // key → result.evaluated
  auto is_cancelled = [&] { return callbacks.is_cancelled && callbacks.is_cancelled(); };

  // Evaluates the genomes not yet evaluated (each on every input), `concurrency` at once; the
  // results are the same whatever the order the threads finish in.
  auto evaluate = [&](const std::vector<std::pair<Genome, std::string>>& members, int generation) {
    struct Job {
      std::string key;
      const Input* input;
      RenderConfig config;
      Measurement measurement;
      bool done = false;
    };
    std::vector<Job> jobs;
    std::vector<std::pair<Genome, std::string>> fresh;
    std::set<std::string> queued;
    for (const auto& [genome, origin] : members) {
      const std::string key = genome_key(genome, space);
      if (index_of.count(key) || !queued.insert(key).second) continue;
      fresh.push_back({genome, origin});
      const RenderConfig config = to_config(genome, space);
      for (const auto& input : inputs) {
        Job job{key, &input, config, {}, false};
        auto found = history.measurements.find({key, input.id});
        if (found != history.measurements.end()) {
          job.measurement = found->second;
          job.done = true;
          ++result.from_history;
        }
        jobs.push_back(std::move(job));
      }
    }
    std::atomic<size_t> next{0};
    std::mutex failure_mutex;
    std::exception_ptr failure;
    auto work = [&] {
      while (!is_cancelled()) {
        const size_t i = next.fetch_add(1);
        if (i >= jobs.size()) break;
        Job& job = jobs[i];
        if (job.done) continue;
        try {
          job.measurement = evaluator(job.config, *job.input);
          file.append({{"type", "measurement"},
                       {"config", job.key},
                       {"input", job.input->id},
                       {"text_tokens", job.measurement.text_tokens},
                       {"visual_tokens", job.measurement.visual_tokens},
                       {"errors", job.measurement.errors},
                       {"weight", job.measurement.weight},
                       {"seconds", job.measurement.seconds}});
          job.done = true;
        } catch (...) {
          std::lock_guard lock(failure_mutex);
          if (!failure) failure = std::current_exception();
          break;
        }
      }
    };
    const int threads =
        std::max(1, std::min<int>(options.concurrency, static_cast<int>(jobs.size())));
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(work);
    work();
    for (auto& thread : pool) thread.join();
    if (failure) std::rethrow_exception(failure);
    for (const auto& job : jobs)
      if (!job.done) return false;  // cancelled
    size_t j = 0;
    for (const auto& [genome, origin] : fresh) {
      Individual individual;
      individual.genome = genome;
      individual.key = genome_key(genome, space);
      individual.origin = origin;
      individual.generation = generation;
      double weight = 0, errors = 0;
      for (size_t k = 0; k < inputs.size(); ++k, ++j) {
        const Measurement& m = jobs[j].measurement;
        individual.text_tokens += m.text_tokens;
        individual.visual_tokens += m.visual_tokens;
        weight += m.weight;
        errors += m.errors;
        if (!history.measurements.count({jobs[j].key, jobs[j].input->id})) ++result.measurements;
      }
      individual.compression = individual.visual_tokens > 0
                                   ? static_cast<double>(individual.text_tokens) /
                                         static_cast<double>(individual.visual_tokens)
                                   : 0;
      individual.error_rate = weight > 0 ? errors / weight : (errors > 0 ? 1.0 : 0.0);
      individual.feasible = individual.error_rate <= options.floor;
      index_of[individual.key] = result.evaluated.size();
      result.evaluated.push_back(std::move(individual));
    }
    return true;
  };

  Rng rng(options.seed);
  auto seen = [&](const Genome& g) { return index_of.count(genome_key(g, space)) > 0; };
  // A new genome from `make` (a few tries for one not evaluated yet).
  auto novel = [&](const std::set<std::string>& taken, const std::function<Genome()>& make) {
    Genome g = make();
    for (int attempt = 0; attempt < 20 && (seen(g) || taken.count(genome_key(g, space))); ++attempt)
      g = make();
    return g;
  };

  // Generation 0: the base config, then random configs.
  std::vector<std::pair<Genome, std::string>> members;
  std::set<std::string> taken;
  const Genome preset = genome_from_config(space.base, space);
  members.push_back({preset, "preset"});
  taken.insert(genome_key(preset, space));
  if (options.strategy == Strategy::genetic) {
    // The preset at other dpi (up to 3, leaving at least one random config): the search starts
    // from the preset's family at several resolutions as well as from random points.
    for (const Genome& g : dpi_ladder(preset, std::min(3, options.population - 2)))
      if (taken.insert(genome_key(g, space)).second) members.push_back({g, "preset-dpi"});
  }
  while (static_cast<int>(members.size()) < options.population) {
    Genome g = novel(taken, [&] { return random_genome(space, rng); });
    taken.insert(genome_key(g, space));
    members.push_back({g, "random"});
  }
  auto population_of = [&](const std::vector<std::pair<Genome, std::string>>& list) {
    std::vector<size_t> population;
    for (const auto& m : list) population.push_back(index_of.at(genome_key(m.first, space)));
    return population;
  };
  bool complete = evaluate(members, 0);
  std::vector<size_t> population;
  if (complete) {
    population = population_of(members);
    result.preset = index_of.at(genome_key(preset, space));
    result.generations_done = 1;
    if (callbacks.on_generation) callbacks.on_generation(0, result);
  }

  for (int generation = 1; complete && generation < options.generations; ++generation) {
    if (is_cancelled()) {
      complete = false;
      break;
    }
    if (options.budget_seconds > 0 && seconds_since(start) > options.budget_seconds) {
      result.stopped_by_budget = true;
      break;
    }
    // Selection's tolerance: the floor relaxed by half early on, tightening linearly to the floor
    // itself for the last generation (epsilon-constrained selection). A family just outside the
    // floor but far more compressed than the one within it (Chinese at 96-120 dpi, 5-7%, against
    // 249 dpi within 5%) breeds instead of losing every tournament to the feasible few. The best
    // is still chosen against the floor itself.
    const double left = static_cast<double>(options.generations - 1 - generation) /
                        std::max(1, options.generations - 2);
    const double tolerance = options.floor * (1 + 0.5 * left);
    std::vector<size_t> ranked = population;
    std::stable_sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) {
      return fitter_within(result.evaluated[a], result.evaluated[b], tolerance);
    });
    members.clear();
    taken.clear();
    std::vector<Individual> ranked_members;
    for (const size_t r : ranked) ranked_members.push_back(result.evaluated[r]);
    for (const size_t e : select_elites(ranked_members, options.elite)) {
      const Individual& elite = ranked_members[e];
      if (taken.insert(elite.key).second) members.push_back({elite.genome, "elite"});
    }
    if (options.proposals > 0) {
      json record;
      auto replay = history.proposer.find(generation);
      if (replay != history.proposer.end()) {
        record = replay->second;
      } else {
        record = {{"type", "proposer"}, {"generation", generation}};
        try {
          record["response"] = proposer(proposer_prompt(result, space, options, options.proposals));
        } catch (const std::exception& e) {
          record["error"] = e.what();
        }
        file.append(record);
      }
      std::vector<std::string> objects;
      if (record.contains("response") && record["response"].is_string())
        objects = proposal_objects(record["response"].get<std::string>());
      if (!objects.empty()) {
        int accepted = 0;
        for (const auto& object : objects) {
          ++result.proposed;
          std::string why;
          const auto genome = genome_from_proposal(object, preset, space, &why);
          if (!genome) {
            ++result.proposals_rejected;
            continue;
          }
          // Already measured or already chosen: nothing new to learn from it.
          if (accepted >= options.proposals || seen(*genome) ||
              !taken.insert(genome_key(*genome, space)).second)
            continue;
          ++accepted;
          ++result.proposals_accepted;
          members.push_back({*genome, "proposer"});
        }
      } else {
        ++result.proposer_failures;
      }
    }
    auto tournament = [&]() -> const Individual& {
      size_t best = population[static_cast<size_t>(
          rng.uniform_int(0, static_cast<int>(population.size()) - 1))];
      for (int t = 1; t < options.tournament; ++t) {
        const size_t other = population[static_cast<size_t>(
            rng.uniform_int(0, static_cast<int>(population.size()) - 1))];
        if (fitter_within(result.evaluated[other], result.evaluated[best], tolerance)) best = other;
      }
      return result.evaluated[best];
    };
    while (static_cast<int>(members.size()) < options.population) {
      Genome child;
      std::string origin;
      if (options.strategy == Strategy::random) {
        child = novel(taken, [&] { return random_genome(space, rng); });
        origin = "random";
      } else {
        child = novel(taken, [&] {
          const Individual& a = tournament();
          Genome g = a.genome;
          if (rng.chance(options.crossover_rate)) g = crossover(g, tournament().genome, rng);
          return mutate(g, space, rng, options.mutation_rate);
        });
        origin = "child";
      }
      taken.insert(genome_key(child, space));
      members.push_back({child, origin});
    }
    complete = evaluate(members, generation);
    if (!complete) break;
    population = population_of(members);
    result.generations_done = generation + 1;
    if (callbacks.on_generation) callbacks.on_generation(generation, result);
  }

  // The polish stage (docs/search.md): local steps from the best families, within the budget of
  // options.polish new configs. No random draws: it is the same on every run, and on resume.
  const bool over_time =
      options.budget_seconds > 0 && seconds_since(start) > options.budget_seconds;
  if (complete && !result.stopped_by_budget && !over_time && options.polish > 0) {
    const int stage = result.generations_done;
    size_t used = 0;
    size_t limit = static_cast<size_t>(options.polish);  // the current start's share ends here
    auto out_of_budget = [&] { return used >= limit; };
    // Measures the genomes not measured yet (at most what the budget has left); false when
    // cancelled.
    auto spend = [&](const std::vector<Genome>& batch, const std::string& origin) {
      std::vector<std::pair<Genome, std::string>> fresh;
      std::set<std::string> keys;
      for (const Genome& g : batch) {
        if (used + fresh.size() >= limit) break;
        if (!seen(g) && keys.insert(genome_key(g, space)).second) fresh.push_back({g, origin});
      }
      if (fresh.empty()) return true;
      if (is_cancelled() || !evaluate(fresh, stage)) return false;
      used += fresh.size();
      return true;
    };
    if (options.strategy == Strategy::random) {
      std::vector<Genome> draws;
      std::set<std::string> drawn;
      while (static_cast<int>(draws.size()) < options.polish) {
        Genome g = novel(drawn, [&] { return random_genome(space, rng); });
        drawn.insert(genome_key(g, space));
        draws.push_back(g);
      }
      complete = spend(draws, "random");
    } else {
      std::map<std::string, int64_t> counted;  // key → visual tokens over the inputs
      // The visual tokens of a genome: measured, or counted from its rendered pages; -1 unknown.
      auto tokens_of = [&](const Genome& g) -> int64_t {
        const std::string key = genome_key(g, space);
        if (auto found = index_of.find(key); found != index_of.end())
          return result.evaluated[found->second].visual_tokens;
        if (!visual) return -1;
        if (auto found = counted.find(key); found != counted.end()) return found->second;
        const RenderConfig config = to_config(g, space);
        int64_t total = 0;
        for (const auto& input : inputs) total += visual(config, input);
        return counted[key] = total;
      };
      auto individual = [&](const Genome& g) -> const Individual* {
        auto found = index_of.find(genome_key(g, space));
        return found == index_of.end() ? nullptr : &result.evaluated[found->second];
      };
      auto at_dpi = [](Genome g, int dpi) {
        g.dpi = dpi;
        return g;
      };
      // The highest dpi below `limit` that costs the visual tokens `dpi` costs: the same
      // compression with more pixels per character (the last patch row and column filled).
      auto top_of_level = [&](const Genome& g, int dpi, int limit) {
        const int64_t level = tokens_of(at_dpi(g, dpi));
        if (level < 0) return dpi;
        for (int up = 0; up < 8 && dpi + 1 < limit && dpi + 1 <= 300; ++up) {
          if (tokens_of(at_dpi(g, dpi + 1)) != level) break;
          ++dpi;
        }
        return dpi;
      };
      // Bisects the dpi of `from`'s family towards the lowest that reads within the floor, two
      // dpi at a time (the thirds of the bracket); returns the best of the family after it.
      auto walk_dpi = [&](const Individual& from) -> std::optional<Individual> {
        const Genome family = from.genome;
        int low = 0, high = 0;  // the highest dpi known to fail, the lowest known to read
        bool low_known = false, high_known = false;
        // The bracket from what is known of the family: its lowest dpi within the floor, and the
        // highest below that which is not.
        for (int d = 45; d <= 300 && !high_known; ++d) {
          if (const Individual* i = individual(at_dpi(family, d)); i && i->feasible)
            high = d, high_known = true;
        }
        for (int d = high_known ? high - 1 : 300; d >= 45 && !low_known; --d) {
          if (const Individual* i = individual(at_dpi(family, d)); i && !i->feasible)
            low = d, low_known = true;
        }
        Individual best = from;
        if (high_known) {
          if (const Individual* i = individual(at_dpi(family, high)); fitter(*i, best)) best = *i;
        }
        while (!out_of_budget()) {
          std::vector<int> tries;
          if (high_known && low_known) {
            if (high - low <= 1) break;
            tries = {low + (high - low) / 3, low + 2 * (high - low) / 3};
            if (high - low == 2) tries = {low + 1};
          } else if (high_known) {
            if (high <= 45) break;
            tries = {std::max(45, static_cast<int>(std::lround(high * 0.8))),
                     std::max(45, static_cast<int>(std::lround(high * 0.9)))};
          } else {
            if (low >= 300) break;
            tries = {std::min(300, static_cast<int>(std::lround(low * 1.15))),
                     std::min(300, static_cast<int>(std::lround(low * 1.3)))};
          }
          std::vector<Genome> batch;
          std::vector<int> dpis;
          for (int d : tries) {
            d = top_of_level(family, d, high_known ? high : 301);
            if ((low_known && d <= low) || (high_known && d >= high)) continue;
            if (std::find(dpis.begin(), dpis.end(), d) != dpis.end()) continue;
            dpis.push_back(d);
            batch.push_back(at_dpi(family, d));
          }
          if (batch.empty()) break;
          if (!spend(batch, "polish")) return std::nullopt;
          std::sort(dpis.begin(), dpis.end());
          bool moved = false;
          for (const int d : dpis) {
            const Individual* i = individual(at_dpi(family, d));
            if (!i) continue;  // the budget ran out before it
            moved = true;
            if (i->feasible) {
              high = d, high_known = true;
              if (fitter(*i, best)) best = *i;
              break;  // a failure above a success is the reader's noise
            }
            low = d, low_known = true;
          }
          if (!moved) break;
        }
        return best;
      };
      // Steps on one gene at a time from a config within the floor, the most token-saving first,
      // two at a time; a step is kept when it stays within the floor and raises compression.
      auto walk_steps = [&](const Individual& from) -> std::optional<Individual> {
        Individual current = from;
        while (current.feasible && !out_of_budget()) {
          std::vector<std::pair<int64_t, Genome>> steps;
          bool known_better = false;
          for (const Genome& g : polish_steps(current.genome)) {
            if (const Individual* i = individual(g)) {  // measured before: free to take
              if (i->feasible && fitter(*i, current)) current = *i, known_better = true;
              continue;
            }
            if (!is_valid(g, space)) continue;
            const int64_t tokens = tokens_of(g);
            if (tokens >= 0 && tokens >= current.visual_tokens) continue;  // cannot compress more
            steps.push_back({tokens, g});
          }
          if (known_better) continue;
          if (steps.empty()) break;
          std::stable_sort(steps.begin(), steps.end(),
                           [](const auto& a, const auto& b) { return a.first < b.first; });
          std::vector<Genome> batch;
          for (size_t k = 0; k < steps.size() && k < 2; ++k) batch.push_back(steps[k].second);
          if (!spend(batch, "polish")) return std::nullopt;
          for (const Genome& g : batch) {
            const Individual* i = individual(g);
            if (i && i->feasible && fitter(*i, current)) current = *i;
          }
        }
        return current;
      };
      // The starts: the best configs (against the floor itself) of distinct families, a family
      // being what the polish does not change (font, colours, newline markup): the best family,
      // then the preset's (so that the search ends at least where the preset's own walk to the
      // floor ends), then the next families.
      std::vector<Individual> ranked = result.evaluated;
      std::stable_sort(ranked.begin(), ranked.end(), fitter);
      const size_t start_count = options.polish >= 12 ? 2 : 1;
      auto family = [](const Genome& g) {
        return std::make_tuple(g.font, g.palette, g.newline_marker);
      };
      std::vector<size_t> starts;
      std::set<std::tuple<int, int, bool>> families;
      const auto preset_family = family(result.evaluated[result.preset].genome);
      for (const bool preset_first : {true, false}) {
        for (size_t i = 0; i < ranked.size() && starts.size() < start_count; ++i) {
          const auto f = family(ranked[i].genome);
          if (preset_first && !starts.empty() && f != preset_family) continue;
          if (families.insert(f).second) starts.push_back(i);
        }
      }
      for (size_t s = 0; s < starts.size() && complete; ++s) {
        // Each start has its share of what is left; the last has all of it.
        limit = used + (static_cast<size_t>(options.polish) - used) / (starts.size() - s);
        std::optional<Individual> current = ranked[starts[s]];
        for (int round = 0; current && !out_of_budget() && round < 4; ++round) {
          const std::string before = current->key;
          current = walk_dpi(*current);
          if (current) current = walk_steps(*current);
          if (current && current->key == before) break;
        }
        if (!current) complete = false;
      }
    }
    result.polished = used;
  }
  result.cancelled = !complete;

  result.front = pareto_front(result.evaluated);
  for (size_t i = 0; i < result.evaluated.size(); ++i) {
    const Individual& individual = result.evaluated[i];
    if (!individual.feasible) continue;
    if (!result.best || fitter(individual, result.evaluated[*result.best])) result.best = i;
  }
  result.front_markdown = front_markdown(result, space, options.floor);
  result.front_markdown_path = options.out_dir + "/front.md";
  result.front_plot_path = options.out_dir + "/front.png";
  result.best_config_path = options.out_dir + "/best.json";
  write_file(result.front_markdown_path, result.front_markdown);
  write_file(result.front_plot_path, front_png(result, options.floor, "glyph search"));
  if (!result.evaluated.empty()) {
    const Individual& best = result.evaluated[result.best ? *result.best : result.preset];
    write_file(result.best_config_path, config_to_json(to_config(best.genome, space)));
  }
  return result;
}

}  // namespace glyph::search
