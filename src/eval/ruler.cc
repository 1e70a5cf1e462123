// The RULER generator: the synthetic tasks of NVIDIA's RULER (niah, variable tracking, common and
// frequent words extraction) and its QA task over user-given records, sized in tokens of the
// chosen tokenizer and seeded per item, with no download.
//
// As in RULER: needles "One of the special magic {numbers|uuids} for {key} is: {value}.", keys
// adjective-noun words or UUIDs, values 7-digit numbers or UUIDs; the whole text prompt (the
// task's template with the context) fills the length less the answer's tokens. As in the Glyph
// evaluation: no few-shot example; the context alone is rendered, the rest is asked as text.
// Differences: the "essay" haystack is sentences generated from embedded word lists (RULER uses
// Paul Graham's essays), and words come from this project's lists (RULER uses wonderwords').
#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "eval/detail.h"
#include "eval/eval.h"
#include "tokens/tokenizer.h"

namespace glyph::eval {
namespace {

using detail::Random;

struct Template {
  std::string head;  // before the context
  std::string tail;  // after the context
  int answer_tokens = 0;
};

constexpr std::string_view kNoise =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

std::string uuid(Random& random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    int nibble = static_cast<int>(random.below(16));
    if (i == 12) nibble = 4;                 // version 4
    if (i == 16) nibble = 8 | (nibble & 3);  // variant 10xx
    out += kHex[nibble];
  }
  return out;
}

std::string word_key(Random& random) {
  const auto adjectives = detail::adjectives();
  const auto nouns = detail::nouns();
  return std::string(adjectives[random.below(adjectives.size())]) + "-" +
         std::string(nouns[random.below(nouns.size())]);
}

// One sentence of the generated essay.
std::string essay_sentence(Random& random) {
  const auto adjectives = detail::adjectives();
  const auto nouns = detail::nouns();
  const auto verbs = detail::verbs();
  auto adj = [&] { return std::string(adjectives[random.below(adjectives.size())]); };
  auto noun = [&] { return std::string(nouns[random.below(nouns.size())]); };
  auto verb = [&] { return std::string(verbs[random.below(verbs.size())]); };
  auto verbs_ = [&] { return detail::third_person(verbs[random.below(verbs.size())]); };
  switch (random.below(10)) {
    case 0:
      return "The " + adj() + " " + noun() + " " + verbs_() + " the " + noun() + " near the " +
             noun() + ".";
    case 1:
      return "Every " + noun() + " has a " + adj() + " " + noun() + ", and nobody " + verbs_() +
             " it.";
    case 2:
      return "When the " + noun() + " is " + adj() + ", a " + noun() + " " + verbs_() + " quietly.";
    case 3:
      return "A " + noun() + " that " + verbs_() + " the " + noun() + " is rarely " + adj() + ".";
    case 4:
      return "Nobody expected the " + noun() + " to be so " + adj() + " in the " + noun() + ".";
    case 5:
      return "If you " + verb() + " a " + adj() + " " + noun() + ", the " + noun() + " will " +
             verb() + " you back.";
    case 6:
      return "Most people think the " + noun() + " is " + adj() + ", but it is really " + adj() +
             ".";
    case 7:
      return "In the " + adj() + " " + noun() + " there was a " + noun() + " and a " + adj() + " " +
             noun() + ".";
    case 8:
      return "The " + noun() + " " + verbs_() + " what the " + noun() + " cannot " + verb() + ".";
    default:
      return "It is easier to " + verb() + " a " + noun() + " than to " + verb() + " a " + adj() +
             " " + noun() + ".";
  }
}

// The largest n in [0, max_units] for which count(build(n)) <= budget (build(0) must fit).
// Counts exactly: a guess from the tokens of a small build, a bracket around it, bisection.
constexpr int kNoCap = 1 << 28;
template <typename Build>
int fit_units(const Tokenizer& tokenizer, int budget, int probe, const Build& build,
              int max_units = kNoCap) {
  const std::string empty = build(0);
  const int base = static_cast<int>(tokenizer.count(empty));
  if (base > budget) {
    throw Error(ErrorCode::invalid_argument,
                "ruler: the task's template alone has " + std::to_string(base) +
                    " tokens, more than the length allows (" + std::to_string(budget) + ")");
  }
  const int probe_tokens = static_cast<int>(tokenizer.count(build(probe)));
  const double per_unit = std::max(0.5, static_cast<double>(probe_tokens - base) / probe);
  const int guess =
      std::clamp(static_cast<int>((budget - base) / per_unit), 1, std::max(1, max_units));
  auto fits = [&](int n) { return static_cast<int>(tokenizer.count(build(n))) <= budget; };
  if (max_units <= 0) return 0;
  if (max_units < kNoCap && fits(max_units)) return max_units;
  // Bracket the answer around the guess with steps of 1/64 of it, doubling, then bisect.
  int step = std::max(4, guess / 64);
  int low = 0, high = 0;
  if (fits(guess)) {
    low = guess;
    high = guess + step;
    high = std::min(high, max_units);  // build(max_units) does not fit
    while (high < max_units && fits(high)) {
      low = high;
      step *= 2;
      high = std::min(low + step, max_units);
    }
  } else {
    high = guess;
    low = std::max(0, guess - step);
    while (low > 0 && !fits(low)) {
      high = low;
      step *= 2;
      low = std::max(0, high - step);
    }
  }
  // Invariant: build(low) fits, build(high) does not.
  while (high - low > 1) {
    const int mid = low + (high - low) / 2;
    if (fits(mid))
      low = mid;
    else
      high = mid;
  }
  return low;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  size_t size = 0;
  for (const auto& p : parts) size += p.size() + separator.size();
  out.reserve(size);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += separator;
    out += parts[i];
  }
  return out;
}

