# Unit tests of the parsing half of the producer (tokenring_parse): the
# corpus replays, framer and extractor edge cases, garbage input, and the
# cJSON differential oracle. Fuzz targets live in tests/fuzz.
set(_pt ${CMAKE_CURRENT_LIST_DIR})
add_library(tokenring_parse_testsupport STATIC ${_pt}/test_support.c)
target_link_libraries(tokenring_parse_testsupport PUBLIC tokenring_parse tokenring_shm
  PRIVATE tokenring_warnings)
foreach(t corpus conn garbage llm_json)
  add_executable(test_${t} ${_pt}/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE tokenring_parse_testsupport tokenring_parse
    tokenring_shm tokenring_warnings PkgConfig::CRITERION PkgConfig::CJSON)
  target_compile_definitions(test_${t} PRIVATE CORPUS_DIR="${_pt}/corpus")
  add_test(NAME parse_${t} COMMAND test_${t})
  set_tests_properties(parse_${t} PROPERTIES LABELS "unit")
endforeach()
