/* SPDX-License-Identifier: MIT */
/*
 * test_format.c - the output formatters: JSON that is valid UTF-8 and
 * lossless for any bytes (a property test with random bytes, parsed by an
 * independent JSON reader here), text without a control byte, snprintf
 * semantics, and the safe output file.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "format/writer.h"
#include "gate/gate.h"
#include "monitor/event.h"
#include "snapshot/process.h"

/* ------------------------------------------------- an independent JSON reader */

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jt t;
	char *s;          /* J_STR: decoded bytes (UTF-8); J_NUM: the literal */
	size_t len;
	struct jv *v;     /* J_ARR, J_OBJ: items */
	char **k;         /* J_OBJ: keys (decoded) */
	size_t n;
};

struct jp {
	const unsigned char *p, *end;
	bool ok;
};

/* Decode one UTF-8 code point strictly (RFC 3629); -1 if invalid. */
static long utf8_decode(const unsigned char *p, const unsigned char *end, int *len)
{
	long cp;
	int n;

	if (p[0] < 0x80) {
		*len = 1;
		return p[0];
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return -1;
	}
	if (end - p < n)
		return -1;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = n;
	return cp;
}

static void put_utf8(char **out, size_t *len, long cp)
{
	char *o = *out + *len;

	if (cp < 0x80) {
		o[0] = (char)cp;
		*len += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		*len += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		*len += 3;
	} else {
		o[0] = (char)(0xf0 | cp >> 18);
		o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (char)(0x80 | (cp & 0x3f));
		*len += 4;
	}
}

static void jws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long read_u4(struct jp *j)
{
	long v = 0;

	if (j->end - j->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval(j->p[i]);

		if (h < 0)
			return -1;
		v = v << 4 | h;
	}
	j->p += 4;
	return v;
}

static bool jstring(struct jp *j, char **out, size_t *outlen)
{
	char *buf = malloc((size_t)(j->end - j->p) * 2 + 8);
	size_t len = 0;

	if (j->p >= j->end || *j->p != '"')
		goto bad;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		int n;
		long cp;

		if (*j->p < 0x20) /* raw control characters are not JSON */
			goto bad;
		if (*j->p != '\\') {
			cp = utf8_decode(j->p, j->end, &n);
			if (cp < 0)
				goto bad;
			memcpy(buf + len, j->p, (size_t)n);
			len += (size_t)n;
			j->p += n;
			continue;
		}
		j->p++;
		if (j->p >= j->end)
			goto bad;
		switch (*j->p++) {
		case '"': buf[len++] = '"'; break;
		case '\\': buf[len++] = '\\'; break;
		case '/': buf[len++] = '/'; break;
		case 'b': buf[len++] = '\b'; break;
		case 'f': buf[len++] = '\f'; break;
		case 'n': buf[len++] = '\n'; break;
		case 'r': buf[len++] = '\r'; break;
		case 't': buf[len++] = '\t'; break;
		case 'u':
			cp = read_u4(j);
			if (cp < 0)
				goto bad;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				long lo;

				if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
					goto bad;
				j->p += 2;
				lo = read_u4(j);
				if (lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				goto bad;
			}
			put_utf8(&buf, &len, cp);
			break;
		default:
			goto bad;
		}
	}
	if (j->p >= j->end)
		goto bad;
	j->p++;
	buf[len] = 0;
	*out = buf;
	*outlen = len;
	return true;
bad:
	free(buf);
	return false;
}

static bool jvalue(struct jp *j, struct jv *v, int depth);

static bool jvalue(struct jp *j, struct jv *v, int depth)
{
	memset(v, 0, sizeof(*v));
	jws(j);
	if (j->p >= j->end || depth > 16)
		return false;
	if (*j->p == '"') {
		v->t = J_STR;
		return jstring(j, &v->s, &v->len);
	}
	if (*j->p == '{' || *j->p == '[') {
		bool obj = *j->p == '{';
		char close = obj ? '}' : ']';

		v->t = obj ? J_OBJ : J_ARR;
		j->p++;
		jws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return true;
		}
		for (;;) {
			v->v = realloc(v->v, (v->n + 1) * sizeof(*v->v));
			v->k = realloc(v->k, (v->n + 1) * sizeof(*v->k));
			v->k[v->n] = NULL;
			if (obj) {
				size_t kl;

				jws(j);
				if (!jstring(j, &v->k[v->n], &kl))
					return false;
				jws(j);
				if (j->p >= j->end || *j->p++ != ':')
					return false;
			}
			if (!jvalue(j, &v->v[v->n], depth + 1))
				return false;
			v->n++;
			jws(j);
			if (j->p >= j->end)
				return false;
			if (*j->p == ',') {
				j->p++;
				continue;
			}
			if (*j->p++ != close)
				return false;
			return true;
		}
	}
	if (j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) {
		j->p += 4;
		v->t = J_NULL;
		return true;
	}
	if (j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) {
		j->p += 4;
		v->t = J_BOOL;
		v->len = 1; /* the value */
		return true;
	}
	if (j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) {
		j->p += 5;
		v->t = J_BOOL;
		v->len = 0;
		return true;
	}
	{
		const unsigned char *start = j->p;

		if (j->p < j->end && *j->p == '-')
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			return false;
		if (*j->p == '0' && j->p + 1 < j->end && j->p[1] >= '0' && j->p[1] <= '9')
			return false; /* no leading zeros in JSON */
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
		v->t = J_NUM;
		v->len = (size_t)(j->p - start);
		v->s = strndup((const char *)start, v->len);
		return true;
	}
}

