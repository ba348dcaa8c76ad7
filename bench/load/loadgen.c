/*
 * postel bench: the POP3 load generator in C (bench/load/c-generator.ts builds and runs it).
 *
 * One process, one thread, one epoll loop: a load generator that costs the machine little,
 * so the two servers under test get the cores. It speaks just enough POP3 to drive the
 * scenarios and counts every octet; it never keeps a message.
 *
 *   loadgen churn   HOST PORT TLS CAFILE SECONDS MAXSESSIONS   (accounts on stdin)
 *   loadgen retr    HOST PORT COUNT TIMEOUTMS                  (one connection per account)
 *   loadgen listing HOST PORT TIMEOUTMS                        (the first account)
 *
 * stdin: one "user<TAB>password" line per account. stdout: one JSON object; its cpuSeconds is
 * this process's own CPU (getrusage), which the bench adds to the load generator's share.
 * Exit 0 when the run completed (errors of single sessions are counted in the JSON), 1 when
 * it could not (a RETR whose octets disagree with LIST's size, a refused RETR, a timeout),
 * with the reason on stderr.
 *
 * RETR is checked byte for byte: the body is undone of dot-stuffing as it streams in, and its
 * octets (the terminating ".CRLF" excluded) must equal the size LIST gave for the message
 * (RFC 1939: LIST gives the exact size, which both servers count in CRLF wire form).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_ACCOUNTS 4096
#define LINE_MAX_BYTES 4096
#define READ_BYTES (256 * 1024)

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("loadgen: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

struct account {
  char user[256];
  char pass[256];
};
static struct account accounts[MAX_ACCOUNTS];
static int naccounts;

static void read_accounts(void) {
  char line[600];
  while (naccounts < MAX_ACCOUNTS && fgets(line, sizeof line, stdin)) {
    char *tab = strchr(line, '\t');
    if (!tab) continue;
    *tab = 0;
    char *pass = tab + 1;
    pass[strcspn(pass, "\r\n")] = 0;
    snprintf(accounts[naccounts].user, sizeof accounts[naccounts].user, "%s", line);
    snprintf(accounts[naccounts].pass, sizeof accounts[naccounts].pass, "%s", pass);
    naccounts++;
  }
  if (naccounts == 0) die("no accounts on stdin");
}

/* ---- The multi-line body scanner: counts destuffed octets, finds CRLF.CRLF. ---- */

enum { B_BOL, B_MID, B_DOT, B_DOTCR };
struct body {
  int state;       /* where in a line the next octet falls */
  int last_cr;     /* the previous octet was CR (a following LF ends the line) */
  uint64_t wire;   /* octets after the status line, terminator included */
  uint64_t octets; /* the message's octets: stuffing and terminator removed */
};

static void body_start(struct body *b) {
  memset(b, 0, sizeof *b);
  b->state = B_BOL; /* the status line's CRLF starts the first line */
}

/* Feeds octets; returns how many it consumed, and sets *done at the terminator. */
static size_t body_feed(struct body *b, const char *p, size_t n, int *done) {
  size_t i = 0;
  *done = 0;
  while (i < n) {
    char c = p[i];
    switch (b->state) {
      case B_BOL:
        if (c == '.') {
          b->state = B_DOT;
          i++;
          continue;
        }
        b->state = B_MID;
        break;
      case B_DOT:
        i++;
        if (c == '\r') {
          b->state = B_DOTCR;
          continue;
        }
        /* A stuffed dot: it is not part of the message, the octet after it is. */
        b->octets++;
        b->last_cr = 0;
        b->state = B_MID;
        continue;
      case B_DOTCR:
        i++;
        if (c == '\n') {
          b->wire += i;
          *done = 1;
          return i;
        }
        /* ".\r" then something else: the dot was stuffing, "\r" and this octet are content. */
        b->octets += 2;
        b->last_cr = (c == '\r');
        b->state = B_MID;
        continue;
      default:
        break;
    }
    /* B_MID: everything up to and including the next LF is message content. */
    const char *lf = memchr(p + i, '\n', n - i);
    size_t end = lf ? (size_t)(lf - p) + 1 : n;
    size_t len = end - i;
    b->octets += len;
    if (lf) {
      int crlf = (len >= 2) ? (p[end - 2] == '\r') : b->last_cr;
      b->state = crlf ? B_BOL : B_MID;
      b->last_cr = 0;
    } else {
      b->last_cr = (p[end - 1] == '\r');
    }
    i = end;
  }
  b->wire += n;
  return n;
}

