// What native/safe_fs.c shares with native/safe_walk.c (one addon, two files).
#ifndef COVENANT_SAFE_FS_H
#define COVENANT_SAFE_FS_H
#include <node_api.h>

#define PATH_BYTES 4096

int resolve_no_links(int base, const char *path, int flags);
int get_path(napi_env env, napi_value v, char *out);
napi_value throw_errno(napi_env env, int err, const char *what, const char *path);
napi_value usage(napi_env env, const char *signature);
napi_value js_walk_tree(napi_env env, napi_callback_info info);
#endif
