/* SPDX-License-Identifier: MIT */
/* test_decode.c - ring-buffer records to events: valid, truncated and malformed records; the accessors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "monitor/event.h"
#include "snapshot/process.h"

/*
 * Records are built in exactly-sized heap blocks, so under ASan
 * (`make asan-check`) a decoder that reads one byte past the record fails.
 */
struct record {
	void *data;
	size_t size;
};

static void fill_header(struct pw_raw_header *h, enum pw_raw_type type, size_t size)
{
	h->type = type;
	h->flags = 0;
	h->size = (__u32)size;
	h->ts_ns = 123456789;
	h->start_ns = 1000000007;
	h->parent_start_ns = 500000003;
	h->pid = 4242;
	h->tid = 4243;
	h->ppid = 1;
	h->cpu = 3;
	memcpy(h->comm, "worker\0\0\0\0\0\0\0\0\0", PW_COMM_LEN);
	h->token.uid = 1000;
	h->token.euid = 1001;
	h->token.suid = 1002;
	h->token.fsuid = 1003;
	h->token.gid = 100;
	h->token.egid = 101;
	h->token.sgid = 102;
	h->token.fsgid = 103;
	h->token.cap_effective = 0x1ffull;
	h->token.cap_permitted = 0x3ffull;
	h->token.loginuid = UINT32_MAX;
	h->token.sessionid = 7;
	h->token.pidns_ino = 4026531836u;
	h->token.mntns_ino = 4026531841u;
	h->token.cgroup_id = 0x1234;
}

static struct record make_clone(enum pw_raw_type type)
{
	struct record r = { .size = sizeof(struct pw_raw_clone) };
	struct pw_raw_clone *c = calloc(1, r.size);

	assert_non_null(c);
	fill_header(&c->hdr, type, r.size);
	c->creator_pid = 77;
	c->creator_tid = 78;
	c->clone_flags = PW_RAW_CLONE_VFORK | PW_RAW_CLONE_NEWPID;
	r.data = c;
	return r;
}

static struct record make_exit(enum pw_raw_type type, int status)
{
	struct record r = { .size = sizeof(struct pw_raw_exit) };
	struct pw_raw_exit *x = calloc(1, r.size);

	assert_non_null(x);
	fill_header(&x->hdr, type, r.size);
	x->exit_status = status;
	r.data = x;
	return r;
}

/* An exec record with these exact string fields (lengths given, bytes copied as-is). */
static struct record make_exec_raw(const char *filename, size_t filename_len, const char *image,
				   size_t image_len, const char *cwd, size_t cwd_len,
				   const char *args, size_t args_len)
{
	struct record r;
	struct pw_raw_exec *x;
	char *p;

	r.size = sizeof(*x) + filename_len + image_len + cwd_len + args_len;
	x = calloc(1, r.size);
	assert_non_null(x);
	fill_header(&x->hdr, PW_RAW_EXEC, r.size);
	x->old_tid = 4243;
	x->argc = 3;
	x->filename_len = (__u16)filename_len;
	x->image_len = (__u16)image_len;
	x->cwd_len = (__u16)cwd_len;
	x->args_len = (__u32)args_len;
	p = x->data;
	memcpy(p, filename, filename_len);
	p += filename_len;
	memcpy(p, image, image_len);
	p += image_len;
	memcpy(p, cwd, cwd_len);
	p += cwd_len;
	memcpy(p, args, args_len);
	r.data = x;
	return r;
}

/* A process key: its pid and start time, and the padding zero. */
static void assert_key(struct pw_proc_key key, pid_t pid, uint64_t start_ns)
{
	assert_int_equal(key.pid, pid);
	assert_int_equal(key.pad, 0);
	assert_int_equal(key.start_ns, start_ns);
}

