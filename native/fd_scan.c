// fd_scan: which processes have given files open, for `covenant watch`'s "who was at the file"
// (src/probes/file-holders.ts), off the event loop.
//
// The scan is one readdir per process and one stat per descriptor (as fuser and lsof do). From
// JavaScript that was a path walk from / for each of them (/proc/PID/fd/N) and an N-API round
// trip, on the watcher's only thread: 25 ms on an idle VM, 0.2 to 0.7 s on a host with 20,000 to
// 100,000 descriptors (bench/who), added to the detection of every batch. Here it runs on libuv's
// threadpool (napi_create_async_work) and reaches every name relative to a descriptor: the /proc
// root, each /proc/PID (opened without following a link: a pid directory that is a link is
// passed over), its fd directory (the same), and each descriptor there by fstatat, which follows
// that one final link: the kernel's magic link to the very file the process holds (in a fixture
// /proc, a symbolic link to a real file). The pid directory's descriptor also pins the process:
// a pid reused while it is read is a different /proc/PID, so what is read through it is the
// scanned process's or nothing. For each process holding a target, its details are read so, in
// the thread too (with a few hundred holders, reading them from JavaScript cost more than the
// scan): the texts of stat (before and after the others: an exec meanwhile is seen), status,
// cmdline and the exe link, parsed by JavaScript.
//
// scan(procRoot, targets: { path, dev?, ino? }[], budgetMs, threads): Promise<{ matches:
// Float64Array (pid, target index, deleted 0 or 1: a match after another), holders: { pid,
// stat?, status?, cmdline?, exe?, statAfter? }[], processes, listed, descriptors, denied,
// stopped, listError }>
//   - a descriptor matches a target by device and inode (stat following the descriptor's link);
//   - one with no links left matches by its former name, "<target path> (deleted)" as readlinkat
//     gives it, when the file lies on the target's device, is not the file now at the path, and
//     the process is in the watcher's mount namespace (the inode of <root>/self/ns/mnt; not
//     checked when that cannot be read, as in a fixture /proc): docs/watch-findings.md says why;
//   - a process gone while it is read is passed over; one whose fd directory cannot be opened
//     otherwise (another user's, not root) is counted in `denied`; the matches of a process
//     whose stat cannot be read afterwards are kept, and JavaScript leaves it out (ended);
//   - after budgetMs (negative: none) no further process is looked at (`stopped`; `listed` minus
//     `processes` were not);
//   - `threads` threads take the processes one at a time (the stat calls are the kernel's work,
//     which spreads over processors); the answer is in pid order whatever their number.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PATH_BYTES 4096
#define MAX_THREADS 16
#define TEXT_LIMIT (1 << 20)  // a process's file read at most this far (a cmdline is at most ARG_MAX)
static const char DELETED[] = " (deleted)";

typedef struct {
  char *path;
  size_t length;
  int has_file;  // dev and ino known (something is at the path)
  double dev, ino;
} target;

typedef struct {
  int32_t pid, target, deleted;
} match;

// A file's bytes as read (NULL: unreadable, the process ended).
typedef struct {
  char *data;
  size_t length;
} text;

// A holder's details, as read through its pid directory.
typedef struct {
  int32_t pid;
  text stat, status, cmdline, exe, stat_after;  // exe: the link's text (none: a kernel thread, a zombie, or unreadable)
} holder;

// What a thread found (each of the scan's threads fills its own; merged at the end).
typedef struct {
  match *matches;
  size_t match_count, match_capacity;
  holder *holders;
  size_t holder_count, holder_capacity;
  double processes, descriptors, denied;
  int stopped, failed;
} found;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char root[PATH_BYTES];
  target *targets;
  size_t target_count;
  int named;  // some target to match by former name
  double budget_ms;
  int threads;
  // while it runs: the root, the pids listed, the next one to take (shared by the threads)
  int root_fd;
  ino_t own_ns;
  int32_t *pids;
  size_t pid_count, next;
  double started;
  // the answer
  found all;
  double listed;
  int list_error;
} scan_job;

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
    if (t->has_file && (t->dev != (double)st->st_dev || t->ino == (double)st->st_ino)) continue;
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

