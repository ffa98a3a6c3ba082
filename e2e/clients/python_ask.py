"""Drive an upstream that asks the client back (elicitation, sampling)
through the gateway with the official Python MCP SDK.

Usage: python_ask.py URL MODE TOOL...   (MODE: legacy or auto)
Prints one JSON object: for each tool, its text content and is_error.
"""

import asyncio
import json
import sys

from mcp import Client, types


async def elicit(context, params):
    return types.ElicitResult(action="accept", content={"name": "py"})


async def sample(context, params):
    return types.CreateMessageResult(
        role="assistant", model="m", content=types.TextContent(type="text", text="from python"))


async def main(url: str, mode: str, tools: list[str]) -> None:
    async with Client(url, mode=mode, elicitation_callback=elicit, sampling_callback=sample,
                      read_timeout_seconds=20) as client:
        out = {}
        for tool in tools:
            result = await client.call_tool(tool, {})
            out[tool] = {
                "text": [c.text for c in result.content if getattr(c, "type", "") == "text"],
                "is_error": bool(result.is_error),
            }
        print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
