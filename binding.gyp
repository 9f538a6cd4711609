{
  "targets": [
    {
      "target_name": "sock_diag",
      "sources": ["native/sock_diag.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
