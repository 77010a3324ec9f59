"""Vigie's application shell: settings, database, domains, worker, HTTP and WebSocket API."""
