"""The HTTP and WebSocket edge: translates requests to commands and answers; holds no clinic rules."""
