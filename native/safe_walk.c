// walkTree: a directory's whole tree, to max_depth levels, observed in one call from JavaScript
// without following any symbolic link.
//
// A realtime `directory` promise over 10,000 files re-reads its tree on every event; reaching each
// entry by its full path (openat2, fstat, close, one N-API call each) made that 0.3 s a
// change (bench/watch). Here the root is reached as resolve() reaches any path (no link anywhere
// in it), and from there every entry is observed relative to its directory's descriptor:
// fstatat(AT_SYMLINK_NOFOLLOW) for each name, readlinkat for a link's target, and a subdirectory
// entered by openat(O_NOFOLLOW | O_DIRECTORY) only when the directory opened is the one just
// observed (same device and inode): a directory swapped for another (or for a link) between the
// two is reported, never walked. Names are sorted in JavaScript's order (UTF-16 code units), so
// the entries come out as the JavaScript walk they replace produced them: depth first, sorted.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safe_fs.h"

// One record per entry, as doubles (Node's own fs.Stats are doubles too): kind, errno, st_mode,
// uid, gid, size, mtime s, mtime ns, ctime s, ctime ns, dev, ino, nlink, then the inode number's
// high and low 32 bits, each exact where the whole, above 2^53, is not (STAT_FIELDS in safe_fs.c).
#define FIELDS 15
enum { REC_ENTRY = 0, REC_STAT_ERROR = 1, REC_LIST_ERROR = 2, REC_TOO_DEEP = 3, REC_REPLACED = 4 };

typedef struct {
  double *numbers;
  char **paths;
  char **links;
  size_t count, capacity;
  int failed;
} records;

static double *add_record(records *r, const char *path, int kind, int err) {
  if (r->failed) return NULL;
  if (r->count == r->capacity) {
    size_t cap = r->capacity ? r->capacity * 2 : 1024;
    double *n = realloc(r->numbers, cap * FIELDS * sizeof(double));
    if (n) r->numbers = n;
    char **p = realloc(r->paths, cap * sizeof(char *));
    if (p) r->paths = p;
    char **l = realloc(r->links, cap * sizeof(char *));
    if (l) r->links = l;
    if (!n || !p || !l) {
      r->failed = ENOMEM;
      return NULL;
    }
    r->capacity = cap;
  }
  double *rec = r->numbers + r->count * FIELDS;
  memset(rec, 0, FIELDS * sizeof(double));
  rec[0] = kind;
  rec[1] = err;
  r->paths[r->count] = strdup(path);
  r->links[r->count] = NULL;
  if (!r->paths[r->count]) {
    r->failed = ENOMEM;
    return NULL;
  }
  r->count++;
  return rec;
}

static void fill_stat(double *rec, const struct stat *st) {
  rec[2] = st->st_mode;
  rec[3] = st->st_uid;
  rec[4] = st->st_gid;
  rec[5] = (double)st->st_size;
  rec[6] = (double)st->st_mtim.tv_sec;
  rec[7] = (double)st->st_mtim.tv_nsec;
  rec[8] = (double)st->st_ctim.tv_sec;
  rec[9] = (double)st->st_ctim.tv_nsec;
  rec[10] = (double)st->st_dev;
  rec[11] = (double)st->st_ino;
  rec[12] = (double)st->st_nlink;
  rec[13] = (double)((uint64_t)st->st_ino >> 32);
  rec[14] = (double)((uint64_t)st->st_ino & 0xffffffffu);
}

// JavaScript's sort order of strings, on their UTF-8 bytes: by UTF-16 code unit, where
// U+E000..U+FFFF (lead bytes EE, EF) come after the characters beyond U+FFFF (surrogates; lead
// bytes F0..F4). Elsewhere UTF-8's byte order is the code point order.
static int utf16_rank(unsigned char b) {
  if (b == 0xEE || b == 0xEF) return 0x100 + b;
  return b;
}

static int js_order(const void *a, const void *b) {
  const unsigned char *x = *(const unsigned char *const *)a, *y = *(const unsigned char *const *)b;
  while (*x && *x == *y) x++, y++;
  if (*x == *y) return 0;
  return utf16_rank(*x) - utf16_rank(*y);
}

// The names in the directory `fd` (read through a duplicate, so `fd` stays usable), sorted; NULL
// with errno set when it cannot be read.
static char **list_names(int fd, size_t *count) {
  int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return NULL;
  DIR *dir = fdopendir(dup_fd);
  if (!dir) {
    int err = errno;
    close(dup_fd);
    errno = err;
    return NULL;
  }
  size_t n = 0, cap = 64;
  char **names = malloc(cap * sizeof(char *));
  struct dirent *d;
  errno = 0;
  while (names && (d = readdir(dir)) != NULL) {
    if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0) continue;
    if (n == cap) {
      char **bigger = realloc(names, (cap *= 2) * sizeof(char *));
      if (!bigger) break;
      names = bigger;
    }
    if (!(names[n] = strdup(d->d_name))) break;
    n++;
    errno = 0;
  }
  int err = names ? errno : ENOMEM;
  closedir(dir);
  if (err) {
    for (size_t i = 0; names && i < n; i++) free(names[i]);
    free(names);
    errno = err;
    return NULL;
  }
  qsort(names, n, sizeof(char *), js_order);
  *count = n;
  return names;
}

