/* SPDX-License-Identifier: MIT */
/* config.h - /etc/procward/procward.conf: `key = value` lines, [watch]/[gate] sections. */
#ifndef PW_CLI_CONFIG_H
#define PW_CLI_CONFIG_H

#include <stddef.h>

#define CONFIG_LINE_MAX 8192
#define CONFIG_KEY_MAX 64

struct config_entry {
	char *key;      /* a long option without its dashes */
	char *value;    /* "" never: a key always has a value */
	unsigned int line;
};

struct config {
	struct config_entry *v;
	size_t n;
};

/*
 * Read the entries that apply to `section` (those before any section and
 * those under [section]), in file order. 0, or -1 with "FILE:LINE: message"
 * (or "FILE: message") in err; nothing is kept on error.
 */
int config_parse(const char *path, const char *section, struct config *out, char *err, size_t errlen);
/* The same from a buffer of len bytes, `name` standing for the file in messages. */
int config_parse_buf(const char *name, const char *buf, size_t len, const char *section,
		     struct config *out, char *err, size_t errlen);
void config_free(struct config *c);
/* yes/true/on/1 -> 1, no/false/off/0 -> 0, else -1. */
int config_bool(const char *value);

#endif
