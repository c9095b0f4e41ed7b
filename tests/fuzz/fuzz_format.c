/* SPDX-License-Identifier: MIT */
/*
 * fuzz_format.c - libFuzzer target for the output escapes: any bytes give
 * valid UTF-8 JSON whose U+FFFD replacements come with a base64 sibling,
 * and text without a control byte that unescapes to the input.
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Isrc \
 *     tests/fuzz/fuzz_format.c src/format/json.c src/format/text.c -o build/fuzz_format
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format/writer.h"

static char out[1 << 20], back[1 << 16];

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void check_text(const char *in, size_t n, bool quote)
{
	struct pw_writer w;
	size_t len, bl = 0;

	pw_writer_init(&w, out, sizeof(out));
	pw_text_str(&w, in, n, quote);
	len = (size_t)pw_writer_finish(&w);
	if (len >= sizeof(out) || !pw_utf8_valid(out, len))
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c == 0x7f || (c == 0xc2 && i + 1 < len && (unsigned char)out[i + 1] < 0xa0))
			abort();
		if (c != '\\') {
			back[bl++] = out[i];
		} else if (out[i + 1] == 'x') {
			int hi = hexval(out[i + 2]), lo = hexval(out[i + 3]);

			if (hi < 0 || lo < 0)
				abort();
			back[bl++] = (char)(hi << 4 | lo);
			i += 3;
		} else if (out[i + 1] == '\\' || (quote && out[i + 1] == '"')) {
			back[bl++] = out[++i];
		} else {
			abort();
		}
	}
	if (bl != n || memcmp(back, in, n))
		abort();
}

static void check_json(const char *in, size_t n)
{
	struct pw_writer w;
	bool replaced;
	size_t len;

	pw_writer_init(&w, out, sizeof(out));
	replaced = pw_json_str(&w, in, n);
	len = (size_t)pw_writer_finish(&w);
	if (len >= sizeof(out) || !pw_utf8_valid(out, len) || replaced == pw_utf8_valid(in, n))
		abort();
	if (out[0] != '"' || out[len - 1] != '"')
		abort();
	for (size_t i = 1; i + 1 < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c == 0x7f)
			abort();
		if (c == '\\') {
			char e = out[++i];

			if (e == 'u')
				i += 4;
			else if (!strchr("\"\\nrt", e))
				abort();
		} else if (c == '"') {
			abort(); /* an unescaped quote would end the string early */
		}
	}
	/* snprintf semantics: a short buffer gets a prefix and the same length */
	{
		char small[7];
		struct pw_writer s;

		pw_writer_init(&s, small, sizeof(small));
		pw_json_str(&s, in, n);
		if ((size_t)pw_writer_finish(&s) != len || memcmp(small, out, strlen(small)) ||
		    strlen(small) != (len < sizeof(small) ? len : sizeof(small) - 1))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > sizeof(back))
		return 0;
	check_json((const char *)data, size);
	check_text((const char *)data, size, false);
	check_text((const char *)data, size, true);
	return 0;
}
