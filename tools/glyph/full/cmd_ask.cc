// glyph ask INPUT -q QUESTION: answer a question about a document from its rendered pages.
#include "commands.h"
#include "reader_flags.h"

namespace glyph::cli {

void add_ask_command(CLI::App& app) {
  auto flags = std::make_shared<ReaderFlags>();
  auto question = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("ask", full_only_description("ask"));
  cmd->add_option("-q,--question", *question, "The question")->required();
  add_reader_flags(cmd, *flags, /*with_backend=*/true);
  cmd->callback([flags, question] {
    TaskRequest request;
    request.task = TaskKind::question;
    request.question = *question;
    run_reader_task(*flags, request);
  });
}

}  // namespace glyph::cli
