#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "commands.h"
#include "core/error.h"
#include "core/file.h"
#include "tokens/tokenizer.h"

namespace glyph::cli {

namespace {

std::string read_input(const std::string& input) {
  if (input != "-") return read_file(input);
  std::string data{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  if (std::cin.bad()) throw Error(ErrorCode::io, "stdin: read failed");
  return data;
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  struct Options {
    std::string input;
    std::string tokenizer;
    bool ids = false;
  };
  auto options = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("tokenize", "Count the text tokens of a file (or print their ids)");
  cmd->add_option("input", options->input, "Text file, or - for stdin")->required();
  cmd->add_option(
      "--tokenizer", options->tokenizer,
      "A Hugging Face tokenizer.json (byte-level BPE); default: Qwen3's, or $GLYPH_TOKENIZER");
  cmd->add_flag("--ids", options->ids,
                "Print the token ids as one JSON array instead of the count");
  cmd->callback([options] {
    const Tokenizer& tokenizer = shared_tokenizer(options->tokenizer);
    const std::string text = read_input(options->input);
    if (!options->ids) {
      std::cout << tokenizer.count(text) << "\n";
      return;
    }
    const auto ids = tokenizer.encode(text);
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
