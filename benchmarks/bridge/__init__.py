"""The whole bridge under load: bot process, real Knowrithm client, local server, 429s."""
