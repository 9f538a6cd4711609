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
// scan(procRoot, targets: { path, dev?, ino? }[], budgetMs): Promise<{ matches: { pid, target,
// deleted }[], holders: { pid, stat?, status?, cmdline?, exe?, statAfter? }[],
// processes, listed, descriptors, denied, stopped, listError }>
//   - a descriptor matches a target by device and inode (stat following the descriptor's link);
//   - one with no links left matches by its former name, "<target path> (deleted)" as readlinkat
//     gives it, when the file lies on the target's device, is not the file now at the path, and
//     the process is in the watcher's mount namespace (the inode of <root>/self/ns/mnt; not
//     checked when that cannot be read, as in a fixture /proc): docs/watch-findings.md says why;
//   - a process gone while it is read is passed over; one whose fd directory cannot be opened
//     otherwise (another user's, not root) is counted in `denied`;
//   - after budgetMs (negative: none) no further process is looked at (`stopped`; `listed` minus
//     `processes` were not).
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
#include <time.h>
#include <unistd.h>

#define PATH_BYTES 4096
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

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char root[PATH_BYTES];
  target *targets;
  size_t target_count;
  int named;  // some target to match by former name
  double budget_ms;
  match *matches;
  size_t match_count, match_capacity;
  holder *holders;
  size_t holder_count, holder_capacity;
  double processes, listed, descriptors, denied;
  int stopped, list_error, failed;
} scan_job;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

