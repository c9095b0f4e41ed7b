// SPDX-License-Identifier: MIT
/*
 * alerts.c - the sampler's threshold rules: parse "cpu > 90% for 5s", and
 * raise one RESOURCE_ALERT per process per crossing, re-armed below it.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "resource/sampler.h"
#include "monitor/event.h"
#include "monitor/monitor.h"

PW_API int pw_sampler_add_alert(struct pw_sampler *s, const struct pw_alert_rule *rule)
{
	struct pw_alert_state *a;

	if (!s || !rule || rule->sz < offsetof(struct pw_alert_rule, name) + sizeof(char *))
		return -EINVAL;
	if (rule->kind < PW_ALERT_CPU || rule->kind > PW_ALERT_THREADS || rule->pid < 0)
		return -EINVAL;
	if (rule->name && strlen(rule->name) > 15)
		return -ENAMETOOLONG;
	if (s->n_alerts >= PW_MAX_ALERT_RULES)
		return -PW_ERR_RULE_LIMIT;
	a = &s->alerts[s->n_alerts];
	memset(a, 0, sizeof(*a));
	memcpy(&a->rule, rule, sizeof(a->rule));
	a->rule.sz = sizeof(a->rule);
	if (rule->name) {
		strcpy(a->name, rule->name);
		a->rule.name = a->name;
	}
	return (int)s->n_alerts++;
}

static uint64_t measure(const struct pw_alert_rule *r, const struct pw_proc_usage *u,
			uint64_t interval_ns)
{
	switch (r->kind) {
	case PW_ALERT_CPU:
		/* percent of one CPU over the interval */
		return interval_ns ? (uint64_t)((unsigned __int128)u->cpu_delta_ns * 100 / interval_ns)
				   : 0;
	case PW_ALERT_RSS:
		return u->rss_bytes;
	case PW_ALERT_THREADS:
		return u->threads;
	}
	return 0;
}

static int raise_alert(struct pw_sampler *s, unsigned int idx, const struct pw_proc_usage *u,
		       const struct pw_raw_token *token, uint64_t value)
{
	struct pw_raw_header hdr;
	struct pw_event ev;

	if (!s->opts.on_event)
		return 0;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = PW_EVENT_RESOURCE_ALERT;
	hdr.size = sizeof(hdr);
	hdr.ts_ns = s->sample.time_ns;
	hdr.start_ns = u->key.start_ns;
	hdr.pid = (uint32_t)u->key.pid;
	hdr.tid = (uint32_t)u->key.pid;
	hdr.ppid = (uint32_t)u->ppid;
	memcpy(hdr.comm, u->name, sizeof(hdr.comm));
	hdr.token = *token;
	memset(&ev, 0, sizeof(ev));
	ev.type = PW_EVENT_RESOURCE_ALERT;
	ev.hdr = &hdr;
	memcpy(ev.comm, u->name, sizeof(ev.comm));
	ev.image = u->image;
	ev.argv = u->argv;
	ev.argc = u->argc;
	ev.names = s->mon ? s->mon->names : NULL;
	ev.alert_rule = (int)idx;
	ev.alert_kind = s->alerts[idx].rule.kind;
	ev.alert_value = value;
	ev.alert_threshold = s->alerts[idx].rule.threshold;
	return s->opts.on_event(s->mon, &ev, s->opts.userdata);
}

int pw_alerts_check(struct pw_sampler *s, const struct pw_proc_usage *u,
		    const struct pw_raw_token *token, struct pw_proc_prev *prev)
{
	uint64_t now = s->sample.time_ns;

	for (unsigned int i = 0; i < s->n_alerts; i++) {
		const struct pw_alert_rule *r = &s->alerts[i].rule;
		uint64_t value, bit = 1u << i;
		uint64_t since;

		if ((r->pid && r->pid != u->key.pid) || (r->name && strcmp(r->name, u->name)))
			continue;
		value = measure(r, u, s->sample.interval_ns);
		if (value <= r->threshold) {
			/* below again: re-armed */
			prev->fired &= ~(uint32_t)bit;
			prev->above_since[i] = 0;
			continue;
		}
		if (!prev->above_since[i]) {
			/* For CPU the whole interval was above: it started at the previous sample. */
			since = r->kind == PW_ALERT_CPU ? now - s->sample.interval_ns : now;
			prev->above_since[i] = since ? since : 1;
		}
		if (prev->fired & bit)
			continue;
		if (now - prev->above_since[i] + 1000000 < (uint64_t)r->for_ms * 1000000)
			continue; /* not long enough yet (1 ms of slack for timer jitter) */
		prev->fired |= (uint32_t)bit;
		int err = raise_alert(s, i, u, token, value);

		if (err)
			return err;
	}
	return 0;
}