/* ---- Connections ---- */

enum step { S_CONNECT, S_HANDSHAKE, S_GREETING, S_USER, S_PASS, S_STAT, S_LIST, S_RETR, S_QUIT, S_DONE };

struct conn {
  int fd;
  SSL *ssl;
  int account;
  enum step step;
  int multiline;       /* the awaited answer is multi-line once it says +OK */
  int in_body;
  struct body body;
  char line[LINE_MAX_BYTES];
  size_t line_len;
  char *collect;       /* LIST's body, kept to read the sizes */
  size_t collect_len, collect_cap;
  char out[600];
  size_t out_len, out_off;
  double started;
  /* retr */
  int next_msg;
  int count;
  uint64_t *sizes;
  int nsizes;
  uint64_t retr_wire;
  int retr_done;
  double retr_start, retr_end;
  /* churn */
  double resume_at;    /* after an error: when this client tries again */
  unsigned char *ticket; /* the last session ticket, serialized (as Node's 'session' is) */
  int ticket_len;
  int reused;
  int failed;          /* this session's error is counted already */
};

static int epfd;
static SSL_CTX *ssl_ctx;
static struct sockaddr_storage server_addr;
static socklen_t server_addr_len;
static char *read_buf;

static void resolve(const char *host, const char *port) {
  struct addrinfo hints = {0}, *res;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, port, &hints, &res);
  if (rc != 0) die("%s: %s", host, gai_strerror(rc));
  memcpy(&server_addr, res->ai_addr, res->ai_addrlen);
  server_addr_len = res->ai_addrlen;
  freeaddrinfo(res);
}

/*
 * Kept serialized and offered on every later connection of this client, as Node's client
 * does with its 'session' buffer: OpenSSL makes a TLS 1.3 SSL_SESSION object unresumable
 * once it has been used, and the server sends no new ticket on a resumed handshake.
 */
static int new_session_cb(SSL *ssl, SSL_SESSION *session) {
  struct conn *c = SSL_get_app_data(ssl);
  int len = i2d_SSL_SESSION(session, NULL);
  if (len > 0) {
    free(c->ticket);
    c->ticket = malloc((size_t)len);
    unsigned char *p = c->ticket;
    c->ticket_len = i2d_SSL_SESSION(session, &p);
  }
  return 0; /* not kept: the copy above is */
}

static void setup_tls(const char *cafile) {
  ssl_ctx = SSL_CTX_new(TLS_client_method());
  if (!ssl_ctx) die("SSL_CTX_new failed");
  if (strcmp(cafile, "-") != 0) {
    if (SSL_CTX_load_verify_locations(ssl_ctx, cafile, NULL) != 1) die("cannot load %s", cafile);
    SSL_CTX_set_verify(ssl_ctx, SSL_VERIFY_PEER, NULL);
  }
  SSL_CTX_set_session_cache_mode(ssl_ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ssl_ctx, new_session_cb);
}

/* Starts a connection; 0, or -1 with errno. */
static int conn_open(struct conn *c) {
  c->fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->step = S_CONNECT;
  c->in_body = 0;
  c->line_len = 0;
  c->out_len = c->out_off = 0;
  c->reused = 0;
  c->failed = 0;
  c->started = now_ms();
  if (connect(c->fd, (struct sockaddr *)&server_addr, server_addr_len) < 0 && errno != EINPROGRESS) {
    int e = errno;
    close(c->fd);
    c->fd = -1;
    errno = e;
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
  return 0;
}

static void conn_close(struct conn *c) {
  if (c->ssl) {
    SSL_shutdown(c->ssl); /* close_notify, as a client's orderly close sends; not awaited */
    SSL_free(c->ssl);
    c->ssl = NULL;
  }
  if (c->fd >= 0) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
}

static void want_write(struct conn *c, int on) {
  struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Writes what is queued; 0 when all is out or must wait, -1 on error. */
static int flush_out(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n;
    if (c->ssl) {
      n = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
      if (n <= 0) {
        int e = SSL_get_error(c->ssl, (int)n);
        if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
          want_write(c, 1);
          return 0;
        }
        return -1;
      }
    } else {
      n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN) {
          want_write(c, 1);
          return 0;
        }
        return -1;
      }
    }
    c->out_off += (size_t)n;
  }
  return 0;
}

