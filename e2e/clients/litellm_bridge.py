"""Drive the gateway with LiteLLM's own SDK bridge (litellm.experimental_mcp_client).

Usage: litellm_bridge.py URL KEY CALLS_JSON
CALLS_JSON is a list of OpenAI tool calls ({"id", "type", "function": {"name", "arguments"}}).
Prints one JSON object: the tools load_mcp_tools(format="openai") gave, and what
call_openai_tool gave for each call (the result, or the exception it raised).
"""

import asyncio
import json
import os
import sys

# LiteLLM fetches its model price map from GitHub at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import httpx2  # noqa: E402
from litellm.experimental_mcp_client import call_openai_tool, load_mcp_tools  # noqa: E402
from mcp import ClientSession  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402


async def main(url: str, key: str, calls: list) -> None:
    headers = {"x-litellm-api-key": key} if key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await load_mcp_tools(session=session, format="openai")
                results = []
                for call in calls:
                    try:
                        result = await call_openai_tool(session=session, openai_tool=call)
                    except Exception as exc:  # what a LiteLLM user's code would see
                        results.append({"exception": type(exc).__name__, "message": str(exc)})
                        continue
                    results.append({
                        "is_error": bool(result.is_error),
                        "text": [c.text for c in result.content if getattr(c, "type", "") == "text"],
                    })
                print(json.dumps({"tools": tools, "results": results}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])))
