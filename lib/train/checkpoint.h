/* Checkpoint files: named binary sections with a checksum, written to a
 * temporary file, fsynced and renamed, so a kill at any moment leaves
 * either the old checkpoint or the new one, never a torn file.
 *
 * Layout: "ESCKPT01", u32 section count, then per section u32 name
 * length, name, u64 byte count, bytes; then u64 FNV-1a of all that. */
#ifndef ES_TRAIN_CHECKPOINT_H
#define ES_TRAIN_CHECKPOINT_H

#include <stddef.h>

typedef struct {
    const char *name;
    void *data;
    size_t bytes;
} checkpoint_section;

int checkpoint_save(const char *path, const checkpoint_section *sections, int n);

/* Reads a checkpoint into memory and verifies it. Every handle from
 * checkpoint_open() has its checkpoint_close(). */
typedef struct checkpoint checkpoint;
int checkpoint_open(const char *path, checkpoint **out);
void checkpoint_close(checkpoint *ck);

/* Copies section name into data, which must be exactly bytes long;
 * ES_ESTATE names the section if it is missing or of another size. */
int checkpoint_read(const checkpoint *ck, const char *name, void *data, size_t bytes);

/* A section of any size: pointer into the checkpoint's memory (valid until
 * close), or NULL if absent. */
const void *checkpoint_find(const checkpoint *ck, const char *name, size_t *bytes);

/* Writes a whole file atomically (temp file, fsync, rename). */
int file_write_atomic(const char *path, const void *data, size_t bytes);

#endif