static int send_cmd(struct conn *c, enum step step, int multiline, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(c->out, sizeof c->out, fmt, ap);
  va_end(ap);
  c->out_len = (size_t)n;
  c->out_off = 0;
  c->step = step;
  c->multiline = multiline;
  c->in_body = 0;
  c->line_len = 0;
  return flush_out(c);
}

/* ---- Modes ---- */

enum mode { M_CHURN, M_RETR };
static enum mode mode;
static int use_tls;

/* churn */
static double *latencies;
static size_t nlat, lat_cap;
static long errors, resumed, max_sessions;
static char first_error[512];

/* retr */
static char fatal[512];

static void record_error(struct conn *c, const char *what) {
  c->failed = 1;
  errors++;
  if (!first_error[0]) snprintf(first_error, sizeof first_error, "%s: %s", accounts[c->account].user, what);
}

static void parse_list(struct conn *c) {
  /* "n size\r\n" per message, destuffed content (sizes never start with '.') */
  c->nsizes = 0;
  free(c->sizes);
  c->sizes = calloc((size_t)c->count + 1, sizeof *c->sizes);
  char *p = c->collect, *end = c->collect + c->collect_len;
  while (p < end) {
    char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) break;
    unsigned long n;
    unsigned long long size;
    if (sscanf(p, "%lu %llu", &n, &size) == 2 && n >= 1 && n <= (unsigned long)c->count) {
      c->sizes[n] = size;
      if ((int)n > c->nsizes) c->nsizes = (int)n;
    }
    p = eol + 1;
  }
}

/* The answer to the current step arrived; decides the next step. 0, or -1 to drop the conn. */
static int on_reply(struct conn *c, int ok, const char *line) {
  if (!ok) {
    char what[400];
    snprintf(what, sizeof what, "step %d refused: %.300s", (int)c->step, line);
    if (mode == M_RETR) {
      snprintf(fatal, sizeof fatal, "%s: %s", accounts[c->account].user, what);
      return -1;
    }
    record_error(c, what);
    return -1;
  }
  struct account *a = &accounts[c->account];
  switch (c->step) {
    case S_GREETING:
      return send_cmd(c, S_USER, 0, "USER %s\r\n", a->user);
    case S_USER:
      return send_cmd(c, S_PASS, 0, "PASS %s\r\n", a->pass);
    case S_PASS:
      if (mode == M_CHURN) return send_cmd(c, S_STAT, 0, "STAT\r\n");
      c->collect_len = 0;
      return send_cmd(c, S_LIST, 1, "LIST\r\n");
    case S_STAT:
      return send_cmd(c, S_QUIT, 0, "QUIT\r\n");
    case S_LIST:
      parse_list(c);
      if (c->nsizes < c->count) {
        snprintf(fatal, sizeof fatal, "%s: LIST has %d messages, %d asked for", a->user, c->nsizes, c->count);
        return -1;
      }
      c->next_msg = 1;
      c->retr_start = now_ms();
      return send_cmd(c, S_RETR, 1, "RETR %d\r\n", c->next_msg);
    case S_RETR: {
      uint64_t want = c->sizes[c->next_msg];
      if (c->body.octets != want) {
        snprintf(fatal, sizeof fatal, "%s: RETR %d sent %llu octets, LIST said %llu", a->user, c->next_msg, (unsigned long long)c->body.octets, (unsigned long long)want);
        return -1;
      }
      c->retr_wire += c->body.wire;
      c->retr_done++;
      if (c->next_msg < c->count) {
        c->next_msg++;
        return send_cmd(c, S_RETR, 1, "RETR %d\r\n", c->next_msg);
      }
      c->retr_end = now_ms();
      return send_cmd(c, S_QUIT, 0, "QUIT\r\n");
    }
    case S_QUIT:
      c->step = S_DONE;
      if (mode == M_CHURN) {
        if (nlat == lat_cap) {
          lat_cap = lat_cap ? lat_cap * 2 : 4096;
          latencies = realloc(latencies, lat_cap * sizeof *latencies);
        }
        latencies[nlat++] = now_ms() - c->started;
        if (c->reused) resumed++;
      }
      return 0;
    default:
      return -1;
  }
}

