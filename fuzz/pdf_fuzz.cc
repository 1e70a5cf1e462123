// libFuzzer target: see ingest_fuzz.h. Build and run with scripts/fuzz.sh.
#include "ingest_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  glyph::fuzz::pdf_one_input(data, size);
  return 0;
}
