// Fedify (an independent ActivityPub framework, https://fedify.dev) reads a Rostra actor and note:
//   node lookup.mjs ACTOR_URL NOTE_URL
// Both are fetched with Fedify's lookupObject and parsed again with its strict fromJsonLd (which
// throws on anything malformed); the fields it read back are printed as one JSON object.
// FEDIFY_KEY_ID and FEDIFY_KEY_PEM (an RSA private key, PEM) sign the fetches, for a server that
// requires authorised fetch. Needs Node.js 22 or later; `make clients` installs Fedify (package.json) and a Node.js 22
// (.venv/clients/node22); run by tests/federation/test_interop.py.
import { createPrivateKey, webcrypto } from "node:crypto";
import { getAuthenticatedDocumentLoader, getDocumentLoader, lookupObject, Note, Person } from "@fedify/fedify";

const [actorUrl, noteUrl] = process.argv.slice(2);
if (!actorUrl || !noteUrl) {
  console.error("usage: node lookup.mjs ACTOR_URL NOTE_URL");
  process.exit(2);
}

const contextLoader = getDocumentLoader({ allowPrivateAddress: true });
let documentLoader = contextLoader;
if (process.env.FEDIFY_KEY_ID) {
  const jwk = createPrivateKey(process.env.FEDIFY_KEY_PEM).export({ format: "jwk" });
  const privateKey = await webcrypto.subtle.importKey("jwk", jwk, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["sign"]);
  documentLoader = getAuthenticatedDocumentLoader({ keyId: new URL(process.env.FEDIFY_KEY_ID), privateKey }, { allowPrivateAddress: true });
}
const options = { documentLoader, contextLoader, crossOrigin: "throw" };

async function strict(url, cls) {
  const found = await lookupObject(url, options);
  if (!(found instanceof cls)) throw new Error(`lookupObject(${url}) gave ${found?.constructor?.name ?? found}, not a ${cls.name}`);
  const { document } = await documentLoader(url);
  const parsed = await cls.fromJsonLd(document, options); // throws on malformed JSON-LD
  if (parsed.id?.href !== found.id?.href) throw new Error(`ids differ: ${parsed.id?.href} and ${found.id?.href}`);
  return found;
}

const actor = await strict(actorUrl, Person);
const key = await actor.getPublicKey(options);
const note = await strict(noteUrl, Note);
const tags = [];
for await (const tag of note.getTags(options)) {
  tags.push({ type: tag.constructor.name, name: tag.name?.toString() ?? null, href: tag.href?.href ?? null });
}
const text = (value) => (value == null ? null : value.toString());

console.log(JSON.stringify({
  actor: {
    id: actor.id?.href,
    preferredUsername: text(actor.preferredUsername),
    name: text(actor.name),
    summary: text(actor.summary),
    url: actor.url?.href ?? null,
    inbox: actor.inboxId?.href,
    outbox: actor.outboxId?.href,
    followers: actor.followersId?.href,
    following: actor.followingId?.href,
    featured: actor.featuredId?.href ?? null,
    sharedInbox: actor.endpoints?.sharedInbox?.href ?? null,
    manuallyApprovesFollowers: actor.manuallyApprovesFollowers,
    publicKey: { id: key?.id?.href, owner: key?.ownerId?.href, algorithm: key?.publicKey?.algorithm?.name ?? null },
  },
  note: {
    id: note.id?.href,
    attributedTo: note.attributionId?.href,
    content: text(note.content),
    summary: text(note.summary),
    sensitive: note.sensitive,
    published: note.published?.toString() ?? null,
    url: note.url?.href ?? null,
    inReplyTo: note.replyTargetId?.href ?? null,
    to: note.toIds.map((u) => u.href),
    cc: note.ccIds.map((u) => u.href),
    tags,
  },
}));
