// SPDX-License-Identifier: MIT
/*
 * output/journal.c - records for journald in its native protocol (a datagram
 * of fields on /run/systemd/journal/socket; no libsystemd needed): MESSAGE is
 * the line, and a JSON line's top-level scalars become PROCWARD_* fields.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "output/target.h"

#define MAX_FIELDS 48
#define FIELD_NAME_MAX 64

static int jb_put(struct pw_jbuf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return 0;
}

/* A field in the binary-safe form: NAME '\n' le64(len) VALUE '\n' (any bytes in VALUE). */
static int jb_field(struct pw_jbuf *b, const char *name, const char *v, size_t n)
{
	uint8_t le[8];

	for (int i = 0; i < 8; i++)
		le[i] = (uint8_t)((uint64_t)n >> (8 * i));
	if (jb_put(b, name, strlen(name)) || jb_put(b, "\n", 1) || jb_put(b, le, 8) || jb_put(b, v, n) ||
	    jb_put(b, "\n", 1))
		return -ENOMEM;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static size_t utf8_put(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * A JSON string at s[*i] (the opening quote) decoded into out (at least as
 * long as the input); *i moves past the closing quote. Its length, or -1.
 */
static ssize_t json_string(const char *s, size_t len, size_t *i, char *out)
{
	size_t o = 0, k = *i + 1;

	while (k < len && s[k] != '"') {
		if (s[k] != '\\') {
			out[o++] = s[k++];
			continue;
		}
		if (++k >= len)
			return -1;
		switch (s[k]) {
		case 'n': out[o++] = '\n'; break;
		case 't': out[o++] = '\t'; break;
		case 'r': out[o++] = '\r'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'u': {
			uint32_t cp = 0;

			if (k + 4 >= len)
				return -1;
			for (int d = 1; d <= 4; d++) {
				int h = hexval(s[k + d]);

				if (h < 0)
					return -1;
				cp = cp << 4 | (uint32_t)h;
			}
			k += 4;
			/* a surrogate pair, else the replacement character for a lone half */
			if (cp >= 0xd800 && cp < 0xdc00 && k + 6 < len && s[k + 1] == '\\' && s[k + 2] == 'u') {
				uint32_t lo = 0;
				int ok = 1;

				for (int d = 3; d <= 6; d++) {
					int h = hexval(s[k + d]);

					if (h < 0)
						ok = 0;
					lo = lo << 4 | (uint32_t)(h < 0 ? 0 : h);
				}
				if (ok && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					k += 6;
				} else {
					cp = 0xfffd;
				}
			} else if (cp >= 0xd800 && cp < 0xe000) {
				cp = 0xfffd;
			}
			o += utf8_put(out + o, cp); /* at most 4 bytes for 6 or 12 of input */
			break;
		}
		default: out[o++] = s[k]; break; /* \" \\ \/ */
		}
		k++;
	}
	if (k >= len)
		return -1;
	*i = k + 1;
	return (ssize_t)o;
}

static void skip_ws(const char *s, size_t len, size_t *i)
{
	while (*i < len && (s[*i] == ' ' || s[*i] == '\t' || s[*i] == '\r' || s[*i] == '\n'))
		(*i)++;
}

/* Skip a nested object or array (strings respected); -1 if unterminated. */
static int skip_nested(const char *s, size_t len, size_t *i)
{
	int depth = 0;

	for (; *i < len; (*i)++) {
		char c = s[*i];

		if (c == '"') {
			(*i)++;
			while (*i < len && s[*i] != '"')
				*i += s[*i] == '\\' ? 2 : 1;
			if (*i >= len)
				return -1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0) {
				(*i)++;
				return 0;
			}
		}
	}
	return -1;
}

/*
 * The top-level scalars of a JSON object line as PROCWARD_<KEY> fields
 * (upper case, other bytes '_'); nested values and nulls are left to MESSAGE.
 * Stops quietly at anything that is not well-formed: MESSAGE has it all.
 */
int pw_journal_json_fields(struct pw_jbuf *b, const char *s, size_t len)
{
	char *tmp = malloc(len + 1);
	size_t i = 0;
	int fields = 0, err = 0;

	if (!tmp)
		return -ENOMEM;
	skip_ws(s, len, &i);
	if (i >= len || s[i++] != '{')
		goto out;
	while (fields < MAX_FIELDS) {
		char name[FIELD_NAME_MAX + 1] = "PROCWARD_";
		size_t nl = strlen(name), vstart;
		ssize_t kl, vl;

		skip_ws(s, len, &i);
		if (i >= len || s[i] != '"')
			break;
		kl = json_string(s, len, &i, tmp);
		if (kl < 0)
			break;
		for (ssize_t k = 0; k < kl && nl < FIELD_NAME_MAX; k++) {
			char c = tmp[k];

			name[nl++] = (c >= 'a' && c <= 'z') ? (char)(c - 32) :
				     ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '_';
		}
		name[nl] = 0;
		skip_ws(s, len, &i);
		if (i >= len || s[i++] != ':')
			break;
		skip_ws(s, len, &i);
		if (i >= len)
			break;
		if (s[i] == '"') {
			vl = json_string(s, len, &i, tmp);
			if (vl < 0)
				break;
			if ((err = jb_field(b, name, tmp, (size_t)vl)))
				break;
			fields++;
		} else if (s[i] == '{' || s[i] == '[') {
			if (skip_nested(s, len, &i))
				break;
		} else {
			vstart = i;
			while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ' ')
				i++;
			if (i - vstart != 4 || memcmp(s + vstart, "null", 4)) {
				if ((err = jb_field(b, name, s + vstart, i - vstart)))
					break;
				fields++;
			}
		}
		skip_ws(s, len, &i);
		if (i >= len || s[i] != ',')
			break;
		i++;
	}
out:
	free(tmp);
	return err ? err : fields;
}

int pw_journal_target_write(struct out_target *s, const struct target_env *env, const char *type,
			  const char *line, size_t len)
{
	struct pw_jbuf b = { 0 };
	struct iovec iov;
	int err;

	if ((err = jb_field(&b, "MESSAGE", line, len)) || (err = jb_field(&b, "PRIORITY", "6", 1)) ||
	    (err = jb_field(&b, "SYSLOG_IDENTIFIER", s->identifier, strlen(s->identifier))) ||
	    (type && type[0] && (err = jb_field(&b, "PROCWARD_EVENT", type, strlen(type)))))
		goto out;
	err = pw_journal_json_fields(&b, line, len);
	if (err < 0)
		goto out;
	iov.iov_base = b.p;
	iov.iov_len = b.len;
	err = pw_dgram_send(s, env, &iov, 1);
out:
	free(b.p);
	return err;
}
