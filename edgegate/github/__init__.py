"""GitHub: the Actions environment, webhook event payloads, and a small REST client.

``environment`` reads the runner's ``GITHUB_*`` variables, ``event`` the event payload
(``GITHUB_EVENT_PATH``), ``client`` talks to the REST API for the few endpoints EdgeGate uses
(issue comments, one pull request, the token's user) with retries, rate-limit waits and
pagination; ``identity`` decides which comments are EdgeGate's own to edit.
"""
