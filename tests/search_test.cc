// glyph search: the space's operators, determinism by seed, resume, the proposer, the command.
#include "search/search.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "config/config.h"
#include "core/error.h"
#include "core/file.h"
#include "read/vlm_reader.h"
#include "support/fake_vlm_server.h"
#include "support/paths.h"
#include "support/run.h"

namespace glyph::search {
namespace {

SearchSpace en_space() {
  return make_space(preset_config("en"));
}

// A cheap stand-in for the OCR round trip that keeps the search's trade-off: fewer pixels per
// character compress more and read worse. The search machinery is what these tests exercise;
// the real evaluator runs in search_e2e.
Measurement synthetic(const RenderConfig& c, const Input& input) {
  Measurement m;
  m.text_tokens = static_cast<int64_t>(input.document.text.size());
  const double pixels_per_char =
      c.dpi / 72.0 * c.font_size_pt * c.horizontal_scale * (c.line_height_pt / c.font_size_pt);
  m.visual_tokens = std::max<int64_t>(
      1, static_cast<int64_t>(
             std::lround(input.document.text.size() * pixels_per_char * pixels_per_char / 400.0 *
                         (c.page_width_pt / (c.page_width_pt - 2 * c.margin_x_pt)))));
  m.weight = 1000;
  m.errors = std::round(1000 * std::clamp(0.5 - (pixels_per_char - 6) / 6, 0.0, 1.0));
  if (c.font_color == c.page_bg_color) m.errors = 1000;
  return m;
}

std::vector<Input> small_inputs() {
  Document a;
  a.text = std::string(3000, 'a');
  Document b;
  b.text = "The quick brown fox jumps over the lazy dog.\nSecond line.";
  return {make_input("a", a), make_input("b", b)};
}

std::vector<std::string> keys_of(const SearchResult& r) {
  std::vector<std::string> keys;
  for (const auto& i : r.evaluated) keys.push_back(i.key + " " + i.origin);
  return keys;
}

TEST(search_space, operators_keep_configs_valid) {
  const SearchSpace space = en_space();
  ASSERT_FALSE(space.fonts.empty());
  Rng rng(7);
  const Genome preset = genome_from_config(space.base, space);
  ASSERT_TRUE(is_valid(preset, space));
  EXPECT_EQ(preset.dpi, 72);
  EXPECT_EQ(preset.font_size_pt, 9);
  Genome previous = preset;
  for (int i = 0; i < 300; ++i) {
    const Genome a = random_genome(space, rng);
    const Genome m = mutate(previous, space, rng, 0.3);
    const Genome c = crossover(a, m, rng);
    for (const Genome* g : {&a, &m, &c}) {
      ASSERT_TRUE(is_valid(*g, space)) << genome_key(*g, space);
      // Every genome is a config the renderer accepts, and its key reads back as itself.
      const RenderConfig config = to_config(*g, space);
      EXPECT_EQ(config.dpi, g->dpi);
      std::string why;
      const auto back = genome_from_proposal(genome_key(*g, space), preset, space, &why);
      ASSERT_TRUE(back.has_value()) << why;
      EXPECT_TRUE(*back == *g) << genome_key(*g, space);
    }
    EXPECT_FALSE(m == previous);  // a mutation changes something
    previous = c;
  }
  // Bounds hold at the edges too: repeated mutation of an extreme genome stays inside.
  Genome edge = preset;
  edge.dpi = 45;
  edge.font_size_pt = 7;
  edge.horizontal_scale = 0.75;
  for (int i = 0; i < 200; ++i) {
    edge = mutate(edge, space, rng, 1.0);
    ASSERT_TRUE(is_valid(edge, space)) << genome_key(edge, space);
  }
}

TEST(search_space, mutation_can_cross_a_factor_of_two_in_dpi) {
  // A search settled at 249 dpi must be able to reach 120 dpi (where the Chinese preset family
  // reads well): one mutation of the dpi gene sometimes halves it, and a few always can.
  const SearchSpace space = en_space();
  Genome settled = genome_from_config(space.base, space);
  settled.dpi = 249;
  Rng rng(3);
  int halved = 0, below = 0, above = 0;
  for (int i = 0; i < 400; ++i) {
    const Genome m = mutate(settled, space, rng, 1.0);
    if (m.dpi <= 125) ++halved;
    if (m.dpi < settled.dpi) ++below;
    if (m.dpi > settled.dpi) ++above;
  }
  EXPECT_GT(halved, 4);  // the whole-range redraws, log-uniform: about a third land <= 125
  EXPECT_GT(below, 100);
  EXPECT_GT(above, 100);
  // Steps are relative: from 50 dpi a step is a few dpi, not tens.
  Genome low = settled;
  low.dpi = 50;
  int small_steps = 0;
  for (int i = 0; i < 200; ++i)
    if (std::abs(mutate(low, space, rng, 1.0).dpi - 50) <= 21) ++small_steps;
  EXPECT_GT(small_steps, 150);
}

TEST(search_space, the_dpi_ladder_is_the_preset_at_other_resolutions) {
  const SearchSpace space = en_space();
  const Genome preset = genome_from_config(space.base, space);
  const auto ladder = dpi_ladder(preset, 3);
  ASSERT_EQ(ladder.size(), 3u);
  EXPECT_EQ(ladder[0].dpi, 96);
  EXPECT_EQ(ladder[1].dpi, 120);
  EXPECT_EQ(ladder[2].dpi, 48);
  for (const Genome& g : ladder) {
    Genome same = g;
    same.dpi = preset.dpi;
    EXPECT_TRUE(same == preset);  // only the dpi differs
    EXPECT_TRUE(is_valid(g, space));
  }
  // At the bounds the ladder clamps and does not repeat a dpi.
  Genome top = preset;
  top.dpi = 300;
  const auto clamped = dpi_ladder(top, 5);
  std::set<int> dpis;
  for (const Genome& g : clamped) {
    EXPECT_NE(g.dpi, 300);
    EXPECT_TRUE(dpis.insert(g.dpi).second);
  }
  EXPECT_EQ(clamped.size(), 2u);  // 200 and 150
}

TEST(search_space, proposals_are_validated_before_use) {
  const SearchSpace space = en_space();
  const Genome preset = genome_from_config(space.base, space);
  std::string why;
  const auto ok =
      genome_from_proposal(R"({"dpi": 60, "font-size": 8, "line-height": 9})", preset, space, &why);
  ASSERT_TRUE(ok.has_value()) << why;
  EXPECT_EQ(ok->dpi, 60);
  EXPECT_EQ(ok->font_size_pt, 8);
  EXPECT_EQ(ok->line_gap_pt, 1);
  EXPECT_EQ(ok->margin_x_pt, preset.margin_x_pt);  // the rest from the fallback
  for (const char* bad :
       {R"({"dpi": 400})", R"({"dpi": 72.5})", R"({"font-size": 20})", R"({"font-size": 8.3})",
        R"({"line-height": 30})", R"({"margin-x": 2})", R"({"horizontal-scale": 0.5})",
        R"({"alignment": "SIDEWAYS"})", R"({"font-path": "/nowhere/font.ttf"})",
        R"({"page-size": "1,1"})", R"({"font-color": "#FFFFFF", "page-bg-color": "#123456"})",
        R"({"auto-crop-width": "yes"})", R"({"newline-markup": "<b>"})", R"([1, 2])", "garbage",
        R"({"dpi": "72"})"}) {
    why.clear();
    EXPECT_FALSE(genome_from_proposal(bad, preset, space, &why).has_value()) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

SearchOptions small_options(const std::string& out, uint64_t seed) {
  SearchOptions options;
  options.floor = 0.05;
  options.generations = 5;
  options.population = 6;
  options.seed = seed;
  options.concurrency = 2;
  options.out_dir = out;
  return options;
}

TEST(search_run, the_same_seed_gives_the_same_search) {
  const SearchSpace space = en_space();
  const auto inputs = small_inputs();
  const std::string dir = test::scratch_dir();
  const SearchResult a = run_search(inputs, space, synthetic, small_options(dir + "/a", 11));
  const SearchResult b = run_search(inputs, space, synthetic, small_options(dir + "/b", 11));
  const SearchResult c = run_search(inputs, space, synthetic, small_options(dir + "/c", 12));
  EXPECT_EQ(keys_of(a), keys_of(b));
  EXPECT_NE(keys_of(a), keys_of(c));
  EXPECT_EQ(a.generations_done, 5);
  ASSERT_TRUE(a.best.has_value());
  EXPECT_EQ(read_file(a.best_config_path), read_file(b.best_config_path));
  // The search improves on the preset within the floor, and the best is on the front.
  const Individual& best = a.evaluated[*a.best];
  EXPECT_TRUE(best.feasible);
  EXPECT_TRUE(a.evaluated[a.preset].feasible);
  EXPECT_GE(best.compression, a.evaluated[a.preset].compression);
  for (const auto& i : a.evaluated) {
    if (i.feasible) {
      EXPECT_LE(i.compression, best.compression);
    }
  }
  EXPECT_NE(std::find(a.front.begin(), a.front.end(), *a.best), a.front.end());
  // best.json is a config glyph loads.
  const RenderConfig loaded = load_config(a.best_config_path);
  EXPECT_EQ(loaded.dpi, best.genome.dpi);
  // Each (config, input) was measured once: elites come from the cache.
  EXPECT_EQ(a.measurements, a.evaluated.size() * inputs.size());
}

// A reader that needs 110 dpi whatever else the config is (as Tesseract's Chinese model does).
Evaluator needs_110_dpi() {
  return [](const RenderConfig& c, const Input& input) {
    Measurement m = synthetic(c, input);
    m.errors = c.dpi >= 110 ? 10 : 300;
    return m;
  };
}

TEST(search_run, starts_from_the_preset_at_other_dpi) {
  // The Chinese case: the reader needs about 110 dpi whatever else the config is, so the preset
  // (72 dpi) reads badly and the best config is the cheapest family that reaches 110 dpi.
  const SearchSpace space = en_space();
  const auto inputs = small_inputs();
  Evaluator needs_dpi = needs_110_dpi();
  SearchOptions options = small_options(test::scratch_dir() + "/dpi", 4);
  options.population = 8;
  const SearchResult r = run_search(inputs, space, needs_dpi, options);
  std::vector<int> ladder;
  for (const auto& i : r.evaluated)
    if (i.origin == "preset-dpi") ladder.push_back(i.genome.dpi);
  EXPECT_EQ(ladder, (std::vector<int>{96, 120, 48}));
  ASSERT_TRUE(r.best.has_value());
  const Individual& best = r.evaluated[*r.best];
  EXPECT_GE(best.genome.dpi, 110);
  EXPECT_LE(best.genome.dpi, 140);  // found the low-dpi family, not a feasible 200-300 dpi one
  SearchOptions random = options;
  random.strategy = Strategy::random;
  random.out_dir += "-random";
  const SearchResult baseline = run_search(inputs, space, needs_dpi, random);
  for (const auto& i : baseline.evaluated) EXPECT_NE(i.origin, "preset-dpi");
}

TEST(search_space, elites_come_from_distinct_dpi_niches) {
  auto at = [](int dpi, double compression) {
    Individual i;
    i.genome.dpi = dpi;
    i.key = std::to_string(dpi) + "/" + std::to_string(compression);
    i.compression = compression;
    i.feasible = true;
    return i;
  };
  // Ranked best first: three of one family at about 249 dpi, then 120 and 60 dpi.
  const std::vector<Individual> ranked = {at(249, 0.61), at(245, 0.60), at(230, 0.58),
                                          at(120, 0.5),  at(60, 0.4),   at(250, 0.3)};
  auto dpis = [](const std::vector<size_t>& chosen, const std::vector<Individual>& from) {
    std::vector<int> out;
    for (size_t i : chosen) out.push_back(from[i].genome.dpi);
    return out;
  };
  EXPECT_EQ(dpis(select_elites(ranked, 2), ranked), (std::vector<int>{249, 120}));
  EXPECT_EQ(dpis(select_elites(ranked, 3), ranked), (std::vector<int>{249, 120, 60}));
  // When the niches run out, the ranking fills the rest.
  EXPECT_EQ(dpis(select_elites(ranked, 4), ranked), (std::vector<int>{249, 120, 60, 245}));
  EXPECT_TRUE(select_elites(ranked, 0).empty());
}

TEST(search_run, resume_gives_the_same_result_as_an_uninterrupted_run) {
  const SearchSpace space = en_space();
  const auto inputs = small_inputs();
  const std::string dir = test::scratch_dir();
  const SearchResult whole = run_search(inputs, space, synthetic, small_options(dir + "/whole", 5));

  // Interrupted during the third generation, with a torn line left at the end of the history.
  std::atomic<int> calls{0};
  std::atomic<bool> stop{false};
  SearchCallbacks callbacks;
  callbacks.is_cancelled = [&] { return stop.load(); };
  Evaluator counting = [&](const RenderConfig& c, const Input& i) {
    if (++calls == 30) stop = true;
    return synthetic(c, i);
  };
  const SearchResult first =
      run_search(inputs, space, counting, small_options(dir + "/part", 5), {}, callbacks);
  EXPECT_TRUE(first.cancelled);
  EXPECT_LT(first.generations_done, 5);
  {
    std::ofstream torn(dir + "/part/history.jsonl", std::ios::app);
    torn << R"({"type":"measurement","config":"{\"dpi)";
  }
  // Without --resume the history is refused.
  EXPECT_THROW(run_search(inputs, space, synthetic, small_options(dir + "/part", 5)), Error);
  SearchOptions resume = small_options(dir + "/part", 5);
  resume.resume = true;
  const SearchResult resumed = run_search(inputs, space, synthetic, resume);
  EXPECT_FALSE(resumed.cancelled);
  EXPECT_EQ(keys_of(resumed), keys_of(whole));
  EXPECT_GT(resumed.from_history, 0u);
  EXPECT_EQ(resumed.measurements + resumed.from_history, whole.measurements);
  EXPECT_EQ(resumed.front, whole.front);
  EXPECT_EQ(resumed.best, whole.best);
  EXPECT_EQ(read_file(resumed.best_config_path), read_file(whole.best_config_path));
  // Another seed cannot resume this history.
  SearchOptions other = resume;
  other.seed = 6;
  EXPECT_THROW(run_search(inputs, space, synthetic, other), Error);
}

TEST(search_run, the_polish_walks_the_best_to_the_floor_and_resumes) {
  // The reader needs 110 dpi; fewer pixels per character cost fewer tokens. The generations end
  // somewhere above 110 dpi; the polish must end within the floor, at least as compressed as
  // where the generations ended, at a lower dpi, with only its own budget spent.
  const SearchSpace space = en_space();
  const auto inputs = small_inputs();
  Evaluator needs_dpi = needs_110_dpi();
  VisualCounter counter = [&](const RenderConfig& c, const Input& input) {
    return needs_dpi(c, input).visual_tokens;
  };
  const std::string dir = test::scratch_dir();
  SearchOptions options = small_options(dir + "/plain", 4);
  options.generations = 3;
  options.polish = 0;
  const SearchResult plain = run_search(inputs, space, needs_dpi, options, {}, {}, counter);
  ASSERT_TRUE(plain.best.has_value());
  EXPECT_EQ(plain.polished, 0u);

  options.polish = 12;
  options.out_dir = dir + "/polished";
  const SearchResult polished = run_search(inputs, space, needs_dpi, options, {}, {}, counter);
  EXPECT_GT(polished.polished, 0u);
  EXPECT_LE(polished.polished, 12u);
  // The generations are the same; the polish adds its configs after them.
  ASSERT_EQ(polished.evaluated.size(), plain.evaluated.size() + polished.polished);
  for (size_t i = 0; i < plain.evaluated.size(); ++i)
    EXPECT_EQ(polished.evaluated[i].key, plain.evaluated[i].key);
  for (size_t i = plain.evaluated.size(); i < polished.evaluated.size(); ++i) {
    EXPECT_EQ(polished.evaluated[i].origin, "polish");
    EXPECT_TRUE(is_valid(polished.evaluated[i].genome, space));
  }
  ASSERT_TRUE(polished.best.has_value());
  const Individual& start = plain.evaluated[*plain.best];
  const Individual& best = polished.evaluated[*polished.best];
  EXPECT_TRUE(best.feasible);
  EXPECT_GE(best.compression, start.compression);
  EXPECT_GE(best.genome.dpi, 110);
  EXPECT_LT(best.genome.dpi, start.genome.dpi);  // bisected down towards the floor
  EXPECT_EQ(best.origin, "polish");

  // Interrupted inside the polish, then resumed: the same configs and best.
  const size_t before_polish = plain.evaluated.size() * inputs.size();
  std::atomic<size_t> calls{0};
  std::atomic<bool> stop{false};
  SearchCallbacks callbacks;
  callbacks.is_cancelled = [&] { return stop.load(); };
  Evaluator counting = [&](const RenderConfig& c, const Input& i) {
    if (++calls == before_polish + 3) stop = true;
    return needs_dpi(c, i);
  };
  options.out_dir = dir + "/part";
  const SearchResult first = run_search(inputs, space, counting, options, {}, callbacks, counter);
  EXPECT_TRUE(first.cancelled);
  options.resume = true;
  const SearchResult resumed = run_search(inputs, space, needs_dpi, options, {}, {}, counter);
  EXPECT_FALSE(resumed.cancelled);
  EXPECT_EQ(keys_of(resumed), keys_of(polished));
  EXPECT_EQ(resumed.best, polished.best);

  // Without a counter the polish still works (every step measured); the random baseline spends
  // the same budget on random configs.
  options.resume = false;
  options.out_dir = dir + "/uncounted";
  const SearchResult uncounted = run_search(inputs, space, needs_dpi, options);
  ASSERT_TRUE(uncounted.best.has_value());
  EXPECT_TRUE(uncounted.evaluated[*uncounted.best].feasible);
  EXPECT_GE(uncounted.evaluated[*uncounted.best].compression, start.compression);
  options.strategy = Strategy::random;
  options.out_dir = dir + "/random";
  const SearchResult random = run_search(inputs, space, needs_dpi, options);
  EXPECT_EQ(random.polished, 12u);
  for (size_t i = random.evaluated.size() - 12; i < random.evaluated.size(); ++i)
    EXPECT_EQ(random.evaluated[i].origin, "random");
}

TEST(search_run_integration, a_proposer_that_answers_garbage_is_survived_and_counted) {
  const SearchSpace space = en_space();
  const auto inputs = small_inputs();
  test::FakeServerOptions server_options;
  server_options.answer.content =
      "Here are some ideas: [{\"dpi\": 9999}, {\"font-path\": \"/no/such.ttf\"}, \"text\", "
      "{\"dpi\": 61, \"font-size\": 8}] hope this helps";
  test::FakeVlmServer server(server_options);
  SearchOptions options = small_options(test::scratch_dir() + "/proposer", 3);
  options.generations = 3;
  options.proposals = 2;
  const SearchResult r =
      run_search(inputs, space, synthetic, options, openai_proposer(server.url(), "", ""));
  EXPECT_EQ(r.generations_done, 3);
  EXPECT_EQ(r.proposed, 8u);            // four objects in each of two answers
  EXPECT_EQ(r.proposals_rejected, 6u);  // out of bounds, unknown font, not an object
  EXPECT_EQ(r.proposer_failures, 0u);
  EXPECT_EQ(r.proposals_accepted, 1u);  // the valid one, once (then it is known)
  EXPECT_TRUE(std::any_of(r.evaluated.begin(), r.evaluated.end(), [](const Individual& i) {
    return i.origin == "proposer" && i.genome.dpi == 61;
  }));

  // An answer with no config at all, and a server that fails: counted, the search goes on.
  test::FakeAnswer garbage;
  garbage.content = "I cannot help with that {";
  server.set_answer(garbage);
  options.out_dir = test::scratch_dir() + "/garbage";
  const SearchResult g =
      run_search(inputs, space, synthetic, options, openai_proposer(server.url(), "", ""));
  EXPECT_EQ(g.generations_done, 3);
  EXPECT_EQ(g.proposer_failures, 2u);
  EXPECT_EQ(g.proposals_accepted, 0u);
  options.out_dir = test::scratch_dir() + "/down";
  const SearchResult down =
      run_search(inputs, space, synthetic, options, [](const std::string&) -> std::string {
        throw Error(ErrorCode::server, "proposer unreachable");
      });
  EXPECT_EQ(down.generations_done, 3);
  EXPECT_EQ(down.proposer_failures, 2u);
}

TEST(search_run_integration, measures_fidelity_as_an_eval_suites_accuracy_through_a_server) {
  eval::RulerOptions ruler;
  ruler.tasks = {"niah_single_1"};
  ruler.lengths = {1024};
  ruler.samples = 1;
  const auto items = eval::generate_ruler(ruler);
  ASSERT_EQ(items.size(), 1u);
  test::FakeServerOptions server_options;
  server_options.answer.content = "The number is " + items[0].answers[0] + ".";
  test::FakeVlmServer server(server_options);
  const std::string url = server.url();
  eval::ReaderFactory reader = [url]() -> std::unique_ptr<Reader> {
    VlmReaderOptions options;
    options.base_url = url;
    return std::make_unique<VlmReader>(options);
  };
  SearchOptions options = small_options(test::scratch_dir() + "/eval", 1);
  options.generations = 2;
  options.population = 3;
  options.floor = 0.1;
  const SearchResult r = run_search(inputs_from_items(items), en_space(),
                                    eval_evaluator(items, reader, eval::RunOptions{}), options);
  ASSERT_EQ(r.evaluated.size(), 4u);  // three, then one child beside the two elites
  for (const auto& i : r.evaluated) {
    EXPECT_EQ(i.error_rate, 0) << i.key;  // the server always names the needle
    EXPECT_GT(i.text_tokens, 500);
    EXPECT_GT(i.visual_tokens, 0);
  }
  // Every page of every config went to the server (one request per evaluation).
  EXPECT_EQ(server.chat_requests(), 4);

  // A wrong answer is an error of 1 per item: nothing is within the floor, best.json is the preset.
  test::FakeAnswer wrong;
  wrong.content = "I do not know.";
  server.set_answer(wrong);
  options.out_dir = test::scratch_dir() + "/eval-wrong";
  const SearchResult w = run_search(inputs_from_items(items), en_space(),
                                    eval_evaluator(items, reader, eval::RunOptions{}), options);
  EXPECT_FALSE(w.best.has_value());
  for (const auto& i : w.evaluated) EXPECT_EQ(i.error_rate, 1);
}

TEST(search_e2e, finds_a_config_with_the_ocr_reader_and_writes_its_outputs) {
  const std::string dir = test::scratch_dir();
  write_file(dir + "/in.txt",
             "The harbour was quiet before dawn. Fishing boats rocked against the pier while "
             "the gulls waited on the roofs of the sheds.\nBy seven the market opened and the "
             "first buyers argued over the price of cod, 42 crowns a kilo.\n");
  const auto run = test::run_glyph("search " + dir +
                                   "/in.txt --floor 0.05 --population 3 "
                                   "--generations 2 --seed 3 --concurrency 2 --no-cache --out " +
                                   dir + "/out");
  ASSERT_EQ(run.exit_code, 0) << run.output();
  EXPECT_NE(run.out.find("| compression | error rate |"), std::string::npos) << run.out;
  const RenderConfig best = load_config(dir + "/out/best.json");
  EXPECT_GE(best.dpi, 45);
  const std::string png = read_file(dir + "/out/front.png");
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  // history: the header, then one measurement per (config, input).
  std::ifstream history(dir + "/out/history.jsonl");
  std::string line;
  int measurements = 0;
  while (std::getline(history, line))
    if (nlohmann::json::parse(line)["type"] == "measurement") ++measurements;
  EXPECT_GE(measurements, 4);
  // Resuming the finished search measures nothing again.
  const auto again = test::run_glyph("search " + dir +
                                     "/in.txt --floor 0.05 --population 3 "
                                     "--generations 2 --seed 3 --no-cache --resume --out " +
                                     dir + "/out");
  ASSERT_EQ(again.exit_code, 0) << again.output();
  EXPECT_NE(again.err.find("0 measured"), std::string::npos) << again.err;
  // A bad flag value is a clear error.
  const auto bad = test::run_glyph("search " + dir + "/in.txt --out " + dir + "/x");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--floor"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace glyph::search
