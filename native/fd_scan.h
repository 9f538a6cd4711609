// What native/fd_scan.c (the N-API side) shares with native/fd_scan_walk.c (the scan itself, run
// on libuv's threadpool): the request, and what the scan's threads find.
#ifndef COVENANT_FD_SCAN_H
#define COVENANT_FD_SCAN_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PATH_BYTES 4096
#define MAX_THREADS 16

typedef struct {
  char *path;
  size_t length;
  int has_file;  // dev and ino known (something is at the path)
  double dev;    // stat's device number, exact as a double (the kernel's 32-bit encoding)
  uint64_t ino;  // the inode number, every bit (from its decimal text: a double rounds it above 2^53)
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

/** The scan (the threadpool's side: no N-API call in it); its answer in j->all, j->listed, j->list_error. */
void fd_scan_run(scan_job *j);
void free_holder(holder *h);
#endif
