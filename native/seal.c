// The store's seals, HMAC-SHA256 in one call. Every row a run reads is checked against its seal
// and every row it writes is sealed: three or four HMACs a promise, about 6,600 in a run of 2,000
// promises. Through node:crypto each is a Hmac object, a key prepared, an update and a digest, a
// few microseconds of JavaScript in a process too short-lived for it to be compiled; here it is
// OpenSSL's one-shot HMAC, the same OpenSSL node:crypto uses (Node's own, whose symbols it
// exports to addons). Optional: without it the seals are made by node:crypto (src/native/seal.ts),
// byte for byte the same (test/native/seal.test.ts holds the two to each other).
#include <node_api.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

// JSON of a row is a few hundred bytes; longer text is copied to the heap
#define STACK_BYTES 2048

static napi_value fail(napi_env env, const char *message) {
  napi_throw_error(env, NULL, message);
  return NULL;
}

// hmacSha256(key: Buffer, text: string): Buffer — the HMAC-SHA256 of text's UTF-8 under key
static napi_value js_hmac_sha256(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) return fail(env, "hmacSha256(key: Buffer, text: string)");
  void *key;
  size_t key_len;
  bool is_buffer = false;
  napi_valuetype type;
  // host keys are 32 bytes; the bound keeps the (int) OpenSSL takes exact (node:crypto takes any)
  if (napi_is_buffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer || napi_get_buffer_info(env, argv[0], &key, &key_len) != napi_ok || key_len > 1024)
    return fail(env, "hmacSha256: the key must be a Buffer of at most 1024 bytes");
  if (napi_typeof(env, argv[1], &type) != napi_ok || type != napi_string) return fail(env, "hmacSha256: the text must be a string");
  // the UTF-8 length first (unpaired surrogates become U+FFFD, as Buffer.from and Hmac.update make them)
  size_t len;
  if (napi_get_value_string_utf8(env, argv[1], NULL, 0, &len) != napi_ok) return fail(env, "hmacSha256: the text cannot be read");
  char stack[STACK_BYTES];
  char *text = len < STACK_BYTES ? stack : malloc(len + 1);
  if (text == NULL) return fail(env, "hmacSha256: out of memory");
  size_t copied;
  napi_status st = napi_get_value_string_utf8(env, argv[1], text, len + 1, &copied);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  unsigned char *ok = st == napi_ok && copied == len ? HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)text, len, md, &md_len) : NULL;
  if (text != stack) free(text);
  if (ok == NULL || md_len != 32) return fail(env, "hmacSha256: the HMAC could not be computed");
  napi_value out;
  void *data;
  if (napi_create_buffer_copy(env, md_len, md, &data, &out) != napi_ok) return fail(env, "hmacSha256: out of memory");
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "hmacSha256", NAPI_AUTO_LENGTH, js_hmac_sha256, NULL, &fn);
  napi_set_named_property(env, exports, "hmacSha256", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
