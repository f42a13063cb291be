# TLS plaintext interposition (issue 8): OpenSSL and GnuTLS calls hooked in
# libtokenring.so itself. Neither library is linked nor needed at build
# time: the real functions are looked up at run time (tls_real.c).
target_sources(tokenring PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/hooks_tls.c
  ${CMAKE_CURRENT_LIST_DIR}/tls_real.c
  ${CMAKE_CURRENT_LIST_DIR}/tls_map.c)
