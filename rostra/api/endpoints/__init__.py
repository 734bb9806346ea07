"""The API's endpoints, one module per area; each parses, authorises, calls one action or query, renders."""