static void jfree(struct jv *v)
{
	for (size_t i = 0; i < v->n; i++) {
		jfree(&v->v[i]);
		free(v->k[i]);
	}
	free(v->v);
	free(v->k);
	free(v->s);
}

/* Parse exactly one JSON document (and its newline): the whole buffer must be it. */
static bool jparse(const char *s, size_t n, struct jv *out)
{
	struct jp j = { (const unsigned char *)s, (const unsigned char *)s + n, true };

	if (!jvalue(&j, out, 0)) {
		jfree(out);
		return false;
	}
	jws(&j);
	if (j.p != j.end) {
		jfree(out);
		return false;
	}
	return true;
}

static const struct jv *jget(const struct jv *o, const char *key)
{
	if (o->t != J_OBJ)
		return NULL;
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->k[i], key))
			return &o->v[i];
	return NULL;
}

static size_t b64_decode(const char *s, size_t n, unsigned char *out)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = 0;
	uint32_t acc = 0;
	int bits = 0;

	assert_int_equal(n % 4, 0);
	for (size_t i = 0; i < n && s[i] != '='; i++) {
		const char *c = strchr(tab, s[i]);

		assert_non_null(c);
		acc = acc << 6 | (uint32_t)(c - tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[len++] = (unsigned char)(acc >> bits);
		}
	}
	return len;
}

/* The string with each byte outside valid UTF-8 replaced by U+FFFD, by this file's own decoder. */
static size_t replaced_form(const unsigned char *s, size_t n, char *out)
{
	const unsigned char *p = s, *end = s + n;
	size_t len = 0;

	while (p < end) {
		int k;

		if (utf8_decode(p, end, &k) < 0) {
			memcpy(out + len, "\xef\xbf\xbd", 3);
			len += 3;
			p++;
		} else {
			memcpy(out + len, p, (size_t)k);
			len += (size_t)k;
			p += k;
		}
	}
	return len;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	const unsigned char *p = s, *end = s + n;

	while (p < end) {
		int k;

		if (utf8_decode(p, end, &k) < 0)
			return false;
		p += k;
	}
	return true;
}

/*
 * The property for one string field: the JSON string is the input with
 * invalid bytes replaced; b64 (the sibling) is present exactly when the
 * input was not valid UTF-8, and holds its exact bytes.
 */
static void check_lossless(const struct jv *str, const struct jv *b64, const char *orig, size_t n)
{
	static char want[1 << 16];
	static unsigned char raw[1 << 16];

	assert_non_null(str);
	assert_int_equal(str->t, J_STR);
	if (valid_utf8((const unsigned char *)orig, n)) {
		assert_null(b64);
		assert_int_equal(str->len, n);
		assert_memory_equal(str->s, orig, n);
		return;
	}
	assert_non_null(b64);
	assert_int_equal(b64->t, J_STR);
	assert_int_equal(b64_decode(b64->s, b64->len, raw), n);
	assert_memory_equal(raw, orig, n);
	size_t wl = replaced_form((const unsigned char *)orig, n, want);

	assert_int_equal(str->len, wl);
	assert_memory_equal(str->s, want, wl);
}

/* ------------------------------------------------------------ random input */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/*
 * NUL-free bytes (C strings), mixing everything that matters: ASCII, JSON
 * specials, C0/DEL, valid 2-4 byte sequences, C1 controls, U+2028, bidi
 * overrides, surrogates, overlongs, lone continuation and lead bytes.
 */
static size_t random_bytes(char *out, size_t max)
{
	static const char *const pieces[] = {
		"a", "Z", " ", "\"", "\\", "/", "\n", "\r", "\t", "\x1b", "\x7f", "\x01", "\x1f",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc2\x80", "\xc2\x9b", "\xc2\x9f",
		"\xc2\xa0", "\xe2\x80\xa8", "\xe2\x80\xae", "\xe2\x81\xa6", "\xed\xa0\x80",
		"\xc0\xaf", "\xe0\x80\xaf", "\xf4\x90\x80\x80", "\x80", "\xbf", "\xc3", "\xe2\x82",
		"\xf0\x9f\x98", "\xff", "\xfe", "\xf8\x88\x80\x80\x80",
	};
	size_t n = 0, want = rnd() % max;

	while (n < want) {
		if (rnd() % 3 == 0) {
			char c = (char)(rnd() % 255 + 1);

			out[n++] = c;
		} else {
			const char *p = pieces[rnd() % (sizeof(pieces) / sizeof(*pieces))];
			size_t k = strlen(p);

			if (n + k > want)
				break;
			memcpy(out + n, p, k);
			n += k;
		}
	}
	out[n] = 0;
	return n;
}