/* What the accessors of the header fields give: want's values (all 0 for an event without a header). */
static void assert_header(const struct pw_event *ev, const struct pw_raw_header *want)
{
	assert_int_equal(pw_event_time_ns(ev), want->ts_ns);
	assert_int_equal(pw_event_cpu(ev), want->cpu);
	assert_int_equal(pw_event_pid(ev), want->pid);
	assert_int_equal(pw_event_tid(ev), want->tid);
	assert_int_equal(pw_event_parent_pid(ev), want->ppid);
	assert_key(pw_event_key(ev), (pid_t)want->pid, want->start_ns);
	assert_key(pw_event_parent_key(ev), (pid_t)want->ppid, want->parent_start_ns);
}

#define S(lit) lit, sizeof(lit)        /* a string with its NUL */
#define B(lit) lit, sizeof(lit) - 1    /* bytes without the literal's own NUL */

static struct record make_exec(void)
{
	return make_exec_raw(S("./run.sh"), S("/usr/bin/bash"), S("/home/user"),
			     B("./run.sh\0--flag\0value with space\0"));
}

static void free_record(struct record *r)
{
	free(r->data);
	r->data = NULL;
}

/* ------------------------------------------------------------- valid records */

static void exec_record(void **state)
{
	struct pw_decode_buf buf = { 0 };
	struct record r = make_exec();
	struct pw_event ev;
	const struct pw_token *t;

	(void)state;
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(pw_event_type(&ev), PW_EVENT_EXEC);
	assert_string_equal(pw_event_type_name(pw_event_type(&ev)), "exec");
	assert_string_equal(pw_event_exec_filename(&ev), "./run.sh");
	assert_string_equal(pw_event_image(&ev), "/usr/bin/bash");
	assert_string_equal(pw_event_cwd(&ev), "/home/user");
	assert_null(pw_event_previous_image(&ev)); /* only the process table knows it */
	assert_int_equal(pw_event_argc(&ev), 3);
	assert_string_equal(pw_event_arg(&ev, 0), "./run.sh");
	assert_string_equal(pw_event_arg(&ev, 1), "--flag");
	assert_string_equal(pw_event_arg(&ev, 2), "value with space");
	assert_null(pw_event_arg(&ev, 3));
	assert_null(pw_event_arg(&ev, 4));
	assert_null(pw_event_arg(&ev, SIZE_MAX));
	assert_int_equal(pw_event_flags(&ev), 0);

	/* header fields */
	assert_header(&ev, &(struct pw_raw_header){ .ts_ns = 123456789, .cpu = 3, .pid = 4242, .tid = 4243,
						  .ppid = 1, .start_ns = 1000000007,
						  .parent_start_ns = 500000003 });
	assert_string_equal(pw_event_name(&ev), "worker");
	assert_int_equal(pw_event_creator_pid(&ev), 0);
	assert_int_equal(pw_event_creator_tid(&ev), 0);
	assert_int_equal(pw_event_clone_flags(&ev), 0);
	assert_int_equal(pw_event_lost_count(&ev), 0);

	/* the token is the record's, field for field */
	t = pw_event_token(&ev);
	assert_non_null(t);
	assert_int_equal(t->uid, 1000);
	assert_int_equal(t->euid, 1001);
	assert_int_equal(t->suid, 1002);
	assert_int_equal(t->fsuid, 1003);
	assert_int_equal(t->gid, 100);
	assert_int_equal(t->egid, 101);
	assert_int_equal(t->sgid, 102);
	assert_int_equal(t->fsgid, 103);
	assert_int_equal(t->cap_effective, 0x1ff);
	assert_int_equal(t->cap_permitted, 0x3ff);
	assert_int_equal(t->loginuid, UINT32_MAX);
	assert_int_equal(t->sessionid, 7);
	assert_int_equal(t->pidns_ino, 4026531836u);
	assert_int_equal(t->mntns_ino, 4026531841u);
	assert_int_equal(t->cgroup_id, 0x1234);

	/* without a name cache, names are unknown rather than a crash */
	assert_null(pw_event_user_name(&ev));
	assert_null(pw_event_group_name(&ev));
	assert_null(pw_event_cgroup_path(&ev));
	assert_null(pw_event_container_id(&ev));

	free_record(&r);
	pw_decode_buf_free(&buf);
}

