"""Drive the gateway with the official Python MCP SDK (a client we did not write).

Usage: python_client.py URL TOOL JSON_ARGS
Prints one JSON object: the tool names listed and the call's text content.
"""

import asyncio
import json
import sys

from mcp import Client


async def main(url: str, tool: str, args: dict) -> None:
    async with Client(url) as client:
        listed = await client.list_tools()
        result = await client.call_tool(tool, args)
        texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
        print(json.dumps({
            "tools": sorted(t.name for t in listed.tools),
            "is_error": bool(result.is_error),
            "text": texts,
        }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
