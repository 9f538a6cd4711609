// Covenant's own inotify reader, for `covenant watch` (src/watch/inotify-reader.ts).
//
// Node's fs.watch (and chokidar above it) watches through libuv, which drops inotify's
// IN_Q_OVERFLOW: a queue that overflowed loses events and nobody is told. libuv also keeps a
// watch per file that chokidar watches, so memory and the per-user watch limit grow with files.
// This reader is the kernel interface and nothing more: one inotify instance, directories added
// and removed by the caller, and the raw event bytes handed to JavaScript as they come, where a
// pure decoder (src/watch/inotify-events.ts) reads them, IN_Q_OVERFLOW included.
//
// The descriptor is polled on the event loop (uv_poll_t): when it is readable, it is read until
// EAGAIN, each read's bytes passed to the callback. pause() stops polling (the kernel queues
// meanwhile, up to fs.inotify.max_queued_events, then overflows): tests use it to make a real
// overflow without changing sysctls.
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <uv.h>

#define PATH_BYTES 4096
// a read returns whole events: 64 KiB holds at least 240 of the largest (NAME_MAX names)
#define READ_BYTES 65536

typedef struct {
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  uv_poll_t poll;
  int fd;
  bool polling;
  bool closed;
  // the struct has two owners, the poll handle (until libuv's close callback) and the JS
  // external (until its finalizer): freed when both have let go
  bool poll_closed;
  bool finalized;
} reader_t;

static const char *errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
  const char *name = strerrorname_np(err);
  if (name) return name;
#endif
  switch (err) {
    case ENOENT: return "ENOENT";
    case ENOTDIR: return "ENOTDIR";
    case EACCES: return "EACCES";
    case ENOSPC: return "ENOSPC";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EBADF: return "EBADF";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    default: return "EIO";
  }
}

static napi_value throw_errno(napi_env env, int err, const char *what, const char *path) {
  char message[PATH_BYTES + 200];
  snprintf(message, sizeof message, "%s%s%s: %s", what, path ? " " : "", path ? path : "", strerror(err));
  napi_value code, msg, error, number;
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, err, &number);
  napi_set_named_property(env, error, "errno", number);
  napi_throw(env, error);
  return NULL;
}

static void on_poll_closed(uv_handle_t *handle) {
  reader_t *r = handle->data;
  // only now: libuv forgets the descriptor when the handle is closed (epoll_ctl DEL on its
  // number), so a descriptor closed earlier could be reused meanwhile (the next reader's
  // inotify_init1 gets the same number) and that one would be the one removed from epoll
  close(r->fd);
  r->poll_closed = true;
  if (r->finalized) free(r);
}

/** Stops polling; the descriptor is closed, and the struct freed, once libuv lets go of the poll handle. */
static void reader_shutdown(reader_t *r) {
  if (r->closed) return;
  r->closed = true;
  if (r->polling) uv_poll_stop(&r->poll);
  r->polling = false;
  if (r->callback) napi_delete_reference(r->env, r->callback);
  r->callback = NULL;
  if (r->context) napi_async_destroy(r->env, r->context);
  r->context = NULL;
  uv_close((uv_handle_t *)&r->poll, on_poll_closed);
}

static void deliver(reader_t *r, const char *bytes, size_t length) {
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn, recv, buffer;
  void *data;
  napi_get_reference_value(env, r->callback, &fn);
  // napi_make_callback wants an object as `this`
  napi_get_global(env, &recv);
  napi_create_buffer_copy(env, length, bytes, &data, &buffer);
  napi_value result;
  napi_status status = napi_make_callback(env, r->context, recv, fn, 1, &buffer, &result);
  if (status == napi_pending_exception) {
    // the callback threw: an uncaught exception of the process, as from any other callback
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  reader_t *r = handle->data;
  if (r->closed || status < 0) return;
  static char buffer[READ_BYTES] __attribute__((aligned(__alignof__(struct inotify_event))));
  // bounded: a queue refilled as fast as it is read must not hold the event loop forever
  for (int round = 0; round < 64 && !r->closed && r->polling; round++) {
    ssize_t n = read(r->fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    deliver(r, buffer, (size_t)n);
  }
}

static reader_t *reader_of(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "not an inotify reader");
    return NULL;
  }
  reader_t *r = data;
  if (r->closed) {
    napi_throw_error(env, "EBADF", "the inotify reader is closed");
    return NULL;
  }
  return r;
}

static void finalize_reader(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  reader_t *r = data;
  r->finalized = true;
  // a reader dropped without close() is closed now, and freed once libuv lets go of it
  if (!r->closed) reader_shutdown(r);
  else if (r->poll_closed) free(r);
}

