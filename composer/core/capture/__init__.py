"""PostHog's capture contract: bodies, parsing, ids, timestamps, hosts, replies, the pre-flight check and the capture service's rules."""