// `first`: this process's first match (the matches before it are other processes').
static int add_match(scan_job *j, size_t first, int32_t pid, size_t target, int deleted) {
  for (size_t i = first; i < j->match_count; i++)  // several descriptors on one file: one match
    if (j->matches[i].pid == pid && j->matches[i].target == (int32_t)target && j->matches[i].deleted == deleted) return 0;
  if (j->match_count == j->match_capacity) {
    size_t cap = j->match_capacity ? j->match_capacity * 2 : 16;
    match *m = realloc(j->matches, cap * sizeof(match));
    if (!m) return (j->failed = ENOMEM);
    j->matches = m;
    j->match_capacity = cap;
  }
  j->matches[j->match_count++] = (match){.pid = pid, .target = (int32_t)target, .deleted = deleted};
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
static void match_deleted(scan_job *j, size_t first, int32_t pid, int pid_dir, int fd_dir, const char *name, const struct stat *st, ino_t own_ns, ino_t *pid_ns) {
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
    add_match(j, first, pid, i, 1);
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
static void read_holder(scan_job *j, int pid_dir, int32_t pid) {
  if (j->holder_count == j->holder_capacity) {
    size_t cap = j->holder_capacity ? j->holder_capacity * 2 : 16;
    holder *h = realloc(j->holders, cap * sizeof(holder));
    if (!h) {
      j->failed = ENOMEM;
      return;
    }
    j->holders = h;
    j->holder_capacity = cap;
  }
  holder *h = &j->holders[j->holder_count++];
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

// The watcher's own mount namespace (<root>/self, the kernel's link to the caller); 0 when it
// cannot be read (a fixture /proc has no self).
static ino_t mount_namespace_of_self(int root) {
  int self = openat(root, "self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (self < 0) return 0;
  ino_t ino = mount_namespace(self);
  close(self);
  return ino;
}

// One process: its descriptors stat'ed and matched.
static void scan_process(scan_job *j, int root, int32_t pid, ino_t own_ns) {
  char name[16];
  snprintf(name, sizeof name, "%d", pid);
  int pid_dir = openat(root, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (pid_dir < 0) {
    if (errno != ENOENT && errno != ESRCH) j->denied++;
    return;
  }
  int fd_dir = openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *dir = fd_dir < 0 ? NULL : fdopendir(fd_dir);
  if (!dir) {
    if (errno != ENOENT && errno != ESRCH) j->denied++;  // gone: passed over; else another user's
    if (fd_dir >= 0) close(fd_dir);
    close(pid_dir);
    return;
  }
  size_t first = j->match_count;
  ino_t pid_ns = (ino_t)-1;
  struct dirent *d;
  while (!j->failed && (d = readdir(dir)) != NULL) {
    if (d->d_name[0] == '.') continue;
    j->descriptors++;
    struct stat st;
    if (fstatat(fd_dir, d->d_name, &st, 0) < 0) continue;  // closed since listed, or unreachable
    for (size_t i = 0; i < j->target_count; i++) {
      const target *t = &j->targets[i];
      if (t->has_file && t->ino == (double)st.st_ino && t->dev == (double)st.st_dev) add_match(j, first, pid, i, 0);
    }
    if (st.st_nlink == 0 && j->named) match_deleted(j, first, pid, pid_dir, fd_dir, d->d_name, &st, own_ns, &pid_ns);
  }
  closedir(dir);
  if (j->match_count > first) read_holder(j, pid_dir, pid);
  close(pid_dir);
}

static void execute(napi_env env, void *data) {
  (void)env;
  scan_job *j = data;
  double started = now_ms();
  int root = open(j->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  size_t count = 0;
  int32_t *pids = root < 0 ? NULL : list_pids(root, &count);
  if (!pids) {
    j->list_error = errno ? errno : EIO;
    if (root >= 0) close(root);
    return;
  }
  j->listed = (double)count;
  ino_t own_ns = mount_namespace_of_self(root);
  for (size_t i = 0; i < count && !j->failed; i++) {
    if (j->budget_ms >= 0 && now_ms() - started >= j->budget_ms) {
      j->stopped = 1;
      break;
    }
    j->processes++;
    scan_process(j, root, pids[i], own_ns);
  }
  free(pids);
  close(root);
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
  for (size_t i = 0; i < j->holder_count; i++) {
    holder *h = &j->holders[i];
    free(h->stat.data);
    free(h->status.data);
    free(h->cmdline.data);
    free(h->exe.data);
    free(h->stat_after.data);
  }
  free(j->holders);
  free(j->targets);
  free(j->matches);
  free(j);
}

static napi_value result_of(napi_env env, const scan_job *j) {
  napi_value result, matches;
  napi_create_object(env, &result);
  napi_create_array_with_length(env, j->match_count, &matches);
  for (size_t i = 0; i < j->match_count; i++) {
    const match *m = &j->matches[i];
    napi_value o, deleted;
    napi_create_object(env, &o);
    napi_set_named_property(env, o, "pid", number(env, m->pid));
    napi_set_named_property(env, o, "target", number(env, m->target));
    napi_get_boolean(env, m->deleted, &deleted);
    napi_set_named_property(env, o, "deleted", deleted);
    napi_set_element(env, matches, (uint32_t)i, o);
  }
  napi_value holders;
  napi_create_array_with_length(env, j->holder_count, &holders);
  for (size_t i = 0; i < j->holder_count; i++) {
    const holder *h = &j->holders[i];
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
  napi_get_boolean(env, j->stopped, &stopped);
  napi_set_named_property(env, result, "matches", matches);
  napi_set_named_property(env, result, "processes", number(env, j->processes));
  napi_set_named_property(env, result, "listed", number(env, j->listed));
  napi_set_named_property(env, result, "descriptors", number(env, j->descriptors));
  napi_set_named_property(env, result, "denied", number(env, j->denied));
  napi_set_named_property(env, result, "stopped", stopped);
  napi_set_named_property(env, result, "listError", number(env, j->list_error));
  return result;
}

static void complete(napi_env env, napi_status status, void *data) {
  scan_job *j = data;
  if (status != napi_ok || j->failed) {
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
  napi_throw_type_error(env, NULL, "scan(procRoot: string (absolute), targets: { path: string, dev?: number, ino?: number }[], budgetMs: number)");
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
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool is_array = false;
  uint32_t count = 0;
  if (argc < 3 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &count) != napi_ok) return usage(env);
  scan_job *j = calloc(1, sizeof *j);
  if (!j) return usage(env);
  size_t length = 0;
  if (napi_get_value_string_utf8(env, argv[0], j->root, sizeof j->root, &length) != napi_ok || j->root[0] != '/' || length >= sizeof j->root - 1 ||
      napi_get_value_double(env, argv[2], &j->budget_ms) != napi_ok) {
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
