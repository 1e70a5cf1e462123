// Documents for the ingest tests, written once per build by tests/fixtures/make_ingest_fixtures.py
// (ReportLab PDFs, DOCX packages from XML, legacy encodings, hostile files).
#pragma once

#include <string>

namespace glyph::test {

// The folder holding the fixtures; generated on first use (safe when tests run in parallel).
std::string ingest_fixtures_dir();
// ingest_fixtures_dir() + "/" + name
std::string ingest_fixture(const std::string& name);

}  // namespace glyph::test
