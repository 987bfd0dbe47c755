"""A libprocess peer built on compactor (PyPI), an implementation nobody here wrote.

Modes:
  serve             spawn process 'pong' answering each 'ping' with 'pong' (same
                    body); print its PID; run until stdin closes.
  client PID N      spawn process 'client', send N pings (body 'ping-<i>') to PID,
                    wait for N pongs, print 'pongs N <bodies ok>' and exit.
  link PID          spawn process 'watcher', link to PID, print 'linked', then
                    print 'exited <pid>' when the link breaks.
"""

import logging
import os
import sys
import threading

from compactor.context import Context
from compactor.pid import PID
from compactor.process import Process

logging.basicConfig(level=os.environ.get("COMPACTOR_LOG", "WARNING"))


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Pong(Process):
    @Process.install("ping")
    def ping(self, from_pid, body):
        self.send(from_pid, "pong", body)


class Client(Process):
    def __init__(self, target, count):
        super(Client, self).__init__("client")
        self.target = target
        self.count = count
        self.bodies = []
        self.done = threading.Event()

    @Process.install("pong")
    def pong(self, from_pid, body):
        self.bodies.append(body)
        if len(self.bodies) >= self.count:
            self.done.set()


class Watcher(Process):
    def __init__(self):
        super(Watcher, self).__init__("watcher")
        self.gone = threading.Event()
        self.who = None

    def exited(self, pid):
        self.who = pid
        self.gone.set()


def main():
    mode = sys.argv[1]
    context = Context(ip="127.0.0.1", port=0)
    context.start()
    if mode == "serve":
        pid = context.spawn(Pong("pong"))
        out(str(pid))
        sys.stdin.read()
    elif mode == "client":
        target = PID.from_string(sys.argv[2])
        count = int(sys.argv[3])
        client = Client(target, count)
        context.spawn(client)
        out("client %s" % client.pid)
        for i in range(count):
            client.send(target, "ping", ("ping-%d" % i).encode())
        client.done.wait(30)
        expected = [("ping-%d" % i).encode() for i in range(count)]
        out("pongs %d %s" % (len(client.bodies), "in-order" if client.bodies == expected else "MISMATCH"))
    elif mode == "link":
        target = PID.from_string(sys.argv[2])
        watcher = Watcher()
        context.spawn(watcher)
        watcher.link(target)
        # A message makes sure the connection (and so the link) is established.
        watcher.send(target, "hello", b"")
        out("linked %s" % watcher.pid)
        if watcher.gone.wait(30):
            out("exited %s" % watcher.who)
        else:
            out("no-exit")
    else:
        raise SystemExit("unknown mode " + mode)
    os._exit(0)


if __name__ == "__main__":
    main()