static void exec_record_flags_and_comm(void **state)
{
	struct pw_decode_buf buf = { 0 };
	struct record r = make_exec();
	struct pw_raw_exec *x = r.data;
	struct pw_event ev;

	(void)state;
	x->hdr.flags = PW_RAW_F_ARGS_TRUNCATED | PW_RAW_F_PATH_TRUNCATED;
	/* a comm that fills all 16 bytes: the decoder terminates its copy */
	memcpy(x->hdr.comm, "0123456789abcdefXYZ", PW_COMM_LEN);
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(pw_event_flags(&ev), PW_EVF_ARGS_TRUNCATED | PW_EVF_PATH_TRUNCATED);
	assert_string_equal(pw_event_name(&ev), "0123456789abcde");
	free_record(&r);
	pw_decode_buf_free(&buf);
}

static void exec_truncated_args(void **state)
{
	struct pw_decode_buf buf = { 0 };
	struct pw_event ev;
	struct record r;

	(void)state;
	/* argv cut by the capture limit: the last argument has no NUL of its own */
	r = make_exec_raw(S("/bin/ls"), S("/usr/bin/ls"), S("/"), B("ls\0-l\0/very/lo"));
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(pw_event_argc(&ev), 3);
	assert_string_equal(pw_event_arg(&ev, 0), "ls");
	assert_string_equal(pw_event_arg(&ev, 1), "-l");
	assert_string_equal(pw_event_arg(&ev, 2), "/very/lo");
	assert_null(pw_event_arg(&ev, 3));
	free_record(&r);

	/* a single unterminated argument, with the buffers reused from the last decode */
	r = make_exec_raw(S("/bin/ls"), S("/usr/bin/ls"), S("/"), B("abc"));
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(pw_event_argc(&ev), 1);
	assert_string_equal(pw_event_arg(&ev, 0), "abc");
	free_record(&r);

	/* no argv at all (execve with argv = NULL) */
	r = make_exec_raw(S("/bin/ls"), S("/usr/bin/ls"), S("/"), "", 0);
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(pw_event_argc(&ev), 0);
	assert_null(pw_event_arg(&ev, 0));
	free_record(&r);

	/* empty strings are legal values: "" as filename, cwd and argument */
	r = make_exec_raw(S(""), S("/usr/bin/ls"), S(""), B("\0\0"));
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_string_equal(pw_event_exec_filename(&ev), "");
	assert_string_equal(pw_event_cwd(&ev), "");
	assert_int_equal(pw_event_argc(&ev), 2);
	assert_string_equal(pw_event_arg(&ev, 0), "");
	assert_string_equal(pw_event_arg(&ev, 1), "");
	free_record(&r);
	pw_decode_buf_free(&buf);
}

/* The largest record the kernel may send decodes, with every argument found. */
static void exec_maximal_record(void **state)
{
	static char filename[PW_FILENAME_MAX], image[PW_PATH_MAX], cwd[PW_PATH_MAX], args[PW_ARGS_MAX];
	struct pw_decode_buf buf = { 0 };
	struct pw_event ev;
	struct record r;

	(void)state;
	memset(filename, 'f', sizeof(filename) - 1);
	memset(image, 'i', sizeof(image) - 1);
	memset(cwd, 'c', sizeof(cwd) - 1);
	/* 8192 one-byte arguments "x\0" */
	for (size_t i = 0; i < sizeof(args); i += 2) {
		args[i] = 'x';
		args[i + 1] = 0;
	}
	r = make_exec_raw(filename, sizeof(filename), image, sizeof(image), cwd, sizeof(cwd), args,
			  sizeof(args));
	assert_int_equal(r.size, sizeof(struct pw_raw_exec) + PW_EXEC_DATA_MAX);
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(strlen(pw_event_exec_filename(&ev)), PW_FILENAME_MAX - 1);
	assert_int_equal(strlen(pw_event_image(&ev)), PW_PATH_MAX - 1);
	assert_int_equal(strlen(pw_event_cwd(&ev)), PW_PATH_MAX - 1);
	assert_int_equal(pw_event_argc(&ev), PW_ARGS_MAX / 2);
	assert_string_equal(pw_event_arg(&ev, PW_ARGS_MAX / 2 - 1), "x");
	assert_null(pw_event_arg(&ev, PW_ARGS_MAX / 2));
	free_record(&r);
	pw_decode_buf_free(&buf);
}

