"""The pure core: payloads, bodies, the parser and the pre-flight check. No Qt and no I/O."""
