// masto.js (npm `masto`) against a live Rostra: the same session as the Mastodon.py scenario in
// tests/api/test_mastodon_py.py, with two accounts. Run by tests/clients/test_masto.py:
//   ROSTRA_URL=http://127.0.0.1:8000 ROSTRA_PASSWORD=... ROSTRA_PNG=/tmp/x.png node scenario.mjs sam pia
// Prints "ok <step>" per step; on the first failure prints "FAIL <step>: <what went wrong>" and exits 1.
import { readFile } from "node:fs/promises";
import { createOAuthAPIClient, createRestAPIClient, createStreamingAPIClient } from "masto";

const url = process.env.ROSTRA_URL;
const password = process.env.ROSTRA_PASSWORD;
const pngPath = process.env.ROSTRA_PNG;
const [samName, piaName] = process.argv.slice(2);
const SCOPES = "read write follow push";

const overall = setTimeout(() => {
  console.log("FAIL timeout: the scenario took longer than 100s");
  process.exit(1);
}, 100_000);

let current = "start";

function check(condition, message, value) {
  if (!condition) {
    throw new Error(`${message}${value === undefined ? "" : `: ${JSON.stringify(value)?.slice(0, 600)}`}`);
  }
}

async function step(name, fn) {
  current = name;
  const result = await fn();
  console.log(`ok ${name}`);
  return result;
}

