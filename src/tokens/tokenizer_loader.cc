// Reads a Hugging Face tokenizer.json into a TokenizerModel. The only file of the module that
// sees nlohmann/json. The vocabulary and merges (the bulk of the file: 151k + 151k entries for
// Qwen) are streamed through a SAX handler straight into our tables instead of a JSON tree,
// which keeps loading fast and small; the small sections are kept as JSON and read after.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/utf8.h"
#include "tokens/tokenizer_model.h"

namespace glyph::detail {
namespace {

using json = nlohmann::json;

// GPT-2's pre-tokenizer pattern, used by ByteLevel when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

[[noreturn]] void fail(ErrorCode code, const std::string& source, const std::string& what) {
  throw Error(code, source + ": " + what);
}

// SAX handler: `model.vocab` entries and `model.merges` go to flat vectors; everything else
// becomes a JSON tree (small: normalizer, pre_tokenizer, added_tokens, ...).
class Reader : public nlohmann::json_sax<json> {
 public:
  std::vector<std::pair<std::string, std::int64_t>> vocab;
  std::vector<std::pair<std::string, std::string>> merges;
  json root;
  std::string merge_error;

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override { return number(v); }
  bool number_unsigned(number_unsigned_t v) override {
    return number(static_cast<std::int64_t>(v));
  }
  bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
  bool binary(binary_t&) override { return value(json(nullptr)); }
  bool string(string_t& v) override {
    if (in_merges_list()) {
      if (depth_ == 3) {  // "a b"
        const auto space = v.find(' ', 1);
        if (space == std::string::npos) {
          if (merge_error.empty())
            merge_error = "merge \"" + v + "\" is not two tokens separated by a space";
          return true;
        }
        merges.emplace_back(v.substr(0, space), v.substr(space + 1));
        return true;
      }
      if (depth_ == 4) {  // ["a", "b"]
        if (pair_index_ == 0)
          merges.emplace_back(v, std::string());
        else if (pair_index_ == 1)
          merges.back().second = v;
        ++pair_index_;
        return true;
      }
    }
    return value(json(std::move(v)));
  }
  bool start_object(std::size_t) override {
    ++depth_;
    path_.push_back(pending_key_);
    if (in_vocab_object()) return true;
    stack_.push_back(json::object());
    keys_.push_back(pending_key_);
    return true;
  }
  bool key(string_t& k) override {
    pending_key_ = k;
    return true;
  }
  bool end_object() override {
    --depth_;
    if (in_vocab_object_closing()) {
      path_.pop_back();
      return true;
    }
    path_.pop_back();
    return close();
  }
  bool start_array(std::size_t) override {
    ++depth_;
    path_.push_back(pending_key_);
    if (in_merges_list()) {
      if (depth_ == 4) pair_index_ = 0;
      return true;
    }
    stack_.push_back(json::array());
    keys_.push_back(pending_key_);
    return true;
  }
  bool end_array() override {
    const bool merges_part = in_merges_list();
    --depth_;
    path_.pop_back();
    if (merges_part) {
      if (depth_ + 1 == 4 && pair_index_ != 2 && merge_error.empty()) {
        merge_error = "a merge is not a pair of two tokens";
      }
      return true;
    }
    return close();
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& e) override {
    error_ = e.what();
    error_position_ = position;
    return false;
  }
  const std::string& error() const { return error_; }
  std::size_t error_position() const { return error_position_; }

 private:
  // path_[0] is the root ("" key), path_[1] the top-level key, ...
  bool in_vocab_object() const {
    return path_.size() == 3 && path_[1] == "model" && path_[2] == "vocab";
  }
  bool in_vocab_object_closing() const { return in_vocab_object(); }
  bool in_merges_list() const {
    return path_.size() >= 3 && path_[1] == "model" && path_[2] == "merges";
  }
  bool number(std::int64_t v) {
    if (in_vocab_object() && depth_ == 3) {
      vocab.emplace_back(pending_key_, v);
      return true;
    }
    return value(json(v));
  }
  bool value(json v) {
    if (in_merges_list()) {
      if (merge_error.empty()) merge_error = "a merge holds something other than strings";
      return true;
    }
    if (in_vocab_object()) {
      if (merge_error.empty())
        merge_error = "vocab entry \"" + pending_key_ + "\" is not an integer id";
      return true;
    }
    if (stack_.empty()) {
      root = std::move(v);
      return true;
    }
    json& top = stack_.back();
    if (top.is_object())
      top[pending_key_] = std::move(v);
    else
      top.push_back(std::move(v));
    return true;
  }
  bool close() {
    json done = std::move(stack_.back());
    stack_.pop_back();
    const std::string key = std::move(keys_.back());
    keys_.pop_back();
    if (stack_.empty()) {
      root = std::move(done);
      return true;
    }
    json& top = stack_.back();
    if (top.is_object())
      top[key] = std::move(done);
    else
      top.push_back(std::move(done));
    return true;
  }