static void clone_records(void **state)
{
	struct pw_decode_buf buf = { 0 };
	struct record r = make_clone(PW_RAW_PROCESS_CREATE);
	struct pw_event ev;

	(void)state;
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(pw_event_type(&ev), PW_EVENT_PROCESS_CREATE);
	assert_int_equal(pw_event_creator_pid(&ev), 77);
	assert_int_equal(pw_event_creator_tid(&ev), 78);
	assert_int_equal(pw_event_clone_flags(&ev), PW_CLONE_VFORK | PW_CLONE_NEWPID);
	assert_int_equal(pw_event_pid(&ev), 4242);
	/* not an exec: no exec strings, no argv (the monitor fills them from its table) */
	assert_null(pw_event_image(&ev));
	assert_null(pw_event_exec_filename(&ev));
	assert_null(pw_event_cwd(&ev));
	assert_int_equal(pw_event_argc(&ev), 0);
	assert_null(pw_event_arg(&ev, 0));
	free_record(&r);

	r = make_clone(PW_RAW_THREAD_CREATE);
	((struct pw_raw_clone *)r.data)->clone_flags = PW_RAW_CLONE_THREAD | PW_RAW_CLONE_VM;
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(pw_event_type(&ev), PW_EVENT_THREAD_CREATE);
	assert_int_equal(pw_event_clone_flags(&ev), PW_CLONE_THREAD | PW_CLONE_VM);
	free_record(&r);
	pw_decode_buf_free(&buf);
}

static void exit_records(void **state)
{
	struct pw_decode_buf buf = { 0 };
	struct pw_event ev;
	struct record r;
	int status;

	(void)state;
	r = make_exit(PW_RAW_PROCESS_EXIT, 3 << 8);
	((struct pw_raw_exit *)r.data)->hdr.flags = PW_RAW_F_GROUP_EXIT;
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(pw_event_type(&ev), PW_EVENT_PROCESS_EXIT);
	status = pw_event_exit_status(&ev);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 3);
	assert_int_equal(pw_event_flags(&ev), PW_EVF_GROUP_EXIT);
	free_record(&r);

	r = make_exit(PW_RAW_THREAD_EXIT, 9 | 0x80);
	assert_int_equal(pw_event_decode(&ev, r.data, r.size, &buf), 0);
	assert_int_equal(pw_event_type(&ev), PW_EVENT_THREAD_EXIT);
	status = pw_event_exit_status(&ev);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), 9);
	assert_true(WCOREDUMP(status));
	free_record(&r);
	pw_decode_buf_free(&buf);
}

/* A LOST event is made by the monitor, not decoded: it has no header. */
static void lost_event_accessors(void **state)
{
	struct pw_event ev;

	(void)state;
	memset(&ev, 0, sizeof(ev));
	ev.type = PW_EVENT_LOST;
	ev.lost_count = 12;
	assert_string_equal(pw_event_type_name(pw_event_type(&ev)), "lost");
	assert_int_equal(pw_event_lost_count(&ev), 12);
	assert_header(&ev, &(struct pw_raw_header){ 0 });
	assert_null(pw_event_name(&ev));
	assert_null(pw_event_token(&ev));
	assert_null(pw_event_user_name(&ev));
	assert_null(pw_event_group_name(&ev));
	assert_null(pw_event_cgroup_path(&ev));
	assert_null(pw_event_container_id(&ev));
	assert_null(pw_event_arg(&ev, 0));
}

