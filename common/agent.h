/* agent: the fcsnap agent wire protocol and its host side.
 *
 * One stream (a vsock connection, or a Unix socket in test mode) carries
 * frames:
 *     type      1 byte
 *     length    4 bytes, big endian, at most AGENT_MAX_PAYLOAD
 *     payload   length bytes
 * Integers inside payloads are big endian.  Strings inside payloads are
 * NUL-terminated.
 *
 * Every connection starts with a handshake: the host sends HANDSHAKE
 * (magic "FCSNAPAG" + u32 protocol version), the agent answers HANDSHAKE
 * (the same magic + its u32 version + its software version string), or
 * ERROR when the versions differ.  Then the host sends requests, one at a
 * time, each answered by one reply:
 *     HELLO  u64 wall clock (ns since the epoch) + 64..256 entropy bytes
 *            -> HELLO_OK: two items (clock, entropy), each
 *               u8 status (AGENT_ITEM_*) + u8 n + n bytes of message
 *     PING   any payload up to 4096 bytes -> PONG with the same payload
 *     SYNC   u8 flags (AGENT_SYNC_DROP_CACHES) -> SYNC_OK: one item
 *            (drop_caches; AGENT_ITEM_SKIPPED when not asked)
 *     EXEC   turns the connection into an exec session (below)
 * An unknown or malformed request gets ERROR (text) and the agent closes
 * the connection.
 *
 * Exec session.  EXEC payload:
 *     u32 timeout_ms (0 = none)  u32 flags  u32 argc  u32 envc
 *     cwd\0 (empty = "/")  argv[0]\0 ... argv[argc-1]\0  env[0]\0 ...
 * env entries "K=V" set K on top of the agent's own environment (or an
 * empty one with AGENT_EXEC_CLEAR_ENV); an entry "K" without '=' unsets K.
 * The agent answers STARTED (u32 pid, u32 stdin window) or EXEC_ERROR
 * (u8 kind AGENT_FAIL_*, u32 errno, message\0) and closes.  After
 * STARTED the host may send STDIN (data), STDIN_EOF and SIGNAL (u32
 * signal number, delivered to the command's process group) in any order;
 * the agent sends STDOUT and STDERR (data) as produced, WINDOW (u32 n:
 * n more stdin bytes may be sent) and finally EXIT (u8 kind AGENT_EXIT_*,
 * u32 code or signal number) and closes.
 *
 * Flow control: the host never has more unacknowledged STDIN bytes in
 * flight than the window (the STARTED window, refilled by WINDOW frames),
 * so the agent can always read the socket (a SIGNAL is never stuck behind
 * stdin the command does not read).  The agent stops reading the
 * command's output while the host does not read the socket.
 *
 * The command runs in its own process group.  When it exits, whatever is
 * left in its group is killed (unless AGENT_EXEC_KEEP_GROUP), its output
 * is drained, then EXIT is sent.  On timeout the group gets SIGTERM, then
 * SIGKILL after AGENT_KILL_GRACE_MS, and EXIT says AGENT_EXIT_TIMEOUT
 * (code = the signal that ended it).  If the host connection drops, the
 * group is killed.
 *
 * Host side: functions return -1 with a message (util.h fail()) on error.
 * All reads take a timeout in ms (-1 = none). */
#ifndef FCSNAP_AGENT_H
#define FCSNAP_AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_DEFAULT_PORT   10789
#define AGENT_PROTO_VERSION  1
#define AGENT_MAGIC          "FCSNAPAG"     /* 8 bytes, no NUL on the wire */
#define AGENT_HDR_LEN        5
#define AGENT_MAX_PAYLOAD    (1u << 20)
#define AGENT_MAX_PING       4096
#define AGENT_ENTROPY_MIN    64
#define AGENT_ENTROPY_MAX    256
#define AGENT_KILL_GRACE_MS  2000

