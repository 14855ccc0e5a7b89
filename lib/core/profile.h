/* Wall-time accounting of the parts of a training step, for `bench`.
 * The model and the trainer bracket their parts with es_prof_begin/end;
 * the cost is two clock reads per part, so it is always on. Only the
 * calling (master) thread records; parts do not nest, except that a part
 * may pause its caller's (the optimizer pauses for the tables' update). */
#ifndef ES_CORE_PROFILE_H
#define ES_CORE_PROFILE_H

typedef enum {
    PROF_EMBEDDING,  /* token embedding and OverEncoding */
    PROF_ENGRAM,     /* all of Engram: lookup, gate, projections, conv, sparse table update */
    PROF_ATTENTION,  /* norms, q/k/v/o projections, RoPE, scores */
    PROF_ROUTING,    /* router, top-k, gather/scatter, balance */
    PROF_EXPERTS,    /* expert (or dense FFN) matrix products */
    PROF_HEAD,       /* final norm, LM head, cross-entropy */
    PROF_OPTIMIZER,  /* clipping, AdamW, sparse table updates */
    PROF_PARTS
} es_prof_part;

extern const char *const es_prof_names[PROF_PARTS];

void es_prof_begin(es_prof_part part);
void es_prof_end(es_prof_part part);
void es_prof_reset(void);
/* Seconds spent in part since the last reset. */
double es_prof_seconds(es_prof_part part);

#endif