/* Octets read from the server; 0, or -1 to drop the connection. */
static int on_data(struct conn *c, const char *p, size_t n) {
  while (n > 0) {
    if (c->step == S_DONE) return -1; /* the server spoke after QUIT's answer */
    if (c->in_body) {
      int done;
      size_t used = body_feed(&c->body, p, n, &done);
      if (c->step == S_LIST) {
        if (c->collect_len + used > c->collect_cap) {
          c->collect_cap = (c->collect_len + used) * 2;
          c->collect = realloc(c->collect, c->collect_cap);
        }
        memcpy(c->collect + c->collect_len, p, used);
        c->collect_len += used;
      }
      p += used;
      n -= used;
      if (done) {
        c->in_body = 0;
        if (n > 0) {
          snprintf(fatal, sizeof fatal, "%zu octets after the end of a multi-line answer", n);
          return -1;
        }
        if (on_reply(c, 1, "") < 0) return -1;
      }
      continue;
    }
    const char *lf = memchr(p, '\n', n);
    size_t take = lf ? (size_t)(lf - p) + 1 : n;
    if (c->line_len + take >= LINE_MAX_BYTES) {
      record_error(c, "status line too long");
      return -1;
    }
    memcpy(c->line + c->line_len, p, take);
    c->line_len += take;
    p += take;
    n -= take;
    if (!lf) continue;
    c->line[c->line_len] = 0;
    int ok = strncmp(c->line, "+OK", 3) == 0;
    c->line[strcspn(c->line, "\r\n")] = 0;
    c->line_len = 0;
    if (ok && c->multiline) {
      c->in_body = 1;
      body_start(&c->body);
      continue;
    }
    if (on_reply(c, ok, c->line) < 0) return -1;
  }
  return 0;
}

/* Reads all that is there (TLS may hold decrypted octets the socket no longer signals). */
static int do_read(struct conn *c) {
  for (;;) {
    ssize_t n;
    if (c->ssl) {
      n = SSL_read(c->ssl, read_buf, READ_BYTES);
      if (n <= 0) {
        int e = SSL_get_error(c->ssl, (int)n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
        return -1;
      }
    } else {
      n = recv(c->fd, read_buf, READ_BYTES, 0);
      if (n < 0) return errno == EAGAIN ? 0 : -1;
      if (n == 0) return -1;
    }
    if (on_data(c, read_buf, (size_t)n) < 0) return -1;
    if (c->step == S_DONE) return 0;
  }
}

static int do_handshake(struct conn *c) {
  int rc = SSL_connect(c->ssl);
  if (rc == 1) {
    c->reused = SSL_session_reused(c->ssl);
    c->step = S_GREETING;
    c->multiline = 0;
    want_write(c, 0);
    return do_read(c);
  }
  int e = SSL_get_error(c->ssl, rc);
  if (e == SSL_ERROR_WANT_READ) return want_write(c, 0), 0;
  if (e == SSL_ERROR_WANT_WRITE) return want_write(c, 1), 0;
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  record_error(c, buf);
  return -1;
}

/* An epoll event on a connection; 0, or -1 to drop it. */
static int on_event(struct conn *c, uint32_t events) {
  if (c->step == S_CONNECT) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
      record_error(c, strerror(err));
      return -1;
    }
    if (!(events & (EPOLLOUT | EPOLLIN))) return 0;
    if (use_tls) {
      c->ssl = SSL_new(ssl_ctx);
      SSL_set_app_data(c->ssl, c);
      SSL_set_fd(c->ssl, c->fd);
      SSL_set_tlsext_host_name(c->ssl, "localhost");
      SSL_set1_host(c->ssl, "localhost");
      if (c->ticket) {
        const unsigned char *p = c->ticket;
        SSL_SESSION *session = d2i_SSL_SESSION(NULL, &p, c->ticket_len);
        if (session) {
          SSL_set_session(c->ssl, session);
          SSL_SESSION_free(session);
        }
      }
      c->step = S_HANDSHAKE;
      return do_handshake(c);
    }
    c->step = S_GREETING;
    c->multiline = 0;
    want_write(c, 0);
    return do_read(c);
  }
  if (c->step == S_HANDSHAKE) return do_handshake(c);
  if ((events & EPOLLOUT) && c->out_off < c->out_len) {
    if (flush_out(c) < 0) return -1;
    if (c->out_off == c->out_len) want_write(c, 0);
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) return do_read(c);
  return 0;
}

static void json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') printf("\\%c", ch);
    else if (ch < 0x20) printf("\\u%04x", ch);
    else putchar(ch);
  }
  putchar('"');
}

