"""The GraphQL gateway: Starlette + Strawberry over the asyncio RPC client."""
