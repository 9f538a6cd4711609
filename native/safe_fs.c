// Changes to files through descriptors, never through paths that could be redirected.
//
// Covenant repairs files as root on hosts an attacker may share. Node's fs functions take paths
// and resolve them in the kernel each time: between the observation of /srv/tree/sub/secret and
// its chown, a user who can write /srv/tree can swap `sub` for a link to /etc, and the chown lands
// there. Here a path is resolved once, with openat2(2) and RESOLVE_NO_SYMLINKS (no link anywhere
// in it is followed, not only the last one) and, in a sandbox, RESOLVE_BENEATH (it cannot leave
// the sandbox), into an O_PATH descriptor; the caller checks that descriptor's device and inode
// against what it observed (exactly: see STAT_FIELDS), and every change is then made through it:
// fchmodat2/fchownat with AT_EMPTY_PATH, and the *at calls relative to a directory's descriptor.
// Kernels without openat2 (before 5.6) get the same walk, one component at a time, with
// O_NOFOLLOW.
//
// The hard stop: a promise stuck in the kernel (a read from a hung NFS server) blocks the thread
// that runs JavaScript, so no JavaScript timer can end the run. armHardStop sets an alarm whose
// handler, in C and async-signal-safe (write, open, read, unlink, _exit), says why on stderr,
// removes the run's lock file if it is still the one this run wrote, and exits with status 2.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <node_api.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "safe_fs.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

// strerrorname_np is glibc 2.32+; the addon is compiled on the host it runs on, and on an older
// glibc the names Covenant's callers test come from this table.
static const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
  const char *name = strerrorname_np(err);
  if (name) return name;
#endif
  switch (err) {
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case ELOOP: return "ELOOP";
    case EXDEV: return "EXDEV";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EEXIST: return "EEXIST";
    case EISDIR: return "EISDIR";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case EROFS: return "EROFS";
    case ENOSPC: return "ENOSPC";
    case EAGAIN: return "EAGAIN";
    case ESRCH: return "ESRCH";
    case ENOSYS: return "ENOSYS";
    default: return "EIO";
  }
}

napi_value throw_errno(napi_env env, int err, const char *what, const char *path) {
  char message[PATH_BYTES + 200];
  const char *name = errno_name(err);
  snprintf(message, sizeof message, "%s %s: %s", what, path ? path : "", strerror(err));
  napi_value code, msg, error, number;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, err, &number);
  napi_set_named_property(env, error, "errno", number);
  napi_throw(env, error);
  return NULL;
}

napi_value usage(napi_env env, const char *signature) {
  napi_throw_type_error(env, NULL, signature);
  return NULL;
}

// A string argument as a C string; false (and nothing written) when it is not a string, is too
// long, or holds a NUL, which C would take for its end: "/etc/x\0y" must not become "/etc/x".
int get_path(napi_env env, napi_value v, char *out) {
  size_t length = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &length) != napi_ok || length >= PATH_BYTES) return 0;
  size_t copied = 0;
  if (napi_get_value_string_utf8(env, v, out, PATH_BYTES, &copied) != napi_ok || copied != length) return 0;
  return strlen(out) == length;
}

// Why a path argument was refused: a string too long or holding a NUL is the caller's data (a
// path a policy names), said as the kernel would say it (ENAMETOOLONG, EINVAL) and not as a
// misuse of the function; anything else is a misuse.
static napi_value path_refused(napi_env env, napi_value v, const char *signature) {
  napi_valuetype type;
  size_t length = 0;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &length) != napi_ok) return usage(env, signature);
  return length >= PATH_BYTES ? throw_errno(env, ENAMETOOLONG, "cannot reach", "a path longer than PATH_MAX") : throw_errno(env, EINVAL, "cannot reach", "a path holding a NUL byte");
}

static napi_value int_value(napi_env env, int32_t n) {
  napi_value v;
  napi_create_int32(env, n, &v);
  return v;
}