/* Frame types: host -> agent */
enum {
	AGENT_T_HANDSHAKE = 0x01,
	AGENT_T_HELLO     = 0x02,
	AGENT_T_PING      = 0x03,
	AGENT_T_SYNC      = 0x04,
	AGENT_T_EXEC      = 0x05,
	AGENT_T_STDIN     = 0x06,
	AGENT_T_STDIN_EOF = 0x07,
	AGENT_T_SIGNAL    = 0x08,
};
/* Frame types: agent -> host */
enum {
	AGENT_T_HANDSHAKE_OK = 0x81,
	AGENT_T_HELLO_OK     = 0x82,
	AGENT_T_PONG         = 0x83,
	AGENT_T_SYNC_OK      = 0x84,
	AGENT_T_STARTED      = 0x85,
	AGENT_T_EXEC_ERROR   = 0x86,
	AGENT_T_STDOUT       = 0x87,
	AGENT_T_STDERR       = 0x88,
	AGENT_T_WINDOW       = 0x89,
	AGENT_T_EXIT         = 0x8a,
	AGENT_T_ERROR        = 0xff,
};

#define AGENT_SYNC_DROP_CACHES  1u

#define AGENT_EXEC_CLEAR_ENV    1u   /* start from an empty environment */
#define AGENT_EXEC_KEEP_GROUP   2u   /* leave the group alive at exit */

enum { AGENT_ITEM_OK = 0, AGENT_ITEM_SKIPPED = 1, AGENT_ITEM_FAILED = 2 };
enum { AGENT_FAIL_NOTFOUND = 1, AGENT_FAIL_NOEXEC = 2, AGENT_FAIL_OTHER = 3 };
enum { AGENT_EXIT_CODE = 0, AGENT_EXIT_SIGNAL = 1, AGENT_EXIT_TIMEOUT = 2 };

/* ---- frame codec (shared by host and agent) ---- */

/* Write one whole frame (blocking; EINTR handled). 0 or -1. */
int agent_write_frame(int fd, int type, const void *p, size_t n);
/* Encode a frame header into h[AGENT_HDR_LEN]. */
void agent_put_hdr(unsigned char *h, int type, uint32_t n);
/* Read one frame into buf (cap bytes).  timeout_ms bounds the whole frame
 * (-1: none).  Returns the type (0..255) with *n set, or -1: EOF before a
 * frame ("connection closed"), EOF inside one ("truncated frame"),
 * oversized (> cap or AGENT_MAX_PAYLOAD), timeout, I/O error. */
int agent_read_frame(int fd, void *buf, size_t cap, size_t *n, int timeout_ms);

/* Incremental decoder over a byte buffer (for non-blocking readers):
 * given len bytes at b, returns 1 with *type, *payload, *n and *used set
 * when a whole frame is there, 0 when more bytes are needed, -1 (message
 * set) when the header announces more than max bytes. */
int agent_decode(const unsigned char *b, size_t len, size_t max, int *type,
    const unsigned char **payload, size_t *n, size_t *used);

/* Big-endian helpers. */
void agent_put32(unsigned char *p, uint32_t v);
uint32_t agent_get32(const unsigned char *p);
void agent_put64(unsigned char *p, uint64_t v);
uint64_t agent_get64(const unsigned char *p);

/* ---- host side: connection and control requests ---- */

/* vsock_connect (Firecracker hybrid vsock on uds_path) + agent_handshake.
 * The handshake gets what is left of timeout_ms, at least 2 s.  A
 * connection closed before the handshake reply (the guest's vsock
 * transport reset just after a restore, fc-agent(8)) is made again, with
 * a backoff of 5 ms doubling to 100 ms, until timeout_ms has passed.
 * Returns the fd or -1. */
int agent_connect(const char *uds_path, uint32_t port, int timeout_ms);
/* The same, giving up before each retry when gone(arg) returns nonzero
 * (vsock_connect_watch): a VM that died is not waited for. */
int agent_connect_watch(const char *uds_path, uint32_t port, int timeout_ms,
    int (*gone)(void *), void *arg);
/* Connect directly to a Unix socket the agent listens on (test mode:
 * `fc-agent --unix-dir D` listens on D/<port>) + handshake. */
int agent_connect_unix(const char *path, int timeout_ms);
/* The version handshake on an already connected stream.  Fills ver (the
 * agent's software version, may be NULL) and returns 0, or -1 with a
 * message ("not an fcsnap agent", "agent speaks protocol N, we speak M"). */