  std::vector<json> stack_;
  std::vector<std::string> keys_;
  std::vector<std::string> path_;
  std::string pending_key_;
  int depth_ = 0;
  int pair_index_ = 0;
  std::string error_;
  std::size_t error_position_ = 0;
};

// Byte-level token text (GPT-2 characters) → the bytes it stands for. Returns false when a
// character is outside the 256 (such a token can only be produced as an added token).
bool byte_level_to_bytes(const std::string& text, std::string* bytes) {
  bytes->clear();
  const DecodedText decoded = decode_utf8(text);
  for (char32_t c : decoded.text) {
    const int b = char_to_byte(c);
    if (b < 0) return false;
    bytes->push_back(static_cast<char>(b));
  }
  return true;
}

std::string type_of(const json& j) {
  if (!j.is_object()) return "";
  auto it = j.find("type");
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

bool flag(const json& j, const char* key, bool fallback) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

void add_normalizer(TokenizerModel& m, const json& j) {
  if (j.is_null()) return;
  const std::string type = type_of(j);
  if (type == "Sequence") {
    auto it = j.find("normalizers");
    if (it == j.end() || !it->is_array())
      fail(ErrorCode::invalid_input, m.source,
           "normalizer Sequence without a \"normalizers\" list");
    for (const json& step : *it) add_normalizer(m, step);
    return;
  }
  if (type == "NFC")
    m.normalizers.push_back({NormalizerKind::nfc, "", ""});
  else if (type == "NFD")
    m.normalizers.push_back({NormalizerKind::nfd, "", ""});
  else if (type == "NFKC")
    m.normalizers.push_back({NormalizerKind::nfkc, "", ""});
  else if (type == "NFKD")
    m.normalizers.push_back({NormalizerKind::nfkd, "", ""});
  else if (type == "Lowercase")
    m.normalizers.push_back({NormalizerKind::lowercase, "", ""});
  else if (type == "Replace") {
    const json& pattern = j.value("pattern", json());
    if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string()) {
      fail(ErrorCode::unsupported, m.source,
           "normalizer Replace with a regex pattern is not supported (only a String pattern)");
    }
    m.normalizers.push_back({NormalizerKind::replace, pattern["String"].get<std::string>(),
                             j.value("content", std::string())});
  } else {
    fail(ErrorCode::unsupported, m.source,
         "normalizer \"" + type +
             "\" is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Replace, Sequence)");
  }
}

SplitBehavior parse_behavior(const TokenizerModel& m, const std::string& name) {
  if (name == "Removed") return SplitBehavior::removed;
  if (name == "Isolated") return SplitBehavior::isolated;
  if (name == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (name == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (name == "Contiguous") return SplitBehavior::contiguous;
  fail(ErrorCode::unsupported, m.source,
       "pre_tokenizer Split behavior \"" + name + "\" is unknown");
}

void add_pre_tokenizer(TokenizerModel& m, const json& j, bool* has_byte_level) {
  if (j.is_null()) return;
  const std::string type = type_of(j);
  if (type == "Sequence") {
    auto it = j.find("pretokenizers");
    if (it == j.end() || !it->is_array())
      fail(ErrorCode::invalid_input, m.source,
           "pre_tokenizer Sequence without a \"pretokenizers\" list");
    for (const json& step : *it) add_pre_tokenizer(m, step, has_byte_level);
    return;
  }
  PreTokenizerStep step;
  if (type == "Split") {
    step.kind = PreTokenizerStep::Kind::split;
    const json& pattern = j.value("pattern", json());
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      step.regex = std::make_shared<Regex>(pattern["Regex"].get<std::string>(), false,
                                           m.source + ": pre_tokenizer Split regex");
    } else if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      step.regex = std::make_shared<Regex>(pattern["String"].get<std::string>(), true,
                                           m.source + ": pre_tokenizer Split string");
    } else {
      fail(ErrorCode::invalid_input, m.source,
           "pre_tokenizer Split without a \"pattern\" {\"Regex\": ...} or {\"String\": ...}");
    }
    step.behavior = parse_behavior(m, j.value("behavior", std::string("Isolated")));
    step.invert = flag(j, "invert", false);
  } else if (type == "ByteLevel") {
    step.kind = PreTokenizerStep::Kind::byte_level;
    step.add_prefix_space = flag(j, "add_prefix_space", true);
    if (flag(j, "use_regex", true))
      step.regex = std::make_shared<Regex>(kGpt2Pattern, false, m.source + ": ByteLevel regex");
    *has_byte_level = true;
  } else {
    fail(ErrorCode::unsupported, m.source,
         "pre_tokenizer \"" + type +
             "\" is not supported (only byte-level BPE: Split, ByteLevel, Sequence)");
  }
  m.pre_tokenizers.push_back(std::move(step));
}

std::atomic<std::uint64_t> next_instance{1};

}  // namespace

namespace {

std::uint32_t known_id(const json& value, const TokenizerModel& m, const std::string& source,
                       const std::string& where) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0 ||
      value.get<std::int64_t>() >= static_cast<std::int64_t>(m.id_bytes.size())) {
    fail(ErrorCode::invalid_input, source,
         "post_processor: " + where + " is not a token id of this vocabulary");
  }
  return value.get<std::uint32_t>();
}

