// glyph summarize INPUT: a summary of a document from its rendered pages.
#include "commands.h"
#include "reader_flags.h"

namespace glyph::cli {

void add_summarize_command(CLI::App& app) {
  auto flags = std::make_shared<ReaderFlags>();
  auto sentences = std::make_shared<size_t>(5);
  auto* cmd = app.add_subcommand("summarize", full_only_description("summarize"));
  cmd->add_option("-n,--sentences", *sentences, "Sentences in the summary (default 5)")
      ->check(CLI::Range(1, 100));
  add_reader_flags(cmd, *flags, /*with_backend=*/true);
  cmd->callback([flags, sentences] {
    TaskRequest request;
    request.task = TaskKind::summary;
    request.summary_sentences = *sentences;
    run_reader_task(*flags, request);
  });
}

}  // namespace glyph::cli