/* ---- text form ---- */

static const char *skip_blank(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* The next word of p into buf; NULL at the end or if longer than cap - 1. */
static const char *word(const char *p, char *buf, size_t cap)
{
	size_t n = 0;

	p = skip_blank(p);
	if (!*p)
		return NULL;
	while (p[n] && p[n] != ' ' && p[n] != '\t')
		n++;
	if (n >= cap)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = 0;
	return p + n;
}

/* A decimal number and its suffix; -1 on a malformed number. */
static int number(const char *s, uint64_t *v, const char **suffix)
{
	uint64_t x = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	*suffix = s;
	return 0;
}

static int size_value(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	const char *suf;
	uint64_t v;
	int shift = 0;

	if (number(s, &v, &suf))
		return -1;
	if (*suf) {
		const char *u = strchr(units, *suf >= 'a' ? *suf - 32 : *suf);

		if (!u || !*u)
			return -1;
		shift = 10 * (int)(u - units + 1);
		suf++;
		if (!strcmp(suf, "iB") || !strcmp(suf, "B") || !strcmp(suf, "ib") || !strcmp(suf, "b"))
			suf += strlen(suf);
		if (*suf)
			return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

PW_API int pw_alert_rule_parse(const char *text, struct pw_alert_rule *out, char **storage)
{
	char kind[16], op[4], value[32], w[32];
	const char *p = text, *suf;
	struct pw_alert_rule r = { .sz = sizeof(r) };
	uint64_t v;

	if (!text || !out || !storage)
		return -EINVAL;
	*storage = NULL;
	if (!(p = word(p, kind, sizeof(kind))) || !(p = word(p, op, sizeof(op))) ||
	    !(p = word(p, value, sizeof(value))) || strcmp(op, ">"))
		return -PW_ERR_RULE_SYNTAX;
	if (!strcmp(kind, "cpu")) {
		r.kind = PW_ALERT_CPU;
		if (number(value, &v, &suf) || (*suf && strcmp(suf, "%")) || v > 100000)
			return -PW_ERR_RULE_SYNTAX;
		r.threshold = v;
	} else if (!strcmp(kind, "rss")) {
		r.kind = PW_ALERT_RSS;
		if (size_value(value, &r.threshold))
			return -PW_ERR_RULE_SYNTAX;
	} else if (!strcmp(kind, "threads")) {
		r.kind = PW_ALERT_THREADS;
		if (number(value, &v, &suf) || *suf || v > UINT32_MAX)
			return -PW_ERR_RULE_SYNTAX;
		r.threshold = v;
	} else {
		return -PW_ERR_RULE_SYNTAX;
	}
	while ((p = word(p, w, sizeof(w)))) {
		char arg[32];

		if (!(p = word(p, arg, sizeof(arg))))
			goto bad;
		if (!strcmp(w, "for")) {
			if (number(arg, &v, &suf))
				goto bad;
			if (v > UINT_MAX)
				goto bad;
			if (!strcmp(suf, "s"))
				v *= 1000;
			else if (strcmp(suf, "ms"))
				goto bad;
			if (v > UINT_MAX)
				goto bad;
			r.for_ms = (unsigned int)v;
		} else if (!strcmp(w, "pid")) {
			if (number(arg, &v, &suf) || *suf || !v || v > INT_MAX)
				goto bad;
			r.pid = (pid_t)v;
		} else if (!strcmp(w, "name")) {
			if (strlen(arg) > 15 || r.name)
				goto bad;
			*storage = strdup(arg);
			if (!*storage)
				return -ENOMEM; /* nothing else was allocated */
			r.name = *storage;
		} else {
			goto bad;
		}
	}
	*out = r;
	return 0;
bad:
	free(*storage);
	*storage = NULL;
	return -PW_ERR_RULE_SYNTAX;
}
