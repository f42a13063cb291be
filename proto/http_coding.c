/*
 * http_coding.c - a Content-Encoding value as the record names it. Only a
 * single coding is decodable; a list ("gzip, br": stacked codings) or a
 * coding we have no decoder for is REC_CODING_UNKNOWN, so the daemon says
 * `undecodable` instead of guessing.
 */
#include <string.h>

#include "http.h"

enum rec_coding http_coding(const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n == 0 || http_name_is(v, n, "identity"))
		return REC_CODING_NONE;
	if (http_name_is(v, n, "gzip") || http_name_is(v, n, "x-gzip"))
		return REC_CODING_GZIP;
	if (http_name_is(v, n, "deflate"))
		return REC_CODING_DEFLATE;
	if (http_name_is(v, n, "br"))
		return REC_CODING_BR;
	if (http_name_is(v, n, "zstd"))
		return REC_CODING_ZSTD;
	return REC_CODING_UNKNOWN;
}