static void run_churn(int argc, char **argv) {
  if (argc < 8) die("churn HOST PORT TLS CAFILE SECONDS MAXSESSIONS");
  resolve(argv[2], argv[3]);
  use_tls = atoi(argv[4]);
  if (use_tls) setup_tls(argv[5]);
  double deadline = now_ms() + atof(argv[6]) * 1000;
  max_sessions = atol(argv[7]);
  mode = M_CHURN;
  read_accounts();
  struct conn *conns = calloc((size_t)naccounts, sizeof *conns);
  double t0 = now_ms();
  for (int i = 0; i < naccounts; i++) {
    conns[i].account = i;
    conns[i].fd = -1;
    if (conn_open(&conns[i]) < 0) {
      record_error(&conns[i], strerror(errno));
      conns[i].resume_at = now_ms() + 20;
    }
  }
  struct epoll_event events[256];
  for (;;) {
    double t = now_ms();
    int active = 0;
    for (int i = 0; i < naccounts; i++) {
      struct conn *c = &conns[i];
      if (c->fd >= 0) {
        active++;
        continue;
      }
      /* Between sessions: start the next one unless time or the count is up. */
      if (t >= deadline || (long)nlat + errors >= max_sessions) continue;
      if (c->resume_at > t) {
        active++;
        continue;
      }
      if (conn_open(c) < 0) {
        record_error(c, strerror(errno));
        c->resume_at = t + 20; /* a refusing server must not turn the loop into a busy spin */
      }
      active++;
    }
    if (active == 0) break;
    /* Hard stop: a server that stops answering cannot hold the run past its deadline. */
    if (t > deadline + 30000) {
      for (int i = 0; i < naccounts; i++)
        if (conns[i].fd >= 0) {
          record_error(&conns[i], "no answer 30 s after the deadline");
          conn_close(&conns[i]);
        }
      break;
    }
    int n = epoll_wait(epfd, events, 256, 10);
    for (int k = 0; k < n; k++) {
      struct conn *c = events[k].data.ptr;
      if (c->fd < 0) continue;
      int rc = on_event(c, events[k].events);
      if (rc < 0 && c->step != S_DONE) {
        if (!c->failed) record_error(c, "connection lost");
        conn_close(c);
        c->resume_at = now_ms() + 20;
      } else if (c->step == S_DONE) {
        conn_close(c);
      }
    }
  }
  double wall = now_ms() - t0;
  printf("{\"sessions\":%zu,\"errors\":%ld,\"resumed\":%ld,\"wallMs\":%.3f,\"cpuSeconds\":%.6f,\"firstError\":", nlat, errors, resumed, wall, cpu_seconds());
  if (first_error[0]) json_string(first_error);
  else printf("null");
  printf(",\"latenciesMs\":[");
  for (size_t i = 0; i < nlat; i++) printf(i ? ",%.3f" : "%.3f", latencies[i]);
  printf("]}\n");
}

static void run_retr(int argc, char **argv) {
  if (argc < 6) die("retr HOST PORT COUNT TIMEOUTMS");
  resolve(argv[2], argv[3]);
  int count = atoi(argv[4]);
  double deadline = now_ms() + atof(argv[5]);
  mode = M_RETR;
  read_accounts();
  struct conn *conns = calloc((size_t)naccounts, sizeof *conns);
  for (int i = 0; i < naccounts; i++) {
    conns[i].account = i;
    conns[i].count = count;
    if (conn_open(&conns[i]) < 0) die("connect: %s", strerror(errno));
  }
  int open = naccounts;
  struct epoll_event events[64];
  while (open > 0 && !fatal[0]) {
    if (now_ms() > deadline) die("timed out with %d connections still retrieving", open);
    int n = epoll_wait(epfd, events, 64, 100);
    for (int k = 0; k < n; k++) {
      struct conn *c = events[k].data.ptr;
      if (c->fd < 0) continue;
      int rc = on_event(c, events[k].events);
      if (c->step == S_DONE) {
        conn_close(c);
        open--;
      } else if (rc < 0) {
        if (!fatal[0]) snprintf(fatal, sizeof fatal, "%s: %s", accounts[c->account].user, first_error[0] ? first_error : "connection lost");
        break;
      }
    }
  }
  if (fatal[0]) die("%s", fatal);
  printf("{\"cpuSeconds\":%.6f,\"connections\":[", cpu_seconds());
  for (int i = 0; i < naccounts; i++) {
    struct conn *c = &conns[i];
    printf("%s{\"messages\":%d,\"bytes\":%llu,\"ms\":%.3f}", i ? "," : "", c->retr_done, (unsigned long long)c->retr_wire, c->retr_end - c->retr_start);
  }
  printf("]}\n");
}

