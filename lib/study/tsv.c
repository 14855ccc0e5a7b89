/* Tab-separated fields and numbers of the study's files. */
#include "study/tsv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int tsv_split(char *line, char **fields, int max)
{
    int k = 0;
    char *p = line;
    while (k < max) {
        fields[k++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            return k;
        *tab = '\0';
        p = tab + 1;
    }
    return max + 1;
}

int tsv_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}
