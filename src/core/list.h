/* SPDX-License-Identifier: MIT */
/* core/list.h - the one intrusive doubly-linked list (the kernel's list_head): O(1) unlink from anywhere. */
#ifndef PW_LIST_H
#define PW_LIST_H

#include <stdbool.h>
#include <stddef.h>

/* A list is a sentinel node; an element embeds a node. An unlinked node points at itself. */
struct pw_list {
	struct pw_list *prev, *next;
};

#define pw_container_of(node, type, member) ((type *)((char *)(node) - offsetof(type, member)))

static inline void pw_list_init(struct pw_list *node)
{
	node->prev = node->next = node;
}

static inline bool pw_list_empty(const struct pw_list *head)
{
	return head->next == head;
}

/* Link node first (right after head). */
static inline void pw_list_push(struct pw_list *head, struct pw_list *node)
{
	node->prev = head;
	node->next = head->next;
	head->next->prev = node;
	head->next = node;
}

/* Unlink node from whatever list holds it (a node already unlinked stays so). */
static inline void pw_list_del(struct pw_list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	pw_list_init(node);
}

/* First and last nodes; the head itself when the list is empty. */
#define pw_list_first(head) ((head)->next)
#define pw_list_last(head) ((head)->prev)

#endif
