"""PostHog's capture contract: bodies, parsing, ids, timestamps, hosts, replies, keys,
the pre-flight check and the capture service's own rules."""
