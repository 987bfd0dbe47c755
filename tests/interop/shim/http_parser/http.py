from http_parser.pyparser import HttpParser  # noqa: F401
