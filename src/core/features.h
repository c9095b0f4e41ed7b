/* SPDX-License-Identifier: MIT */
/* features.h - probing kernel features one at a time, for callers that need only some. */
#ifndef PW_FEATURES_H
#define PW_FEATURES_H

/*
 * The subset of `want` (enum pw_feature bits) the kernel has, probing only
 * what was not probed before in this process; pw_features() is all of them.
 * Any thread.
 */
unsigned int pw_features_probe(unsigned int want);

#endif
