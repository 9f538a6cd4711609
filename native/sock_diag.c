// The kernel's socket table through NETLINK_SOCK_DIAG, the interface `ss` uses.
//
// /proc/net/tcp is produced 4 KiB per read(), the kernel re-finding its place in the hash table
// each time and formatting every socket as text: with tens of thousands of sockets that costs
// more than everything else `covenant observe connections` does. A sock_diag dump hands over
// the same facts as binary messages of up to 32 KiB each.
//
// One function, dump(family, states, localPort, remotePort): every TCP socket of that family
// (4 or 6, or 0 for both) whose state bit is set in `states` and, when a port is given (-1: any), whose local
// or remote port is that port, as a Buffer of fixed 56-byte records, numbers little-endian
// (decoded by src/probes/sock-diag.ts):
//   0 family (4 or 6)   1 state (tcp_states.h)   2-3 unused
//   4 local port        6 remote port            8-23 local address   24-39 remote address
//   40 uid   44 inode   48 receive queue   52 send queue
// (addresses as the 16 bytes of the kernel's message, network order; IPv4 in the first 4).
// Errors, including one the kernel reports after the dump has begun, throw an Error whose `code`
// is the errno name and `errno` the number: the caller then reads /proc instead.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RECORD 56
#define RECV_BUFFER (64 * 1024)

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char message[160];
  const char *name = NULL;
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
  name = strerrorname_np(err);  // glibc 2.32+; the addon is compiled on the host it runs on
#endif
  if (!name) name = err == EPERM ? "EPERM" : err == EACCES ? "EACCES" : err == ENOENT ? "ENOENT" : err == EAFNOSUPPORT ? "EAFNOSUPPORT" : err == EINVAL ? "EINVAL" : "EIO";
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_value code, msg, error, number;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, err, &number);
  napi_set_named_property(env, error, "errno", number);
  napi_throw(env, error);
  return NULL;
}

// A growing byte array for the records.
struct records {
  uint8_t *data;
  size_t used, size;
};

// Numbers are written little-endian whatever the host's order, so the decoder needs no guess.
static void put16(uint8_t *o, uint32_t v) {
  o[0] = v & 0xff;
  o[1] = (v >> 8) & 0xff;
}

static void put32(uint8_t *o, uint32_t v) {
  put16(o, v & 0xffff);
  put16(o + 2, v >> 16);
}

static int records_add(struct records *r, const struct inet_diag_msg *m, uint8_t family) {
  if (r->used + RECORD > r->size) {
    size_t size = r->size ? r->size * 2 : 64 * RECORD;
    uint8_t *grown = realloc(r->data, size);
    if (!grown) return -1;
    r->data = grown;
    r->size = size;
  }
  uint8_t *o = r->data + r->used;
  memset(o, 0, RECORD);
  o[0] = family;
  o[1] = m->idiag_state;
  put16(o + 4, ntohs(m->id.idiag_sport));
  put16(o + 6, ntohs(m->id.idiag_dport));
  memcpy(o + 8, m->id.idiag_src, 16);
  memcpy(o + 24, m->id.idiag_dst, 16);
  put32(o + 40, m->idiag_uid);
  put32(o + 44, m->idiag_inode);
  put32(o + 48, m->idiag_rqueue);
  put32(o + 52, m->idiag_wqueue);
  r->used += RECORD;
  return 0;
}

// The kernel's filter language (inet_diag_bc_run): a list of operations, each jumping `yes` or
// `no` bytes on; landing exactly at the end accepts the socket, jumping past it rejects it. A
// port comparison is two operations, the second holding the port. Filtering in the kernel
// spares it building a message for every socket the caller would throw away, as `ss` does.
struct port_filter {
  struct inet_diag_bc_op ops[4];
  int length;  // bytes used
};

static void add_port_test(struct port_filter *f, uint8_t code, int port) {
  int at = f->length / (int)sizeof(struct inet_diag_bc_op);
  f->ops[at] = (struct inet_diag_bc_op){.code = code, .yes = 2 * sizeof(struct inet_diag_bc_op)};
  f->ops[at + 1] = (struct inet_diag_bc_op){.code = INET_DIAG_BC_NOP, .no = (unsigned short)port};
  f->length += 2 * (int)sizeof(struct inet_diag_bc_op);
}

// After all tests are added: a failed test jumps 4 bytes past the end, which rejects.
static void close_port_filter(struct port_filter *f) {
  for (int at = 0; at * (int)sizeof(struct inet_diag_bc_op) < f->length; at += 2) f->ops[at].no = (unsigned short)(f->length - at * (int)sizeof(struct inet_diag_bc_op) + 4);
}