static void type_names(void **state)
{
	(void)state;
	assert_string_equal(pw_event_type_name(PW_EVENT_PROCESS_CREATE), "process_create");
	assert_string_equal(pw_event_type_name(PW_EVENT_EXEC), "exec");
	assert_string_equal(pw_event_type_name(PW_EVENT_PROCESS_EXIT), "process_exit");
	assert_string_equal(pw_event_type_name(PW_EVENT_THREAD_CREATE), "thread_create");
	assert_string_equal(pw_event_type_name(PW_EVENT_THREAD_EXIT), "thread_exit");
	assert_string_equal(pw_event_type_name(PW_EVENT_LOST), "lost");
	assert_null(pw_event_type_name(0));
	assert_null(pw_event_type_name(1000));
	assert_null(pw_event_type_name((enum pw_event_type)-1));
}

/* --------------------------------------------------------- malformed records */

static void expect_bad(struct record *r, size_t size, const char *what)
{
	struct pw_decode_buf buf = { 0 };
	struct pw_event ev;
	int err = pw_event_decode(&ev, r->data, size, &buf);

	if (err != -EBADMSG)
		fail_msg("%s: decode returned %d, want -EBADMSG", what, err);
	pw_decode_buf_free(&buf);
}

static void bad_sizes(void **state)
{
	static const enum pw_raw_type types[] = { PW_RAW_PROCESS_CREATE, PW_RAW_THREAD_CREATE,
						  PW_RAW_PROCESS_EXIT, PW_RAW_THREAD_EXIT };
	struct record r;
	char what[64];

	(void)state;
	/* shorter than a header: exactly that many bytes allocated */
	for (size_t n = 0; n < sizeof(struct pw_raw_header); n += 7) {
		struct record tiny = { .data = malloc(n ? n : 1), .size = n };

		assert_non_null(tiny.data);
		memset(tiny.data, 0xff, n);
		if (n >= offsetof(struct pw_raw_header, size) + 4) {
			struct pw_raw_header h;

			fill_header(&h, PW_RAW_EXEC, n);
			memcpy(tiny.data, &h, n);
		}
		snprintf(what, sizeof(what), "%zu-byte record", n);
		expect_bad(&tiny, n, what);
		free_record(&tiny);
	}

	for (size_t i = 0; i < sizeof(types) / sizeof(*types); i++) {
		struct pw_raw_header *h;

		if (types[i] == PW_RAW_PROCESS_CREATE || types[i] == PW_RAW_THREAD_CREATE)
			r = make_clone(types[i]);
		else
			r = make_exit(types[i], 0);
		h = r.data;
		/* header claims more than the ring buffer gave */
		h->size = r.size + 1;
		expect_bad(&r, r.size, "size beyond the record");
		h->size = UINT32_MAX;
		expect_bad(&r, r.size, "size UINT32_MAX");
		/* header claims less than the type needs */
		h->size = r.size - 1;
		expect_bad(&r, r.size, "size one short");
		h->size = sizeof(*h);
		expect_bad(&r, r.size, "header only");
		h->size = 0;
		expect_bad(&r, r.size, "size 0");
		/* the ring buffer gave fewer bytes than the type needs */
		h->size = r.size;
		expect_bad(&r, r.size - 8, "record cut short");
		free_record(&r);
	}

	/* a create record passed off as an exit, and the other way round */
	r = make_clone(PW_RAW_PROCESS_CREATE);
	((struct pw_raw_header *)r.data)->type = PW_RAW_PROCESS_EXIT;
	if (sizeof(struct pw_raw_clone) != sizeof(struct pw_raw_exit))
		expect_bad(&r, r.size, "clone record typed exit");
	free_record(&r);
	r = make_exit(PW_RAW_PROCESS_EXIT, 0);
	((struct pw_raw_header *)r.data)->type = PW_RAW_EXEC;
	expect_bad(&r, r.size, "exit record typed exec");
	free_record(&r);
}

static void unknown_types(void **state)
{
	/* 6 is PW_EVENT_LOST, which the monitor makes itself: never a record */
	static const unsigned int bad[] = { 0, 6, 9, 15, PW_RAW_TYPE_MAX, PW_RAW_TYPE_MAX + 1, 0x7fff,
					    0xffff };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		struct record r = make_exit(PW_RAW_PROCESS_EXIT, 0);
		char what[32];

		((struct pw_raw_header *)r.data)->type = (__u16)bad[i];
		snprintf(what, sizeof(what), "type %u", bad[i]);
		expect_bad(&r, r.size, what);
		free_record(&r);
	}
}

