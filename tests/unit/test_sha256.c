/* SPDX-License-Identifier: MIT */
/* test_sha256.c - the gate's SHA-256 against the FIPS 180-4 example vectors, fed whole, in odd pieces and from a file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gate/gate.h"

static void hex(const uint8_t d[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static void digest_of(const void *data, size_t len, size_t piece, char out[65])
{
	struct pw_sha256 c;
	uint8_t d[32];
	const uint8_t *p = data;

	pw_sha256_init(&c);
	if (!piece)
		pw_sha256_update(&c, p, len);
	for (size_t off = 0; piece && off < len; off += piece)
		pw_sha256_update(&c, p + off, len - off < piece ? len - off : piece);
	pw_sha256_final(&c, d);
	hex(d, out);
}

/* FIPS 180-4 / NIST CSRC "Examples with Intermediate Values" for SHA-256. */
static const struct {
	const char *msg;
	const char *digest;
} vectors[] = {
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	/* 448 bits: the padding needs a second block */
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	/* 896 bits */
	{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
	  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
};

static void nist_vectors(void **state)
{
	/* whole, byte by byte, and in pieces that straddle the 64-byte blocks */
	static const size_t pieces[] = { 0, 1, 3, 55, 63, 64, 65 };
	char got[65];

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(*vectors); i++)
		for (size_t k = 0; k < sizeof(pieces) / sizeof(*pieces); k++) {
			digest_of(vectors[i].msg, strlen(vectors[i].msg), pieces[k], got);
			if (strcmp(got, vectors[i].digest))
				fail_msg("vector %zu in pieces of %zu: %s", i, pieces[k], got);
		}
}

static void one_million_a(void **state)
{
	size_t n = 1000000;
	char *a = malloc(n), got[65];

	(void)state;
	assert_non_null(a);
	memset(a, 'a', n);
	digest_of(a, n, 0, got);
	assert_string_equal(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	digest_of(a, n, 1000, got);
	assert_string_equal(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(a);
}

/* What the rules hash: a file, read through the descriptor past its 64 KiB buffer. */
static void file_digest(void **state)
{
	char path[] = "/tmp/pw-sha256-XXXXXX", got[65];
	uint8_t d[32];
	size_t n = 1000000;
	char *a = malloc(n);
	int fd = mkstemp(path);

	(void)state;
	assert_non_null(a);
	assert_true(fd >= 0);
	unlink(path);
	memset(a, 'a', n);
	assert_int_equal(write(fd, a, n), (ssize_t)n);
	assert_int_equal(pw_sha256_fd(fd, d), 0);
	hex(d, got);
	assert_string_equal(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	close(fd);
	assert_int_equal(pw_sha256_fd(fd, d), -EBADF);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nist_vectors),
		cmocka_unit_test(one_million_a),
		cmocka_unit_test(file_digest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
