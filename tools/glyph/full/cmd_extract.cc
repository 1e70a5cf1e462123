// glyph extract INPUT [--fields a,b]: key information of a document as JSON, from its pages.
#include "commands.h"
#include "reader_flags.h"

namespace glyph::cli {

void add_extract_command(CLI::App& app) {
  auto flags = std::make_shared<ReaderFlags>();
  auto fields = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("extract", full_only_description("extract"));
  cmd->add_option("--fields", *fields, "Fields to look for, comma-separated")->delimiter(',');
  add_reader_flags(cmd, *flags, /*with_backend=*/true);
  cmd->callback([flags, fields] {
    TaskRequest request;
    request.task = TaskKind::extraction;
    for (const auto& field : *fields) {
      if (!field.empty()) request.fields.push_back(field);
    }
    run_reader_task(*flags, request);
  });
}

}  // namespace glyph::cli