/* An exec record's strings, each with a NUL missing or one too many, and what the test calls it. */
static const struct bad_strings {
	const char *filename;
	size_t filename_len;
	const char *image;
	size_t image_len;
	const char *cwd;
	size_t cwd_len;
	const char *what;
} bad_strings[] = {
	{ B("/bin/ls"), S("/usr/bin/ls"), S("/"), "filename without NUL" },
	{ S("/bin/ls"), B("/usr/bin/ls"), S("/"), "image without NUL" },
	{ S("/bin/ls"), S("/usr/bin/ls"), B("/tmp"), "cwd without NUL" },
	{ S("/bin\0/ls"), S("/usr/bin/ls"), S("/"), "filename with a NUL inside" },
	{ S("/bin/ls"), S("/usr\0bin/ls"), S("/"), "image with a NUL inside" },
	{ S("/bin/ls"), S("/usr/bin/ls"), S("/t\0mp"), "cwd with a NUL inside" },
	{ "", 0, S("/usr/bin/ls"), S("/"), "empty filename field" },
	{ S("/bin/ls"), "", 0, S("/"), "empty image field" },
	{ S("/bin/ls"), S("/usr/bin/ls"), "", 0, "empty cwd field" },
};

static void bad_exec_records(void **state)
{
	struct record r;
	struct pw_raw_exec *x;

	(void)state;
	/* the lengths in the record disagree with its size */
	r = make_exec();
	x = r.data;
	x->args_len++;
	expect_bad(&r, r.size, "args_len one too many");
	x->args_len -= 2;
	expect_bad(&r, r.size, "args_len one too few");
	x->args_len = UINT32_MAX;
	expect_bad(&r, r.size, "args_len UINT32_MAX");
	x->args_len = UINT32_MAX - x->filename_len - x->image_len - x->cwd_len + 1;
	expect_bad(&r, r.size, "lengths that wrap 32 bits");
	free_record(&r);

	r = make_exec();
	x = r.data;
	x->filename_len = 0xffff;
	expect_bad(&r, r.size, "filename_len 0xffff");
	free_record(&r);

	/* a record cut after its fixed part */
	r = make_exec();
	x = r.data;
	x->hdr.size = sizeof(*x);
	expect_bad(&r, r.size, "exec header only");
	x->hdr.size = sizeof(*x) - 1;
	expect_bad(&r, r.size, "exec shorter than its fixed part");
	free_record(&r);

	/*
	 * EXEC records of every size between the header and the fixed exec
	 * part, consistent with their own size field: the decoder must not
	 * read the exec fields that are not there.
	 */
	for (size_t n = sizeof(struct pw_raw_header); n < sizeof(*x); n++) {
		struct record shortrec = { .data = malloc(n), .size = n };
		struct pw_raw_header h;

		assert_non_null(shortrec.data);
		fill_header(&h, PW_RAW_EXEC, n);
		memcpy(shortrec.data, &h, sizeof(h));
		memset((char *)shortrec.data + sizeof(h), 0, n - sizeof(h));
		expect_bad(&shortrec, n, "exec record shorter than struct pw_raw_exec");
		free_record(&shortrec);
	}

	/* the strings must each end in their NUL, and hold no other */
	for (size_t i = 0; i < sizeof(bad_strings) / sizeof(bad_strings[0]); i++) {
		const struct bad_strings *c = &bad_strings[i];

		r = make_exec_raw(c->filename, c->filename_len, c->image, c->image_len, c->cwd, c->cwd_len,
				  B("ls\0"));
		expect_bad(&r, r.size, c->what);
		free_record(&r);
	}
}

/*
 * Every single-byte corruption and every truncation of a valid exec record
 * either decodes to consistent strings or is rejected; none reads outside
 * the record (ASan would abort).
 */
