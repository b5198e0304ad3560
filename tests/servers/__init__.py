"""Real servers the tests start: Dovecot, Postfix."""