// open(onData: (bytes: Buffer) => void): reader
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype type;
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "open(onData) wants a function");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, NULL, "no event loop");
    return NULL;
  }
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "inotify_init1", NULL);
  reader_t *r = calloc(1, sizeof *r);
  if (!r) {
    close(fd);
    return throw_errno(env, ENOMEM, "inotify reader", NULL);
  }
  r->env = env;
  r->fd = fd;
  if (uv_poll_init(loop, &r->poll, fd) != 0) {
    close(fd);
    free(r);
    return throw_errno(env, EIO, "uv_poll_init", NULL);
  }
  r->poll.data = r;
  napi_create_reference(env, argv[0], 1, &r->callback);
  napi_value name;
  napi_create_string_utf8(env, "covenant:inotify", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &r->context);
  uv_poll_start(&r->poll, UV_READABLE, on_readable);
  r->polling = true;
  napi_value external;
  napi_create_external(env, r, finalize_reader, NULL, &external);
  return external;
}

// addWatch(reader, path, mask): wd
static napi_value js_add_watch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "addWatch(reader, path, mask)");
    return NULL;
  }
  reader_t *r = reader_of(env, argv[0]);
  if (!r) return NULL;
  char path[PATH_BYTES];
  size_t length = 0;
  if (napi_get_value_string_utf8(env, argv[1], path, sizeof path, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "addWatch: the path must be a string");
    return NULL;
  }
  if (length >= sizeof path - 1) return throw_errno(env, ENAMETOOLONG, "inotify_add_watch", NULL);
  if (strlen(path) != length) return throw_errno(env, EINVAL, "inotify_add_watch (a NUL in the path)", NULL);
  uint32_t mask;
  if (napi_get_value_uint32(env, argv[2], &mask) != napi_ok) {
    napi_throw_type_error(env, NULL, "addWatch: the mask must be a number");
    return NULL;
  }
  int wd = inotify_add_watch(r->fd, path, mask);
  if (wd < 0) return throw_errno(env, errno, "inotify_add_watch", path);
  napi_value out;
  napi_create_int32(env, wd, &out);
  return out;
}

// rmWatch(reader, wd): false when the watch was already gone (EINVAL: its IN_IGNORED is queued)
static napi_value js_rm_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "rmWatch(reader, wd)");
    return NULL;
  }
  reader_t *r = reader_of(env, argv[0]);
  if (!r) return NULL;
  int32_t wd;
  if (napi_get_value_int32(env, argv[1], &wd) != napi_ok) {
    napi_throw_type_error(env, NULL, "rmWatch: wd must be a number");
    return NULL;
  }
  int rc = inotify_rm_watch(r->fd, wd);
  if (rc < 0 && errno != EINVAL) return throw_errno(env, errno, "inotify_rm_watch", NULL);
  napi_value out;
  napi_get_boolean(env, rc == 0, &out);
  return out;
}

// pause(reader, paused): stops or starts reading (tests: the kernel queues, then overflows)
static napi_value js_pause(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "pause(reader, paused)");
    return NULL;
  }
  reader_t *r = reader_of(env, argv[0]);
  if (!r) return NULL;
  bool paused;
  napi_get_value_bool(env, argv[1], &paused);
  if (paused && r->polling) {
    uv_poll_stop(&r->poll);
    r->polling = false;
  } else if (!paused && !r->polling) {
    uv_poll_start(&r->poll, UV_READABLE, on_readable);
    r->polling = true;
  }
  return NULL;
}

// close(reader): stops reading and closes the descriptor (every watch goes with it); twice is once
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *data = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "not an inotify reader");
    return NULL;
  }
  reader_shutdown(data);
  return NULL;
}

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static void export_number(napi_env env, napi_value exports, const char *name, uint32_t value) {
  napi_value n;
  napi_create_uint32(env, value, &n);
  napi_set_named_property(env, exports, name, n);
}

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "open", js_open);
  export_function(env, exports, "addWatch", js_add_watch);
  export_function(env, exports, "rmWatch", js_rm_watch);
  export_function(env, exports, "pause", js_pause);
  export_function(env, exports, "close", js_close);
  // the kernel's own values, so the TypeScript side never guesses them
  export_number(env, exports, "IN_MODIFY", IN_MODIFY);
  export_number(env, exports, "IN_ATTRIB", IN_ATTRIB);
  export_number(env, exports, "IN_CLOSE_WRITE", IN_CLOSE_WRITE);
  export_number(env, exports, "IN_MOVED_FROM", IN_MOVED_FROM);
  export_number(env, exports, "IN_MOVED_TO", IN_MOVED_TO);
  export_number(env, exports, "IN_CREATE", IN_CREATE);
  export_number(env, exports, "IN_DELETE", IN_DELETE);
  export_number(env, exports, "IN_DELETE_SELF", IN_DELETE_SELF);
  export_number(env, exports, "IN_MOVE_SELF", IN_MOVE_SELF);
  export_number(env, exports, "IN_Q_OVERFLOW", IN_Q_OVERFLOW);
  export_number(env, exports, "IN_IGNORED", IN_IGNORED);
  export_number(env, exports, "IN_ISDIR", IN_ISDIR);
  export_number(env, exports, "IN_ONLYDIR", IN_ONLYDIR);
  export_number(env, exports, "IN_DONT_FOLLOW", IN_DONT_FOLLOW);
  export_number(env, exports, "IN_EXCL_UNLINK", IN_EXCL_UNLINK);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