// The same resolution as openat2 with RESOLVE_NO_SYMLINKS (and RESOLVE_BENEATH when `base` is a
// descriptor), one component at a time, for kernels without openat2. The caller has already
// refused `..` components, so a walk from `base` cannot climb out of it.
static int walk(int base, const char *path, int flags) {
  char copy[PATH_BYTES];
  snprintf(copy, sizeof copy, "%s", path);
  int dir = base >= 0 ? base : AT_FDCWD;
  char *p = copy;
  if (*p == '/') {
    if (base >= 0) return -EXDEV;
    dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -errno;
    while (*p == '/') p++;
  } else if (base < 0) {
    dir = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -errno;
  } else {
    dir = fcntl(base, F_DUPFD_CLOEXEC, 0);
    if (dir < 0) return -errno;
  }
  if (*p == '\0') return dir;
  for (;;) {
    char *slash = strchr(p, '/');
    if (slash) *slash = '\0';
    int last = !slash || slash[1 + strspn(slash + 1, "/")] == '\0';
    if (strcmp(p, "..") == 0) {
      close(dir);
      return -EXDEV;
    }
    int fd = openat(dir, p, last ? flags : O_PATH | O_NOFOLLOW | O_CLOEXEC);
    int err = errno;
    close(dir);
    if (fd < 0) return -err;
    struct stat st;
    if (fstat(fd, &st) < 0) {
      err = errno;
      close(fd);
      return -err;
    }
    if (S_ISLNK(st.st_mode) && !last) {
      close(fd);
      return -ELOOP;
    }
    if (last) return fd;
    if (!S_ISDIR(st.st_mode)) {
      close(fd);
      return -ENOTDIR;
    }
    dir = fd;
    p = slash + 1;
    while (*p == '/') p++;
  }
}

// Set by tests, to exercise the walk that kernels before 5.6 get.
static int force_walk = 0;

