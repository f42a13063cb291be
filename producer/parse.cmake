# The pure parsing half of the producer: HTTP/1.1 framing, LLM extraction and
# the per-connection tracker (conn.h). Linked into libtokenring.so (so PIC,
# hidden visibility, libc only) and into the unit tests and fuzz targets.
add_library(tokenring_parse STATIC
  ${CMAKE_CURRENT_LIST_DIR}/http.c
  ${CMAKE_CURRENT_LIST_DIR}/llm_json.c
  ${CMAKE_CURRENT_LIST_DIR}/llm_keys.c
  ${CMAKE_CURRENT_LIST_DIR}/llm_req.c
  ${CMAKE_CURRENT_LIST_DIR}/llm_resp.c
  ${CMAKE_CURRENT_LIST_DIR}/llm_sse.c
  ${CMAKE_CURRENT_LIST_DIR}/llm_route.c
  ${CMAKE_CURRENT_LIST_DIR}/conn.c
  ${CMAKE_CURRENT_LIST_DIR}/conn_hdr.c
  ${CMAKE_CURRENT_LIST_DIR}/conn_id.c
  ${CMAKE_CURRENT_LIST_DIR}/conn_emit.c)
target_include_directories(tokenring_parse PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# tokenring_shm is PUBLIC in the interface sense only for record.h; linking
# stays PRIVATE as the contract asks, so consumers add it themselves.
target_link_libraries(tokenring_parse PRIVATE tokenring_shm tokenring_warnings)
target_include_directories(tokenring_parse PUBLIC $<TARGET_PROPERTY:tokenring_shm,INTERFACE_INCLUDE_DIRECTORIES>)
set_target_properties(tokenring_parse PROPERTIES C_VISIBILITY_PRESET hidden
  POSITION_INDEPENDENT_CODE ON)
target_compile_options(tokenring_parse PRIVATE -O2)
