#!/usr/bin/env python3
"""tcp-cut.py UPSTREAM_PORT: a TCP relay on 127.0.0.1 in front of a real
server that loses connections the way a killed or rebooted server does.
Each client connection is relayed to 127.0.0.1:UPSTREAM_PORT as is until
the server has answered something; once the client then sends more than
1000 further bytes (the next request of a kept-alive connection, part way
through its body), both sides are closed. Prints "port N" once listening.
"""
import socket
import sys
import threading

UP = int(sys.argv[1])


def serve(c):
    u = socket.create_connection(("127.0.0.1", UP))
    st = {"answered": False, "after": 0}
    lock = threading.Lock()

    def up_to_client():
        while True:
            d = u.recv(65536)
            if not d:
                break
            with lock:
                st["answered"] = True
            c.sendall(d)
        c.close()

    threading.Thread(target=up_to_client, daemon=True).start()
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            with lock:
                if st["answered"]:
                    st["after"] += len(d)
                cut = st["after"] > 1000
            if cut:
                break
            u.sendall(d)
    except OSError:
        pass
    for s in (c, u):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
print("port %d" % srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