// A descriptor of `path` (absolute, or relative to `base` and confined below it), reached
// without following any symbolic link, opened with `flags` (O_PATH: a link as the last component
// is itself opened; otherwise a link there is ELOOP).
int resolve_no_links(int base, const char *path, int flags) {
  flags |= O_NOFOLLOW | O_CLOEXEC;
  if (force_walk) return walk(base, path, flags);
  struct open_how how = {0};
  how.flags = (uint64_t)flags;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (base >= 0 ? RESOLVE_BENEATH : 0);
  for (int tries = 0; tries < 8; tries++) {
    long fd = syscall(SYS_openat2, base >= 0 ? base : AT_FDCWD, path, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    // EAGAIN: a rename elsewhere raced the lookup (RESOLVE_BENEATH); the kernel asks us to retry
    if (errno == EAGAIN) continue;
    // no openat2 (older kernel, or a seccomp filter): walk by hand
    if (errno == ENOSYS || errno == EPERM) return walk(base, path, flags);
    return -errno;
  }
  return -EAGAIN;
}

// resolve(path: string, base: number, flags: number): number — base -1 for none; flags O_PATH,
// or O_RDONLY with O_NONBLOCK to read.
static napi_value js_resolve(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[PATH_BYTES];
  int32_t base = -1, flags = O_PATH;
  if (argc < 3 || napi_get_value_int32(env, argv[1], &base) != napi_ok || napi_get_value_int32(env, argv[2], &flags) != napi_ok || (flags & (O_CREAT | O_TRUNC | O_WRONLY | O_RDWR)))
    return usage(env, "resolve(path: string, base: number, flags: number (no creation or writing))");
  if (!get_path(env, argv[0], path)) return path_refused(env, argv[0], "resolve(path: string, base: number, flags: number)");
  if (base < 0 && path[0] != '/') return usage(env, "resolve: a path without a base must be absolute");
  int fd = resolve_no_links(base, path, flags);
  if (fd < 0) return throw_errno(env, -fd, "cannot reach", path);
  return int_value(env, fd);
}

// The metadata statPath and fstat write, as doubles (Node's own fs.Stats are doubles too): mode,
// uid, gid, size, mtime (ms), inode, device, link count, ctime (ms), as Node's Stats gives them,
// then the inode number's high and low 32 bits. A double holds an integer exactly only below 2^53,
// and inode numbers are 64 bits: overlayfs with xino puts a lower layer's index in the top bits
// (2^63 and up, where a double's step is 2048), so two files of one layer with nearby numbers are
// one double, and a comparison of doubles takes one renamed over the other for the same file.
// The halves are each exact; src/probes/file-identity.ts compares identities by them. Device
// numbers need no halves: stat gives the kernel's 32-bit encoding (new_encode_dev).
#define STAT_FIELDS 11

static void fill_stat_fields(double *out, const struct stat *st) {
  out[0] = (double)st->st_mode;
  out[1] = (double)st->st_uid;
  out[2] = (double)st->st_gid;
  out[3] = (double)st->st_size;
  // as Node makes them: seconds * 1e3 + nanoseconds / 1e6
  out[4] = (double)st->st_mtim.tv_sec * 1e3 + (double)st->st_mtim.tv_nsec / 1e6;
  out[5] = (double)st->st_ino;
  out[6] = (double)st->st_dev;
  out[7] = (double)st->st_nlink;
  out[8] = (double)st->st_ctim.tv_sec * 1e3 + (double)st->st_ctim.tv_nsec / 1e6;
  out[9] = (double)((uint64_t)st->st_ino >> 32);
  out[10] = (double)((uint64_t)st->st_ino & 0xffffffffu);
}

// The Float64Array argument `v` of at least STAT_FIELDS elements, or NULL.
static double *stat_fields_of(napi_env env, napi_value v) {
  bool is_typed = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed || napi_get_typedarray_info(env, v, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_float64_array ||
      length < STAT_FIELDS)
    return NULL;
  return data;
}

// statPath(path: string, out: Float64Array(11)): string | undefined — the metadata of `path`
// itself (a link as its last component is reported as the link), reached as resolve(path, -1,
// O_PATH) reaches it, in one call where resolve, fstat and close were three (two to four a
// promise, bench/run), written to `out` (STAT_FIELDS above). For a link, its target, read through
// the same descriptor (readlinkat with an empty name): read again by path, it could be another
// link's, put there by whoever can write a directory on the way.
static napi_value js_stat_path(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[PATH_BYTES];
  double *out = argc < 2 ? NULL : stat_fields_of(env, argv[1]);
  if (!out) return usage(env, "statPath(path: string, out: Float64Array of at least 11)");
  if (!get_path(env, argv[0], path)) return path_refused(env, argv[0], "statPath(path: string, out: Float64Array of at least 11)");
  if (path[0] != '/') return usage(env, "statPath: the path must be absolute");
  int fd = resolve_no_links(-1, path, O_PATH);
  if (fd < 0) return throw_errno(env, -fd, "cannot reach", path);
  struct stat st;
  int r = fstat(fd, &st);
  int err = errno;
  char target[PATH_BYTES];
  ssize_t target_length = -1;
  if (r == 0 && S_ISLNK(st.st_mode)) {
    target_length = readlinkat(fd, "", target, sizeof target);
    err = errno;
  }
  close(fd);
  if (r != 0) return throw_errno(env, err, "cannot stat", path);
  if (S_ISLNK(st.st_mode) && (target_length < 0 || (size_t)target_length >= sizeof target))
    return throw_errno(env, target_length < 0 ? err : ENAMETOOLONG, "cannot read the link", path);
  fill_stat_fields(out, &st);
  if (!S_ISLNK(st.st_mode)) return NULL;
  napi_value link;
  napi_create_string_utf8(env, target, (size_t)target_length, &link);
  return link;
}

// fstat(fd: number, out: Float64Array(11)) — the metadata of what an open descriptor refers to,
// as statPath writes it: the exact identity of the file a hash is about to read, in one call
// cheaper than Node's fstatSync (which builds a Stats object, and rounds the inode number).
static napi_value js_fstat(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1;
  double *out = argc < 2 ? NULL : stat_fields_of(env, argv[1]);
  if (!out || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) return usage(env, "fstat(fd: number, out: Float64Array of at least 11)");
  struct stat st;
  if (fstat(fd, &st) != 0) return throw_errno(env, errno, "cannot stat", NULL);
  fill_stat_fields(out, &st);
  return NULL;
}

// forceWalk(on: boolean): resolve without openat2, as on kernels before 5.6 (for tests).
static napi_value js_force_walk(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool on = false;
  if (argc < 1 || napi_get_value_bool(env, argv[0], &on) != napi_ok) return usage(env, "forceWalk(on: boolean)");
  force_walk = on;
  return NULL;
}

// chmod(fd: number, mode: number): the object an O_PATH descriptor refers to.
static napi_value js_chmod(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1;
  uint32_t mode = 0;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_uint32(env, argv[1], &mode) != napi_ok || mode > 07777) return usage(env, "chmod(fd: number, mode: number)");
  if (syscall(SYS_fchmodat2, fd, "", (mode_t)mode, AT_EMPTY_PATH) == 0) return NULL;
  if (errno != ENOSYS && errno != EINVAL) return throw_errno(env, errno, "cannot chmod", NULL);
  // before Linux 6.6: through the descriptor's own entry in /proc, which names this object
  // whatever happens to its path (the caller never passes a descriptor of a link)
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (chmod(proc, (mode_t)mode) != 0) return throw_errno(env, errno, "cannot chmod", NULL);
  return NULL;
}