std::string trimmed(std::string_view text) {
  const size_t start = text.find_first_not_of(" \n");
  if (start == std::string_view::npos) return "";
  const size_t end = text.find_last_not_of(" \n");
  return std::string(text.substr(start, end - start + 1));
}

void finish_item(EvalItem& item, const Template& t, std::string context) {
  item.text_prompt = t.head + context + t.tail;
  item.context = std::move(context);
  const std::string head = trimmed(t.head), tail = trimmed(t.tail);
  item.prompt = head.empty() ? tail : head + "\n\n" + tail;
  item.max_answer_tokens = t.answer_tokens;
}

struct NiahSpec {
  enum class Haystack { repeat, essay, needles } haystack;
  bool uuid_keys = false, uuid_values = false;
  int keys = 1, values = 1, queries = 1;
};

NiahSpec niah_spec(std::string_view task) {
  using H = NiahSpec::Haystack;
  if (task == "niah_single_1") return {H::repeat};
  if (task == "niah_single_2") return {H::essay};
  if (task == "niah_single_3") return {H::essay, false, true};
  if (task == "niah_multikey_1") return {H::essay, false, false, 4};
  if (task == "niah_multikey_2") return {H::needles};
  if (task == "niah_multikey_3") return {H::needles, true, true};
  if (task == "niah_multivalue") return {H::essay, false, false, 1, 4};
  return {H::essay, false, false, 4, 1, 4};  // niah_multiquery
}