// Reads the single-sequence template of a post-processor into m.post_prefix / m.post_suffix.
void read_post_processor(const json& p, TokenizerModel& m, const std::string& source) {
  if (!p.is_object() || !p.contains("type") || !p["type"].is_string())
    fail(ErrorCode::invalid_input, source, "post_processor without a \"type\"");
  const std::string type = p["type"].get<std::string>();
  if (type == "ByteLevel") return;  // offsets only: no ids
  if (type == "Sequence") {
    if (!p.contains("processors") || !p["processors"].is_array())
      fail(ErrorCode::invalid_input, source, "post_processor Sequence without \"processors\"");
    for (const json& inner : p["processors"]) read_post_processor(inner, m, source);
    return;
  }
  std::vector<std::uint32_t> before, after;
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    // "cls": [token, id], "sep": [token, id]: [CLS] text [SEP]
    for (const char* key : {"cls", "sep"}) {
      if (!p.contains(key) || !p[key].is_array() || p[key].size() != 2)
        fail(ErrorCode::invalid_input, source,
             "post_processor " + type + " without \"" + key + "\": [token, id]");
    }
    before.push_back(known_id(p["cls"][1], m, source, type + " cls"));
    after.push_back(known_id(p["sep"][1], m, source, type + " sep"));
  } else if (type == "TemplateProcessing") {
    if (!p.contains("single") || !p["single"].is_array())
      fail(ErrorCode::invalid_input, source,
           "post_processor TemplateProcessing without \"single\"");
    const json* specials = p.contains("special_tokens") && p["special_tokens"].is_object()
                               ? &p["special_tokens"]
                               : nullptr;
    bool seen_text = false;
    for (const json& piece : p["single"]) {
      if (piece.is_object() && piece.contains("Sequence")) {
        const json& seq = piece["Sequence"];
        if (!seq.is_object() || seq.value("id", "") != "A")
          fail(ErrorCode::invalid_input, source,
               "post_processor TemplateProcessing: the single template may use sequence A only");
        if (seen_text)
          fail(ErrorCode::invalid_input, source,
               "post_processor TemplateProcessing: sequence A twice in the single template");
        seen_text = true;
        continue;
      }
      if (!piece.is_object() || !piece.contains("SpecialToken") ||
          !piece["SpecialToken"].is_object() || !piece["SpecialToken"].contains("id") ||
          !piece["SpecialToken"]["id"].is_string()) {
        fail(ErrorCode::invalid_input, source,
             "post_processor TemplateProcessing: a piece of \"single\" is neither "
             "{\"Sequence\": ...} nor {\"SpecialToken\": {\"id\": ...}}");
      }
      const std::string name = piece["SpecialToken"]["id"].get<std::string>();
      if (!specials || !specials->contains(name) || !(*specials)[name].contains("ids") ||
          !(*specials)[name]["ids"].is_array()) {
        fail(ErrorCode::invalid_input, source,
             "post_processor TemplateProcessing: special token \"" + name +
                 "\" is not in \"special_tokens\" with its \"ids\"");
      }
      for (const json& id : (*specials)[name]["ids"])
        (seen_text ? after : before).push_back(known_id(id, m, source, "\"" + name + "\""));
    }
    if (!seen_text)
      fail(ErrorCode::invalid_input, source,
           "post_processor TemplateProcessing: the single template has no sequence A");
  } else {
    fail(ErrorCode::unsupported, source,
         "post_processor type \"" + type +
             "\" is not supported (ByteLevel, TemplateProcessing, BertProcessing, "
             "RobertaProcessing and Sequence are)");
  }
  // A later processor wraps what the earlier ones made.
  m.post_prefix.insert(m.post_prefix.begin(), before.begin(), before.end());
  m.post_suffix.insert(m.post_suffix.end(), after.begin(), after.end());
}

}  // namespace

