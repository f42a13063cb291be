# The per-connection tracker (conn.h): pairs requests and responses on one
# connection, drives proto/'s framer and extractors over each direction, and
# fills one record per exchange (request ids: conn_id.c). Linked into
# libtokenring.so (so PIC, hidden visibility, libc only) and into the unit
# tests and fuzz targets.
add_library(tokenring_conn STATIC
  ${CMAKE_CURRENT_LIST_DIR}/conn.c
  ${CMAKE_CURRENT_LIST_DIR}/conn_hdr.c
  ${CMAKE_CURRENT_LIST_DIR}/conn_id.c
  ${CMAKE_CURRENT_LIST_DIR}/conn_body.c
  ${CMAKE_CURRENT_LIST_DIR}/conn_emit.c)
target_include_directories(tokenring_conn PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# tokenring_shm is PUBLIC in the interface sense only for record.h; linking
# stays PRIVATE as the contract asks, so consumers add it themselves.
target_link_libraries(tokenring_conn PUBLIC tokenring_proto PRIVATE tokenring_shm
  tokenring_warnings)
target_include_directories(tokenring_conn PUBLIC $<TARGET_PROPERTY:tokenring_shm,INTERFACE_INCLUDE_DIRECTORIES>)
set_target_properties(tokenring_conn PROPERTIES C_VISIBILITY_PRESET hidden
  POSITION_INDEPENDENT_CODE ON)