static char *read_link(int dir, const char *name) {
  char buf[PATH_BYTES];
  ssize_t n = readlinkat(dir, name, buf, sizeof buf - 1);
  if (n < 0) return NULL;
  buf[n] = '\0';
  return strdup(buf);
}

// The entries of the directory `fd` (its path relative to the root: `prefix`), and below them.
static void walk_dir(records *r, int fd, const char *prefix, int depth, int max_depth) {
  size_t count = 0;
  char **names = list_names(fd, &count);
  if (!names) {
    add_record(r, prefix, REC_LIST_ERROR, errno);
    return;
  }
  char path[PATH_BYTES];
  for (size_t i = 0; i < count && !r->failed; i++) {
    const char *name = names[i];
    if ((size_t)snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", name) >= sizeof path) {
      add_record(r, prefix, REC_STAT_ERROR, ENAMETOOLONG);
      continue;
    }
    struct stat st;
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      add_record(r, path, REC_STAT_ERROR, errno);
      continue;
    }
    double *rec = add_record(r, path, REC_ENTRY, 0);
    if (!rec) break;
    fill_stat(rec, &st);
    if (S_ISLNK(st.st_mode)) {
      char *target = read_link(fd, name);
      if (!target) {
        // gone or replaced since its fstatat: as the path walk it replaces, an entry not read
        r->count--;
        free(r->paths[r->count]);
        add_record(r, path, REC_STAT_ERROR, errno ? errno : ENOMEM);
        continue;
      }
      r->links[r->count - 1] = target;
    }
    if (!S_ISDIR(st.st_mode)) continue;
    if (depth >= max_depth) {
      add_record(r, path, REC_TOO_DEEP, 0);
      continue;
    }
    int sub = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (sub < 0) {
      // a link or another file put in its place (ELOOP, ENOTDIR) is a replaced directory
      int err = errno;
      add_record(r, path, err == ELOOP || err == ENOTDIR ? REC_REPLACED : REC_LIST_ERROR, err);
      continue;
    }
    struct stat opened;
    if (fstat(sub, &opened) < 0 || opened.st_dev != st.st_dev || opened.st_ino != st.st_ino) {
      add_record(r, path, REC_REPLACED, 0);
      close(sub);
      continue;
    }
    walk_dir(r, sub, path, depth + 1, max_depth);
    close(sub);
  }
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
}

static void free_records(records *r) {
  for (size_t i = 0; i < r->count; i++) {
    free(r->paths[i]);
    free(r->links[i]);
  }
  free(r->numbers);
  free(r->paths);
  free(r->links);
}

// walkTree(root: string, maxDepth: number): { paths: string[], numbers: Float64Array, links:
// (string | undefined)[] } — the entries below the directory `root` (absolute; no link in it is
// followed), depth first, each directory's names in JavaScript's sort order.
napi_value js_walk_tree(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char root[PATH_BYTES];
  int32_t max_depth = 0;
  if (argc < 2 || !get_path(env, argv[0], root) || root[0] != '/' || napi_get_value_int32(env, argv[1], &max_depth) != napi_ok || max_depth < 1)
    return usage(env, "walkTree(root: string (absolute), maxDepth: number (1 or more))");
  records r = {0};
  int fd = resolve_no_links(-1, root, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
  if (fd < 0) add_record(&r, "", REC_LIST_ERROR, -fd);
  else {
    walk_dir(&r, fd, "", 1, max_depth);
    close(fd);
  }
  if (r.failed) {
    free_records(&r);
    return throw_errno(env, r.failed, "cannot walk", root);
  }
  napi_value result, paths, links, buffer, numbers;
  void *data = NULL;
  napi_create_object(env, &result);
  napi_create_array_with_length(env, r.count, &paths);
  napi_create_array_with_length(env, r.count, &links);
  napi_create_arraybuffer(env, r.count * FIELDS * sizeof(double), &data, &buffer);
  if (r.count) memcpy(data, r.numbers, r.count * FIELDS * sizeof(double));
  napi_create_typedarray(env, napi_float64_array, r.count * FIELDS, buffer, 0, &numbers);
  for (size_t i = 0; i < r.count; i++) {
    napi_value s;
    napi_create_string_utf8(env, r.paths[i], NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, paths, (uint32_t)i, s);
    if (r.links[i]) {
      napi_create_string_utf8(env, r.links[i], NAPI_AUTO_LENGTH, &s);
      napi_set_element(env, links, (uint32_t)i, s);
    }
  }
  napi_set_named_property(env, result, "paths", paths);
  napi_set_named_property(env, result, "numbers", numbers);
  napi_set_named_property(env, result, "links", links);
  free_records(&r);
  return result;
}
