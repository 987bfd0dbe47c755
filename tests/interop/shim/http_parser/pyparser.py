"""Incremental HTTP/1.1 response parser with the interface pymesos uses.

Feed bytes with execute(); ask whether the head is complete, read the status
and headers, take whatever body arrived so far with recv_body(). Chunked and
Content-Length bodies are supported; that is all a Mesos master sends.
"""

# pymesos compares `errno` against this when execute() consumed less than it
# was given; this parser always consumes everything, so it never happens.
INVALID_CHUNK = 8


class HttpParser(object):
    def __init__(self):
        self._buf = b""
        self._head_done = False
        self._status = None
        self._headers = {}
        self._chunked = False
        self._length = None
        self._received = 0
        self._body = []
        self._complete = False
        self.errno = 0
        self.errstr = ""

    def execute(self, data, length):
        self._buf += bytes(data[:length])
        if not self._head_done:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return length
            head = self._buf[:end].decode("latin-1").split("\r\n")
            self._buf = self._buf[end + 4:]
            self._status = int(head[0].split()[1])
            for line in head[1:]:
                name, _, value = line.partition(":")
                self._headers[name.strip()] = value.strip()
            lowered = {k.lower(): v for k, v in self._headers.items()}
            self._chunked = "chunked" in lowered.get("transfer-encoding", "").lower()
            if "content-length" in lowered:
                self._length = int(lowered["content-length"])
            self._head_done = True
        if self._chunked:
            while True:
                eol = self._buf.find(b"\r\n")
                if eol < 0:
                    break
                size = int(self._buf[:eol].split(b";")[0], 16)
                if len(self._buf) < eol + 2 + size + 2:
                    break
                chunk = self._buf[eol + 2:eol + 2 + size]
                self._buf = self._buf[eol + 2 + size + 2:]
                if size == 0:
                    self._complete = True
                    break
                self._body.append(chunk)
        elif self._buf:
            self._body.append(self._buf)
            self._received += len(self._buf)
            self._buf = b""
            if self._length is not None and self._received >= self._length:
                self._complete = True
        elif self._length == 0:
            self._complete = True
        return length

    def is_headers_complete(self):
        return self._head_done

    def get_status_code(self):
        return self._status

    def get_headers(self):
        return dict(self._headers)

    def is_chunked(self):
        return self._chunked

    def is_partial_body(self):
        return bool(self._body)

    def recv_body(self):
        body = b"".join(self._body)
        self._body = []
        return body

    def is_message_complete(self):
        return self._complete
