# The container image (Containerfile, scripts/image.sh; docs/container.md). Its programs are
# built without sanitizers, so a sanitizer build (whose programs load libasan) checks nothing here.
if(GLYPH_SANITIZE)
  return()
endif()
# The runtime stage must install every shared library the programs load: checked against ldd.
add_test(NAME container_runtime_libs
         COMMAND bash ${PROJECT_SOURCE_DIR}/tests/container/runtime_libs.sh
                 ${PROJECT_SOURCE_DIR}/Containerfile $<TARGET_FILE:glyph_cli>
                 $<TARGET_FILE:glyph_full_cli>)
set_tests_properties(container_runtime_libs PROPERTIES LABELS unit TIMEOUT 120)
# Build the image again and smoke-test it, where podman and buildah are installed and an earlier
# build left its layers and compiler cache (a first build takes long: scripts/image.sh, by hand).
add_test(NAME container_smoke COMMAND bash ${PROJECT_SOURCE_DIR}/tests/container/smoke.sh)
set_tests_properties(container_smoke PROPERTIES LABELS e2e TIMEOUT 1800 SKIP_RETURN_CODE 77
                     RUN_SERIAL TRUE)