void make_niah(EvalItem& item, const Tokenizer& tokenizer, int budget, uint64_t seed) {
  const NiahSpec spec = niah_spec(item.task);
  Random random(seed);
  const std::string kind = spec.uuid_values ? "uuids" : "numbers";
  auto value = [&](Random& r) {
    return spec.uuid_values ? uuid(r) : std::to_string(r.between(1'000'000, 9'999'999));
  };
  std::vector<std::string> keys;
  std::set<std::string> used;
  while (static_cast<int>(keys.size()) < spec.keys) {
    std::string key = spec.uuid_keys ? uuid(random) : word_key(random);
    if (used.insert(key).second) keys.push_back(std::move(key));
  }
  std::vector<std::vector<std::string>> values(keys.size());
  std::vector<std::string> needles;
  for (size_t k = 0; k < keys.size(); ++k) {
    for (int v = 0; v < spec.values; ++v) {
      values[k].push_back(value(random));
      needles.push_back("One of the special magic " + kind + " for " + keys[k] +
                        " is: " + values[k].back() + ".");
    }
  }
  random.shuffle(needles);
  std::vector<double> depths;
  for (size_t n = 0; n < needles.size(); ++n) depths.push_back(random.unit());
  std::sort(depths.begin(), depths.end());

  // The queried keys: the first `queries` of the keys (their order is random already).
  std::vector<std::string> asked(keys.begin(), keys.begin() + spec.queries);
  std::string query = asked.front();
  if (asked.size() > 1) {
    query.clear();
    for (size_t i = 0; i + 1 < asked.size(); ++i) query += asked[i] + ", ";
    query += "and " + asked.back();
  }
  for (int q = 0; q < spec.queries; ++q)
    for (const auto& v : values[static_cast<size_t>(q)]) item.answers.push_back(v);

  Template t;
  t.head = "Some special magic " + kind +
           " are hidden within the following text. Make sure to memorize it. I will quiz you "
           "about the " +
           kind + " afterwards.\n";
  t.tail = "\nWhat are all the special magic " + kind + " for " + query +
           " mentioned in the provided text?";
  t.answer_tokens = 128;
  item.question = trimmed(t.tail);

  // Haystack units, drawn from their own stream so that every n shares a prefix.
  const uint64_t haystack_seed = random.next();
  std::vector<std::string> units;
  Random unit_random(haystack_seed);
  auto unit_at = [&](size_t index) -> const std::string& {
    while (units.size() <= index) {
      switch (spec.haystack) {
        case NiahSpec::Haystack::repeat: units.emplace_back(kNoise); break;
        case NiahSpec::Haystack::essay: units.push_back(essay_sentence(unit_random)); break;
        case NiahSpec::Haystack::needles: {
          std::string key;
          do {
            key = spec.uuid_keys ? uuid(unit_random) : word_key(unit_random);
          } while (used.count(key));
          units.push_back("One of the special magic " + kind + " for " + key +
                          " is: " + value(unit_random) + ".");
          break;
        }
      }
    }
    return units[index];
  };
  const std::string separator = spec.haystack == NiahSpec::Haystack::needles ? "\n" : " ";
  auto context_of = [&](int n) {
    std::vector<std::string> parts;
    parts.reserve(static_cast<size_t>(n) + needles.size());
    size_t next_needle = 0;
    for (int u = 0; u <= n; ++u) {
      while (next_needle < needles.size() &&
             static_cast<int>(std::lround(depths[next_needle] * n)) <= u) {
        parts.push_back(needles[next_needle++]);
      }
      if (u < n) parts.push_back(unit_at(static_cast<size_t>(u)));
    }
    return join(parts, separator);
  };
  const int n = fit_units(tokenizer, budget, 64,
                          [&](int count) { return t.head + context_of(count) + t.tail; });
  finish_item(item, t, context_of(n));
}

std::string random_letters(Random& random, int count, char first) {
  std::string out;
  for (int i = 0; i < count; ++i) out += static_cast<char>(first + random.below(26));
  return out;
}

void make_variable_tracking(EvalItem& item, const Tokenizer& tokenizer, int budget, uint64_t seed) {
  constexpr int kHops = 4;
  Random random(seed);
  std::vector<std::string> names;
  std::set<std::string> used;
  while (static_cast<int>(names.size()) < kHops + 1) {
    std::string name = random_letters(random, 5, 'A');
    if (used.insert(name).second) names.push_back(std::move(name));
  }
  const std::string value = std::to_string(random.between(10000, 99999));
  std::vector<std::string> chain{"VAR " + names[0] + " = " + value};
  for (int h = 0; h < kHops; ++h) chain.push_back("VAR " + names[h + 1] + " = VAR " + names[h]);
  item.answers = names;
  std::vector<double> depths;
  for (size_t i = 0; i < chain.size(); ++i) depths.push_back(random.unit());
  std::sort(depths.begin(), depths.end());

  Template t;
  t.head =
      "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n";
  t.tail =
      "\nQuestion: Find all variables that are assigned the value " + value + " in the text above.";
  t.answer_tokens = 30;
  item.question = "Find all variables that are assigned the value " + value + ".";
  auto context_of = [&](int n) {
    std::vector<std::string> parts;
    size_t next = 0;
    for (int u = 0; u <= n; ++u) {
      while (next < chain.size() && static_cast<int>(std::lround(depths[next] * n)) <= u)
        parts.push_back(chain[next++] + ".");
      if (u < n) parts.emplace_back(kNoise);
    }
    return join(parts, "\n");
  };
  const int n = fit_units(tokenizer, budget, 32,
                          [&](int count) { return t.head + context_of(count) + t.tail; });
  finish_item(item, t, context_of(n));
}

// Words for the word-list tasks: every embedded word, then adjective+noun compounds.
std::string vocabulary_word(size_t index) {
  const auto adjectives = detail::adjectives();
  const auto nouns = detail::nouns();
  const auto verbs = detail::verbs();
  if (index < nouns.size()) return std::string(nouns[index]);
  index -= nouns.size();
  if (index < adjectives.size()) return std::string(adjectives[index]);
  index -= adjectives.size();
  if (index < verbs.size()) return std::string(verbs[index]);
  index -= verbs.size();
  return std::string(adjectives[(index / nouns.size()) % adjectives.size()]) +
         std::string(nouns[index % nouns.size()]);
}

