"""Local stand-ins for the services Vigie talks to, real enough to be sent to over the network."""