/* ------------------------------------------------------------ the tests */

static int fmt_str(char *buf, size_t cap, const char *s, size_t n)
{
	struct pw_writer w;

	pw_writer_init(&w, buf, cap);
	pw_json_str(&w, s, n);
	return pw_writer_finish(&w);
}

/* Known inputs, exact outputs. */
static void json_string_exact(void **state)
{
	char buf[256];

	(void)state;
	fmt_str(buf, sizeof(buf), "a\"b\\c\n\x1b\x7f", 8);
	assert_string_equal(buf, "\"a\\\"b\\\\c\\n\\u001b\\u007f\"");
	fmt_str(buf, sizeof(buf), "\xc3\xa9\xc2\x9b\xe2\x80\xa8", 7);
	assert_string_equal(buf, "\"\xc3\xa9\\u009b\\u2028\"");
	fmt_str(buf, sizeof(buf), "x\xffy", 3);
	assert_string_equal(buf, "\"x\xef\xbf\xbdy\"");
}

/* Random bytes in a key/value pair: parses, and reproduces the input exactly. */
static void json_property_random_bytes(void **state)
{
	static char in[4096], out[64 * 1024];

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = random_bytes(in, 600);
		struct pw_writer w;
		struct jv doc;
		int len;

		pw_writer_init(&w, out, sizeof(out));
		pw_putc(&w, '{');
		pw_puts_lit(&w, "\"k\":0");
		pw_json_kv_str(&w, "v", in);
		pw_putc(&w, '}');
		len = pw_writer_finish(&w);
		assert_true(len > 0 && (size_t)len < sizeof(out));
		assert_true(valid_utf8((unsigned char *)out, (size_t)len));
		assert_true(jparse(out, (size_t)len, &doc));
		check_lossless(jget(&doc, "v"), jget(&doc, "v_b64"), in, n);
		jfree(&doc);
	}
}

/* Undo the text escape: \\, \", \xNN. */
static size_t text_unescape(const char *s, size_t n, char *out)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			out[len++] = s[i];
			continue;
		}
		assert_true(i + 1 < n);
		if (s[i + 1] == 'x') {
			assert_true(i + 3 < n);
			out[len++] = (char)(hexval((unsigned char)s[i + 2]) << 4 | hexval((unsigned char)s[i + 3]));
			i += 3;
		} else {
			assert_true(s[i + 1] == '\\' || s[i + 1] == '"');
			out[len++] = s[i + 1];
			i++;
		}
	}
	return len;
}

static void assert_no_control(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	assert_true(valid_utf8(p, n));
	while (p < end) {
		int k;
		long cp = utf8_decode(p, end, &k);

		assert_true(cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f));
		assert_false(cp >= 0x202a && cp <= 0x202e);
		assert_false(cp >= 0x2066 && cp <= 0x2069);
		p += k;
	}
}

static void text_property_random_bytes(void **state)
{
	static char in[4096], out[32 * 1024], back[4096];

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = random_bytes(in, 600), bl;
		struct pw_writer w;
		int len;

		pw_writer_init(&w, out, sizeof(out));
		pw_text_str(&w, in, n, iter & 1);
		len = pw_writer_finish(&w);
		assert_true(len >= 0 && (size_t)len < sizeof(out));
		assert_no_control(out, (size_t)len);
		bl = text_unescape(out, (size_t)len, back);
		assert_int_equal(bl, n);
		assert_memory_equal(back, in, n);
	}
}

static void text_exact(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(pw_text_escape("na\x1b[2Jme\n\\", buf, sizeof(buf)), 17);
	assert_string_equal(buf, "na\\x1b[2Jme\\x0a\\\\");
	pw_text_escape("\xc2\x9b" "31m\xe2\x80\xae\xff\xc3\xa9", buf, sizeof(buf));
	assert_string_equal(buf, "\\xc2\\x9b31m\\xe2\\x80\\xae\\xff\xc3\xa9");
}

/* snprintf semantics: the needed length, a NUL-terminated prefix, sizing with a NULL buffer. */
static void snprintf_semantics(void **state)
{
	char buf[8];
	int need;

	(void)state;
	need = pw_text_escape("0123456789\x01", NULL, 0);
	assert_int_equal(need, 14);
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(pw_text_escape("0123456789\x01", buf, sizeof(buf)), 14);
	assert_string_equal(buf, "0123456");
	assert_int_equal(pw_text_escape("x", NULL, 5), -EINVAL);
}

/* A decoded EXEC event with attacker-chosen strings everywhere. */
struct fake_event {
	struct pw_raw_header hdr;
	struct pw_event ev;
	char image[512], cwd[512], filename[512], args[4096];
	const char *argv[64];
};

