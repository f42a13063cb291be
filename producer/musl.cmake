# The musl flavour of libtokenring.so (docs/containers.md): this same
# source tree configured again with Debian's musl-gcc (musl-tools) and
# TOKENRING_SHIM_ONLY, so it builds the shim and what it links, nothing
# else. Output: ${CMAKE_BINARY_DIR}/musl/producer/libtokenring.so, rebuilt
# with every build. -DTOKENRING_MUSL=OFF builds without it (then the
# container tests and the image's musl half are missing: say so loudly).
if(NOT TOKENRING_SHIM_ONLY AND NOT TOKENRING_FUZZ_BUILD)
  option(TOKENRING_MUSL "Also build the musl flavour of libtokenring.so (needs musl-gcc)" ON)
  if(TOKENRING_MUSL)
    find_program(TOKENRING_MUSL_GCC musl-gcc)
    if(NOT TOKENRING_MUSL_GCC)
      message(FATAL_ERROR "musl-gcc not found: install musl-tools (scripts/apt/containers.txt) "
        "or configure with -DTOKENRING_MUSL=OFF")
    endif()
    # musl-gcc searches musl's headers only: xxhash.h (header-only here)
    # is handed over in a directory of its own.
    find_path(TOKENRING_XXHASH_DIR xxhash.h REQUIRED)
    include(ExternalProject)
    ExternalProject_Add(tokenring_musl
      SOURCE_DIR ${CMAKE_SOURCE_DIR}
      BINARY_DIR ${CMAKE_BINARY_DIR}/musl
      CMAKE_ARGS -DCMAKE_C_COMPILER=${TOKENRING_MUSL_GCC} -DTOKENRING_SHIM_ONLY=ON
        -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
        -DTOKENRING_XXHASH_H=${TOKENRING_XXHASH_DIR}/xxhash.h
      BUILD_COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> --target tokenring
      INSTALL_COMMAND ""
      BUILD_ALWAYS ON
      BUILD_BYPRODUCTS ${CMAKE_BINARY_DIR}/musl/producer/libtokenring.so)
    set(TOKENRING_MUSL_LIB ${CMAKE_BINARY_DIR}/musl/producer/libtokenring.so
      CACHE INTERNAL "the musl build of libtokenring.so")
  else()
    message(WARNING "TOKENRING_MUSL=OFF: no musl build of libtokenring.so; "
      "tests/containers will fail (not skip) for lack of it")
  endif()
endif()
