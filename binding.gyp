{
  "targets": [
    {
      "target_name": "sock_diag",
      "sources": ["native/sock_diag.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "safe_fs",
      "sources": ["native/safe_fs.c", "native/safe_walk.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "inotify",
      "sources": ["native/inotify.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "seal",
      "sources": ["native/seal.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    },
    {
      "target_name": "fd_scan",
      "sources": ["native/fd_scan.c", "native/fd_scan_walk.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
