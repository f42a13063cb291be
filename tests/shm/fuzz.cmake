# libFuzzer target for the ring consumer, built with clang (the main build
# may use gcc) and run for a bounded time as a test (label fuzz). Seeds are
# committed under fuzz_ring_corpus/; the run works on a copy.
find_program(TOKENRING_CLANG NAMES clang clang-14)
if(TOKENRING_CLANG AND NOT TOKENRING_SANITIZE)
  set(_shm ${PROJECT_SOURCE_DIR}/shm)
  set(_flags -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I${_shm})
  set(_srcs ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_ring.c ${_shm}/record.c ${_shm}/ring_file.c
    ${_shm}/ring_queue.c ${_shm}/ring_producers.c ${_shm}/ring_checksum.c)
  set(_avx2 ${CMAKE_CURRENT_BINARY_DIR}/fuzz_ring_avx2.o)
  add_custom_command(OUTPUT fuzz_ring
    COMMAND ${TOKENRING_CLANG} ${_flags} -mavx2 -c ${_shm}/ring_checksum_avx2.c -o ${_avx2}
    COMMAND ${TOKENRING_CLANG} ${_flags} ${_srcs} ${_avx2} -o fuzz_ring
    DEPENDS ${_srcs} ${_shm}/ring_checksum_avx2.c ${_shm}/ring.h ${_shm}/record.h
    COMMENT "Building the ring fuzzer with clang")
  add_custom_target(fuzz_ring_bin ALL DEPENDS fuzz_ring)
  add_test(NAME fuzz_ring COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/run_fuzzer.sh
    ${CMAKE_CURRENT_BINARY_DIR}/fuzz_ring ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_ring_corpus 15)
  set_tests_properties(fuzz_ring PROPERTIES LABELS "fuzz" TIMEOUT 120)
endif()
