# Aggregation core benchmark (ingest rate, /metrics render time). Built in
# every configuration; run by hand or bench/run.py, never by ctest.
add_executable(agg_bench ${CMAKE_CURRENT_LIST_DIR}/agg_bench.c)
target_link_libraries(agg_bench PRIVATE tokenring_core tokenring_warnings PkgConfig::ZLIB)
