"""The pre-flight check: what PostHog will do with a body, before it is sent.

Every rule follows the capture contract (`docs/posthog-capture-contract.md`, §3-§7 and §16).
Each finding says whether PostHog rejects the request (error), accepts it and then drops,
truncates or coerces part of it (warning), or only something worth knowing (info).
"""

from composer.core.capture.preflight.check import (
    CheckOptions,
    CheckResult,
    PredictedReply,
    check_body,
    check_text,
)

__all__ = ["CheckOptions", "CheckResult", "PredictedReply", "check_body", "check_text"]