static void free_holder(holder *h) {
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
      if (t->has_file && t->ino == (double)st.st_ino && t->dev == (double)st.st_dev) add_match(f, first, pid, i, 0);
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

static void execute(napi_env env, void *data) {
  (void)env;
  scan_job *j = data;
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

static napi_value number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

// A text as a string decoded as UTF-8 (as Node's readFileSync(path, "utf8")), NULs kept; absent when unread.
static void set_text(napi_env env, napi_value o, const char *name, const text *t) {
  if (!t->data) return;
  napi_value v;
  napi_create_string_utf8(env, t->length ? t->data : "", t->length, &v);
  napi_set_named_property(env, o, name, v);
}

static void free_job(scan_job *j) {
  for (size_t i = 0; i < j->target_count; i++) free(j->targets[i].path);
  for (size_t i = 0; i < j->all.holder_count; i++) free_holder(&j->all.holders[i]);
  free(j->all.holders);
  free(j->targets);
  free(j->all.matches);
  free(j);
}

static napi_value result_of(napi_env env, const scan_job *j) {
  // the matches as numbers, three a match: thousands of objects made here would hold the event loop
  napi_value result, buffer, matches;
  void *bytes = NULL;
  napi_create_object(env, &result);
  napi_create_arraybuffer(env, j->all.match_count * 3 * sizeof(double), &bytes, &buffer);
  for (size_t i = 0; i < j->all.match_count; i++) {
    const match *m = &j->all.matches[i];
    double *o = (double *)bytes + i * 3;
    o[0] = m->pid;
    o[1] = m->target;
    o[2] = m->deleted;
  }
  napi_create_typedarray(env, napi_float64_array, j->all.match_count * 3, buffer, 0, &matches);
  napi_value holders;
  napi_create_array_with_length(env, j->all.holder_count, &holders);
  for (size_t i = 0; i < j->all.holder_count; i++) {
    const holder *h = &j->all.holders[i];
    napi_value o;
    napi_create_object(env, &o);
    napi_set_named_property(env, o, "pid", number(env, h->pid));
    set_text(env, o, "stat", &h->stat);
    set_text(env, o, "status", &h->status);
    set_text(env, o, "cmdline", &h->cmdline);
    set_text(env, o, "exe", &h->exe);
    set_text(env, o, "statAfter", &h->stat_after);
    napi_set_element(env, holders, (uint32_t)i, o);
  }
  napi_set_named_property(env, result, "holders", holders);
  napi_value stopped;
  napi_get_boolean(env, j->all.stopped, &stopped);
  napi_set_named_property(env, result, "matches", matches);
  napi_set_named_property(env, result, "processes", number(env, j->all.processes));
  napi_set_named_property(env, result, "listed", number(env, j->listed));
  napi_set_named_property(env, result, "descriptors", number(env, j->all.descriptors));
  napi_set_named_property(env, result, "denied", number(env, j->all.denied));
  napi_set_named_property(env, result, "stopped", stopped);
  napi_set_named_property(env, result, "listError", number(env, j->list_error));
  return result;
}

static void complete(napi_env env, napi_status status, void *data) {
  scan_job *j = data;
  if (status != napi_ok || j->all.failed) {
    napi_value message, error;
    napi_create_string_utf8(env, status != napi_ok ? "fd_scan: the scan was cancelled" : "fd_scan: out of memory", NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, j->deferred, error);
  } else {
    napi_resolve_deferred(env, j->deferred, result_of(env, j));
  }
  napi_delete_async_work(env, j->work);
  free_job(j);
}

static napi_value usage(napi_env env) {
  napi_throw_type_error(env, NULL, "scan(procRoot: string (absolute), targets: { path: string, dev?: number, ino?: number }[], budgetMs: number, threads: 1 to 16)");
  return NULL;
}

// A target from JavaScript; 0 when it is not one.
static int read_target(napi_env env, napi_value v, target *t) {
  napi_value path, dev, ino;
  napi_valuetype dev_type, ino_type;
  char buf[PATH_BYTES];
  size_t length = 0;
  if (napi_get_named_property(env, v, "path", &path) != napi_ok || napi_get_value_string_utf8(env, path, buf, sizeof buf, &length) != napi_ok) return 0;
  if (napi_get_named_property(env, v, "dev", &dev) != napi_ok || napi_typeof(env, dev, &dev_type) != napi_ok) return 0;
  if (napi_get_named_property(env, v, "ino", &ino) != napi_ok || napi_typeof(env, ino, &ino_type) != napi_ok) return 0;
  // a path as long as the buffer may have been cut: it can name no file here (PATH_MAX)
  t->path = length >= sizeof buf - 1 ? strdup("") : strndup(buf, length);
  if (!t->path) return 0;
  t->length = strlen(t->path);
  t->has_file = dev_type == napi_number && ino_type == napi_number;
  if (t->has_file && (napi_get_value_double(env, dev, &t->dev) != napi_ok || napi_get_value_double(env, ino, &t->ino) != napi_ok)) t->has_file = 0;
  return 1;
}

static napi_value js_scan(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool is_array = false;
  uint32_t count = 0;
  if (argc < 4 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &count) != napi_ok) return usage(env);
  scan_job *j = calloc(1, sizeof *j);
  if (!j) return usage(env);
  size_t length = 0;
  if (napi_get_value_string_utf8(env, argv[0], j->root, sizeof j->root, &length) != napi_ok || j->root[0] != '/' || length >= sizeof j->root - 1 ||
      napi_get_value_double(env, argv[2], &j->budget_ms) != napi_ok || napi_get_value_int32(env, argv[3], &j->threads) != napi_ok || j->threads < 1 || j->threads > MAX_THREADS) {
    free_job(j);
    return usage(env);
  }
  j->targets = calloc(count ? count : 1, sizeof(target));
  if (!j->targets) {
    free_job(j);
    return usage(env);
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value v;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || !read_target(env, v, &j->targets[i])) {
      free_job(j);
      return usage(env);
    }
    j->target_count++;
    if (j->targets[i].length > 0) j->named = 1;
  }
  napi_value promise, name;
  napi_create_promise(env, &j->deferred, &promise);
  napi_create_string_utf8(env, "covenant:fd_scan", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, j, &j->work);
  napi_queue_async_work(env, j->work);
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "scan", NAPI_AUTO_LENGTH, js_scan, NULL, &fn);
  napi_set_named_property(env, exports, "scan", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
