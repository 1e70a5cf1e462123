#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "core/file.h"
#include "input.h"
#include "tokens/tokenizer.h"

namespace glyph::cli {

void add_tokenize_command(CLI::App& app) {
  struct Options {
    std::string input;
    std::string tokenizer;
    bool ids = false;
    bool no_special_tokens = false;
    InputFlags input_flags;
  };
  auto options = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("tokenize", "Count the text tokens of a file (or print their ids)");
  cmd->add_option("input", options->input,
                  "Document (txt in any encoding, pdf, docx, md, html), or - for stdin")
      ->required();
  add_input_flags(cmd, options->input_flags, false);
  cmd->add_option(
      "--tokenizer", options->tokenizer,
      "A Hugging Face tokenizer.json (byte-level BPE); default: Qwen3's, or $GLYPH_TOKENIZER");
  cmd->add_flag("--ids", options->ids,
                "Print the token ids as one JSON array instead of the count");
  cmd->add_flag("--no-special-tokens", options->no_special_tokens,
                "Count the text only, without the tokens the tokenizer's post-processor adds "
                "(BOS/EOS templates such as Llama 3's <|begin_of_text|>)");
  cmd->callback([options] {
    const bool special = !options->no_special_tokens;
    const Tokenizer& tokenizer = shared_tokenizer(options->tokenizer);
    const std::string text = read_input(options->input, options->input_flags).text;
    if (!options->ids) {
      std::cout << tokenizer.count(text, special) << "\n";
      return;
    }
    const auto ids = tokenizer.encode(text, special);
    std::string out = "[";
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(ids[i]);
    }
    out += "]\n";
    std::cout << out;
  });
}

}  // namespace glyph::cli
