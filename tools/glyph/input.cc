#include "input.h"

#include <cstdio>

namespace glyph::cli {

void add_input_flags(CLI::App* command, InputFlags& flags, bool with_reflow) {
  command->add_option(
      "--format", flags.format,
      "Input format: txt, pdf, docx, markdown, html (default: detected by content)");
  command->add_option("--encoding", flags.encoding,
                      "Encoding of a text input, e.g. utf-8, gb18030, big5, shift_jis, latin1, "
                      "utf-16le (default: detected)");
  command->add_option("--password", flags.password, "Password of an encrypted PDF");
  command
      ->add_option("--pdf-pages", flags.pdf_pages,
                   "Between PDF pages: form-feed (a page break), marker (a '--- page N ---' "
                   "line) or newline")
      ->capture_default_str();
  command->add_flag("--docx-headers", flags.docx_headers_footers,
                    "Include DOCX headers and footers");
  if (with_reflow) {
    command
        ->add_option("--reflow", flags.reflow,
                     "Join hard-wrapped lines, pack short lines, flow PDF pages: auto, on or off "
                     "(default: the config's \"reflow\"; auto for the presets, off for a config "
                     "file without the key; see docs/reflow.md)")
        ->check(CLI::IsMember({"auto", "on", "off"}));
  }
}

void apply_reflow_flag(const InputFlags& flags, RenderConfig& config) {
  if (!flags.reflow.empty()) config.reflow = parse_reflow_mode(flags.reflow);
}

Document read_input(const std::string& path, const InputFlags& flags, bool verbose) {
  IngestOptions options;
  options.format_override = flags.format;
  options.encoding_override = flags.encoding;
  options.password = flags.password;
  options.pdf_page_separator = parse_pdf_page_separator(flags.pdf_pages);
  options.docx_headers_footers = flags.docx_headers_footers;
  Document doc = ingest_file(path, options);
  if (verbose) {
    std::fprintf(stderr, "input: %s: format %s", path.c_str(), doc.format.c_str());
    if (!doc.encoding.empty()) std::fprintf(stderr, ", encoding %s", doc.encoding.c_str());
    if (doc.page_count > 0) std::fprintf(stderr, ", %d pages", doc.page_count);
    std::fprintf(stderr, ", %zu bytes of text\n", doc.text.size());
  }
  for (const std::string& warning : doc.warnings) {
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  }
  return doc;
}

}  // namespace glyph::cli