// chown(fd: number, uid: number, gid: number): -1 leaves that id as it is.
static napi_value js_chown(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1;
  int64_t uid = -1, gid = -1;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int64(env, argv[1], &uid) != napi_ok || napi_get_value_int64(env, argv[2], &gid) != napi_ok || uid < -1 ||
      gid < -1 || uid > 0xfffffffe || gid > 0xfffffffe)
    return usage(env, "chown(fd: number, uid: number, gid: number)");
  if (fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH) != 0) return throw_errno(env, errno, "cannot chown", NULL);
  return NULL;
}

// openAt(dir: number, name: string, flags: number, mode: number): number — name is one component.
static napi_value js_open_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[PATH_BYTES];
  int32_t dir = -1, flags = 0;
  uint32_t mode = 0;
  if (argc < 4 || napi_get_value_int32(env, argv[0], &dir) != napi_ok || !get_path(env, argv[1], name) || napi_get_value_int32(env, argv[2], &flags) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &mode) != napi_ok || strchr(name, '/') || !strcmp(name, "..") || !strcmp(name, "."))
    return usage(env, "openAt(dir: number, name: string (one component), flags: number, mode: number)");
  int fd = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) return throw_errno(env, errno, "cannot open", name);
  return int_value(env, fd);
}

// mkdirAt(dir: number, name: string, mode: number)
static napi_value js_mkdir_at(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[PATH_BYTES];
  int32_t dir = -1;
  uint32_t mode = 0;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &dir) != napi_ok || !get_path(env, argv[1], name) || napi_get_value_uint32(env, argv[2], &mode) != napi_ok || strchr(name, '/') ||
      !strcmp(name, "..") || !strcmp(name, "."))
    return usage(env, "mkdirAt(dir: number, name: string (one component), mode: number)");
  if (mkdirat(dir, name, (mode_t)(mode & 07777)) != 0) return throw_errno(env, errno, "cannot create the directory", name);
  return NULL;
}

// renameAt(dir: number, from: string, to: string): both in the same directory.
static napi_value js_rename_at(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char from[PATH_BYTES], to[PATH_BYTES];
  int32_t dir = -1;
  if (argc < 3 || napi_get_value_int32(env, argv[0], &dir) != napi_ok || !get_path(env, argv[1], from) || !get_path(env, argv[2], to) || strchr(from, '/') || strchr(to, '/'))
    return usage(env, "renameAt(dir: number, from: string, to: string)");
  if (renameat(dir, from, dir, to) != 0) return throw_errno(env, errno, "cannot rename", from);
  return NULL;
}