async function eventually(what, fn, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await fn();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function describe(error) {
  // MastoHttpError carries the HTTP status and Mastodon's {"error": ...} body.
  const parts = [error?.constructor?.name ?? "Error", error?.message];
  if (error?.statusCode !== undefined) parts.push(`HTTP ${error.statusCode}`);
  if (error?.description) parts.push(`description=${error.description}`);
  if (error?.additionalProperties) parts.push(`body=${JSON.stringify(error.additionalProperties)}`);
  if (error?.cause?.message) parts.push(`cause=${error.cause.message}`);
  return parts.filter(Boolean).join(" | ");
}

async function main() {
  const oauth = createOAuthAPIClient({ url });
  const anon = createRestAPIClient({ url });

  const app = await step("create an app", async () => {
    const created = await anon.v1.apps.create({ clientName: "masto-scenario", redirectUris: "urn:ietf:wg:oauth:2.0:oob", scopes: SCOPES });
    check(created.clientId && created.clientSecret, "the app has a client id and secret", created);
    return created;
  });

  const logIn = async (username) => {
    const token = await oauth.token.create({
      grantType: "password", clientId: app.clientId, clientSecret: app.clientSecret,
      redirectUri: "urn:ietf:wg:oauth:2.0:oob", username, password, scope: SCOPES,
    });
    check(token.accessToken, "a token", token);
    return { token: token.accessToken, rest: createRestAPIClient({ url, accessToken: token.accessToken }) };
  };
  const { sam, pia, samToken, samId, piaId } = await step("log in both accounts", async () => {
    const s = await logIn(samName);
    const p = await logIn(piaName);
    const me = await s.rest.v1.accounts.verifyCredentials();
    check(me.username === samName && typeof me.id === "string", "verify_credentials names sam with a string id", me);
    const other = await p.rest.v1.accounts.verifyCredentials();
    return { sam: s.rest, pia: p.rest, samToken: s.token, samId: me.id, piaId: other.id };
  });

  const instance = await step("instance v2", async () => {
    const info = await anon.v2.instance.fetch();
    check(info.version.startsWith("4."), "a Mastodon 4 version", info.version);
    return info;
  });

  const { media, photo } = await step("upload a PNG and post it", async () => {
    const file = new Blob([await readFile(pngPath)], { type: "image/png" });
    const media = await sam.v2.media.create({ file, description: "A red rectangle" });
    check(media.type === "image" && media.url, "an image with a url", media);
    check(media.description === "A red rectangle", "the description", media.description);
    const photo = await sam.v1.statuses.create({ status: "A photo of a red rectangle #scenario", mediaIds: [media.id], visibility: "public" });
    check(photo.mediaAttachments.length === 1 && photo.mediaAttachments[0].id === media.id, "the status carries the media", photo.mediaAttachments);
    check(photo.account.id === samId && photo.visibility === "public", "sam's public status", photo);
    return { media, photo };
  });

  const pollStatus = await step("post a poll", async () => {
    const status = await sam.v1.statuses.create({ status: "Tea or coffee?", poll: { options: ["tea", "coffee"], expiresIn: 3600 } });
    check(status.poll && status.poll.options.map((o) => o.title).join() === "tea,coffee", "the poll's options", status.poll);
    check(status.poll.expired === false && status.poll.votesCount === 0, "an open poll without votes", status.poll);
    return status;
  });

  await step("pia follows sam", async () => {
    const found = await pia.v1.accounts.lookup({ acct: samName });
    check(found.id === samId, "lookup finds sam", found);
    const rel = await pia.v1.accounts.$select(samId).follow();
    check(rel.following === true && rel.id === samId, "the relationship says following", rel);
    const [again] = await pia.v1.accounts.relationships.fetch({ id: [samId] });
    check(again && again.following === true, "relationships agrees", again);
  });

  await step("pia's home timeline shows sam's photo", async () => {
    const seen = await eventually("sam's photo in pia's home", async () => (await pia.v1.timelines.home.list()).find((s) => s.id === photo.id));
    check(seen.mediaAttachments[0].id === media.id, "with its media", seen.mediaAttachments);
    // Pagination through the Link header: the newest is the poll; the next (older) page holds the photo.
    // No retry: once the photo is in pia's home, so is the newer poll (fan-out of a post to someone
    // who followed after it was written brings the author's recent posts all at once).
    const pages = pia.v1.timelines.home.list({ limit: 1 }).values();
    const first = await pages.next();
    const second = await pages.next();
    const seenPages = [first.value?.map((s) => s.id), second.value?.map((s) => s.id)];
    check(first.value?.[0]?.id === pollStatus.id && second.value?.[0]?.id === photo.id, "two pages of one in pia's home: the poll, then the photo", seenPages);
  });

  const reply = await step("pia votes, favourites, reblogs and replies", async () => {
    const poll = await pia.v1.polls.$select(pollStatus.poll.id).votes.create({ choices: [1] });
    check(poll.voted === true && poll.ownVotes?.join() === "1" && poll.votesCount === 1, "the vote counts", poll);
    const fav = await pia.v1.statuses.$select(photo.id).favourite();
    check(fav.favourited === true && fav.favouritesCount === 1, "favourited", fav);
    const boost = await pia.v1.statuses.$select(photo.id).reblog();
    check(boost.reblog?.id === photo.id && boost.reblog.reblogged === true, "reblogged", boost);
    const reply = await pia.v1.statuses.create({ status: `@${samName} What a lovely rectangle`, inReplyToId: photo.id });
    check(reply.inReplyToId === photo.id && reply.inReplyToAccountId === samId, "a reply to sam's photo", reply);
    check(reply.mentions.some((m) => m.id === samId), "mentioning sam", reply.mentions);
    return reply;
  });

  await step("context", async () => {
    const ctx = await sam.v1.statuses.$select(photo.id).context.fetch();
    check(ctx.descendants.map((s) => s.id).join() === reply.id, "the reply is the photo's descendant", ctx);
    const up = await pia.v1.statuses.$select(reply.id).context.fetch();
    check(up.ancestors.map((s) => s.id).join() === photo.id, "the photo is the reply's ancestor", up);
    const again = await sam.v1.statuses.$select(photo.id).fetch();
    check(again.favouritesCount === 1 && again.reblogsCount === 1 && again.repliesCount === 1, "the counts", again);
  });

  await step("sam's notifications", async () => {
    const want = ["follow", "favourite", "reblog", "mention"];
    await eventually("follow, favourite, reblog and mention notifications from pia", async () => {
      const kinds = new Set((await sam.v1.notifications.list()).filter((n) => n.account.id === piaId).map((n) => n.type));
      return want.every((k) => kinds.has(k));
    });
    const mentions = await sam.v1.notifications.list({ types: ["mention"] });
    check(mentions.length > 0 && mentions.every((n) => n.type === "mention"), "only mentions", mentions.map((n) => n.type));
    check(mentions[0].status?.id === reply.id, "the mention is pia's reply", mentions[0]);
  });

  await step("search", async () => {
    const found = await sam.v2.search.list({ q: piaName, type: "accounts" });
    check(found.accounts.some((a) => a.id === piaId), "pia among the accounts", found.accounts);
    const tags = await sam.v2.search.list({ q: "#scenario", type: "hashtags" });
    check(tags.hashtags.some((t) => t.name === "scenario"), "#scenario among the hashtags", tags.hashtags);
  });

  const filter = await step("filters v2", async () => {
    const filter = await sam.v2.filters.create({
      title: "Cats", context: ["home"], filterAction: "warn", keywordsAttributes: [{ keyword: "kitten", wholeWord: true }],
    });
    check(filter.title === "Cats" && filter.context.join() === "home" && filter.filterAction === "warn", "the filter", filter);
    check(filter.keywords.map((k) => k.keyword).join() === "kitten", "its keyword", filter.keywords);
    check((await sam.v2.filters.list()).some((f) => f.id === filter.id), "listed", undefined);
    return filter;
  });

  const list = await step("sam follows pia, lists", async () => {
    await sam.v1.accounts.$select(piaId).follow();
    const list = await sam.v1.lists.create({ title: "Friends" });
    check(list.title === "Friends", "the list", list);
    await sam.v1.lists.$select(list.id).accounts.create({ accountIds: [piaId] });
    const members = await sam.v1.lists.$select(list.id).accounts.list();
    check(members.map((a) => a.id).join() === piaId, "pia is the member", members);
    check((await sam.v1.lists.list()).some((l) => l.id === list.id), "listed", undefined);
    return list;
  });

  const kitten = await step("streaming: pia's post reaches sam's user stream", async () => {
    const streamingApiUrl = instance.configuration?.urls?.streaming;
    check(streamingApiUrl, "the instance advertises configuration.urls.streaming", instance.configuration?.urls);
    const streaming = createStreamingAPIClient({ streamingApiUrl, accessToken: samToken, retry: 3 });
    const subscription = streaming.user.subscribe();
    try {
      const arrived = (async () => {
        for await (const event of subscription) {
          if (event.event === "update" && event.payload.content.includes("kitten")) return event.payload;
        }
        return null;
      })();
      await new Promise((resolve) => setTimeout(resolve, 1000)); // let the subscription settle
      const posted = await pia.v1.statuses.create({ status: "A kitten in a box" });
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error("pia's post did not arrive on sam's user stream within 15s")), 15_000));
      const update = await Promise.race([arrived, timeout]);
      check(update && update.id === posted.id, "the update is pia's post", update);
      return posted;
    } finally {
      subscription.unsubscribe();
      streaming.close();
    }
  });

  await step("the filter marks pia's post in sam's home; the list timeline", async () => {
    const seen = await eventually("pia's kitten post in sam's home", async () => (await sam.v1.timelines.home.list()).find((s) => s.id === kitten.id));
    check(seen.filtered?.[0]?.filter?.title === "Cats", "the status's filtered names the Cats filter", seen.filtered);
    const listed = await sam.v1.timelines.list.$select(list.id).list();
    check(listed[0]?.id === kitten.id, "the list timeline shows pia's post first", listed.map((s) => s.id));
    await sam.v2.filters.$select(filter.id).remove();
    await sam.v1.lists.$select(list.id).remove();
  });

  await step("delete", async () => {
    const deleted = await sam.v1.statuses.$select(photo.id).remove();
    check(deleted.id === photo.id && deleted.text?.startsWith("A photo"), "the deleted status with its source text", deleted);
    try {
      await pia.v1.statuses.$select(photo.id).fetch();
      check(false, "the deleted status is gone (404)");
    } catch (error) {
      check(error.statusCode === 404, "a 404 for the deleted status", describe(error));
    }
    await eventually("the photo gone from pia's home", async () => !(await pia.v1.timelines.home.list()).some((s) => s.id === photo.id));
  });
}

try {
  await main();
  console.log("ok all");
  clearTimeout(overall);
  process.exit(0);
} catch (error) {
  console.log(`FAIL ${current}: ${describe(error)}`);
  process.exit(1);
}