static void fill_event(struct fake_event *f)
{
	size_t off = 0;

	memset(f, 0, sizeof(*f));
	f->hdr.ts_ns = 123456789012ull;
	f->hdr.pid = 4242;
	f->hdr.tid = 4243;
	f->hdr.ppid = 1;
	f->hdr.start_ns = 99;
	f->hdr.token.uid = 1000;
	f->hdr.token.loginuid = UINT32_MAX;
	f->hdr.token.cap_effective = 0x1ff;
	f->ev.type = PW_EVENT_EXEC;
	f->ev.hdr = &f->hdr;
	random_bytes(f->ev.comm, PW_COMM_LEN - 1);
	random_bytes(f->image, 200);
	random_bytes(f->cwd, 200);
	random_bytes(f->filename, 200);
	f->ev.image = f->image;
	f->ev.cwd = f->cwd;
	f->ev.filename = f->filename;
	f->ev.argc = rnd() % 8;
	for (size_t i = 0; i < f->ev.argc; i++) {
		size_t n = random_bytes(f->args + off, 300);

		f->argv[i] = f->args + off;
		off += n + 1;
	}
	f->ev.argv = f->argv;
}

static void event_json_property(void **state)
{
	static struct fake_event f;
	static char out[64 * 1024];

	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		const struct jv *args, *args_b64, *tok;
		struct jv doc;
		size_t bad = 0;
		int len;

		fill_event(&f);
		len = pw_event_format_json(&f.ev, out, sizeof(out), 0);
		assert_true(len > 0 && (size_t)len < sizeof(out));
		assert_int_equal(out[len - 1], '\n');
		assert_true(jparse(out, (size_t)len, &doc));
		assert_string_equal(jget(&doc, "type")->s, "exec");
		assert_string_equal(jget(&doc, "pid")->s, "4242");
		assert_string_equal(jget(&doc, "time_ns")->s, "123456789012");
		tok = jget(&doc, "token");
		assert_non_null(tok);
		assert_string_equal(jget(tok, "loginuid")->s, "-1");
		assert_string_equal(jget(tok, "cap_effective")->s, "0x1ff");
		assert_int_equal(jget(tok, "user")->t, J_NULL);
		check_lossless(jget(&doc, "name"), jget(&doc, "name_b64"), f.ev.comm, strlen(f.ev.comm));
		check_lossless(jget(&doc, "image"), jget(&doc, "image_b64"), f.image, strlen(f.image));
		check_lossless(jget(&doc, "cwd"), jget(&doc, "cwd_b64"), f.cwd, strlen(f.cwd));
		check_lossless(jget(&doc, "filename"), jget(&doc, "filename_b64"), f.filename,
			       strlen(f.filename));
		args = jget(&doc, "args");
		args_b64 = jget(&doc, "args_b64");
		assert_non_null(args);
		assert_int_equal(args->t, J_ARR);
		assert_int_equal(args->n, f.ev.argc);
		for (size_t i = 0; i < f.ev.argc; i++) {
			char key[24];
			const struct jv *b = NULL;

			snprintf(key, sizeof(key), "%zu", i);
			if (args_b64)
				b = jget(args_b64, key);
			check_lossless(&args->v[i], b, f.argv[i], strlen(f.argv[i]));
			bad += b != NULL;
		}
		/* the map holds the invalid arguments and nothing else */
		assert_int_equal(args_b64 ? args_b64->n : 0, bad);
		jfree(&doc);
	}
}

/* The same record as text: one line, no control byte anywhere. */
static void event_text_property(void **state)
{
	static struct fake_event f;
	static char out[64 * 1024];

	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		int len;

		fill_event(&f);
		len = pw_event_format_text(&f.ev, out, sizeof(out), 0, 0);
		assert_true(len > 0 && (size_t)len < sizeof(out));
		assert_int_equal(out[len - 1], '\n');
		assert_no_control(out, (size_t)len - 1);
		assert_non_null(strstr(out, "123.456789 exec"));
	}
}

/* Snapshot rows through the same property. */
static void process_json_and_text(void **state)
{
	static char out[64 * 1024], args[4096];
	struct pw_process p;

	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		size_t off = 0, argc = rnd() % 6;
		struct jv doc;
		int len;

		memset(&p, 0, sizeof(p));
		p.pid = 77;
		p.state = 'S';
		random_bytes(p.name, PW_COMM_LEN - 1);
		for (size_t i = 0; i < argc; i++)
			off += random_bytes(args + off, 200) + 1;
		assert_int_equal(pw_process_set_args(&p, args, off), 0);
		len = pw_process_format_json(&p, out, sizeof(out), 0);
		assert_true(len > 0 && (size_t)len < sizeof(out));
		assert_true(jparse(out, (size_t)len, &doc));
		check_lossless(jget(&doc, "name"), jget(&doc, "name_b64"), p.name, strlen(p.name));
		assert_int_equal(jget(&doc, "args")->n, p.argc);
		for (size_t i = 0; i < p.argc; i++) {
			char key[24];
			const struct jv *b64 = jget(&doc, "args_b64");

			snprintf(key, sizeof(key), "%zu", i);
			check_lossless(&jget(&doc, "args")->v[i], b64 ? jget(b64, key) : NULL, p.argv[i],
				       strlen(p.argv[i]));
		}
		assert_string_equal(jget(&doc, "state")->s, "S");
		jfree(&doc);
		len = pw_process_format_text(&p, out, sizeof(out), PW_FORMAT_NO_NEWLINE);
		assert_true(len > 0 && (size_t)len < sizeof(out));
		assert_no_control(out, (size_t)len);
		pw_process_clear(&p);
	}
}

