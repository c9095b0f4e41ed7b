/* SPDX-License-Identifier: MIT */
/* format/writer.h - the bounded output buffer every formatter writes into (snprintf semantics), and its string escapes. */
#ifndef PW_FORMAT_WRITER_H
#define PW_FORMAT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Writes what fits in buf[0..cap-1) and counts everything, so that the
 * final pos is the length the whole record needs: the caller can size a
 * buffer and call again, as with snprintf.
 */
struct pw_writer {
	char *buf;
	size_t cap;  /* bytes of buf, the terminating NUL included */
	size_t pos;  /* bytes the record needs so far */
};

static inline void pw_writer_init(struct pw_writer *w, char *buf, size_t cap)
{
	w->buf = buf;
	w->cap = buf ? cap : 0;
	w->pos = 0;
}

/* NUL-terminate what was written; the needed length as an int, or -EOVERFLOW. */
int pw_writer_finish(struct pw_writer *w);

static inline void pw_put(struct pw_writer *w, const char *s, size_t n)
{
	if (w->pos + n < w->cap) {
		memcpy(w->buf + w->pos, s, n);
	} else if (w->pos + 1 < w->cap) {
		memcpy(w->buf + w->pos, s, w->cap - 1 - w->pos);
	}
	w->pos += n;
}

static inline void pw_putc(struct pw_writer *w, char c)
{
	if (w->pos + 1 < w->cap)
		w->buf[w->pos] = c;
	w->pos++;
}

/* A string literal: its length is known at compile time. */
#define pw_puts_lit(w, lit) pw_put((w), (lit), sizeof(lit) - 1)

static inline void pw_puts(struct pw_writer *w, const char *s)
{
	pw_put(w, s, strlen(s));
}

void pw_put_u64(struct pw_writer *w, uint64_t v);
void pw_put_i64(struct pw_writer *w, int64_t v);
/* "0x1f": lower-case hex with the prefix. */
void pw_put_hex(struct pw_writer *w, uint64_t v);
/* v right-aligned in width columns (text tables). */
void pw_put_i64_width(struct pw_writer *w, int64_t v, unsigned int width);
void pw_put_spaces(struct pw_writer *w, size_t n);

/*
 * Length of the valid UTF-8 sequence at s[0..n), or 0 if s[0] does not
 * start one (overlong forms, surrogates and code points above U+10FFFF
 * are invalid, as RFC 3629 says).
 */
size_t pw_utf8_seq(const unsigned char *s, size_t n);
/* Whether the n bytes are valid UTF-8 throughout. */
bool pw_utf8_valid(const char *s, size_t n);

/*
 * JSON: a quoted string for n bytes. Valid UTF-8 is kept, control
 * characters (C0, DEL, C1) and U+2028/U+2029 are escaped as \uXXXX (JSON
 * decodes them to the same code point); each byte that is not part of a
 * valid sequence becomes U+FFFD. Returns true if any byte was replaced:
 * the caller then adds the raw bytes (pw_put_base64) as the "<key>_b64"
 * sibling.
 */
bool pw_json_str(struct pw_writer *w, const char *s, size_t n);
/* A JSON string, or null for NULL, for a NUL-terminated string. */
static inline bool pw_json_cstr(struct pw_writer *w, const char *s)
{
	if (!s) {
		pw_puts_lit(w, "null");
		return false;
	}
	return pw_json_str(w, s, strlen(s));
}
/* Standard base64 (RFC 4648, padded), quoted. */
void pw_put_base64(struct pw_writer *w, const char *s, size_t n);
/* ,"key":"value" and, if value is not valid UTF-8, ,"key_b64":"..." */
void pw_json_kv_str(struct pw_writer *w, const char *key, const char *value);

/*
 * Text: the n bytes with every control character shown as \xNN (C0, DEL,
 * the two bytes of each UTF-8 encoded C1 control, the bytes of the Unicode
 * bidirectional overrides and isolates), every byte that is not part of
 * valid UTF-8 as \xNN too, and the backslash as \\: the output never
 * contains a control byte, and maps back to the input exactly. quote: also
 * shows '"' as \" (for a field written in quotes).
 */
void pw_text_str(struct pw_writer *w, const char *s, size_t n, bool quote);
static inline void pw_text_cstr(struct pw_writer *w, const char *s)
{
	if (s)
		pw_text_str(w, s, strlen(s), false);
}
/* A word of a command line: as is, or in quotes if empty or it has blanks or quotes. */
void pw_text_word(struct pw_writer *w, const char *s);

#endif
