/* libFuzzer target: the guest side of the agent protocol (guest/fc-agent.c,
 * compiled in here with its main renamed, in test mode).
 *
 * The input is a stream of frames from the "host", cut with agent_decode as
 * the agent's exec session does.  HANDSHAKE and HELLO frames go to their
 * handlers (answers to /dev/null), EXEC payloads to parse_exec, whose
 * command must then hold its invariants (argv non-empty and
 * NULL-terminated, every string inside the payload).  SYNC is left out: it
 * calls sync(2).
 */
#define main fc_agent_main
#include "../guest/fc-agent.c"
#undef main

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_exec(const unsigned char *p, size_t n)
{
	struct cmd c;
	char msg[256];
	size_t i;

	memset(&c, 0, sizeof c);
	if (parse_exec(p, n, &c, msg, sizeof msg) == 0) {
		if (!c.argv || !c.argv[0] || !c.cwd || !c.envp || c.envp[c.envc])
			abort();
		for (i = 0; c.argv[i]; i++)
			if ((const unsigned char *)c.argv[i] < p ||
			    (const unsigned char *)c.argv[i] >= p + n)
				abort();
	} else if (!msg[0]) {
		abort();
	}
	free(c.argv);
	free(c.envp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int devnull = -1;
	const unsigned char *p;
	size_t off = 0, n, used;
	int type, d;

	if (devnull < 0) {
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
		test_mode = 1;
		progname = "fc-agent";
	}
	while ((d = agent_decode(data + off, size - off, AGENT_MAX_PAYLOAD,
	    &type, &p, &n, &used)) == 1) {
		if (used < AGENT_HDR_LEN || used > size - off || n != used - AGENT_HDR_LEN)
			abort();
		switch (type) {
		case AGENT_T_HANDSHAKE: (void)do_handshake(devnull, p, n); break;
		case AGENT_T_HELLO: (void)do_hello(devnull, p, n); break;
		case AGENT_T_EXEC: check_exec(p, n); break;
		}
		off += used;
	}
	return 0;
}
