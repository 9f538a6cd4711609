// The holders scan itself (native/fd_scan.c says what it answers and why it is made so): run on
// libuv's threadpool, it makes no N-API call. Every name is reached relative to a directory
// descriptor, no link followed but each descriptor's own; the processes are shared among the
// threads asked for, one at a time.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fd_scan.h"

#define TEXT_LIMIT (1 << 20)  // a process's file read at most this far (a cmdline is at most ARG_MAX)
static const char DELETED[] = " (deleted)";

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

// `first`: this process's first match (the matches before it are other processes').
static int add_match(found *f, size_t first, int32_t pid, size_t target, int deleted) {
  for (size_t i = first; i < f->match_count; i++)  // several descriptors on one file: one match
    if (f->matches[i].pid == pid && f->matches[i].target == (int32_t)target && f->matches[i].deleted == deleted) return 0;
  if (f->match_count == f->match_capacity) {
    size_t cap = f->match_capacity ? f->match_capacity * 2 : 16;
    match *m = realloc(f->matches, cap * sizeof(match));
    if (!m) return (f->failed = ENOMEM);
    f->matches = m;
    f->match_capacity = cap;
  }
  f->matches[f->match_count++] = (match){.pid = pid, .target = (int32_t)target, .deleted = deleted};
  return 0;
}

