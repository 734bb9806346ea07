"""fediverse-pasture (an independent ActivityPub implementation, https://funfedi.dev), driven against a
live Rostra. Runs in its own virtualenv (`make clients` installs it under .venv/clients/pasture), never
in Rostra's: started by tests/federation/test_interop.py.

    pasture_tool.py serve DIR HOST PORT
        pasture's verify_actor application (its six test actors alice...frank, and the
        application actor /actor that `send` signs with), on http://HOST:PORT, keys kept in DIR.
    pasture_tool.py send DIR BASE TARGET NAME...
        For each of pasture's input catalogues NAME (fediverse_pasture_inputs: content_warnings,
        mentions, hashtags...), every example as a Create(Note) from BASE/actor to the actor TARGET,
        signed, through pasture's ActivitySender; prints one JSON line per example.

The catalogues name their own server http://pasture-one-actor (a Docker host name); the examples are
sent with it replaced by BASE, so their actor, mentions and images are the ones served here.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys


def serve(directory: str, host: str, port: int) -> None:
    from fediverse_pasture.server.image_provider_blueprint import image_provider_blueprint
    from fediverse_pasture.verify_actor import build_app

    os.chdir(directory)  # pasture keeps its actors' keys in ./data.toml
    app = build_app(False, f"{host}:{port}", False, 20)
    app.register_blueprint(image_provider_blueprint, url_prefix="/images")
    app.run(host=host, port=port)


async def send(directory: str, base: str, target: str, names: list[str]) -> None:
    import fediverse_pasture_inputs
    from fediverse_pasture.one_actor import bovine_actor_and_session
    from fediverse_pasture.runner import ActivitySender
    from fediverse_pasture.runner.config import SendingConfig

    os.chdir(directory)
    async with bovine_actor_and_session(base) as (bovine_actor, actor, _session):
        for name in names:
            for number, example in enumerate(fediverse_pasture_inputs.available[name].examples):
                fields = json.loads(json.dumps(example).replace("http://pasture-one-actor", base))
                sender = ActivitySender.for_actor(bovine_actor, actor)
                sender.sleep_after_getting_inbox = False
                # A mention of the Rostra account, as pasture's support tables send them: the note is addressed to it.
                sender.sending_config = SendingConfig(include_mention=True)
                sender.init_create_note(lambda note, fields=fields: {**note, "content": "text", **fields})
                response = await sender.send(target)
                status = getattr(response, "status", None)
                line = {"input": name, "number": number, "object_id": sender.object_id, "note": sender.note, "status": status}
                print(json.dumps(line), flush=True)


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "serve":
        serve(argv[1], argv[2], int(argv[3]))
        return 0
    if len(argv) >= 5 and argv[0] == "send":
        asyncio.run(send(argv[1], argv[2], argv[3], argv[4:]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