int agent_handshake(int fd, char *ver, size_t vern, int timeout_ms);

struct agent_item {
	int status;               /* AGENT_ITEM_* */
	char msg[256];
};
struct agent_hello_result {
	struct agent_item clock, entropy;
};
/* HELLO with our wall clock and fresh entropy (getrandom).  The result
 * tells per item what the agent did (res may be NULL).  -1 only on a
 * protocol or I/O failure. */
int agent_hello(int fd, struct agent_hello_result *res, int timeout_ms);
/* PING; checks the echo. */
int agent_ping(int fd, int timeout_ms);
/* SYNC (flags AGENT_SYNC_*); drop (may be NULL) reports the cache drop. */
int agent_sync(int fd, unsigned flags, struct agent_item *drop, int timeout_ms);

/* ---- host side: exec sessions ---- */

struct agent_exec_req {
	char *const *argv;        /* argv[0] is looked up in the guest's PATH */
	char *const *env;         /* "K=V" / "K" entries, NULL-terminated, or NULL */
	const char *cwd;          /* NULL = "/" */
	uint32_t timeout_ms;      /* 0 = none */
	uint32_t flags;           /* AGENT_EXEC_* */
};

struct agent_exec {
	int fd;                   /* the session's connection (owned) */
	pid_t pid;                /* the command's pid in the guest */
	size_t credit;            /* stdin bytes the agent accepts right now */
	int fail_kind;            /* after a failed start: AGENT_FAIL_*, else 0 */
	int exit_kind;            /* after EXIT: AGENT_EXIT_* */
	int exit_code;            /* after EXIT: code or signal number */
	int done;                 /* EXIT received */
	int peer_closed;          /* the agent stopped reading: stdin is discarded */
	unsigned char *buf;       /* last frame's payload (AGENT_MAX_PAYLOAD) */
	size_t len;               /* its length */
};

/* Send EXEC on fd (a fresh, handshaken connection; x takes ownership of
 * it) and wait for STARTED.  Returns 0, or -1 with a message; when the
 * command could not be started x->fail_kind says why (map
 * AGENT_FAIL_NOTFOUND to 127, AGENT_FAIL_NOEXEC to 126).  Call
 * agent_exec_close in every case. */
int agent_exec_start(struct agent_exec *x, int fd, const struct agent_exec_req *r,
    int timeout_ms);
/* Send up to n stdin bytes, limited by x->credit.  Returns the number
 * sent (0 when the window is closed: wait for a WINDOW frame) or -1.
 * Once the agent has closed its side (the command ended) stdin, EOF and
 * signals are silently discarded: keep calling agent_exec_next, which
 * returns EXIT (or the error). */
ssize_t agent_exec_stdin(struct agent_exec *x, const void *buf, size_t n);
int agent_exec_eof(struct agent_exec *x);
int agent_exec_signal(struct agent_exec *x, int sig);
/* Read the next frame (call when x->fd is readable, or block up to
 * timeout_ms).  Returns its type with x->buf / x->len holding the payload:
 * AGENT_T_STDOUT / AGENT_T_STDERR (data), AGENT_T_WINDOW (x->credit was
 * raised), AGENT_T_EXIT (x->done, x->exit_kind, x->exit_code set).  -1 on
 * error (including the agent going away before EXIT). */
int agent_exec_next(struct agent_exec *x, int timeout_ms);
/* An EXIT frame's payload (u8 kind, u32 code): the kind, and a code that
 * is an exit status (0-255) or, for AGENT_EXIT_SIGNAL, a signal (1-64);
 * anything else is the guest lying: -1 "agent: malformed exit frame...". */
int agent_exit_parse(const unsigned char *p, size_t n, int *kind, int *code);
/* Shell-style status of a session: after EXIT the code, 128+signal, or
 * 124 for a timeout; after a failed start 127 (not found), 126 (not
 * executable) or 125; 125 when no EXIT came. */
int agent_exec_status(const struct agent_exec *x);
/* Close the fd and free the buffer (the agent kills a running command). */
void agent_exec_close(struct agent_exec *x);

#endif