// The pid directories' names, as numbers; NULL with errno set when the root cannot be listed.
static int32_t *list_pids(int root, size_t *count) {
  int dup_fd = fcntl(root, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return NULL;
  DIR *dir = fdopendir(dup_fd);
  if (!dir) {
    int err = errno;
    close(dup_fd);
    errno = err;
    return NULL;
  }
  size_t n = 0, cap = 512;
  int32_t *pids = malloc(cap * sizeof(int32_t));
  struct dirent *d;
  errno = 0;
  while (pids && (d = readdir(dir)) != NULL) {
    const char *s = d->d_name;
    if (*s < '0' || *s > '9') continue;
    long v = 0;
    for (; *s >= '0' && *s <= '9' && v <= INT32_MAX; s++) v = v * 10 + (*s - '0');
    if (*s || v > INT32_MAX) continue;  // "12a", or no pid
    if (n == cap) {
      int32_t *bigger = realloc(pids, (cap *= 2) * sizeof(int32_t));
      if (!bigger) {
        free(pids);
        pids = NULL;
        break;
      }
      pids = bigger;
    }
    pids[n++] = (int32_t)v;
    errno = 0;
  }
  int err = pids ? errno : ENOMEM;
  closedir(dir);
  if (err) {
    free(pids);
    errno = err;
    return NULL;
  }
  *count = n;
  return pids;
}

// The mount namespace's inode of the process whose directory is `dir` (its ns/mnt link
// followed; "ns" itself never a link); 0 when it cannot be read.
static ino_t mount_namespace(int dir) {
  int ns = openat(dir, "ns", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (ns < 0) return 0;
  struct stat st;
  ino_t ino = fstatat(ns, "mnt", &st, 0) == 0 ? st.st_ino : 0;
  close(ns);
  return ino;
}

// The descriptor `name` in `fd_dir`, whose file (`st`) has no links left: a match by its former
// name when the process sees the watcher's mounts and the name is a target's (see the top).
static void match_deleted(const scan_job *j, found *f, size_t first, int32_t pid, int pid_dir, int fd_dir, const char *name, const struct stat *st, ino_t own_ns, ino_t *pid_ns) {
  if (own_ns) {
    if (*pid_ns == (ino_t)-1) *pid_ns = mount_namespace(pid_dir);  // once a process, and only when needed
    if (*pid_ns != own_ns) return;
  }
  char link[PATH_BYTES];
  ssize_t n = readlinkat(fd_dir, name, link, sizeof link - 1);
  size_t suffix = sizeof DELETED - 1;
  if (n <= (ssize_t)suffix || link[0] != '/' || memcmp(link + n - suffix, DELETED, suffix) != 0) return;
  size_t length = (size_t)n - suffix;
  for (size_t i = 0; i < j->target_count; i++) {
    const target *t = &j->targets[i];
    if (t->length != length || memcmp(t->path, link, length) != 0) continue;
    if (t->has_file && (t->dev != (double)st->st_dev || t->ino == (uint64_t)st->st_ino)) continue;
    add_match(f, first, pid, i, 1);
  }
}

// The whole of `name` in the directory `dir` (a file of /proc/PID: its size says nothing).
static text read_text(int dir, const char *name) {
  text out = {NULL, 0};
  int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return out;
  size_t size = 4096;
  char *data = malloc(size);
  while (data) {
    if (out.length == size) {
      char *bigger = size >= TEXT_LIMIT ? NULL : realloc(data, size * 2);
      if (!bigger) break;  // as far as the limit: the rest is not needed
      data = bigger;
      size *= 2;
    }
    ssize_t n = read(fd, data + out.length, size - out.length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      free(data);
      data = NULL;
      out.length = 0;
    }
    if (n <= 0) break;
    out.length += (size_t)n;
  }
  close(fd);
  out.data = data;
  return out;
}

// The details of a process that holds a target, read through its directory.
static void read_holder(found *f, int pid_dir, int32_t pid) {
  if (f->holder_count == f->holder_capacity) {
    size_t cap = f->holder_capacity ? f->holder_capacity * 2 : 16;
    holder *h = realloc(f->holders, cap * sizeof(holder));
    if (!h) {
      f->failed = ENOMEM;
      return;
    }
    f->holders = h;
    f->holder_capacity = cap;
  }
  holder *h = &f->holders[f->holder_count++];
  memset(h, 0, sizeof *h);
  h->pid = pid;
  h->stat = read_text(pid_dir, "stat");
  h->status = read_text(pid_dir, "status");
  h->cmdline = read_text(pid_dir, "cmdline");
  char link[PATH_BYTES];
  ssize_t n = readlinkat(pid_dir, "exe", link, sizeof link);
  if (n >= 0 && (size_t)n < sizeof link) {
    h->exe.data = strndup(link, (size_t)n);
    h->exe.length = h->exe.data ? (size_t)n : 0;
  }
  h->stat_after = read_text(pid_dir, "stat");
}

void free_holder(holder *h) {
  free(h->stat.data);
  free(h->status.data);
  free(h->cmdline.data);
  free(h->exe.data);
  free(h->stat_after.data);
}

// The watcher's own mount namespace (<root>/self, the kernel's link to the caller); 0 when it
// cannot be read (a fixture /proc has no self).
static ino_t mount_namespace_of_self(int root) {
  int self = openat(root, "self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (self < 0) return 0;
  ino_t ino = mount_namespace(self);
  close(self);
  return ino;
}

// Why a process's directory could not be opened, when it is not that the process is gone (ENOENT,
// ESRCH: passed over) or that the entry is no directory (ELOOP, ENOTDIR: a link, in a fixture;
// passed over): another user's, not root.
static int refused(int err) {
  return err != ENOENT && err != ESRCH && err != ELOOP && err != ENOTDIR;
}

// One process: its descriptors stat'ed and matched.
static void scan_process(const scan_job *j, found *f, int32_t pid) {
  char name[16];
  snprintf(name, sizeof name, "%d", pid);
  int pid_dir = openat(j->root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (pid_dir < 0) {
    if (refused(errno)) f->denied++;
    return;
  }
  int fd_dir = openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dir = fd_dir < 0 ? NULL : fdopendir(fd_dir);
  if (!dir) {
    if (refused(errno)) f->denied++;
    if (fd_dir >= 0) close(fd_dir);
    close(pid_dir);
    return;
  }
  size_t first = f->match_count;
  ino_t pid_ns = (ino_t)-1;
  struct dirent *d;
  while (!f->failed && (d = readdir(dir)) != NULL) {
    if (d->d_name[0] == '.') continue;
    f->descriptors++;
    struct stat st;
    if (fstatat(fd_dir, d->d_name, &st, 0) < 0) continue;  // closed since listed, or unreachable
    for (size_t i = 0; i < j->target_count; i++) {
      const target *t = &j->targets[i];
      if (t->has_file && t->ino == (uint64_t)st.st_ino && t->dev == (double)st.st_dev) add_match(f, first, pid, i, 0);
    }
    if (st.st_nlink == 0 && j->named) match_deleted(j, f, first, pid, pid_dir, fd_dir, d->d_name, &st, j->own_ns, &pid_ns);
  }
  closedir(dir);
  if (f->match_count > first) read_holder(f, pid_dir, pid);
  close(pid_dir);
}

// A thread of the scan: processes taken one at a time from the shared list until none is left
// or the budget is spent.
typedef struct {
  scan_job *job;
  found f;
  pthread_t thread;
  int started;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  scan_job *j = w->job;
  while (!w->f.failed) {
    if (j->budget_ms >= 0 && now_ms() - j->started >= j->budget_ms) {
      w->f.stopped = __atomic_load_n(&j->next, __ATOMIC_RELAXED) < j->pid_count;
      break;
    }
    size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
    if (i >= j->pid_count) break;
    w->f.processes++;
    scan_process(j, &w->f, j->pids[i]);
  }
  return NULL;
}

// `from` appended to `into` (its texts moved, its arrays freed).
static void merge(found *into, found *from) {
  into->processes += from->processes;
  into->descriptors += from->descriptors;
  into->denied += from->denied;
  into->stopped |= from->stopped;
  into->failed = into->failed ? into->failed : from->failed;
  match *m = realloc(into->matches, (into->match_count + from->match_count + 1) * sizeof(match));
  if (m) into->matches = m;
  holder *h = realloc(into->holders, (into->holder_count + from->holder_count + 1) * sizeof(holder));
  if (h) into->holders = h;
  if (!m || !h) {
    into->failed = ENOMEM;
    for (size_t i = 0; i < from->holder_count; i++) free_holder(&from->holders[i]);
  } else {
    if (from->match_count) memcpy(into->matches + into->match_count, from->matches, from->match_count * sizeof(match));
    if (from->holder_count) memcpy(into->holders + into->holder_count, from->holders, from->holder_count * sizeof(holder));
    into->match_count += from->match_count;
    into->holder_count += from->holder_count;
  }
  free(from->matches);
  free(from->holders);
}

// In pid order, as one thread would have found them.
static int match_order(const void *a, const void *b) {
  const match *x = a, *y = b;
  if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
  if (x->target != y->target) return x->target < y->target ? -1 : 1;
  return x->deleted - y->deleted;
}

static int holder_order(const void *a, const void *b) {
  const holder *x = a, *y = b;
  return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void fd_scan_run(scan_job *j) {
  j->started = now_ms();
  j->root_fd = open(j->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  j->pids = j->root_fd < 0 ? NULL : list_pids(j->root_fd, &j->pid_count);
  if (!j->pids) {
    j->list_error = errno ? errno : EIO;
    if (j->root_fd >= 0) close(j->root_fd);
    return;
  }
  j->listed = (double)j->pid_count;
  j->own_ns = mount_namespace_of_self(j->root_fd);
  // the stat calls are the kernel's work, which spreads over processors: the caller says how
  // many threads (this one is the first; one that cannot be started leaves its share to the others)
  worker *workers = calloc((size_t)j->threads, sizeof(worker));
  int threads = workers ? j->threads : 1;
  for (int t = 1; t < threads; t++) {
    workers[t].job = j;
    workers[t].started = pthread_create(&workers[t].thread, NULL, work, &workers[t]) == 0;
  }
  worker self = {.job = j};
  work(&self);
  merge(&j->all, &self.f);
  for (int t = 1; t < threads; t++) {
    if (!workers[t].started) continue;
    pthread_join(workers[t].thread, NULL);
    merge(&j->all, &workers[t].f);
  }
  free(workers);
  if (j->all.match_count > 1) qsort(j->all.matches, j->all.match_count, sizeof(match), match_order);
  if (j->all.holder_count > 1) qsort(j->all.holders, j->all.holder_count, sizeof(holder), holder_order);
  free(j->pids);
  close(j->root_fd);
}