std::shared_ptr<TokenizerModel> load_tokenizer_model(std::string_view text,
                                                     const std::string& source) {
  Reader reader;
  const bool ok = json::sax_parse(text.begin(), text.end(), &reader);
  if (!ok) {
    fail(ErrorCode::invalid_input, source,
         "not valid JSON near byte " + std::to_string(reader.error_position()) + ": " +
             reader.error());
  }
  if (!reader.merge_error.empty())
    fail(ErrorCode::invalid_input, source, "model: " + reader.merge_error);
  const json& root = reader.root;
  if (!root.is_object())
    fail(ErrorCode::invalid_input, source, "not a tokenizer.json (the top level is not an object)");

  auto m = std::make_shared<TokenizerModel>();
  m->source = source;
  m->instance = next_instance.fetch_add(1);

  auto model_it = root.find("model");
  if (model_it == root.end() || !model_it->is_object())
    fail(ErrorCode::invalid_input, source, "no \"model\" object");
  const json& model = *model_it;
  const std::string model_type = model.contains("type") ? type_of(model) : std::string("BPE");
  if (model_type != "BPE") {
    fail(ErrorCode::unsupported, source,
         "model type \"" + model_type +
             "\" is not supported (only byte-level BPE; WordPiece, Unigram and WordLevel are not)");
  }
  if (flag(model, "byte_fallback", false)) {
    fail(ErrorCode::unsupported, source,
         "SentencePiece-style BPE (byte_fallback) is not supported (only byte-level BPE)");
  }
  for (const char* affix : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(affix);
    if (it != model.end() && it->is_string() && !it->get<std::string>().empty()) {
      fail(ErrorCode::unsupported, source, std::string("model.") + affix + " is not supported");
    }
  }
  m->ignore_merges = flag(model, "ignore_merges", false);

  add_normalizer(*m, root.value("normalizer", json()));
  bool has_byte_level = false;
  add_pre_tokenizer(*m, root.value("pre_tokenizer", json()), &has_byte_level);
  for (std::size_t i = 0; i + 1 < m->pre_tokenizers.size(); ++i) {
    if (m->pre_tokenizers[i].kind == PreTokenizerStep::Kind::byte_level) {
      fail(ErrorCode::unsupported, source, "a pre_tokenizer step after ByteLevel is not supported");
    }
  }
  if (!has_byte_level) {
    fail(ErrorCode::unsupported, source,
         "the pre_tokenizer has no ByteLevel step: only byte-level BPE (GPT-2, Llama 3, Qwen, "
         "GLM-4 style) is supported");
  }

  // Vocabulary.
  if (reader.vocab.empty())
    fail(ErrorCode::invalid_input, source, "model.vocab is missing or empty");
  std::int64_t max_id = -1;
  for (const auto& [token, id] : reader.vocab) {
    if (id < 0 || id > 0x7fffffff)
      fail(ErrorCode::invalid_input, source,
           "model.vocab id " + std::to_string(id) + " is out of range");
    max_id = std::max(max_id, id);
  }
  std::vector<AddedToken> added;
  if (auto it = root.find("added_tokens"); it != root.end() && it->is_array()) {
    for (const json& t : *it) {
      if (!t.is_object() || !t.contains("id") || !t.contains("content") ||
          !t["content"].is_string() || !t["id"].is_number_integer()) {
        fail(ErrorCode::invalid_input, source,
             "added_tokens entry without an integer \"id\" and a string \"content\"");
      }
      AddedToken a;
      a.content = t["content"].get<std::string>();
      const std::int64_t id = t["id"].get<std::int64_t>();
      if (id < 0 || id > 0x7fffffff)
        fail(ErrorCode::invalid_input, source,
             "added token id " + std::to_string(id) + " is out of range");
      if (a.content.empty()) continue;
      a.id = static_cast<std::uint32_t>(id);
      a.special = flag(t, "special", false);
      a.lstrip = flag(t, "lstrip", false);
      a.rstrip = flag(t, "rstrip", false);
      a.single_word = flag(t, "single_word", false);
      a.normalized = flag(t, "normalized", !a.special);
      max_id = std::max(max_id, id);
      added.push_back(std::move(a));
    }
  }
  const std::size_t size = static_cast<std::size_t>(max_id) + 1;
  m->id_bytes.assign(size, std::string());
  m->id_text.assign(size, std::string());
  m->id_is_special.assign(size, 0);
  m->id_added.assign(size, -1);
  m->vocab.reserve(reader.vocab.size() * 2);
  std::fill(std::begin(m->byte_id), std::end(m->byte_id), -1);
  std::string bytes;
  for (auto& [token, id] : reader.vocab) {
    const auto uid = static_cast<std::uint32_t>(id);
    if (byte_level_to_bytes(token, &bytes)) {
      m->vocab.emplace(bytes, uid);
      if (bytes.size() == 1)
        m->byte_id[static_cast<std::uint8_t>(bytes[0])] = static_cast<std::int32_t>(uid);
      m->id_bytes[uid] = bytes;
    } else {
      m->id_bytes[uid] = token;  // decodes as itself, never produced by the byte-level model
    }
    m->id_text[uid] = std::move(token);
  }
  reader.vocab.clear();
  reader.vocab.shrink_to_fit();

  // Merges: rank = position in the list.
  m->merges.reserve(reader.merges.size());
  std::string left, right;
  for (std::size_t rank = 0; rank < reader.merges.size(); ++rank) {
    const auto& [a, b] = reader.merges[rank];
    if (!byte_level_to_bytes(a, &left) || !byte_level_to_bytes(b, &right)) continue;
    auto ia = m->vocab.find(left);
    auto ib = m->vocab.find(right);
    auto im = m->vocab.find(left + right);
    if (ia == m->vocab.end() || ib == m->vocab.end()) {
      fail(ErrorCode::invalid_input, source,
           "merge " + std::to_string(rank) + " (\"" + a + "\" \"" + b +
               "\") names a token missing from the vocabulary");
    }
    if (im == m->vocab.end()) {
      fail(ErrorCode::invalid_input, source,
           "merge " + std::to_string(rank) + " (\"" + a + "\" \"" + b +
               "\") makes a token missing from the vocabulary");
    }
    std::uint32_t existing_rank, existing_merged;
    if (m->merges.find(ia->second, ib->second, &existing_rank, &existing_merged))
      continue;  // first rank wins
    m->merges.insert(ia->second, ib->second, static_cast<std::uint32_t>(rank), im->second);
  }

  // Added tokens: longest first, so that the first hit at a position is the longest.
  std::stable_sort(added.begin(), added.end(), [](const AddedToken& x, const AddedToken& y) {
    return x.content.size() > y.content.size();
  });
  for (std::size_t i = 0; i < added.size(); ++i) {
    const AddedToken& a = added[i];
    m->id_text[a.id] = a.content;
    m->id_bytes[a.id] = a.content;
    m->id_is_special[a.id] = a.special ? 1 : 0;
    m->id_added[a.id] = static_cast<std::int32_t>(i);
    const auto first = static_cast<std::uint8_t>(a.content[0]);
    if (a.normalized)
      m->first_byte_of_normalized_added[first] = true;
    else
      m->first_byte_of_added[first] = true;
  }
  m->added_tokens = std::move(added);
  if (auto it = root.find("post_processor"); it != root.end() && !it->is_null())
    read_post_processor(*it, *m, source);
  return m;
}

}  // namespace glyph::detail