/* ---- listing: one session, each step timed; plain blocking I/O is all it needs ---- */

static int lfd;
static char lbuf[READ_BYTES];
static size_t lbuf_len, lbuf_off;

static int lread(void) {
  ssize_t n = recv(lfd, lbuf, sizeof lbuf, 0);
  if (n <= 0) die("listing: connection lost (%s)", n < 0 ? strerror(errno) : "closed");
  lbuf_len = (size_t)n;
  lbuf_off = 0;
  return 0;
}

/* Reads a status line into out; returns 1 for +OK. */
static int lstatus(char *out, size_t cap) {
  size_t len = 0;
  for (;;) {
    if (lbuf_off == lbuf_len) lread();
    char ch = lbuf[lbuf_off++];
    if (len + 1 < cap) out[len++] = ch;
    if (ch == '\n') break;
  }
  out[len] = 0;
  out[strcspn(out, "\r\n")] = 0;
  return strncmp(out, "+OK", 3) == 0;
}

static uint64_t lbody(void) {
  struct body b;
  body_start(&b);
  for (;;) {
    if (lbuf_off == lbuf_len) lread();
    int done;
    size_t used = body_feed(&b, lbuf + lbuf_off, lbuf_len - lbuf_off, &done);
    lbuf_off += used;
    if (done) return b.wire;
  }
}

static void lsend(const char *s) {
  size_t n = strlen(s);
  if (send(lfd, s, n, MSG_NOSIGNAL) != (ssize_t)n) die("listing: send: %s", strerror(errno));
}

static void run_listing(int argc, char **argv) {
  if (argc < 5) die("listing HOST PORT TIMEOUTMS");
  resolve(argv[2], argv[3]);
  long timeout = atol(argv[4]);
  read_accounts();
  char line[LINE_MAX_BYTES], cmd[600], stat_line[LINE_MAX_BYTES];
  double t0 = now_ms();
  lfd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct timeval tv = {.tv_sec = timeout / 1000, .tv_usec = (timeout % 1000) * 1000};
  setsockopt(lfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(lfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(lfd, (struct sockaddr *)&server_addr, server_addr_len) < 0) die("listing: connect: %s", strerror(errno));
  if (!lstatus(line, sizeof line)) die("listing: greeting: %s", line);
  snprintf(cmd, sizeof cmd, "USER %s\r\n", accounts[0].user);
  lsend(cmd);
  if (!lstatus(line, sizeof line)) die("listing: USER: %s", line);
  double t1 = now_ms();
  snprintf(cmd, sizeof cmd, "PASS %s\r\n", accounts[0].pass);
  lsend(cmd);
  if (!lstatus(line, sizeof line)) die("listing: PASS: %s", line);
  double t2 = now_ms();
  lsend("STAT\r\n");
  if (!lstatus(stat_line, sizeof stat_line)) die("listing: STAT: %s", stat_line);
  double t3 = now_ms();
  lsend("UIDL\r\n");
  if (!lstatus(line, sizeof line)) die("listing: UIDL: %s", line);
  uint64_t uidl = lbody();
  double t4 = now_ms();
  lsend("LIST\r\n");
  if (!lstatus(line, sizeof line)) die("listing: LIST: %s", line);
  uint64_t list = lbody();
  double t5 = now_ms();
  lsend("QUIT\r\n");
  lstatus(line, sizeof line);
  close(lfd);
  printf("{\"loginMs\":%.3f,\"statMs\":%.3f,\"uidlMs\":%.3f,\"listMs\":%.3f,\"toStatMs\":%.3f,\"uidlBytes\":%llu,\"listBytes\":%llu,\"cpuSeconds\":%.6f,\"statLine\":",
         t2 - t1, t3 - t2, t4 - t3, t5 - t4, t3 - t0, (unsigned long long)uidl, (unsigned long long)list, cpu_seconds());
  json_string(stat_line);
  printf("}\n");
}

int main(int argc, char **argv) {
  if (argc < 2) die("usage: loadgen churn|retr|listing ...");
  epfd = epoll_create1(EPOLL_CLOEXEC);
  read_buf = malloc(READ_BYTES);
  if (strcmp(argv[1], "churn") == 0) run_churn(argc, argv);
  else if (strcmp(argv[1], "retr") == 0) run_retr(argc, argv);
  else if (strcmp(argv[1], "listing") == 0) run_listing(argc, argv);
  else die("unknown task %s", argv[1]);
  return 0;
}
