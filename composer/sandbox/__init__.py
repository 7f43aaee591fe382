"""The local sandbox: a PostHog-compatible capture endpoint on 127.0.0.1, with an inbox.

This package init stays empty of imports: the window imports `composer.sandbox.keys` before it
is shown, and must not pay for platformdirs there.
"""
