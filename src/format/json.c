// SPDX-License-Identifier: MIT
/* format/json.c - the output buffer's number writers, UTF-8 validation, and JSON strings that are valid UTF-8 for any bytes. */
#include <errno.h>
#include <limits.h>

#include "format/writer.h"

int pw_writer_finish(struct pw_writer *w)
{
	if (w->cap)
		w->buf[w->pos < w->cap ? w->pos : w->cap - 1] = 0;
	return w->pos > INT_MAX ? -EOVERFLOW : (int)w->pos;
}

/* Digits are produced from the end: no division count is known in advance. */
void pw_put_u64(struct pw_writer *w, uint64_t v)
{
	char tmp[20], *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	pw_put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void pw_put_i64(struct pw_writer *w, int64_t v)
{
	if (v < 0) {
		pw_putc(w, '-');
		pw_put_u64(w, (uint64_t)0 - (uint64_t)v);
	} else {
		pw_put_u64(w, (uint64_t)v);
	}
}

void pw_put_hex(struct pw_writer *w, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[18], *p = tmp + sizeof(tmp);

	do {
		*--p = digits[v & 15];
		v >>= 4;
	} while (v);
	*--p = 'x';
	*--p = '0';
	pw_put(w, p, (size_t)(tmp + sizeof(tmp) - p));
}

void pw_put_spaces(struct pw_writer *w, size_t n)
{
	static const char spaces[] = "                                ";

	while (n) {
		size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;

		pw_put(w, spaces, k);
		n -= k;
	}
}

void pw_put_i64_width(struct pw_writer *w, int64_t v, unsigned int width)
{
	char tmp[24];
	struct pw_writer t;
	size_t len;

	pw_writer_init(&t, tmp, sizeof(tmp));
	pw_put_i64(&t, v);
	len = t.pos;
	if (len < width)
		pw_put_spaces(w, width - len);
	pw_put(w, tmp, len);
}

size_t pw_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c < 0xc2) /* continuation byte, or an overlong 2-byte lead */
		return 0;
	if (c < 0xe0)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c < 0xf0) {
		if (n < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (c == 0xe0 && s[1] < 0xa0) /* overlong */
			return 0;
		if (c == 0xed && s[1] >= 0xa0) /* UTF-16 surrogates */
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (n < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (c == 0xf0 && s[1] < 0x90) /* overlong */
			return 0;
		if (c == 0xf4 && s[1] >= 0x90) /* above U+10FFFF */
			return 0;
		return 4;
	}
	return 0;
}

bool pw_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		size_t k;

		if (*p < 0x80) {
			p++;
			continue;
		}
		k = pw_utf8_seq(p, (size_t)(end - p));
		if (!k)
			return false;
		p += k;
	}
	return true;
}

/* Bytes JSON lets through unchanged: printable ASCII but '"' and '\\'. */
static const unsigned char json_plain[256] = {
	[0x20] = 1, [0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7e] = 1,
};

static void json_u_escape(struct pw_writer *w, unsigned int cp)
{
	static const char digits[] = "0123456789abcdef";
	char e[6] = { '\\', 'u', digits[(cp >> 12) & 15], digits[(cp >> 8) & 15],
		      digits[(cp >> 4) & 15], digits[cp & 15] };

	pw_put(w, e, sizeof(e));
}

bool pw_json_str(struct pw_writer *w, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n, *run;
	bool replaced = false;

	pw_putc(w, '"');
	while (s < end) {
		run = s;
		while (s < end && json_plain[*s])
			s++;
		if (s > run)
			pw_put(w, (const char *)run, (size_t)(s - run));
		if (s == end)
			break;
		if (*s < 0x80) {
			switch (*s) {
			case '"': pw_puts_lit(w, "\\\""); break;
			case '\\': pw_puts_lit(w, "\\\\"); break;
			case '\n': pw_puts_lit(w, "\\n"); break;
			case '\r': pw_puts_lit(w, "\\r"); break;
			case '\t': pw_puts_lit(w, "\\t"); break;
			default: json_u_escape(w, *s); break; /* other C0 controls and DEL */
			}
			s++;
			continue;
		}
		size_t k = pw_utf8_seq(s, (size_t)(end - s));

		if (!k) {
			pw_puts_lit(w, "\xef\xbf\xbd"); /* U+FFFD; the raw bytes go to <key>_b64 */
			replaced = true;
			s++;
		} else if (k == 2 && s[0] == 0xc2 && s[1] < 0xa0) {
			json_u_escape(w, s[1]); /* C1 control U+0080..U+009F */
			s += 2;
		} else if (k == 3 && s[0] == 0xe2 && s[1] == 0x80 && (s[2] == 0xa8 || s[2] == 0xa9)) {
			json_u_escape(w, 0x2000u | (s[2] & 0x3fu)); /* line/paragraph separators break JavaScript readers */
			s += 3;
		} else {
			pw_put(w, (const char *)s, k);
			s += k;
		}
	}
	pw_putc(w, '"');
	return replaced;
}

void pw_put_base64(struct pw_writer *w, const char *str, size_t n)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *s = (const unsigned char *)str;
	char q[4];
	size_t i;

	pw_putc(w, '"');
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];

		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = b64[(v >> 6) & 63];
		q[3] = b64[v & 63];
		pw_put(w, q, 4);
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);

		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
		q[3] = '=';
		pw_put(w, q, 4);
	}
	pw_putc(w, '"');
}

void pw_json_kv_str(struct pw_writer *w, const char *key, const char *value)
{
	size_t klen = strlen(key), vlen;

	pw_puts_lit(w, ",\"");
	pw_put(w, key, klen);
	pw_puts_lit(w, "\":");
	if (!value) {
		pw_puts_lit(w, "null");
		return;
	}
	vlen = strlen(value);
	if (pw_json_str(w, value, vlen)) {
		pw_puts_lit(w, ",\"");
		pw_put(w, key, klen);
		pw_puts_lit(w, "_b64\":");
		pw_put_base64(w, value, vlen);
	}
}