/* A held exec decided via ld.so: both flags in JSON (valid, exact keys) and in text. */
static void decision_held_via_loader(void **state)
{
	struct pw_gate_decision d = {
		.verdict = PW_EXEC_DENY, .reason = PW_GATE_BY_RULE, .err = 1, .pid = 42, .tid = 42,
		.uid = 65534, .rule = 0, .held = true, .via_loader = true,
	};
	char buf[4096];
	struct jv v;
	int len;

	(void)state;
	snprintf(d.name, sizeof(d.name), "ld.so");
	snprintf(d.image, sizeof(d.image), "/tmp/denied");
	len = pw_gate_decision_format_json(&d, buf, sizeof(buf), 0);
	assert_true(len > 0 && (size_t)len < sizeof(buf));
	assert_true(jparse(buf, (size_t)len, &v));
	assert_non_null(jget(&v, "held"));
	assert_int_equal(jget(&v, "held")->t, J_BOOL);
	assert_int_equal(jget(&v, "via_loader")->t, J_BOOL);
	assert_non_null(strstr(buf, "\"held\":true,\"via_loader\":true,"));
	jfree(&v);
	d.held = d.via_loader = false;
	len = pw_gate_decision_format_json(&d, buf, sizeof(buf), 0);
	assert_non_null(strstr(buf, "\"held\":false,\"via_loader\":false,"));
	d.held = d.via_loader = true;
	len = pw_gate_decision_format_text(&d, buf, sizeof(buf), PW_FORMAT_NO_NEWLINE);
	assert_true(len > 0);
	assert_non_null(strstr(buf, "/tmp/denied (via ld.so) (held)"));
}

/* Gate decision records (the gate's JSON and text lines) through the same property. */
static void decision_json_and_text(void **state)
{
	static struct pw_gate_decision d;
	static char out[64 * 1024];
	const char *argv[64];

	(void)state;
	for (int iter = 0; iter < 2000; iter++) {
		const struct jv *args, *args_b64;
		size_t bad = 0;
		struct jv doc;
		int len;

		memset(&d, 0, sizeof(d));
		d.verdict = iter & 1 ? PW_EXEC_DENY : PW_EXEC_ALLOW;
		d.reason = PW_GATE_BY_RULE;
		d.err = EPERM;
		d.pid = 4242;
		d.tid = 4243;
		d.rule = 3;
		random_bytes(d.name, PW_COMM_LEN - 1);
		random_bytes(d.image, 300);
		random_bytes(d.filename, sizeof(d.filename) - 1);
		d.argc = rnd() % 6;
		for (uint32_t i = 0; i < d.argc; i++) {
			argv[i] = d.args + d.args_len;
			d.args_len += (uint32_t)random_bytes(d.args + d.args_len, 150) + 1;
		}
		len = pw_gate_decision_format_json(&d, out, sizeof(out), 0);
		assert_true(len > 0 && (size_t)len < sizeof(out));
		assert_int_equal(out[len - 1], '\n');
		assert_true(jparse(out, (size_t)len, &doc));
		assert_string_equal(jget(&doc, "verdict")->s, iter & 1 ? "deny" : "allow");
		assert_string_equal(jget(&doc, "pid")->s, "4242");
		check_lossless(jget(&doc, "name"), jget(&doc, "name_b64"), d.name, strlen(d.name));
		check_lossless(jget(&doc, "image"), jget(&doc, "image_b64"), d.image, strlen(d.image));
		if (d.filename[0])
			check_lossless(jget(&doc, "filename"), jget(&doc, "filename_b64"), d.filename,
				       strlen(d.filename));
		args = jget(&doc, "argv");
		args_b64 = jget(&doc, "argv_b64");
		assert_non_null(args);
		assert_int_equal(args->n, d.argc);
		for (size_t i = 0; i < d.argc; i++) {
			char key[24];
			const struct jv *b = NULL;

			snprintf(key, sizeof(key), "%zu", i);
			if (args_b64)
				b = jget(args_b64, key);
			check_lossless(&args->v[i], b, argv[i], strlen(argv[i]));
			bad += b != NULL;
		}
		assert_int_equal(args_b64 ? args_b64->n : 0, bad);
		jfree(&doc);
		len = pw_gate_decision_format_text(&d, out, sizeof(out), 0);
		assert_true(len > 0 && (size_t)len < sizeof(out));
		assert_int_equal(out[len - 1], '\n');
		assert_no_control(out, (size_t)len - 1);
		assert_memory_equal(out, iter & 1 ? "deny " : "allow", 5);
	}
}

