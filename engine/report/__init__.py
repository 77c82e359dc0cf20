"""``ratchet report``: the recorded history as a static HTML page (see :mod:`.build`)."""
