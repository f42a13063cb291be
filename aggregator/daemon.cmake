# tokenringd: config, the io_uring loop, the HTTP server, log files and
# signals (daemon.h), on top of the aggregation core (core.cmake).
add_library(tokenringd_lib STATIC
  config.c config_body.c config_export.c loop.c httpd_parse.c httpd.c logfile.c daemon.c
  daemon_routes.c otlp_export.c)
# Compressed bodies (body.h): the decoders and the proto/ extraction.
add_library(tokenring_body STATIC body.c body_dec.c)
target_include_directories(tokenring_body PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_link_libraries(tokenring_body PUBLIC tokenring_proto tokenring_shm PkgConfig::ZLIB
  PkgConfig::BROTLIDEC PkgConfig::ZSTD PRIVATE tokenring_warnings)
target_include_directories(tokenringd_lib PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})
target_compile_definitions(tokenringd_lib PUBLIC TOKENRING_VERSION="${PROJECT_VERSION}")
# OTLP push (otlp_export.c): gzip with zlib, a sender thread.
target_link_libraries(tokenringd_lib
  PUBLIC tokenring_core tokenring_body tokenring_shm PkgConfig::URING PkgConfig::CJSON m
  PkgConfig::ZLIB Threads::Threads
  PRIVATE tokenring_warnings)

add_executable(tokenringd main.c)
target_link_libraries(tokenringd PRIVATE tokenringd_lib tokenring_warnings)
install(TARGETS tokenringd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
