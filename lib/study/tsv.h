/* Reading the tab-separated files a study writes (results.tsv, plan.tsv):
 * one line split in place into fields, and a field read as a number. */
#ifndef ES_STUDY_TSV_H
#define ES_STUDY_TSV_H

/* Splits line in place at its tabs into fields[0..max-1]. Returns the
 * number of fields, or max + 1 if the line has more than max. */
int tsv_split(char *line, char **fields, int max);

/* The whole of s as a double ("nan" included, as the writers print missing
 * values): 0, or -1 if s is empty, has trailing text or overflows. */
int tsv_number(const char *s, double *out);

#endif