static void exec_mutations_never_overread(void **state)
{
	struct record good = make_exec();
	struct pw_decode_buf buf = { 0 };
	static const unsigned char values[] = { 0x00, 0x01, 0x7f, 0x80, 0xff };
	unsigned long decoded = 0, rejected = 0;

	(void)state;
	for (size_t pos = 0; pos < good.size; pos++) {
		for (size_t v = 0; v < sizeof(values); v++) {
			unsigned char *copy = malloc(good.size);
			struct pw_event ev;
			int err;

			assert_non_null(copy);
			memcpy(copy, good.data, good.size);
			copy[pos] = values[v];
			err = pw_event_decode(&ev, copy, good.size, &buf);
			if (err) {
				assert_int_equal(err, -EBADMSG);
				rejected++;
			} else {
				decoded++;
				/* touch everything a consumer would */
				if (ev.type == PW_EVENT_EXEC) {
					assert_non_null(pw_event_image(&ev));
					assert_true(strlen(pw_event_exec_filename(&ev)) +
							    strlen(pw_event_image(&ev)) +
							    strlen(pw_event_cwd(&ev)) <
						    good.size);
				}
				for (size_t i = 0; i < pw_event_argc(&ev); i++)
					assert_non_null(pw_event_arg(&ev, i));
				assert_null(pw_event_arg(&ev, pw_event_argc(&ev)));
			}
			free(copy);
		}
	}
	for (size_t len = 0; len < good.size; len++) {
		unsigned char *copy = malloc(len ? len : 1);
		struct pw_event ev;

		assert_non_null(copy);
		memcpy(copy, good.data, len);
		assert_int_equal(pw_event_decode(&ev, copy, len, &buf), -EBADMSG);
		free(copy);
	}
	assert_true(decoded > 0);
	assert_true(rejected > 0);
	free_record(&good);
	pw_decode_buf_free(&buf);
}

/* Random records: garbage after a plausible header, random lengths. */
static void random_records(void **state)
{
	struct pw_decode_buf buf = { 0 };
	uint64_t x = 0x2545f4914f6cdd1dull;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t size, i;
		unsigned char *rec;
		struct pw_raw_header *h;
		struct pw_raw_exec *e;
		struct pw_event ev;
		int err;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		size = sizeof(struct pw_raw_header) + x % 256;
		rec = malloc(size);
		assert_non_null(rec);
		for (i = 0; i < size; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			rec[i] = (unsigned char)(x % 7 == 0 ? 0 : x);
		}
		h = (struct pw_raw_header *)rec;
		h->type = (__u16)(1 + x % 6);
		h->size = (__u32)(x % 3 ? size : size - x % 16);
		if (size >= sizeof(*e) && x % 2) {
			e = (struct pw_raw_exec *)rec;
			/* lengths that add up, strings that may or may not */
			size_t tail = size - sizeof(*e);

			e->filename_len = (__u16)(tail / 4);
			e->image_len = (__u16)(tail / 4);
			e->cwd_len = (__u16)(tail / 4);
			e->args_len = (__u32)(tail - 3 * (tail / 4));
		}
		err = pw_event_decode(&ev, rec, size, &buf);
		assert_true(err == 0 || err == -EBADMSG);
		if (!err)
			for (i = 0; i <= pw_event_argc(&ev); i++)
				(void)pw_event_arg(&ev, i);
		free(rec);
	}
	pw_decode_buf_free(&buf);
}

/* ------------------------------------------------------------- pw_split_args */

struct split_case {
	const char *bytes;
	size_t len;
	size_t argc;
	const char *argv[4];
};