void make_common_words(EvalItem& item, const Tokenizer& tokenizer, int budget, uint64_t seed) {
  // RULER's counts (10 common words, 30 times each; the rest 3 times); under 4K tokens the
  // common words come 10 times each, or they alone would overflow the length.
  constexpr int kCommon = 10, kRareRepeats = 3;
  const int kCommonRepeats = budget + 120 < 4096 ? 10 : 30;
  Template t;
  t.head =
      "Below is a numbered list of words. In these words, some appear more often than others. "
      "Memorize the ones that appear most often.\n";
  t.tail = "\nQuestion: What are the 10 most common words in the above list?";
  t.answer_tokens = 120;
  item.question = "What are the 10 most common words in the above list?";
  // A random order of the vocabulary's first words; the first ten are the common ones.
  const size_t vocabulary = 40'000;
  auto words_of = [&](int rare, std::vector<std::string>* common) {
    Random random(seed);
    std::vector<size_t> order(static_cast<size_t>(kCommon + rare));
    // Sample distinct vocabulary indices.
    std::set<size_t> taken;
    for (auto& index : order) {
      size_t candidate;
      do {
        candidate = random.below(vocabulary);
      } while (!taken.insert(candidate).second);
      index = candidate;
    }
    std::vector<std::string> list;
    for (size_t i = 0; i < order.size(); ++i) {
      const int repeats = i < kCommon ? kCommonRepeats : kRareRepeats;
      for (int r = 0; r < repeats; ++r) list.push_back(vocabulary_word(order[i]));
      if (common && i < kCommon) common->push_back(vocabulary_word(order[i]));
    }
    random.shuffle(list);
    std::string context;
    for (size_t i = 0; i < list.size(); ++i) {
      if (i) context += ' ';
      context += std::to_string(i + 1) + ". " + list[i];
    }
    return context;
  };
  const int rare = fit_units(tokenizer, budget, 64,
                             [&](int count) { return t.head + words_of(count, nullptr) + t.tail; });
  std::vector<std::string> common;
  std::string context = words_of(rare, &common);
  item.answers = common;
  finish_item(item, t, std::move(context));
}

void make_frequent_words(EvalItem& item, const Tokenizer& tokenizer, int budget, uint64_t seed) {
  constexpr int kVocabulary = 2000;
  constexpr double kAlpha = 2.0;
  Random random(seed);
  std::set<std::string> seen;
  std::vector<std::string> vocabulary;
  while (static_cast<int>(vocabulary.size()) < kVocabulary) {
    std::string word = random_letters(random, 6, 'a');
    if (seen.insert(word).second) vocabulary.push_back(std::move(word));
  }
  vocabulary[0] = "...";  // the most frequent "word" is noise, as in RULER
  const uint64_t shuffle_seed = random.next();
  const double zeta = M_PI * M_PI / 6;  // zeta(2)
  auto context_of = [&](int words) {
    std::vector<std::string> list;
    for (int k = 1; k <= kVocabulary; ++k) {
      const int count = static_cast<int>(words * std::pow(k, -kAlpha) / zeta);
      for (int c = 0; c < count; ++c) list.push_back(vocabulary[static_cast<size_t>(k - 1)]);
    }
    Random shuffle(shuffle_seed);
    shuffle.shuffle(list);
    return join(list, " ");
  };
  Template t;
  t.head =
      "Read the following coded text and track the frequency of each coded word. Find the three "
      "most frequently appeared coded words. ";
  t.tail =
      "\nQuestion: Do not provide any explanation. Please ignore the dots '....'. What are the "
      "three most frequently appeared words in the above coded text?";
  t.answer_tokens = 50;
  item.question = "What are the three most frequently appeared words in the above coded text?";
  const int words = fit_units(tokenizer, budget, 256,
                              [&](int count) { return t.head + context_of(count) + t.tail; });
  item.answers = {vocabulary[1], vocabulary[2], vocabulary[3]};
  finish_item(item, t, context_of(words));
}

