"""`ibkr-broker mcp`: the broker's tools for language-model agents over the Model Context Protocol.

A separate process that speaks MCP (stdio, or streamable HTTP with --listen) and talks to a
running ibkr-broker server through the Python client only, so every tool call passes the
server's authentication, roles, risk limits, kill switch and audit log. It never talks to TWS.

- `cli`: the command line (`main(argv)`); imports the `mcp` SDK only when it runs;
- `tools`: the MCP server: tools with typed inputs, resources for account and positions;
- `guard`: confirmation tokens of --confirm mode and broker refusals as tool errors;
- `inputs`: tool arguments to validated client requests, results to concise dicts.

Needs the `mcp` extra (`pip install 'ibkr-broker[mcp]'`); the base client never imports it.
"""