/* An exit record as the kernel writes it, through the real decoder. */
static void decode_exit(struct pw_event *ev, struct pw_raw_exit *raw, unsigned int type,
			unsigned int rflags)
{
	struct pw_decode_buf db = { 0 };

	memset(raw, 0, sizeof(*raw));
	raw->hdr.type = (uint16_t)type;
	raw->hdr.size = sizeof(*raw);
	raw->hdr.pid = 700;
	raw->hdr.tid = type == PW_RAW_THREAD_EXIT ? 701 : 700;
	memcpy(raw->hdr.comm, "burner", 7);
	raw->exit_status = 3 << 8;
	raw->runtime_ns = 626253000;   /* split 3:1 by the tick samples below */
	raw->utime_raw_ns = 300;
	raw->stime_raw_ns = 100;
	raw->maxrss_pages = 20858;
	raw->min_flt = 12311;
	raw->maj_flt = 2;
	raw->nvcsw = 5;
	raw->nivcsw = 77;
	raw->read_bytes = 8192;
	raw->write_bytes = 4096;
	raw->rchar = 111;
	raw->wchar = 222;
	raw->children_utime_ns = 1000;
	raw->children_stime_ns = 2000;
	raw->lifetime_ns = 1500000001;
	raw->threads = 3;
	raw->rflags = rflags;
	assert_int_equal(pw_event_decode(ev, raw, sizeof(*raw), &db), 0);
	pw_decode_buf_free(&db);
}

static const char *jnum(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	assert_non_null(v);
	assert_int_equal(v->t, J_NUM);
	return v->s;
}

static void assert_jnull(const struct jv *o, const char *key)
{
	const struct jv *v = jget(o, key);

	assert_non_null(v); /* present, and null */
	assert_int_equal(v->t, J_NULL);
}

/* Exit events carry struct pw_rusage in JSON (units in the names) and in text. */
static void exit_rusage_json_and_text(void **state)
{
	static char out[8192];
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct pw_raw_exit raw;
	struct pw_event ev;
	const struct jv *ru;
	struct jv doc;
	char want[64];
	int len;

	(void)state;
	decode_exit(&ev, &raw, PW_RAW_PROCESS_EXIT, PW_RAW_RU_IO | PW_RAW_RU_CHARS);
	len = pw_event_format_json(&ev, out, sizeof(out), 0);
	assert_true(len > 0 && (size_t)len < sizeof(out));
	assert_true(jparse(out, (size_t)len, &doc));
	assert_string_equal(jget(&doc, "type")->s, "process_exit");
	assert_string_equal(jnum(&doc, "exit_code"), "3");
	ru = jget(&doc, "rusage");
	assert_non_null(ru);
	assert_int_equal(ru->t, J_OBJ);
	/* user + system is the exact runtime, split by the tick ratio (cputime_adjust) */
	assert_string_equal(jnum(ru, "cpu_ns"), "626253000");
	assert_string_equal(jnum(ru, "user_ns"), "469689750");
	assert_string_equal(jnum(ru, "system_ns"), "156563250");
	snprintf(want, sizeof(want), "%llu", (unsigned long long)(20858 * page));
	assert_string_equal(jnum(ru, "max_rss_bytes"), want);
	{
		static const char *const fields[][2] = {
			{ "minor_faults", "12311" },     { "major_faults", "2" },
			{ "voluntary_switches", "5" },   { "involuntary_switches", "77" },
			{ "read_bytes", "8192" },        { "write_bytes", "4096" },
			{ "read_chars", "111" },         { "write_chars", "222" },
			{ "lifetime_ns", "1500000001" }, { "children_user_ns", "1000" },
			{ "children_system_ns", "2000" }, { "threads", "3" },
		};

		for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++)
			assert_string_equal(jnum(ru, fields[i][0]), fields[i][1]);
	}
	assert_int_equal(jget(ru, "partial")->t, J_BOOL);
	assert_int_equal(jget(ru, "partial")->len, 0);
	assert_int_equal(ru->n, 17); /* nothing else */
	jfree(&doc);

	len = pw_event_format_text(&ev, out, sizeof(out), 0, 0);
	assert_true(len > 0 && (size_t)len < sizeof(out));
	assert_no_control(out, (size_t)len - 1);
	snprintf(want, sizeof(want), " maxrss_kib=%llu ", (unsigned long long)(20858 * page / 1024));
	assert_non_null(strstr(out, " exit 3 cpu_ms=626.253 user_ms=469.689 sys_ms=156.563"));
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, " minflt=12311 majflt=2 nvcsw=5 nivcsw=77 read_bytes=8192 "
				    "write_bytes=4096 life_ms=1500.000\n"));

	/* no I/O accounting, other threads not summed: I/O is null, not 0, and "partial" says so */
	decode_exit(&ev, &raw, PW_RAW_PROCESS_EXIT, PW_RAW_RU_PARTIAL);
	len = pw_event_format_json(&ev, out, sizeof(out), 0);
	assert_true(jparse(out, (size_t)len, &doc));
	ru = jget(&doc, "rusage");
	assert_jnull(ru, "read_bytes");
	assert_jnull(ru, "write_bytes");
	assert_jnull(ru, "read_chars");
	assert_jnull(ru, "write_chars");
	assert_int_equal(jget(ru, "partial")->t, J_BOOL);
	assert_int_equal(jget(ru, "partial")->len, 1);
	jfree(&doc);
	len = pw_event_format_text(&ev, out, sizeof(out), 0, 0);
	assert_null(strstr(out, "read_bytes="));
	assert_non_null(strstr(out, " life_ms=1500.000 partial\n"));

	/* a thread: its own CPU; no RSS or children of its own */
	decode_exit(&ev, &raw, PW_RAW_THREAD_EXIT, PW_RAW_RU_IO);
	len = pw_event_format_json(&ev, out, sizeof(out), 0);
	assert_true(jparse(out, (size_t)len, &doc));
	assert_string_equal(jget(&doc, "type")->s, "thread_exit");
	assert_string_equal(jnum(&doc, "tid"), "701");
	ru = jget(&doc, "rusage");
	assert_string_equal(jnum(ru, "cpu_ns"), "626253000");
	assert_jnull(ru, "max_rss_bytes");
	assert_jnull(ru, "children_user_ns");
	assert_jnull(ru, "children_system_ns");
	assert_string_equal(jnum(ru, "read_bytes"), "8192");
	jfree(&doc);
	len = pw_event_format_text(&ev, out, sizeof(out), 0, 0);
	assert_null(strstr(out, "maxrss_kib="));
	assert_non_null(strstr(out, " thread_exit "));

	/* other events have no rusage */
	{
		static struct fake_event f;

		fill_event(&f);
		len = pw_event_format_json(&f.ev, out, sizeof(out), 0);
		assert_true(jparse(out, (size_t)len, &doc));
		assert_null(jget(&doc, "rusage"));
		jfree(&doc);
	}
}