static void split_args_cases(void **state)
{
	static const struct split_case cases[] = {
		{ "", 0, 0, { NULL } },
		{ B("\0"), 1, { "" } },
		{ B("\0\0"), 2, { "", "" } },
		{ B("a"), 1, { "a" } },
		{ B("a\0"), 1, { "a" } },
		{ B("a\0b"), 2, { "a", "b" } },
		{ B("a\0b\0"), 2, { "a", "b" } },
		{ B("a\0\0b"), 3, { "a", "", "b" } },
		{ B("a\0b\0\0"), 3, { "a", "b", "" } },
		{ B("\0a"), 2, { "", "a" } },
		{ B("ls\0-la\0/tmp\0"), 3, { "ls", "-la", "/tmp" } },
	};
	struct pw_decode_buf buf = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct split_case *c = &cases[i];
		size_t argc = 99;

		assert_int_equal(pw_split_args(c->bytes, c->len, &buf, &argc), 0);
		if (argc != c->argc)
			fail_msg("case %zu: argc %zu, want %zu", i, argc, c->argc);
		for (size_t k = 0; k < argc; k++)
			assert_string_equal(buf.argv[k], c->argv[k]);
		if (argc)
			assert_null(buf.argv[argc]);
		/* the copy is terminated even when the input was not */
		if (c->len)
			assert_int_equal(buf.args[c->len], 0);
	}
	pw_decode_buf_free(&buf);
	assert_null(buf.args);
	assert_null(buf.argv);
	pw_decode_buf_free(&buf); /* twice is harmless */
}

/* The split copies: the source may go away, and buffers grow across calls. */
static void split_args_copies_and_grows(void **state)
{
	struct pw_decode_buf buf = { 0 };
	size_t argc, len = 3 * 5000;
	char *src = malloc(len);

	(void)state;
	assert_non_null(src);
	for (size_t i = 0; i < len; i += 3)
		memcpy(src + i, "ab", 3);
	assert_int_equal(pw_split_args(src, 3, &buf, &argc), 0);
	assert_int_equal(argc, 1);
	assert_int_equal(pw_split_args(src, len, &buf, &argc), 0);
	assert_int_equal(argc, 5000);
	memset(src, 'z', len);
	free(src);
	assert_string_equal(buf.argv[0], "ab");
	assert_string_equal(buf.argv[4999], "ab");
	assert_null(buf.argv[5000]);
	assert_true(buf.args_cap >= len + 1);
	assert_true(buf.argv_cap >= 5001);
	/* and shrinking inputs reuse them */
	assert_int_equal(pw_split_args("x\0y", 3, &buf, &argc), 0);
	assert_int_equal(argc, 2);
	assert_string_equal(buf.argv[1], "y");
	pw_decode_buf_free(&buf);
}

/* The same bytes split the same way in events and in the process table. */
static void split_agrees_with_process_table(void **state)
{
	static const char *const inputs[] = { "a", "a\0", "a\0\0b", "\0", "\0\0\0", "x\0yy\0zzz" };
	static const size_t lens[] = { 1, 2, 4, 1, 3, 9 };
	struct pw_decode_buf buf = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(*inputs); i++) {
		struct pw_process p;
		size_t argc;

		memset(&p, 0, sizeof(p));
		assert_int_equal(pw_split_args(inputs[i], lens[i], &buf, &argc), 0);
		assert_int_equal(pw_process_set_args(&p, inputs[i], lens[i]), 0);
		if (argc != p.argc)
			fail_msg("input %zu: decode argc %zu, process table argc %u", i, argc, p.argc);
		for (size_t k = 0; k < argc; k++)
			assert_string_equal(buf.argv[k], p.argv[k]);
		pw_process_clear(&p);
	}
	pw_decode_buf_free(&buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exec_record),
		cmocka_unit_test(exec_record_flags_and_comm),
		cmocka_unit_test(exec_truncated_args),
		cmocka_unit_test(exec_maximal_record),
		cmocka_unit_test(clone_records),
		cmocka_unit_test(exit_records),
		cmocka_unit_test(lost_event_accessors),
		cmocka_unit_test(type_names),
		cmocka_unit_test(bad_sizes),
		cmocka_unit_test(unknown_types),
		cmocka_unit_test(bad_exec_records),
		cmocka_unit_test(exec_mutations_never_overread),
		cmocka_unit_test(random_records),
		cmocka_unit_test(split_args_cases),
		cmocka_unit_test(split_args_copies_and_grows),
		cmocka_unit_test(split_agrees_with_process_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
