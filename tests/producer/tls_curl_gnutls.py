#!/usr/bin/python3
"""tls_curl_gnutls.py - a GnuTLS HTTPS client for the TLS tests: libcurl's
GnuTLS flavour (Debian libcurl3-gnutls) driven through ctypes.

Usage: tls_curl_gnutls.py URL MODEL...

One easy handle (one keep-alive connection), a chat completion POST per
MODEL, HTTP/1.1, certificate checks off (self-signed test server). Prints
each response body, then the request bytes curl sent for each, one line.
ctypes opens the library RTLD_LOCAL, so libgnutls is outside the global
scope: the shim must find it among the loaded objects.
"""
import ctypes
import json
import sys

CURLOPT_URL = 10002
CURLOPT_POSTFIELDS = 10015
CURLOPT_HTTPHEADER = 10023
CURLOPT_WRITEFUNCTION = 20011
CURLOPT_SSL_VERIFYPEER = 64
CURLOPT_SSL_VERIFYHOST = 81
CURLOPT_HTTP_VERSION = 84
CURLOPT_NOPROXY = 10177
CURL_HTTP_VERSION_1_1 = 2
CURLINFO_REQUEST_SIZE = 0x200000 + 12

WRITE_CB = ctypes.CFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
                            ctypes.c_size_t, ctypes.c_void_p)


def main():
    url, models = sys.argv[1], sys.argv[2:]
    lib = ctypes.CDLL("libcurl-gnutls.so.4")
    lib.curl_easy_init.restype = ctypes.c_void_p
    lib.curl_easy_setopt.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.curl_easy_perform.argtypes = [ctypes.c_void_p]
    lib.curl_easy_getinfo.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.curl_easy_cleanup.argtypes = [ctypes.c_void_p]
    lib.curl_slist_append.restype = ctypes.c_void_p
    lib.curl_slist_append.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.curl_slist_free_all.argtypes = [ctypes.c_void_p]

    body = bytearray()

    def on_data(ptr, size, n, _):
        body.extend(ctypes.string_at(ptr, size * n))
        return size * n

    cb = WRITE_CB(on_data)
    h = lib.curl_easy_init()
    hdrs = lib.curl_slist_append(None, b"Content-Type: application/json")
    long_opt = lambda opt, v: lib.curl_easy_setopt(h, opt, ctypes.c_void_p(v))
    lib.curl_easy_setopt(h, CURLOPT_URL, url.encode())
    lib.curl_easy_setopt(h, CURLOPT_NOPROXY, b"*")
    lib.curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs)
    lib.curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, ctypes.cast(cb, ctypes.c_void_p))
    long_opt(CURLOPT_SSL_VERIFYPEER, 0)
    long_opt(CURLOPT_SSL_VERIFYHOST, 0)
    long_opt(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1)
    sizes = []
    for model in models:
        data = json.dumps({"model": model, "messages": [{"role": "user",
                                                          "content": "gnutls " + model}]})
        buf = ctypes.create_string_buffer(data.encode())
        lib.curl_easy_setopt(h, CURLOPT_POSTFIELDS, buf)
        rc = lib.curl_easy_perform(h)
        if rc != 0:
            sys.exit("curl_easy_perform: %d" % rc)
        n = ctypes.c_long()
        lib.curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, ctypes.byref(n))
        sizes.append(n.value)
        print(body.decode())
        body.clear()
    lib.curl_easy_cleanup(h)
    lib.curl_slist_free_all(hdrs)
    print(" ".join(map(str, sizes)))


if __name__ == "__main__":
    main()
