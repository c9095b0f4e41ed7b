// SPDX-License-Identifier: MIT
/* config.c - the configuration file parser: length-checked, every error as FILE:LINE. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"

void config_free(struct config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].value);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

int config_bool(const char *v)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		return 1;
	if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		return 0;
	return -1;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static int add(struct config *c, const char *key, size_t kl, const char *val, size_t vl, unsigned int line)
{
	struct config_entry *v = realloc(c->v, (c->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	c->v = v;
	v[c->n].key = strndup(key, kl);
	v[c->n].value = strndup(val, vl);
	v[c->n].line = line;
	if (!v[c->n].key || !v[c->n].value) {
		free(v[c->n].key);
		free(v[c->n].value);
		return -1;
	}
	c->n++;
	return 0;
}

int config_parse_buf(const char *name, const char *buf, size_t len, const char *section,
		     struct config *out, char *err, size_t errlen)
{
	struct config c = { 0 };
	unsigned int lineno = 0;
	int in_scope = 1; /* before any section: common to every command */
	size_t pos = 0;

#define FAIL(...)                                                  \
	do {                                                       \
		int n_ = snprintf(err, errlen, "%s:%u: ", name, lineno); \
		if (n_ >= 0 && (size_t)n_ < errlen)                \
			snprintf(err + n_, errlen - (size_t)n_, __VA_ARGS__); \
		config_free(&c);                                   \
		return -1;                                         \
	} while (0)

	while (pos < len) {
		const char *line = buf + pos, *nl = memchr(line, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - line) : len - pos, a = 0, b;
		const char *key, *val;
		size_t kl, vl;

		pos += ll + (nl ? 1 : 0);
		lineno++;
		if (ll > CONFIG_LINE_MAX)
			FAIL("line longer than %d bytes", CONFIG_LINE_MAX);
		if (memchr(line, 0, ll))
			FAIL("NUL byte in line");
		while (a < ll && is_blank(line[a]))
			a++;
		b = ll;
		while (b > a && is_blank(line[b - 1]))
			b--;
		if (a == b || line[a] == '#' || line[a] == ';')
			continue;
		if (line[a] == '[') {
			size_t s = a + 1;

			if (line[b - 1] != ']')
				FAIL("section header without ']'");
			while (s < b - 1 && key_char(line[s]))
				s++;
			if (s != b - 1 || s == a + 1)
				FAIL("bad section name (letters, digits and '-')");
			in_scope = strlen(section) == s - a - 1 && !memcmp(line + a + 1, section, s - a - 1);
			continue;
		}
		key = line + a;
		kl = 0;
		while (a + kl < b && key_char(key[kl]))
			kl++;
		if (!kl)
			FAIL("expected 'key = value' (keys are long options: lower case, digits, '-')");
		if (kl > CONFIG_KEY_MAX)
			FAIL("key longer than %d bytes", CONFIG_KEY_MAX);
		val = key + kl;
		while (val < line + b && is_blank(*val))
			val++;
		if (val == line + b || *val != '=')
			FAIL("expected '=' after '%.*s'", (int)kl, key);
		val++;
		while (val < line + b && is_blank(*val))
			val++;
		vl = (size_t)(line + b - val);
		if (!vl)
			FAIL("'%.*s' has no value", (int)kl, key);
		/* a value in double quotes keeps its blanks; nothing is unescaped */
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val++;
			vl -= 2;
			if (!vl)
				FAIL("'%.*s' has an empty value", (int)kl, key);
		}
		if (in_scope && add(&c, key, kl, val, vl, lineno))
			FAIL("out of memory");
	}
#undef FAIL
	*out = c;
	return 0;
}

int config_parse(const char *path, const char *section, struct config *out, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ret;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		if (cap - len < 65536) {
			char *p;

			if (cap > (16u << 20)) {
				snprintf(err, errlen, "%s: larger than 16 MiB", path);
				free(buf);
				fclose(f);
				return -1;
			}
			p = realloc(buf, cap + 65536);
			if (!p) {
				snprintf(err, errlen, "%s: out of memory", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = p;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	ret = config_parse_buf(path, buf, len, section, out, err, errlen);
	free(buf);
	return ret;
}
