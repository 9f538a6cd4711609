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
//   - a target's `dev` is stat's device number and its `ino` the inode number as its decimal text
//     (both given, or neither: nothing at the path): a double holds an inode number exactly only
//     below 2^53, and overlayfs with xino gives numbers from 2^63 up, where neighbours' round to
//     one double; the text is parsed here to all 64 bits;
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
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fd_scan.h"

static void execute(napi_env env, void *data) {
  (void)env;
  fd_scan_run(data);
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
  napi_throw_type_error(env, NULL, "scan(procRoot: string (absolute), targets: { path: string, dev?: number, ino?: string (the inode number in decimal, both or neither) }[], budgetMs: number, threads: 1 to 16)");
  return NULL;
}

// An inode number's decimal text (1 to 20 digits, no leading zero, at most 2^64 - 1) into `out`; 0 when it is not one.
static int parse_inode(napi_env env, napi_value v, uint64_t *out) {
  char buf[24];
  size_t length = 0;
  if (napi_get_value_string_utf8(env, v, buf, sizeof buf, &length) != napi_ok || length == 0 || length > 20 || (buf[0] == '0' && length > 1)) return 0;
  uint64_t n = 0;
  for (size_t i = 0; i < length; i++) {
    if (buf[i] < '0' || buf[i] > '9') return 0;
    uint64_t digit = (uint64_t)(buf[i] - '0');
    if (n > (UINT64_MAX - digit) / 10) return 0;  // past 2^64 - 1
    n = n * 10 + digit;
  }
  *out = n;
  return 1;
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
  // the file at the path: a number and a decimal text, or neither (an inode given as a number, rounded above 2^53, is refused)
  t->has_file = dev_type == napi_number && ino_type == napi_string;
  if (!t->has_file && !(dev_type == napi_undefined && ino_type == napi_undefined)) return 0;
  if (t->has_file && (napi_get_value_double(env, dev, &t->dev) != napi_ok || !parse_inode(env, ino, &t->ino))) return 0;
  // a path as long as the buffer may have been cut: it can name no file here (PATH_MAX)
  t->path = length >= sizeof buf - 1 ? strdup("") : strndup(buf, length);
  if (!t->path) return 0;
  t->length = strlen(t->path);
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