// unlinkAt(dir: number, name: string)
static napi_value js_unlink_at(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char name[PATH_BYTES];
  int32_t dir = -1;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &dir) != napi_ok || !get_path(env, argv[1], name) || strchr(name, '/')) return usage(env, "unlinkAt(dir: number, name: string)");
  if (unlinkat(dir, name, 0) != 0) return throw_errno(env, errno, "cannot remove", name);
  return NULL;
}

// --- processes -----------------------------------------------------------------------------

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

// pidfdOpen(pid: number): number — a descriptor that names this process, whatever happens to
// its pid later; the caller checks the process's start time after opening it.
static napi_value js_pidfd_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t pid = 0;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) return usage(env, "pidfdOpen(pid: number > 0)");
  long fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (fd < 0) return throw_errno(env, errno, "cannot open the process", NULL);
  return int_value(env, (int32_t)fd);
}

// pidfdSignal(fd: number, signal: number)
static napi_value js_pidfd_signal(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd = -1, sig = 0;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &sig) != napi_ok || sig <= 0 || sig >= 65) return usage(env, "pidfdSignal(fd: number, signal: number)");
  if (syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0) != 0) return throw_errno(env, errno, "cannot signal the process", NULL);
  return NULL;
}

// --- the hard stop -------------------------------------------------------------------------

static char stop_message[1024];
static size_t stop_message_length;
static char stop_lock_path[PATH_BYTES];
static char stop_lock_body[512];
static size_t stop_lock_body_length;

static void on_alarm(int sig) {
  (void)sig;
  ssize_t ignored = write(2, stop_message, stop_message_length);
  (void)ignored;
  if (stop_lock_path[0]) {
    // remove the lock only if it still holds this run's own words
    int fd = open(stop_lock_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      char seen[sizeof stop_lock_body + 1];
      ssize_t n = read(fd, seen, sizeof seen);
      close(fd);
      if (n == (ssize_t)stop_lock_body_length && memcmp(seen, stop_lock_body, (size_t)n) == 0) unlink(stop_lock_path);
    }
  }
  _exit(2);
}

// armHardStop(seconds: number, message: string, lockPath: string, lockBody: string)
static napi_value js_arm_hard_stop(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t seconds = 0;
  size_t n = 0;
  if (argc < 4 || napi_get_value_uint32(env, argv[0], &seconds) != napi_ok || seconds == 0 ||
      napi_get_value_string_utf8(env, argv[1], stop_message, sizeof stop_message, &stop_message_length) != napi_ok || !get_path(env, argv[2], stop_lock_path) ||
      napi_get_value_string_utf8(env, argv[3], stop_lock_body, sizeof stop_lock_body, &n) != napi_ok || n >= sizeof stop_lock_body - 1)
    return usage(env, "armHardStop(seconds: number > 0, message: string, lockPath: string, lockBody: string)");
  stop_lock_body_length = n;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, NULL) != 0) return throw_errno(env, errno, "cannot set the hard stop", NULL);
  alarm(seconds);
  return NULL;
}

static napi_value js_disarm_hard_stop(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
  alarm(0);
  return NULL;
}

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "resolve", js_resolve);
  export_function(env, exports, "statPath", js_stat_path);
  export_function(env, exports, "fstat", js_fstat);
  export_function(env, exports, "forceWalk", js_force_walk);
  export_function(env, exports, "walkTree", js_walk_tree);
  export_function(env, exports, "chmod", js_chmod);
  export_function(env, exports, "chown", js_chown);
  export_function(env, exports, "openAt", js_open_at);
  export_function(env, exports, "mkdirAt", js_mkdir_at);
  export_function(env, exports, "renameAt", js_rename_at);
  export_function(env, exports, "unlinkAt", js_unlink_at);
  export_function(env, exports, "pidfdOpen", js_pidfd_open);
  export_function(env, exports, "pidfdSignal", js_pidfd_signal);
  export_function(env, exports, "armHardStop", js_arm_hard_stop);
  export_function(env, exports, "disarmHardStop", js_disarm_hard_stop);
  napi_value o_path;
  napi_create_int32(env, O_PATH, &o_path);
  napi_set_named_property(env, exports, "O_PATH", o_path);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
