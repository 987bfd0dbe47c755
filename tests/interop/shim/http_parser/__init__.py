# A small stand-in for the `http-parser` package (whose C extension does not
# build on Python >= 3.11), written for the pymesos interop test: pymesos
# only needs an incremental HTTP *response* parser for its SUBSCRIBE stream.