// Sends the dump request and collects every answer; returns 0 or an errno.
static int dump(int family, uint32_t states, int local_port, int remote_port, struct records *out) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return errno;
  // family 0: both families in one walk of the kernel's table, through the older request
  // (TCPDIAG_GETSOCK), which has no family of its own to ask for; else one family (v2 request).
  // The message: a netlink header, the request, then the filter as an attribute.
  struct port_filter filter = {.length = 0};
  if (local_port >= 0) add_port_test(&filter, INET_DIAG_BC_S_EQ, local_port);
  if (remote_port >= 0) add_port_test(&filter, INET_DIAG_BC_D_EQ, remote_port);
  close_port_filter(&filter);
  uint8_t message[NLMSG_SPACE(sizeof(struct inet_diag_req)) + NLA_HDRLEN + sizeof filter.ops];
  memset(message, 0, sizeof message);
  struct nlmsghdr *nlh = (struct nlmsghdr *)message;
  if (family == 0) {
    struct inet_diag_req *req = NLMSG_DATA(nlh);
    nlh->nlmsg_type = TCPDIAG_GETSOCK;
    req->idiag_states = states;
    nlh->nlmsg_len = NLMSG_LENGTH(sizeof *req);
  } else {
    struct inet_diag_req_v2 *req = NLMSG_DATA(nlh);
    nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req->sdiag_family = (uint8_t)family;
    req->sdiag_protocol = IPPROTO_TCP;
    req->idiag_states = states;
    nlh->nlmsg_len = NLMSG_LENGTH(sizeof *req);
  }
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  nlh->nlmsg_seq = 1;
  if (filter.length > 0) {
    struct nlattr *attr = (struct nlattr *)(message + NLMSG_ALIGN(nlh->nlmsg_len));
    attr->nla_type = INET_DIAG_REQ_BYTECODE;
    attr->nla_len = (unsigned short)(NLA_HDRLEN + filter.length);
    memcpy((uint8_t *)attr + NLA_HDRLEN, filter.ops, (size_t)filter.length);
    nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + NLA_ALIGN(attr->nla_len);
  }
  const uint16_t answer_type = nlh->nlmsg_type;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  struct iovec iov = {.iov_base = message, .iov_len = nlh->nlmsg_len};
  struct msghdr msg = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov, .msg_iovlen = 1};
  if (sendmsg(fd, &msg, 0) < 0) {
    int err = errno;
    close(fd);
    return err;
  }
  uint8_t *buffer = malloc(RECV_BUFFER);
  if (!buffer) {
    close(fd);
    return ENOMEM;
  }
  int result = 0;
  for (int done = 0; !done;) {
    ssize_t n = recv(fd, buffer, RECV_BUFFER, MSG_TRUNC);  // MSG_TRUNC: the real length, to see a cut message
    if (n < 0) {
      if (errno == EINTR) continue;
      result = errno;
      break;
    }
    if (n == 0 || n > RECV_BUFFER) {  // closed without saying it was done, or a message cut short
      result = EIO;
      break;
    }
    for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != 1) continue;  // not an answer to this request
      if (h->nlmsg_type == NLMSG_DONE) {
        // a failure after the dump began (a diag handler missing or refusing to load) comes as
        // a negative errno in the DONE message, not as NLMSG_ERROR: an empty answer is not success
        int status = 0;
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof status)) memcpy(&status, NLMSG_DATA(h), sizeof status);
        if (status < 0) result = -status;
        done = 1;
        break;
      }
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr *e = NLMSG_DATA(h);
        result = h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error ? -e->error : EIO;
        done = 1;
        break;
      }
      if (h->nlmsg_type != answer_type || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg))) continue;
      const struct inet_diag_msg *m = NLMSG_DATA(h);
      if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6) continue;
      if (records_add(out, m, m->idiag_family == AF_INET ? 4 : 6) < 0) {
        result = ENOMEM;
        done = 1;
        break;
      }
    }
  }
  free(buffer);
  close(fd);
  return result;
}

static void free_records(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static napi_value js_dump(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t family_number = 0, local_port = -1, remote_port = -1;
  uint32_t states = 0;
  if (argc < 4 || napi_get_value_int32(env, argv[0], &family_number) != napi_ok || napi_get_value_uint32(env, argv[1], &states) != napi_ok ||
      napi_get_value_int32(env, argv[2], &local_port) != napi_ok || napi_get_value_int32(env, argv[3], &remote_port) != napi_ok || (family_number != 0 && family_number != 4 && family_number != 6) ||
      local_port < -1 || local_port > 65535 || remote_port < -1 || remote_port > 65535) {
    napi_throw_type_error(env, NULL, "dump(family: 0 | 4 | 6, states: number, localPort: number | -1, remotePort: number | -1)");
    return NULL;
  }
  struct records r = {0};
  int err = dump(family_number == 0 ? 0 : family_number == 4 ? AF_INET : AF_INET6, states, local_port, remote_port, &r);
  if (err) {
    free(r.data);
    return throw_errno(env, err, "sock_diag dump");
  }
  napi_value result;
  if (r.used == 0) {
    free(r.data);
    napi_create_buffer(env, 0, NULL, &result);
  } else if (napi_create_external_buffer(env, r.used, r.data, free_records, NULL, &result) != napi_ok) {
    free(r.data);
    return throw_errno(env, ENOMEM, "sock_diag buffer");
  }
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "dump", NAPI_AUTO_LENGTH, js_dump, NULL, &fn);
  napi_set_named_property(env, exports, "dump", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