/* A resource alert: rule index, kind, value and threshold, with the process's identity. */
static void resource_alert_json_and_text(void **state)
{
	static const struct {
		enum pw_alert_kind kind;
		const char *name, *text;
	} kinds[] = {
		{ PW_ALERT_CPU, "cpu", " rule 2 cpu 97% > 90% /usr/bin/burner\n" },
		{ PW_ALERT_RSS, "rss", " rule 2 rss 97B > 90B /usr/bin/burner\n" },
		{ PW_ALERT_THREADS, "threads", " rule 2 threads 97 > 90 /usr/bin/burner\n" },
	};
	static char out[8192];
	struct pw_raw_header hdr;
	struct pw_event ev;
	struct jv doc;
	int len;

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(*kinds); i++) {
		memset(&hdr, 0, sizeof(hdr));
		hdr.type = PW_EVENT_RESOURCE_ALERT;
		hdr.size = sizeof(hdr);
		hdr.ts_ns = 5000000000ull;
		hdr.pid = hdr.tid = 900;
		hdr.start_ns = 1234;
		hdr.token.uid = 1001;
		memset(&ev, 0, sizeof(ev));
		ev.type = PW_EVENT_RESOURCE_ALERT;
		ev.hdr = &hdr;
		memcpy(ev.comm, "burner", 7);
		ev.image = "/usr/bin/burner";
		ev.alert_rule = 2;
		ev.alert_kind = kinds[i].kind;
		ev.alert_value = 97;
		ev.alert_threshold = 90;
		len = pw_event_format_json(&ev, out, sizeof(out), 0);
		assert_true(len > 0 && (size_t)len < sizeof(out));
		assert_true(jparse(out, (size_t)len, &doc));
		assert_string_equal(jget(&doc, "type")->s, "resource_alert");
		assert_string_equal(jnum(&doc, "pid"), "900");
		assert_string_equal(jnum(&doc, "start_ns"), "1234");
		assert_string_equal(jget(&doc, "image")->s, "/usr/bin/burner");
		assert_string_equal(jnum(&doc, "alert_rule"), "2");
		assert_string_equal(jget(&doc, "alert_kind")->s, kinds[i].name);
		assert_string_equal(jnum(&doc, "alert_value"), "97");
		assert_string_equal(jnum(&doc, "alert_threshold"), "90");
		assert_string_equal(jnum(jget(&doc, "token"), "uid"), "1001");
		assert_null(jget(&doc, "rusage"));
		jfree(&doc);
		len = pw_event_format_text(&ev, out, sizeof(out), 0, 0);
		assert_true(len > 0 && (size_t)len < sizeof(out));
		assert_non_null(strstr(out, "5.000000   resource_alert "));
		assert_non_null(strstr(out, kinds[i].text));
	}
}

