"""``directives.push``: ratchet's branches and notes shared on a remote after each cycle,
draft PRs for review candidates through ``gh`` (see :mod:`.pusher`)."""