void make_qa(EvalItem& item, const Tokenizer& tokenizer, int budget, uint64_t seed,
             const std::vector<QaRecord>& records, int index) {
  const QaRecord& record = records[static_cast<size_t>(index) % records.size()];
  Random random(seed);
  // Distractors: the documents of the other records, in a random order.
  std::vector<std::string> distractors;
  for (size_t r = 0; r < records.size(); ++r) {
    if (&records[r] == &record) continue;
    for (const auto& d : records[r].documents)
      if (std::find(record.documents.begin(), record.documents.end(), d) == record.documents.end())
        distractors.push_back(d);
  }
  random.shuffle(distractors);
  const uint64_t order_seed = random.next();
  auto context_of = [&](int n) {
    std::vector<std::string> documents = record.documents;
    documents.insert(
        documents.end(), distractors.begin(),
        distractors.begin() + std::min<size_t>(static_cast<size_t>(n), distractors.size()));
    Random order(order_seed);
    order.shuffle(documents);
    std::vector<std::string> parts;
    for (size_t d = 0; d < documents.size(); ++d)
      parts.push_back("Document " + std::to_string(d + 1) + ":\n" + documents[d]);
    return join(parts, "\n\n");
  };
  Template t;
  t.head =
      "Answer the question based on the given documents. Only give me the answer and do not "
      "output any other words.\n\nThe following are given documents.\n\n";
  t.tail =
      "\n\nAnswer the question based on the given documents. Only give me the answer and do not "
      "output any other words.\n\nQuestion: " +
      record.question;
  t.answer_tokens = 32;
  item.question = record.question;
  item.answers = record.answers;
  // With too few records for the length, every distractor goes in and the prompt stays shorter.
  const int n = fit_units(
      tokenizer, budget, 4, [&](int count) { return t.head + context_of(count) + t.tail; },
      static_cast<int>(distractors.size()));
  finish_item(item, t, context_of(n));
}

}  // namespace

const std::vector<std::string>& ruler_task_names() {
  static const std::vector<std::string> kNames = {"niah_single_1",
                                                  "niah_single_2",
                                                  "niah_single_3",
                                                  "niah_multikey_1",
                                                  "niah_multikey_2",
                                                  "niah_multikey_3",
                                                  "niah_multivalue",
                                                  "niah_multiquery",
                                                  "vt",
                                                  "cwe",
                                                  "fwe",
                                                  "qa"};
  return kNames;
}

std::vector<EvalItem> generate_ruler(const RulerOptions& options) {
  std::vector<std::string> tasks = options.tasks;
  if (tasks.empty()) {
    for (const auto& name : ruler_task_names())
      if (name != "qa" || !options.qa.empty()) tasks.push_back(name);
  }
  for (const auto& task : tasks) {
    const auto& known = ruler_task_names();
    if (std::find(known.begin(), known.end(), task) == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw Error(ErrorCode::invalid_argument,
                  "ruler: unknown task \"" + task + "\" (known: " + list + ")");
    }
    if (task == "qa" && options.qa.empty()) {
      throw Error(ErrorCode::invalid_argument,
                  "ruler: the qa task needs QA records: --data FILE.jsonl with context, question "
                  "and answers on each line");
    }
  }
  for (int length : options.lengths) {
    if (length < 512) {
      throw Error(ErrorCode::invalid_argument,
                  "ruler: length " + std::to_string(length) + " is under 512 tokens");
    }
  }
  const Tokenizer& tokenizer = shared_tokenizer(options.tokenizer_path);
  std::vector<EvalItem> items;
  // Lengths outermost: a run stopped early has every task at the lengths it finished.
  for (int length : options.lengths) {
    for (const auto& task : tasks) {
      for (int index = 0; index < options.samples; ++index) {
        EvalItem item;
        item.suite = "ruler";
        item.task = task;
        item.length_bin = std::to_string(length);
        item.id = task + "/" + std::to_string(length) + "/" + std::to_string(index);
        item.uuid_task = task == "niah_single_3" || task == "niah_multikey_3";
        item.metric = task == "qa" ? Metric::string_match_part : Metric::string_match_all;
        const uint64_t seed = detail::item_seed(options.seed, task, length, index);
        int budget = length;
        if (task.starts_with("niah")) {
          budget -= 128;
          make_niah(item, tokenizer, budget, seed);
        } else if (task == "vt") {
          make_variable_tracking(item, tokenizer, length - 30, seed);
        } else if (task == "cwe") {
          make_common_words(item, tokenizer, length - 120, seed);
        } else if (task == "fwe") {
          make_frequent_words(item, tokenizer, length - 50, seed);
        } else {
          make_qa(item, tokenizer, length - 32, seed, options.qa, index);
        }
        items.push_back(std::move(item));
      }
    }
  }
  return items;
}

}  // namespace glyph::eval