/* The members applications write into their own objects (procward top does). */
static void json_members(void **state)
{
	const char *argv[] = { "ok", "bad\xff", "\x1b" };
	char buf[256], small[8];
	int n;

	(void)state;
	assert_int_equal(pw_json_member("Bad-Key", "x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(pw_json_member("", "x", buf, sizeof(buf)), -EINVAL);
	assert_int_equal(pw_json_member("k", "x", NULL, 4), -EINVAL);
	n = pw_json_member("name", "caf\xc3\xa9", buf, sizeof(buf));
	assert_string_equal(buf, ",\"name\":\"caf\xc3\xa9\"");
	assert_int_equal(n, (int)strlen(buf));
	pw_json_member("name", "a\xff", buf, sizeof(buf));
	assert_string_equal(buf, ",\"name\":\"a\xef\xbf\xbd\",\"name_b64\":\"Yf8=\"");
	pw_json_member("image", NULL, buf, sizeof(buf));
	assert_string_equal(buf, ",\"image\":null");
	/* snprintf semantics: the length it needs, a NUL-terminated prefix */
	n = pw_json_member("name", "abcdef", small, sizeof(small));
	assert_int_equal(n, (int)strlen(",\"name\":\"abcdef\""));
	assert_string_equal(small, ",\"name\"");
	pw_json_args_member("args", argv, 3, buf, sizeof(buf));
	assert_string_equal(buf, ",\"args\":[\"ok\",\"bad\xef\xbf\xbd\",\"\\u001b\"],\"args_b64\":{\"1\":\"YmFk/w==\"}");
	pw_json_args_member("args", argv, 0, buf, sizeof(buf));
	assert_string_equal(buf, ",\"args\":[]");
	assert_int_equal(pw_json_args_member("args", NULL, 1, buf, sizeof(buf)), -EINVAL);
}

static void bad_arguments(void **state)
{
	char buf[16];

	(void)state;
	assert_int_equal(pw_event_format_json(NULL, buf, sizeof(buf), 0), -EINVAL);
	assert_int_equal(pw_process_format_text(NULL, buf, sizeof(buf), 0), -EINVAL);
	assert_int_equal(pw_gate_decision_format_json(NULL, buf, sizeof(buf), 0), -EINVAL);
	{
		struct pw_process p = { .pid = 1 };

		assert_int_equal(pw_process_format_json(&p, buf, sizeof(buf), 1u << 7), -EINVAL);
	}
}

/* ------------------------------------------------------------ output files */

static char tmpdir[64];

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pw-format-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static void output_file_rules(void **state)
{
	char path[128], link[128], fifo[128], buf[64];
	PW_OPTS(pw_output_opts, trunc, .flags = PW_OUTPUT_TRUNCATE);
	PW_OPTS(pw_output_opts, m640, .mode = 0640);
	struct stat st;
	mode_t old = umask(022);
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/out", tmpdir);
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);

	/* new file: 0600; append by default */
	fd = pw_output_open(path, NULL);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(write(fd, "one\n", 4), 4);
	close(fd);
	fd = pw_output_open(path, NULL);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "two\n", 4), 4);
	close(fd);
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 8);
	close(fd);
	assert_memory_equal(buf, "one\ntwo\n", 8);
	/* truncate only when asked */
	fd = pw_output_open(path, &trunc);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	close(fd);
	/* a symlink is not followed, its target untouched */
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(pw_output_open(link, &trunc), -ELOOP);
	/* FIFO (with or without a reader), directory, device: refused */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(pw_output_open(fifo, NULL), -EINVAL);
	{
		int rd = open(fifo, O_RDONLY | O_NONBLOCK);

		assert_true(rd >= 0);
		assert_int_equal(pw_output_open(fifo, NULL), -EINVAL);
		close(rd);
	}
	assert_int_equal(pw_output_open(tmpdir, NULL), -EISDIR);
	assert_int_equal(pw_output_open("/dev/null", NULL), -EINVAL);
	/* a chosen mode for a new file */
	unlink(path);
	fd = pw_output_open(path, &m640);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	close(fd);
	/* bad options */
	{
		PW_OPTS(pw_output_opts, bad, .flags = 1u << 9);

		assert_int_equal(pw_output_open(path, &bad), -EINVAL);
	}
	umask(old);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_string_exact),
		cmocka_unit_test(json_property_random_bytes),
		cmocka_unit_test(text_exact),
		cmocka_unit_test(text_property_random_bytes),
		cmocka_unit_test(snprintf_semantics),
		cmocka_unit_test(event_json_property),
		cmocka_unit_test(event_text_property),
		cmocka_unit_test(process_json_and_text),
		cmocka_unit_test(decision_held_via_loader),
		cmocka_unit_test(decision_json_and_text),
		cmocka_unit_test(exit_rusage_json_and_text),
		cmocka_unit_test(resource_alert_json_and_text),
		cmocka_unit_test(json_members),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test_setup_teardown(output_file_rules, make_tmpdir, remove_tmpdir),
	};

	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
