// SPDX-License-Identifier: MIT
/* format/text.c - text escaping: what reaches a terminal never holds a control byte, and maps back to the input. */
#include "format/writer.h"

/* Bytes the text output copies unchanged: printable ASCII but '\\' (and '"' when quoting). */
static const unsigned char text_plain[256] = {
	[0x20 ... 0x5b] = 1, [0x5d ... 0x7e] = 1,
};

static void hex_escape(struct pw_writer *w, const unsigned char *s, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		char e[4] = { '\\', 'x', digits[s[i] >> 4], digits[s[i] & 15] };

		pw_put(w, e, sizeof(e));
	}
}

/*
 * Sequences that are valid UTF-8 but act on the terminal or on how the
 * line reads: C1 controls (U+0080..U+009F; some terminals take U+009B as
 * CSI), and the bidirectional overrides and isolates (U+202A..U+202E,
 * U+2066..U+2069) that reorder what follows them on screen.
 */
static bool text_control_seq(const unsigned char *s, size_t k)
{
	if (k == 2)
		return s[0] == 0xc2 && s[1] < 0xa0;
	if (k == 3 && s[0] == 0xe2) {
		if (s[1] == 0x80)
			return s[2] >= 0xaa && s[2] <= 0xae;
		if (s[1] == 0x81)
			return s[2] >= 0xa6 && s[2] <= 0xa9;
	}
	return false;
}

void pw_text_str(struct pw_writer *w, const char *str, size_t n, bool quote)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n, *run;

	while (s < end) {
		run = s;
		while (s < end && text_plain[*s] && !(quote && *s == '"'))
			s++;
		if (s > run)
			pw_put(w, (const char *)run, (size_t)(s - run));
		if (s == end)
			break;
		if (*s == '\\' || *s == '"') {
			pw_putc(w, '\\');
			pw_putc(w, (char)*s);
			s++;
			continue;
		}
		if (*s < 0x80) { /* C0 and DEL */
			hex_escape(w, s, 1);
			s++;
			continue;
		}
		size_t k = pw_utf8_seq(s, (size_t)(end - s));

		if (!k) {
			hex_escape(w, s, 1);
			s++;
		} else if (text_control_seq(s, k)) {
			hex_escape(w, s, k);
			s += k;
		} else {
			pw_put(w, (const char *)s, k);
			s += k;
		}
	}
}

void pw_text_word(struct pw_writer *w, const char *s)
{
	size_t n = strlen(s);
	bool quote = !n;

	for (size_t i = 0; i < n && !quote; i++)
		quote = s[i] == ' ' || s[i] == '"' || s[i] == '\'';
	if (!quote) {
		pw_text_str(w, s, n, false);
		return;
	}
	pw_putc(w, '"');
	pw_text_str(w, s, n, true);
	pw_putc(w, '"');
}
