#include "core/profile.h"

#include "core/parallel.h"

const char *const es_prof_names[PROF_PARTS] = {"embedding", "engram", "attention", "routing",
                                                "experts",   "head",   "optimizer"};

static _Thread_local double spent[PROF_PARTS];
static _Thread_local double started[PROF_PARTS];

void es_prof_begin(es_prof_part part) { started[part] = es_seconds(); }

void es_prof_end(es_prof_part part) { spent[part] += es_seconds() - started[part]; }

void es_prof_reset(void)
{
    for (int i = 0; i < PROF_PARTS; i++)
        spent[i] = 0.0;
}

double es_prof_seconds(es_prof_part part) { return spent[part]; }
